// An int8 model: symmetric int8 weights (one scale per layer, or one per output row), int32
// biases and affine int8 activations, real = scale * (q - zero_point), in the form XNNPACK's qc8
// operator takes. Made by the quantizer (edgevae/quant.h), stored in model files
// (edgevae/model_file.h), run by the engine (edgevae/engine.h).
#ifndef EDGEVAE_INT8_MODEL_H_
#define EDGEVAE_INT8_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"

namespace edgevae {

struct QuantRange {
  float scale = 1;
  int32_t zero_point = 0;  // in [-128, 127]
};

struct Int8Layer {
  int out = 0, in = 0;
  // Views into bytes the model keeps alive (Int8Model::storage).
  std::span<const int8_t> weight;  // [out][in], symmetric: real = WeightScale(row) * q
  // The same weights in Cortex-M's packed int16 layout (kernels/packed_i16.h), read in place from
  // a file stored with WeightLayout::kCortexM by a bare-metal build, which then has no `weight`;
  // empty everywhere else (hosts unpack such a file into `weight`).
  std::span<const int16_t> packed;
  float weight_scale = 1;           // every row's, where channel_scales is empty
  // One scale per output row ([out]), or empty. Per-row scales keep a row of small weights from
  // being rounded on the grid of the layer's largest weight (files of 2026-12 on; older files
  // have one scale per layer).
  std::span<const float> channel_scales;
  std::span<const int32_t> bias;  // row r: real = input.scale * WeightScale(r) * q
  QuantRange input, output;
  bool relu = false;
};

inline float WeightScale(const Int8Layer& l, size_t row) {
  return l.channel_scales.empty() ? l.weight_scale : l.channel_scales[row];
}

// The factor that turns row `row`'s int32 sums into output steps, in float and in this order, as
// XNNPACK's qs8 and qc8 operators compute it: every int8 path (XNNPACK, GemvI8, the sparse first
// layer) uses it, so that they requantize alike.
inline float RequantScale(const Int8Layer& l, size_t row) {
  return l.input.scale * WeightScale(l, row) / l.output.scale;
}
// The requantization scales XNNPACK's qc8 operator takes: it refuses 256 and
// above, and asserts (aborting the program) below 2^-32. Loaders check every layer against them.
inline constexpr float kMinRequantScale = 0x1.0p-32f;
inline constexpr float kMaxRequantScale = 256.0f;
// Why the kernels cannot run `l` (a scale that is not a finite float > 0, a zero point outside
// [-128, 127], a requantization scale outside [kMinRequantScale, kMaxRequantScale), per-row
// scales that are not one per row), or empty.
std::string Int8LayerProblem(const Int8Layer& l);

// How a model file stores an int8 model's weights: int8 rows (the only layout before version 3), or
// widened to int16 and packed for the Cortex-M kernel (dtype i16: twice the bytes, about a third
// of the instructions per multiply-add there; docs/model-format.md). The arithmetic is the same.
enum class WeightLayout { kRows, kCortexM };
const char* WeightLayoutName(WeightLayout layout);  // "rows", "cortex-m"

struct Int8Model {
  ShapeInfo shape;
  ModelMetadata metadata;
  // One per layer of the shape's table, in its order. The heads take the last encoder layer's
  // output range as input, the first decoder layer the range of z.
  std::vector<Int8Layer> layers;
  WeightLayout layout = WeightLayout::kRows;  // the file's; SaveInt8Model writes this one
  std::string calibration;  // CalibrationName() of the method used
  int calibration_images = 0;
  // Whether the layers have per-row weight scales (all of them, or none: the file's scheme).
  bool per_channel() const { return !layers.empty() && !layers[0].channel_scales.empty(); }
  // Keeps alive the bytes the layers' weights and biases point into: a mapped file, a copy of
  // one, or arrays made by the quantizer (SetOwnedTensors). Empty for a compiled-in model, whose
  // bytes live as long as the program. Copies of the model share them.
  std::vector<std::shared_ptr<const void>> storage;

  // The layer of `shape.layers[i]` with this role (the nth of them); the role must exist.
  const Int8Layer& layer(LayerRole role, int nth = 0) const {
    return layers[shape.Find(role, nth)];
  }
};

// Points layer `i` of `model` at these weights and biases, which the model then owns (the
// quantizer's output, a test's model).
void SetOwnedTensors(Int8Model* model, size_t i, std::vector<int8_t> weight,
                     std::vector<int32_t> bias);
// The same with per-row weight scales.
void SetOwnedTensors(Int8Model* model, size_t i, std::vector<int8_t> weight,
                     std::vector<int32_t> bias, std::vector<float> channel_scales);

// Whether `model` is one the engine can run, naming the first problem after `what`: one layer per
// entry of its shape's table with that entry's sizes and ReLU flag, weights and biases of those
// sizes, per-row scales in every layer or in none, Int8LayerProblem() for each layer, and each
// layer's input range equal to the output range of the layer feeding it (activations pass from
// layer to layer unchanged).
Status CheckInt8Model(const Int8Model& model, const std::string& what);

}  // namespace edgevae

#endif  // EDGEVAE_INT8_MODEL_H_
