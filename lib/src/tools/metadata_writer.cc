#include "tools/metadata_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "runtime/model_format.h"

namespace edgevae {
namespace {

// Each float as the double nearest to its shortest decimal form (std::to_chars), so that the JSON
// shows about 9 digits instead of the 17 of the exact double (the class statistics of a
// mixture are some 12,000 numbers); casting the parsed double back to float gives the same
// float (checked, with the exact double as the fallback).
std::vector<double> ShortestDoubles(const std::vector<float>& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (float f : values) {
    char buf[32];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf) - 1, f);
    *r.ptr = '\0';
    const double d = std::strtod(buf, nullptr);
    out.push_back(r.ec == std::errc() && static_cast<float>(d) == f ? d : static_cast<double>(f));
  }
  return out;
}

// Replaces every non-empty array of numbers in j by a placeholder string naming its index in
// *arrays, where its compact form is kept.
void HoistNumberArrays(OJson* j, std::vector<std::string>* arrays) {
  if (j->is_object()) {
    for (auto& [key, value] : j->items()) HoistNumberArrays(&value, arrays);
  } else if (j->is_array()) {
    const bool numbers = !j->empty() && std::all_of(j->begin(), j->end(),
                                                    [](const OJson& v) { return v.is_number(); });
    if (!numbers) {
      for (OJson& v : *j) HoistNumberArrays(&v, arrays);
      return;
    }
    std::string text = j->dump(-1);
    for (size_t i = 1; i < text.size(); ++i) {
      if (text[i - 1] == ',') text.insert(i++, " ");
    }
    *j = std::string("\x01") + "array" + std::to_string(arrays->size());
    arrays->push_back(std::move(text));
  }
}

OJson NumberOrNull(double x) { return std::isfinite(x) ? OJson(x) : OJson(nullptr); }

}  // namespace

OJson BaseMetadata(const ModelMetadata& md, const char* dtype) {
  OJson j = OJson::object();
  j["dataset"] = md.dataset;
  j["epochs"] = md.epochs;
  j["seed"] = md.seed;
  j["batch"] = md.batch;
  j["lr"] = NumberOrNull(md.lr);
  j["train_loss"] = NumberOrNull(md.train_loss);
  j["test_loss"] = NumberOrNull(md.test_loss);
  j["edgevae_version"] = Version();  // the program writing this file
  j["dtype"] = dtype;
  if (!md.command.empty()) j["command"] = md.command;
  if (!md.precision.empty()) j["precision"] = md.precision;
  if (md.lr_decay != 1) j["lr_decay"] = md.lr_decay;
  if (!md.objective.empty()) {
    j["objective"] = md.objective;
    j["iw_samples"] = md.iw_samples;
  }
  if (!md.binarize.empty()) j["binarize"] = md.binarize;
  if (!md.classes.empty()) j["classes"] = md.classes;
  if (md.class_temperature != 1) j["class_temperature"] = md.class_temperature;
  if (md.d_steps > 0) {
    j["gan_reg"] = md.gan_reg;
    j["d_steps"] = md.d_steps;
    j["g_steps"] = md.g_steps;
  }
  if (!md.ali_loss.empty()) j["ali_loss"] = md.ali_loss;
  if (md.aae_lambda > 0) j["aae_lambda"] = md.aae_lambda;
  if (!md.class_latents.empty()) {
    OJson a = OJson::array();
    for (const ClassLatentStats& c : md.class_latents) {
      OJson cj = OJson::object();
      cj["label"] = c.label;
      cj["count"] = c.count;
      cj["mean"] = ShortestDoubles(c.mean);
      cj["cov"] = ShortestDoubles(c.cov);
      a.push_back(std::move(cj));
    }
    j["class_latents"] = std::move(a);
  }
  if (md.anomaly) {
    OJson aj = OJson::object();
    aj["method"] = md.anomaly->method;
    aj["fpr"] = md.anomaly->fpr;
    aj["images"] = md.anomaly->images;
    aj["samples"] = md.anomaly->samples;
    aj["threshold"] = md.anomaly->threshold;
    j["anomaly"] = std::move(aj);
  }
  return j;
}

OJson GoldenMetadata(const GoldenVectors& g) {
  OJson j = OJson::object();
  j["count"] = g.count;
  j["max_abs_error"] = g.max_abs_error;
  j["mean_abs_error"] = g.mean_abs_error;
  return j;
}

OJson QuantizationMetadata(const Int8Model& m) {
  OJson layers = OJson::object();
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Int8Layer& l = m.layers[i];
    OJson lj = OJson::object();
    // float -> double is exact and nlohmann prints doubles with 17 digits: the float round-trips.
    if (!m.per_channel()) lj["weight_scale"] = static_cast<double>(l.weight_scale);
    lj["input_scale"] = static_cast<double>(l.input.scale);
    lj["input_zero_point"] = l.input.zero_point;
    lj["output_scale"] = static_cast<double>(l.output.scale);
    lj["output_zero_point"] = l.output.zero_point;
    lj["relu"] = l.relu;
    layers[std::string(m.shape.layers[i].name)] = std::move(lj);
  }
  OJson q = OJson::object();
  q["weights"] = m.per_channel() ? format::kWeightSchemePerRow : format::kWeightScheme;
  q["calibration"] = m.calibration;
  q["calibration_images"] = m.calibration_images;
  q["layers"] = std::move(layers);
  return q;
}

std::string MetadataText(const OJson& j) {
  // Pretty-printed, except that arrays of numbers stay on one line: the per-class latent
  // statistics hold thousands of numbers, and one per line would add a tenth to a shipped model.
  OJson copy = j;
  std::vector<std::string> arrays;
  HoistNumberArrays(&copy, &arrays);
  // replace: a dataset name that is not UTF-8 must not make dump() throw.
  const std::string text = copy.dump(2, ' ', false, OJson::error_handler_t::replace) + "\n";
  std::string out;
  out.reserve(text.size());
  const std::string marker = "\"\\u0001array";  // how dump() writes the placeholder
  for (size_t pos = 0;;) {
    const size_t at = text.find(marker, pos);
    if (at == std::string::npos) {
      out.append(text, pos, std::string::npos);
      break;
    }
    out.append(text, pos, at - pos);
    size_t end = at + marker.size();
    const size_t index = std::stoul(text.substr(end, text.find('"', end) - end));
    out += arrays[index];
    pos = text.find('"', end) + 1;
  }
  return out;
}

}  // namespace edgevae
