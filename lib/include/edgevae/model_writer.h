// Writing .evae model files (layout in docs/model-format.md; reading: edgevae/model_file.h).
// Writing is atomic: a temp file beside the target, fsync, rename; a failed write leaves any
// existing file untouched. Nothing is written that the reader would refuse.
#ifndef EDGEVAE_MODEL_WRITER_H_
#define EDGEVAE_MODEL_WRITER_H_

#include <string>

#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae {

// Writes the model's tensors, its metadata and, if present, the Adam state (tensors adam.m and
// adam.v over the flat parameter array, and the step count in the metadata) so that a checkpoint
// resumes exactly.
Status SaveModel(const std::string& path, const Model& model);
// SaveModel plus golden vectors (the Adam state too, if the model carries it, as SaveModel).
Status SaveModelWithGolden(const std::string& path, const Model& model,
                           const GoldenVectors& golden);
// An int8 model file (v2): each layer's i8 weights and i32 biases as tensors "<layer>.weight",
// "<layer>.bias", their scales, zero points and ReLU flags in the metadata, plus the calibration
// method and image count; golden vectors if given.
Status SaveInt8Model(const std::string& path, const Int8Model& model,
                     const GoldenVectors* golden = nullptr);
// An f16 model file (v2): the tensors rounded to IEEE half precision, dtype "f16"; served by an
// engine in half precision (EngineOptions::f16). No Adam state.
Status SaveF16Model(const std::string& path, const Model& model,
                    const GoldenVectors* golden = nullptr);

}  // namespace edgevae

#endif  // EDGEVAE_MODEL_WRITER_H_
