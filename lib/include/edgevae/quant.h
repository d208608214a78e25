// Post-training int8 quantization (symmetric per-tensor weights, int32 biases, affine int8
// activations with ranges calibrated on training images), in the form XNNPACK's qs8
// fully-connected operator takes. real = scale * (q - zero_point).
#ifndef EDGEVAE_QUANT_H_
#define EDGEVAE_QUANT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/data.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"

namespace edgevae {

// How an activation's range is chosen from its calibration values.
enum class Calibration {
  kMinMax,      // the observed minimum and maximum
  kPercentile,  // the 0.01st and 99.99th percentiles
  kMse,         // the clipping of [min, max] that minimises the quantization MSE
};
const char* CalibrationName(Calibration c);

struct QuantRange {
  float scale = 1;
  int32_t zero_point = 0;  // in [-128, 127]
};

struct Int8Layer {
  int out = 0, in = 0;
  std::vector<int8_t> weight;  // [out][in], symmetric: real = weight_scale * q
  float weight_scale = 1;
  std::vector<int32_t> bias;   // real = input.scale * weight_scale * q
  QuantRange input, output;
  bool relu = false;
};

// The factor that turns a layer's int32 sums into output steps, in float and in this order, as
// XNNPACK's qs8 operator computes it: every int8 path (XNNPACK, GemvI8, the sparse first layer)
// uses it, so that they requantize alike.
inline float RequantScale(const Int8Layer& l) {
  return l.input.scale * l.weight_scale / l.output.scale;
}
// The requantization scales XNNPACK's qs8 fully-connected operator takes: it refuses 256 and
// above, and asserts (aborting the program) below 2^-32. Loaders check every layer against them.
inline constexpr float kMinRequantScale = 0x1.0p-32f;
inline constexpr float kMaxRequantScale = 256.0f;
// Why the kernels cannot run `l` (a scale that is not a finite float > 0, a zero point outside
// [-128, 127], a requantization scale outside [kMinRequantScale, kMaxRequantScale)), or empty.
std::string Int8LayerProblem(const Int8Layer& l);

struct Int8Model {
  ShapeInfo shape;
  ModelMetadata metadata;
  Int8Layer fc1, fc21, fc22, fc3, fc4;  // fc3.input is the range of z
  std::string calibration;              // CalibrationName() of the method used
  int calibration_images = 0;
};

// Quantizes `model`; activation ranges from the f32 forward pass over the first
// `calibration_images` images of `calibration` (z's range also covers prior draws, since the
// decoder serves sampling as well as reconstruction).
StatusOr<Int8Model> QuantizeInt8(const Model& model, Runtime* runtime, const ImageSet& calibration,
                                 Calibration method, int calibration_images = 2000);

// Every calibration method, each int8 model's test loss on `validation` (held-out images; the
// converter uses the last 10,000 training images, not the test set), and the best one kept.
struct CalibrationReport {
  Calibration method;
  double loss = 0;  // nats per image on the validation images
};
StatusOr<Int8Model> QuantizeInt8Best(const Model& model, Runtime* runtime,
                                     const ImageSet& calibration, const ImageSet& validation,
                                     std::vector<CalibrationReport>* report,
                                     int calibration_images = 2000);

}  // namespace edgevae

#endif  // EDGEVAE_QUANT_H_
