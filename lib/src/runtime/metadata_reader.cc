#include "runtime/metadata_reader.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "runtime/json_util.h"
#include "runtime/model_format.h"

namespace edgevae {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

#if !defined(EDGEVAE_BARE_METAL)
// The adversarial families' settings (d_steps with g_steps and gan_reg, ali_loss, aae_lambda).
Status ParseAdversarialSettings(const MetadataReader& r, ModelMetadata* md) {
  if (r.Has("d_steps")) {
    int64_t d = 0, g = 0;
    EVAE_RETURN_IF_ERROR(r.Integer("d_steps", 1, 100, &d));
    EVAE_RETURN_IF_ERROR(r.Integer("g_steps", 1, 100, &g));
    EVAE_RETURN_IF_ERROR(r.NonNegative("gan_reg", &md->gan_reg));
    md->d_steps = static_cast<int>(d);
    md->g_steps = static_cast<int>(g);
  }
  if (r.Has("ali_loss")) {
    EVAE_RETURN_IF_ERROR(r.String("ali_loss", &md->ali_loss));
    if (md->ali_loss != "su" && md->ali_loss != "standard") {
      return r.Wrong("ali_loss", "\"su\" or \"standard\"", Json(md->ali_loss));
    }
  }
  if (r.Has("aae_lambda")) {
    EVAE_RETURN_IF_ERROR(r.NonNegative("aae_lambda", &md->aae_lambda));
    if (!(md->aae_lambda > 0)) return r.Wrong("aae_lambda", "a number > 0", Json(md->aae_lambda));
  }
  return Status::Ok();
}
#endif

// The calibrated anomaly threshold (edgevae calibrate).
Status ParseAnomalyThreshold(const MetadataReader& r, ModelMetadata* md) {
  const Json* o = nullptr;
  EVAE_RETURN_IF_ERROR(r.Object("anomaly", &o));
  const MetadataReader ar(r.path(), *o, r.prefix() + "anomaly.");
  AnomalyThreshold t;
  int64_t images = 0, samples = 0;
  EVAE_RETURN_IF_ERROR(ar.String("method", &t.method));
  EVAE_RETURN_IF_ERROR(ar.NonNegative("fpr", &t.fpr));
  EVAE_RETURN_IF_ERROR(ar.Integer("images", 0, kIntMax, &images));
  EVAE_RETURN_IF_ERROR(ar.Integer("samples", 0, kIntMax, &samples));
  EVAE_RETURN_IF_ERROR(ar.Finite("threshold", &t.threshold));
  t.images = static_cast<int>(images);
  t.samples = static_cast<int>(samples);
  md->anomaly = std::move(t);
  return Status::Ok();
}

// The optional keys: classes, command, precision, objective (with iw_samples), binarize,
// class_temperature, class_latents, anomaly, and an adversarial family's d_steps, g_steps,
// gan_reg, ali_loss and aae_lambda.
Status ParseOptionalMetadata(const MetadataReader& r, int latent, ModelMetadata* md) {
  if (r.Has("command")) EVAE_RETURN_IF_ERROR(r.String("command", &md->command));
  if (r.Has("precision")) EVAE_RETURN_IF_ERROR(r.String("precision", &md->precision));
  if (r.Has("lr_decay")) {
    double d = 0;
    EVAE_RETURN_IF_ERROR(r.NonNegative("lr_decay", &d));
    if (!(d > 0 && d <= 1)) return r.Wrong("lr_decay", "a number in (0, 1]", Json(d));
    md->lr_decay = d;
  }
  if (r.Has("class_temperature")) {
    double t = 0;
    EVAE_RETURN_IF_ERROR(r.NonNegative("class_temperature", &t));
    if (!(t > 0 && t <= kMaxClassTemperature)) {
      return r.Wrong("class_temperature", "a number in (0, 4]", Json(t));
    }
    md->class_temperature = t;
  }
#if !defined(EDGEVAE_BARE_METAL)  // training settings, which a microcontroller never reads
  EVAE_RETURN_IF_ERROR(ParseAdversarialSettings(r, md));
#endif
  if (r.Has("objective")) {
    EVAE_RETURN_IF_ERROR(r.String("objective", &md->objective));
    if (md->objective != "iwae") return r.Wrong("objective", "\"iwae\"", Json(md->objective));
    int64_t k = 0;
    EVAE_RETURN_IF_ERROR(r.Integer("iw_samples", 1, 5000, &k));
    md->iw_samples = static_cast<int>(k);
  }
  if (r.Has("binarize")) {
    EVAE_RETURN_IF_ERROR(r.String("binarize", &md->binarize));
    if (md->binarize != "dynamic" && md->binarize != "static") {
      return r.Wrong("binarize", "\"dynamic\" or \"static\"", Json(md->binarize));
    }
  }
  if (r.Has("classes")) {
    const Json* a = nullptr;
    EVAE_RETURN_IF_ERROR(r.Array("classes", &a));
    for (const Json& c : *a) {
      if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() > 255) {
        return r.Wrong("classes", "an array of labels in [0, 255]", *a);
      }
      md->classes.push_back(c.get<int>());
    }
  }
  if (r.Has("class_latents")) {
    // ParseMetadataJson has taken out every object; anything left is not one.
    const Json* a = nullptr;
    EVAE_RETURN_IF_ERROR(r.Array("class_latents", &a));
    if (!a->empty()) return r.Wrong("class_latents", "an array of objects", *a);
  }
  if (r.Has("anomaly")) EVAE_RETURN_IF_ERROR(ParseAnomalyThreshold(r, md));
  return Status::Ok();
}

}  // namespace

Status MetadataReader::Wrong(const char* key, const std::string& want, const Json& found) const {
  return DataError(path_ + ": metadata key '" + prefix_ + key + "': expected " + want + ", found " +
                   io::JsonExcerpt(found));
}

Status CheckMetadataText(const std::string& path, std::string_view text, uint64_t offset) {
  const std::string what = path + ": metadata (" + std::to_string(text.size()) +
                           " bytes at offset " + std::to_string(offset) + ")";
  if (text.size() > kMaxMetadataBytes) {
    return DataError(what + " is larger than the " + std::to_string(kMaxMetadataBytes) +
                     "-byte limit");
  }
  return io::CheckJsonStructure(text, what, offset);
}

namespace {

// An entry's "label" and "count", the first keys every reading of an entry checks.
Status ReadLabelAndCount(const MetadataReader& cr, ClassLatentStats* c) {
  int64_t label = 0, count = 0;
  EVAE_RETURN_IF_ERROR(cr.Integer("label", 0, 255, &label));
  EVAE_RETURN_IF_ERROR(cr.Integer("count", 1, kIntMax, &count));
  c->label = static_cast<int>(label);
  c->count = static_cast<int>(count);
  return Status::Ok();
}

// One "class_latents" entry, with the messages the tree reader gives.
Status ReadClassLatents(const std::string& path, const Json& entry, size_t index, int latent,
                        ClassLatentStats* c) {
  const MetadataReader cr(path, entry, "class_latents[" + std::to_string(index) + "].");
  EVAE_RETURN_IF_ERROR(ReadLabelAndCount(cr, c));
  EVAE_RETURN_IF_ERROR(cr.Floats("mean", static_cast<size_t>(latent), &c->mean));
  EVAE_RETURN_IF_ERROR(
      cr.Floats("cov", static_cast<size_t>(latent) * static_cast<size_t>(latent), &c->cov));
  return Status::Ok();
}

bool Keep(const LoadOptions& options, int label) {
  switch (options.class_latents) {
    case LoadOptions::ClassLatents::kAll:
      return true;
    case LoadOptions::ClassLatents::kNone:
      return false;
    case LoadOptions::ClassLatents::kLabels:
      return label >= 0 && label < 256 && options.labels.test(static_cast<size_t>(label));
  }
  return true;
}

}  // namespace

namespace {

// The parse callback of ParseLatentsAndTree: takes each "class_latents" entry out of the tree as
// the parser finishes it (validated, and kept when LoadOptions asks for its label). With
// `capture`, the numbers of the entries' "mean" and "cov" arrays do not enter the tree at all:
// they go straight into two arrays of the expected lengths. A shipped model's entries are 30
// arrays of 400 numbers, and as tree nodes (16 bytes each, in vectors that double as they grow)
// they were most of the heap a microcontroller needed to load the model (docs/micro.md, "RAM").
// Anything the capture cannot judge exactly as the tree would (a non-number, too many numbers, a
// nested value, a repeated key) sets irregular(), and the caller parses again without capture for
// the tree's own checks and messages.
// The parser's depths (nlohmann): the top object's keys are at 1, the value of "class_latents"
// starts at 1, its elements start and end at 2, their keys and the arrays of their values at 3,
// the arrays' numbers at 4.
class LatentsCallback {
 public:
  using E = Json::parse_event_t;
  LatentsCallback(const std::string& path, int latent, const LoadOptions& options, bool capture,
                  std::vector<ClassLatentStats>* kept)
      : path_(path), options_(options), capture_(capture), kept_(kept),
        n_mean_(static_cast<size_t>(latent)), n_cov_(n_mean_ * n_mean_), latent_(latent) {
    if (capture_) {
      mean_.reserve(n_mean_);
      cov_.reserve(n_cov_);
    }
  }

  // The parser's callback: whether `parsed` stays in the tree.
  bool operator()(int depth, E event, Json& parsed) {
    if (depth == 1) {
      OnTopLevel(event, parsed);
      return true;
    }
    if (!in_latents_) return true;
    if (depth == 2 && event == E::object_end) {
      OnEntryEnd(parsed);
      return false;  // dropped from the tree
    }
    if (depth == 2 && (event == E::value || event == E::array_end)) {
      ++index_;  // a non-object: stays in the tree for ParseMetadata to refuse
      return true;
    }
    return !capture_ || OnCapture(depth, event, parsed);
  }

  const Status& entry_error() const { return entry_error_; }
  bool irregular() const { return irregular_; }

 private:
  void OnTopLevel(E event, const Json& parsed) {
    if (event == E::key) {
      top_key_is_latents_ = parsed.is_string() &&
                            parsed.get_ref<const std::string&>() == "class_latents";
    } else if (event == E::array_start) {
      in_latents_ = top_key_is_latents_;
      if (in_latents_) {  // a repeated key: the last value counts, as in the tree
        kept_->clear();
        index_ = 0;
        entry_error_ = Status::Ok();
      }
    } else if (event == E::array_end) {
      in_latents_ = false;
    }
  }

  // Inside an entry, with capture: whether `parsed` stays in the tree.
  bool OnCapture(int depth, E event, const Json& parsed) {
    if (depth == 2 && (event == E::object_start || event == E::array_start)) {
      mean_.clear();
      cov_.clear();
      target_ = nullptr;
      key_.clear();
    } else if (depth == 3 && event == E::key) {
      key_ = parsed.is_string() ? parsed.get_ref<const std::string&>() : std::string();
    } else if (depth == 3 && event == E::array_start && (key_ == "mean" || key_ == "cov")) {
      target_ = key_ == "mean" ? &mean_ : &cov_;
      limit_ = key_ == "mean" ? n_mean_ : n_cov_;
      if (!target_->empty()) irregular_ = true;  // the key's second array
    } else if (depth == 3 && event == E::array_end) {
      target_ = nullptr;
    } else if (depth == 4 && target_ != nullptr) {
      const double d = event == E::value && parsed.is_number()
                           ? parsed.get<double>()
                           : std::numeric_limits<double>::infinity();
      if (target_->size() < limit_ && std::fabs(d) <= std::numeric_limits<float>::max()) {
        target_->push_back(static_cast<float>(d));
        return false;  // the number stays out of the tree
      }
      irregular_ = true;
    }
    return true;
  }

  void OnEntryEnd(const Json& entry) {
    const size_t index = index_++;
    if (!entry_error_.ok()) return;
    ClassLatentStats c;
    if (!capture_) {
      entry_error_ = ReadClassLatents(path_, entry, index, latent_, &c);
      if (entry_error_.ok() && Keep(options_, c.label)) kept_->push_back(std::move(c));
      return;
    }
    // The tree holds the entry without the captured numbers: its "mean" and "cov" must be empty
    // arrays and the captures complete, or the tree's checks decide (above).
    const MetadataReader cr(path_, entry, "class_latents[" + std::to_string(index) + "].");
    entry_error_ = ReadLabelAndCount(cr, &c);
    const auto empty_array = [&](const char* key) {
      const auto it = entry.find(key);
      return it != entry.end() && it->is_array() && it->empty();
    };
    if (!empty_array("mean") || !empty_array("cov") || mean_.size() != n_mean_ ||
        cov_.size() != n_cov_) {
      irregular_ = true;
    }
    if (entry_error_.ok() && !irregular_ && Keep(options_, c.label)) {
      c.mean = mean_;
      c.cov = cov_;
      kept_->push_back(std::move(c));
    }
  }

  const std::string& path_;
  const LoadOptions& options_;
  const bool capture_;
  std::vector<ClassLatentStats>* kept_;
  const size_t n_mean_, n_cov_;
  const int latent_;
  bool top_key_is_latents_ = false, in_latents_ = false, irregular_ = false;
  size_t index_ = 0;
  Status entry_error_;
  std::string key_;                         // the entry's key being read
  std::vector<float> mean_, cov_;           // the entry's captured numbers
  std::vector<float>* target_ = nullptr;    // the array being captured, if any
  size_t limit_ = 0;                        // its expected length
};

// Parses the metadata into a tree without its "class_latents" entries, which LatentsCallback
// takes out; *irregular as LatentsCallback::irregular().
StatusOr<ParsedMetadata> ParseLatentsAndTree(const std::string& path, std::string_view text,
                                             uint64_t offset, int latent,
                                             const LoadOptions& options, bool capture,
                                             bool* irregular) {
  ParsedMetadata out;
  LatentsCallback callback(path, latent, options, capture, &out.class_latents);
  out.json = Json::parse(
      text.begin(), text.end(),
      [&callback](int depth, Json::parse_event_t event, Json& parsed) {
        return callback(depth, event, parsed);
      },
      /*allow_exceptions=*/false);
  *irregular = callback.irregular();
  if (out.json.is_discarded()) {
    return DataError(path + ": metadata (" + std::to_string(text.size()) + " bytes at offset " +
                     std::to_string(offset) + ") is not valid JSON: " +
                     io::JsonSyntaxError(text.data(), text.data() + text.size()));
  }
  if (!out.json.is_object()) {
    return DataError(path + ": metadata (offset " + std::to_string(offset) +
                     "): expected a JSON object, found " + out.json.type_name());
  }
  EVAE_RETURN_IF_ERROR(callback.entry_error());
  return out;
}

}  // namespace

StatusOr<ParsedMetadata> ParseMetadataJson(const std::string& path, std::string_view text,
                                           uint64_t offset, int latent,
                                           const LoadOptions& options) {
  EVAE_RETURN_IF_ERROR(CheckMetadataText(path, text, offset));
  bool irregular = false;
  StatusOr<ParsedMetadata> fast =
      ParseLatentsAndTree(path, text, offset, latent, options, /*capture=*/true, &irregular);
  if (!irregular) return fast;
  return ParseLatentsAndTree(path, text, offset, latent, options, /*capture=*/false, &irregular);
}

Status ParseMetadata(const MetadataReader& r, int latent, bool want_adam_step, ModelMetadata* md,
                     int64_t* adam_step) {
  int64_t epochs = 0, batch = 0;
  EVAE_RETURN_IF_ERROR(r.String("dataset", &md->dataset));
  EVAE_RETURN_IF_ERROR(r.Integer("epochs", 0, kIntMax, &epochs));
  EVAE_RETURN_IF_ERROR(r.Unsigned("seed", &md->seed));
  EVAE_RETURN_IF_ERROR(r.Integer("batch", 0, kIntMax, &batch));
  EVAE_RETURN_IF_ERROR(r.NumberOrNull("lr", &md->lr));
  EVAE_RETURN_IF_ERROR(r.NumberOrNull("train_loss", &md->train_loss));
  EVAE_RETURN_IF_ERROR(r.NumberOrNull("test_loss", &md->test_loss));
  EVAE_RETURN_IF_ERROR(r.String("edgevae_version", &md->edgevae_version));
  md->epochs = static_cast<int>(epochs);
  md->batch = static_cast<int>(batch);
  EVAE_RETURN_IF_ERROR(ParseOptionalMetadata(r, latent, md));
  if (want_adam_step) {
    EVAE_RETURN_IF_ERROR(r.Integer("adam_step", 0, std::numeric_limits<int64_t>::max(), adam_step));
  }
  return Status::Ok();
}

StatusOr<bool> ParseWeightScheme(const MetadataReader& r) {
  const Json* q = nullptr;
  EVAE_RETURN_IF_ERROR(r.Object("quantization", &q));
  const MetadataReader qr(r.path(), *q, "quantization.");
  std::string weights;
  EVAE_RETURN_IF_ERROR(qr.String("weights", &weights));
  if (weights == format::kWeightSchemePerRow) return true;
  if (weights == format::kWeightScheme) return false;
  return qr.Wrong("weights",
                  std::string("\"") + format::kWeightScheme + "\" or \"" +
                      format::kWeightSchemePerRow + "\"",
                  Json(weights));
}

Status ParseQuantization(const std::string& path, const MetadataReader& r, const ShapeInfo& shape,
                         bool per_row, Int8Model* m) {
  const Json* q = nullptr;
  EVAE_RETURN_IF_ERROR(r.Object("quantization", &q));
  const MetadataReader qr(path, *q, "quantization.");
  EVAE_RETURN_IF_ERROR(qr.String("calibration", &m->calibration));
  int64_t images = 0;
  EVAE_RETURN_IF_ERROR(qr.Integer("calibration_images", 0, kIntMax, &images));
  m->calibration_images = static_cast<int>(images);
  const Json* layers = nullptr;
  EVAE_RETURN_IF_ERROR(qr.Object("layers", &layers));
  const MetadataReader lr(path, *layers, "quantization.layers.");
  m->layers.assign(shape.layers.size(), Int8Layer());
  for (size_t i = 0; i < shape.layers.size(); ++i) {
    const LayerInfo& spec = shape.layers[i];
    const std::string name(spec.name);
    const Json* lj = nullptr;
    EVAE_RETURN_IF_ERROR(lr.Object(name.c_str(), &lj));
    const MetadataReader l(path, *lj, "quantization.layers." + name + ".");
    Int8Layer& layer = m->layers[i];
    int64_t in_zp = 0, out_zp = 0;
    if (!per_row) EVAE_RETURN_IF_ERROR(l.Scale("weight_scale", &layer.weight_scale));
    EVAE_RETURN_IF_ERROR(l.Scale("input_scale", &layer.input.scale));
    EVAE_RETURN_IF_ERROR(l.Integer("input_zero_point", -128, 127, &in_zp));
    EVAE_RETURN_IF_ERROR(l.Scale("output_scale", &layer.output.scale));
    EVAE_RETURN_IF_ERROR(l.Integer("output_zero_point", -128, 127, &out_zp));
    EVAE_RETURN_IF_ERROR(l.Bool("relu", &layer.relu));
    const bool relu = spec.activation == Activation::kRelu;
    if (layer.relu != relu) {
      return l.Wrong(
          "relu",
          std::string(relu ? "true (a ReLU follows " : "false (no ReLU follows ") + name + ")",
          Json(layer.relu));
    }
    layer.input.zero_point = static_cast<int32_t>(in_zp);
    layer.output.zero_point = static_cast<int32_t>(out_zp);
    layer.out = spec.out;
    layer.in = spec.in;
    if (per_row) continue;
    if (const std::string why = Int8LayerProblem(layer); !why.empty()) {
      return DataError(path + ": metadata key 'quantization.layers." + name + "': " + why);
    }
  }
  return Status::Ok();
}

Status ParseGolden(const std::string& path, const MetadataReader& r, GoldenVectors* g) {
  const Json* gj = nullptr;
  EVAE_RETURN_IF_ERROR(r.Object("golden", &gj));
  const MetadataReader gr(path, *gj, "golden.");
  int64_t count = 0;
  EVAE_RETURN_IF_ERROR(gr.Integer("count", 1, kIntMax, &count));
  EVAE_RETURN_IF_ERROR(gr.NonNegative("max_abs_error", &g->max_abs_error));
  EVAE_RETURN_IF_ERROR(gr.NonNegative("mean_abs_error", &g->mean_abs_error));
  g->count = static_cast<int>(count);
  return Status::Ok();
}

}  // namespace edgevae
