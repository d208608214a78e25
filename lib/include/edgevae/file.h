// The .evae model file (layout in docs/model-format.md): versioned, little-endian, checksummed
// with xxHash64, 64-byte-aligned tensors so a reader can mmap it, a JSON metadata section.
// Writing is atomic: a temp file beside the target, fsync, rename; a failed write leaves any
// existing file untouched.
#ifndef EDGEVAE_FILE_H_
#define EDGEVAE_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/quant.h"
#include "edgevae/status.h"

namespace edgevae {

// The newest version this build writes; it reads every version from 1 up to this one.
// v1: f32 models and training checkpoints. v2: adds int8 models (i8 weights, i32 biases and
// quantization parameters in the metadata), f16 models (f16 weights and biases) and golden
// vectors (u8 inputs, f32 references).
inline constexpr uint32_t kModelFileVersion = 2;

enum class DType : uint32_t { kF32 = 1, kI8 = 2, kI32 = 3, kU8 = 4, kF16 = 5 };
const char* DTypeName(DType dtype);

// Writes the model's ten tensors, its metadata and, if present, the Adam state (tensors adam.m
// and adam.v over the flat parameter array, and the step count in the metadata) so that a
// checkpoint resumes exactly.
Status SaveModel(const std::string& path, const Model& model);

// Reads and validates a model file. Rejects, each with a message naming the file and the field or
// offset: bad magic, a newer version (saying which this build supports), truncation, checksum
// mismatch, a shape that is not compiled in, tensor shape or dtype mismatch, non-finite weights.
StatusOr<Model> LoadModel(const std::string& path);

// Reference outputs stored by the converter: `count` inputs (pixels, count x input) and what the
// f32 model reconstructs from them (z = mu, pixel probabilities, count x input); `edgevae verify`
// re-runs them and compares against the thresholds.
struct GoldenVectors {
  int count = 0;
  std::vector<uint8_t> pixels;
  std::vector<float> reconstruction;
  double max_abs_error = 0;   // thresholds for |reconstruction - stored|
  double mean_abs_error = 0;
};

// An int8 model file (v2): the five layers' i8 weights and i32 biases as tensors "fc1.weight",
// "fc1.bias", ..., their scales, zero points and ReLU flags in the metadata, plus the
// calibration method and image count; golden vectors if given. Atomic like SaveModel.
Status SaveInt8Model(const std::string& path, const Int8Model& model,
                     const GoldenVectors* golden = nullptr);
// An f16 model file (v2): the ten tensors rounded to IEEE half precision, dtype "f16"; served by
// an engine in half precision (EngineOptions::f16). No Adam state.
Status SaveF16Model(const std::string& path, const Model& model,
                    const GoldenVectors* golden = nullptr);
// SaveModel plus golden vectors (the Adam state too, if the model carries it, as SaveModel).
Status SaveModelWithGolden(const std::string& path, const Model& model,
                           const GoldenVectors& golden);

// Whatever model a file holds, by its dtype. LoadModel rejects int8 and f16 files (naming their
// dtype); this reads v1 and v2, f32, f16 and int8.
struct AnyModel {
  std::optional<Model> f32;  // also an f16 file's weights, widened exactly
  std::optional<Int8Model> int8;
  std::optional<GoldenVectors> golden;
  bool f16 = false;          // an f16 file: serve `f32` in half precision
  const char* dtype() const { return int8 ? "int8" : f16 ? "f16" : "f32"; }
};
StatusOr<AnyModel> LoadAnyModel(const std::string& path);
// The same on a file's bytes in memory (a model embedded in a firmware binary); `name` is used in
// messages. The bytes are copied.
StatusOr<AnyModel> LoadAnyModelFromBytes(const uint8_t* data, size_t size,
                                         const std::string& name);

// Writes the model file at `model_path` as a C/C++ header: a 64-byte-aligned array `symbol` and
// `symbol`_size, for firmware that embeds its model (atomic, like every writer here).
Status WriteCArray(const std::string& path, const std::string& model_path,
                   const std::string& symbol);

// What `edgevae info` shows about a file without trusting it.
struct ModelFileInfo {
  uint32_t version = 0;
  uint64_t file_bytes = 0;
  uint64_t stored_checksum = 0;
  uint64_t computed_checksum = 0;
  bool checksum_ok = false;
  std::string shape_name;
  int input = 0, hidden = 0, latent = 0;
  struct Tensor {
    std::string name;
    DType dtype = DType::kF32;
    std::vector<uint32_t> dims;
    uint64_t offset = 0;  // from the start of the file
    uint64_t bytes = 0;
  };
  std::vector<Tensor> tensors;
  std::string metadata_json;  // the metadata section as stored
  // Why the metadata must not be parsed (larger than the readers take, nested too deep, a NUL
  // byte, too many keys: see docs/reliability.md), or empty if it may be.
  std::string metadata_problem;
};
StatusOr<ModelFileInfo> InspectModelFile(const std::string& path);

}  // namespace edgevae

#endif  // EDGEVAE_FILE_H_
