#include "edgevae/int8_model.h"

#include "kernels/packed_i16.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace edgevae {

namespace {

std::string ScaleProblem(const std::string& field, float s) {
  if (std::isfinite(s) && s > 0) return "";
  return field + " is " + std::to_string(s) + ", expected a finite number > 0";
}

}  // namespace

const char* WeightLayoutName(WeightLayout layout) {
  return layout == WeightLayout::kCortexM ? "cortex-m" : "rows";
}

std::string Int8LayerProblem(const Int8Layer& l) {
  const size_t rows = static_cast<size_t>(std::max(l.out, 0));
  if (!l.channel_scales.empty() && l.channel_scales.size() != rows) {
    return "weight_scale has " + std::to_string(l.channel_scales.size()) +
           " per-row scales, expected one per row (" + std::to_string(rows) + ")";
  }
  std::string why = l.channel_scales.empty() ? ScaleProblem("weight_scale", l.weight_scale) : "";
  for (size_t r = 0; why.empty() && r < l.channel_scales.size(); ++r) {
    why = ScaleProblem("weight_scale[" + std::to_string(r) + "]", l.channel_scales[r]);
  }
  if (why.empty()) why = ScaleProblem("input.scale", l.input.scale);
  if (why.empty()) why = ScaleProblem("output.scale", l.output.scale);
  if (!why.empty()) return why;
  const std::pair<const char*, int32_t> zps[] = {{"input.zero_point", l.input.zero_point},
                                                 {"output.zero_point", l.output.zero_point}};
  for (const auto& [field, zp] : zps) {
    if (zp < -128 || zp > 127) {
      return std::string(field) + " is " + std::to_string(zp) + ", expected [-128, 127]";
    }
  }
  const size_t checked = l.channel_scales.empty() ? std::min<size_t>(rows, 1) : rows;
  for (size_t r = 0; r < checked; ++r) {
    const float q = RequantScale(l, r);
    if (!(q >= kMinRequantScale && q < kMaxRequantScale)) {
      const std::string scale =
          l.channel_scales.empty() ? "weight_scale" : "weight_scale[" + std::to_string(r) + "]";
      char buf[200];
      std::snprintf(buf, sizeof(buf),
                    "input.scale * %s / output.scale is %g, expected a requantization scale in "
                    "[2^-32, 256) (what the int8 kernels take)",
                    scale.c_str(), static_cast<double>(q));
      return buf;
    }
  }
  return "";
}

void SetOwnedTensors(Int8Model* model, size_t i, std::vector<int8_t> weight,
                     std::vector<int32_t> bias) {
  SetOwnedTensors(model, i, std::move(weight), std::move(bias), {});
}

void SetOwnedTensors(Int8Model* model, size_t i, std::vector<int8_t> weight,
                     std::vector<int32_t> bias, std::vector<float> channel_scales) {
  struct Owned {
    std::vector<int8_t> weight;
    std::vector<int32_t> bias;
    std::vector<float> channel_scales;
  };
  auto owned = std::make_shared<Owned>(
      Owned{std::move(weight), std::move(bias), std::move(channel_scales)});
  model->layers[i].weight = owned->weight;
  model->layers[i].bias = owned->bias;
  model->layers[i].channel_scales = owned->channel_scales;
  model->storage.push_back(std::move(owned));
}

namespace {

// The table index of the layer whose output layer `i` takes, or -1 for pixels or z.
int Producer(const ShapeInfo& s, size_t i) {
  switch (s.layers[i].role) {
    case LayerRole::kEncoder:  // the first takes pixels
      return i > 0 ? static_cast<int>(i) - 1 : -1;
    case LayerRole::kDecoder:  // the first takes z (after the encoder and heads, if any)
      return i > 0 && s.layers[i - 1].role == LayerRole::kDecoder ? static_cast<int>(i) - 1 : -1;
    case LayerRole::kMean:
    case LayerRole::kLogVar:
      return s.Find(LayerRole::kEncoder, s.Count(LayerRole::kEncoder) - 1);
    case LayerRole::kLogits:
      return s.Find(LayerRole::kDecoder, s.Count(LayerRole::kDecoder) - 1);
    case LayerRole::kHidden:  // a classifier's or a GAN's (never int8: RequireVae)
    case LayerRole::kClassLogits:
    case LayerRole::kCritic:
    case LayerRole::kCriticLogit:
      return i > 0 ? static_cast<int>(i) - 1 : -1;
  }
  return -1;
}

std::string RangeText(const QuantRange& r) {
  return "(scale " + std::to_string(r.scale) + ", zero point " + std::to_string(r.zero_point) + ")";
}

}  // namespace

Status CheckInt8Model(const Int8Model& m, const std::string& what) {
  const ShapeInfo& s = m.shape;
  if (m.layers.size() != s.layers.size()) {
    return DataError(what + ": " + std::to_string(m.layers.size()) + " layers, shape '" +
                     std::string(s.name) + "' has " + std::to_string(s.layers.size()));
  }
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerInfo& spec = s.layers[i];
    const Int8Layer& l = m.layers[i];
    const std::string name(spec.name);
    if (l.out != spec.out || l.in != spec.in) {
      return DataError(what + ": " + name + " is [" + std::to_string(l.out) + ", " +
                       std::to_string(l.in) + "], expected [" + std::to_string(spec.out) + ", " +
                       std::to_string(spec.in) + "] for shape '" + std::string(s.name) + "'");
    }
    const size_t weights = static_cast<size_t>(spec.out) * static_cast<size_t>(spec.in);
    const bool packed = l.weight.empty() && !l.packed.empty();
    if (packed && l.packed.size() != simd::PackedRows(static_cast<size_t>(spec.out)) *
                                         simd::PackedCols(static_cast<size_t>(spec.in))) {
      return DataError(what + ": " + name + " has " + std::to_string(l.packed.size()) +
                       " packed weights, expected " +
                       std::to_string(simd::PackedRows(static_cast<size_t>(spec.out)) *
                                      simd::PackedCols(static_cast<size_t>(spec.in))));
    }
    if ((!packed && l.weight.size() != weights) || l.bias.size() != static_cast<size_t>(spec.out)) {
      return DataError(what + ": " + name + " has " + std::to_string(l.weight.size()) +
                       " weights and " + std::to_string(l.bias.size()) + " biases, expected " +
                       std::to_string(weights) + " and " + std::to_string(spec.out));
    }
    if (l.channel_scales.empty() == m.per_channel()) {
      return DataError(what + ": " + name + (m.per_channel() ? " has one weight scale" :
                       " has per-row weight scales") + ", " + std::string(s.layers[0].name) +
                       (m.per_channel() ? " per-row scales" : " one") +
                       ": a model's layers are all per-row or all per-layer");
    }
    if (const std::string why = Int8LayerProblem(l); !why.empty()) {
      return DataError(what + ": " + name + "." + why);
    }
    const bool relu = spec.activation == Activation::kRelu;
    if (l.relu != relu) {
      return DataError(what + ": " + name + ".relu is " + (l.relu ? "true" : "false") +
                       ", expected " + (relu ? "true" : "false"));
    }
    const int from = Producer(s, i);
    if (from < 0) continue;
    const QuantRange& out = m.layers[static_cast<size_t>(from)].output;
    if (l.input.scale != out.scale || l.input.zero_point != out.zero_point) {
      return DataError(what + ": " + name + " input range " + RangeText(l.input) +
                       " differs from the output range of " + std::string(s.layers[from].name) +
                       " " + RangeText(out) + " that feeds it");
    }
  }
  return Status::Ok();
}

}  // namespace edgevae
