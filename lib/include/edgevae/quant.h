// Post-training int8 quantization (symmetric weights with a scale per output row, int32 biases,
// affine int8 activations with ranges calibrated on training images) into an Int8Model
// (edgevae/int8_model.h).
#ifndef EDGEVAE_QUANT_H_
#define EDGEVAE_QUANT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"

namespace edgevae {

// How an activation's range is chosen from its calibration values. The output logits are always
// ranged by the mean |pixel error| of their sigmoid, the pixels the engine returns.
enum class Calibration {
  kMinMax,      // the observed minimum and maximum
  kPercentile,  // the 0.01st and 99.99th percentiles
  kMse,         // the clipping of [min, max] that minimises the quantization MSE
};
const char* CalibrationName(Calibration c);

// Quantizes `model`; activation ranges from the f32 forward pass over the first
// `calibration_images` images of `calibration` (z's range also covers prior draws, since the
// decoder serves sampling as well as reconstruction).
StatusOr<Int8Model> QuantizeInt8(const Model& model, Runtime* runtime, const ImageSet& calibration,
                                 Calibration method, int calibration_images = 2000);

// Every calibration method, each int8 model's test loss on `validation` (held-out images; the
// converter uses the last 10,000 training images, not the test set), and the best one kept. A
// generator alone (no encoder) is measured instead by the mean |pixel error| of its
// kGeneratorValidationSamples samples (seed 1) against the f32 generator's.
inline constexpr int kGeneratorValidationSamples = 500;
struct CalibrationReport {
  Calibration method;
  double loss = 0;  // nats per image on the validation images; a generator's mean |pixel error|
};
StatusOr<Int8Model> QuantizeInt8Best(const Model& model, Runtime* runtime,
                                     const ImageSet& calibration, const ImageSet& validation,
                                     std::vector<CalibrationReport>* report,
                                     int calibration_images = 2000);

}  // namespace edgevae

#endif  // EDGEVAE_QUANT_H_
