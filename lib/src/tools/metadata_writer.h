// The metadata section of a model file, written (docs/model-format.md; reading:
// runtime/metadata_reader.h): keys in the documented order, numbers that round-trip exactly.
// Internal to the tools library.
#ifndef EDGEVAE_TOOLS_METADATA_WRITER_H_
#define EDGEVAE_TOOLS_METADATA_WRITER_H_

#include <nlohmann/json.hpp>
#include <string>

#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"

namespace edgevae {

using OJson = nlohmann::ordered_json;  // keys in the documented order, for people reading it

// The keys every file has and the optional ones the model carries; `dtype` is "f32", "f16" or
// "int8".
OJson BaseMetadata(const ModelMetadata& md, const char* dtype);
OJson GoldenMetadata(const GoldenVectors& g);
// An int8 model's "quantization" object: the weight scheme, the calibration, and per layer its
// scales, zero points and ReLU flag.
OJson QuantizationMetadata(const Int8Model& m);
// Pretty-printed, except that arrays of numbers stay on one line.
std::string MetadataText(const OJson& j);

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_METADATA_WRITER_H_
