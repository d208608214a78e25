// The metadata section of a model file (docs/model-format.md), read from untrusted JSON: a reader
// whose every accessor checks the type and range of one key and names its full path in the
// message, and the parsers of the sections the loader needs. Internal to the libraries.
#ifndef EDGEVAE_RUNTIME_METADATA_READER_H_
#define EDGEVAE_RUNTIME_METADATA_READER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae {

using Json = nlohmann::json;

// Reads keys of one JSON object; `prefix` ("quantization.layers.fc1.") makes a nested key's
// message name its full path.
class MetadataReader {
 public:
  MetadataReader(const std::string& path, const Json& j, std::string prefix = "")
      : path_(path), j_(j), prefix_(std::move(prefix)) {}

  Status String(const char* key, std::string* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_string()) return Wrong(key, "a string", *v);
    *out = v->get<std::string>();
    return Status::Ok();
  }
  Status Integer(const char* key, int64_t lo, uint64_t hi, int64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    const std::string want =
        "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      if (u > hi || (lo > 0 && u < static_cast<uint64_t>(lo))) return Wrong(key, want, *v);
      *out = static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
      const int64_t s = v->get<int64_t>();
      if (s < lo) return Wrong(key, want, *v);
      *out = s;
    } else {
      return Wrong(key, want, *v);
    }
    return Status::Ok();
  }
  Status Unsigned(const char* key, uint64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    // nlohmann stores every non-negative integer literal as unsigned.
    if (!v->is_number_unsigned()) return Wrong(key, "a non-negative integer", *v);
    *out = v->get<uint64_t>();
    return Status::Ok();
  }
  // A number, or null for NaN (JSON has no non-finite numbers).
  Status NumberOrNull(const char* key, double* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (v->is_null()) {
      *out = std::numeric_limits<double>::quiet_NaN();
    } else if (v->is_number()) {
      *out = v->get<double>();
    } else {
      return Wrong(key, "a number or null", *v);
    }
    return Status::Ok();
  }
  Status NonNegative(const char* key, double* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_number() || !(v->get<double>() >= 0)) return Wrong(key, "a number >= 0", *v);
    *out = v->get<double>();
    return Status::Ok();
  }
  // A quantization scale: stored as the double equal to the float, so the cast back is exact.
  Status Scale(const char* key, float* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    // Range first: casting a double beyond FLT_MAX to float is undefined.
    const double d = v->is_number() ? v->get<double>() : 0.0;
    const float f = d > 0 && d <= std::numeric_limits<float>::max() ? static_cast<float>(d) : 0.0f;
    if (!(f > 0)) return Wrong(key, "a finite float > 0", *v);
    *out = f;
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_boolean()) return Wrong(key, "true or false", *v);
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status Object(const char* key, const Json** out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_object()) return Wrong(key, "an object", *v);
    *out = v;
    return Status::Ok();
  }
  Status Array(const char* key, const Json** out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_array()) return Wrong(key, "an array", *v);
    *out = v;
    return Status::Ok();
  }
  Status Finite(const char* key, double* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_number() || !std::isfinite(v->get<double>())) return Wrong(key, "a number", *v);
    *out = v->get<double>();
    return Status::Ok();
  }
  // An array of exactly `n` finite numbers that fit a float.
  Status Floats(const char* key, size_t n, std::vector<float>* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    const std::string want = "an array of " + std::to_string(n) + " finite numbers";
    if (!v->is_array() || v->size() != n) return Wrong(key, want, *v);
    out->resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Json& e = (*v)[i];
      const double d = e.is_number() ? e.get<double>() : std::numeric_limits<double>::infinity();
      if (!(std::fabs(d) <= std::numeric_limits<float>::max())) return Wrong(key, want, *v);
      (*out)[i] = static_cast<float>(d);
    }
    return Status::Ok();
  }
  bool Has(const char* key) const { return Find(key) != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& prefix() const { return prefix_; }

  Status Wrong(const char* key, const std::string& want, const Json& found) const;

 private:
  const Json* Find(const char* key) const {
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  Status Missing(const char* key) const {
    return DataError(path_ + ": metadata: missing key '" + prefix_ + key + "'");
  }
  const std::string& path_;
  const Json& j_;
  std::string prefix_;
};

// Metadata beyond this is refused before parsing (a shipped model's is ~200 KB, mostly the
// per-class latent statistics).
inline constexpr uint64_t kMaxMetadataBytes = 8 << 20;

// Whether the metadata text at file offset `offset` may be parsed at all: its size and
// io::CheckJsonStructure's limits (depth, keys per object, no NUL).
Status CheckMetadataText(const std::string& path, std::string_view text, uint64_t offset);
// The metadata as a JSON object, except the entries of its "class_latents" array: each is read
// (and checked for a latent size of `latent`) as the parser finishes it, kept if `options` asks
// for it, and dropped from the tree, so the parse never holds more than one entry's numbers
// (a shipped model's 30 full covariances would take ~200 KB as a tree, more than a
// microcontroller has). The array stays in the tree, empty unless it held non-objects.
struct ParsedMetadata {
  Json json;
  std::vector<ClassLatentStats> class_latents;  // the kept entries, in file order
};
StatusOr<ParsedMetadata> ParseMetadataJson(const std::string& path, std::string_view text,
                                           uint64_t offset, int latent,
                                           const LoadOptions& options);
// The keys every file has, the optional ones (classes, command, class_latents, anomaly) and,
// with `want_adam_step`, a checkpoint's adam_step. The class latents are ParsedMetadata's.
Status ParseMetadata(const MetadataReader& r, int latent, bool want_adam_step, ModelMetadata* md,
                     int64_t* adam_step);
// Whether an int8 file's "quantization.weights" is the per-row scheme (true) or the per-layer one.
StatusOr<bool> ParseWeightScheme(const MetadataReader& r);
// An int8 file's "quantization" object: one entry per layer of the shape's table; sets every
// layer's sizes, scales, zero points and ReLU flag in m->layers (the weights, and with `per_row`
// the weight scales, are the loader's). Per-layer entries are checked against what the kernels
// take (Int8LayerProblem); per-row ones once the loader has their scales.
Status ParseQuantization(const std::string& path, const MetadataReader& r, const ShapeInfo& shape,
                         bool per_row, Int8Model* m);
// The "golden" object: count and thresholds.
Status ParseGolden(const std::string& path, const MetadataReader& r, GoldenVectors* g);

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_METADATA_READER_H_
