// Reading .evae model files (layout in docs/model-format.md): versioned, little-endian,
// checksummed with xxHash64, 64-byte-aligned tensors, a JSON metadata section. Writing them is
// host tooling (edgevae/model_writer.h).
//
// Loading does not copy an int8 model's tensors: a file is mapped (mmap) and the layers' weights
// and biases point into the mapping, which the model keeps alive; a compiled-in model is read in
// place (LoadEmbeddedModel). f32 and f16 files are copied into the model's flat parameter array
// (its layout differs from the file's: the encoder's two heads sit side by side). A file that
// another process truncates while it is being loaded can raise SIGBUS: edgevae never truncates a
// model file in place (its writers replace files atomically).
#ifndef EDGEVAE_MODEL_FILE_H_
#define EDGEVAE_MODEL_FILE_H_

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/status.h"

namespace edgevae {

// The newest version this build reads and writes; it reads every version from 1 up to this one.
// v1: f32 models and training checkpoints. v2: adds int8 models (i8 weights, i32 biases and
// quantization parameters in the metadata), f16 models (f16 weights and biases) and golden
// vectors (u8 inputs, f32 references). v3: adds i16 weights (an int8 model stored in the
// cortex-m layout, WeightLayout). A file says the oldest version that has what it uses: only
// files with i16 tensors are v3, so builds that read v2 keep reading every other file.
inline constexpr uint32_t kModelFileVersion = 3;

// kI16: an int8 layer's weights widened and packed for Cortex-M (docs/model-format.md).
enum class DType : uint32_t { kF32 = 1, kI8 = 2, kI32 = 3, kU8 = 4, kF16 = 5, kI16 = 6 };
const char* DTypeName(DType dtype);

// Reference outputs stored by the converter: `count` inputs (pixels, count x input) and what the
// f32 model reconstructs from them (z = mu, pixel probabilities, count x input); `edgevae verify`
// re-runs them and compares against the thresholds.
// Images and their reconstructions with z = mu; for a generator alone (no encoder), its samples
// of seed 0 (Engine::Sample) and those samples rounded to bytes.
struct GoldenVectors {
  int count = 0;
  std::vector<uint8_t> pixels;
  std::vector<float> reconstruction;
  double max_abs_error = 0;  // thresholds for |reconstruction - stored|
  double mean_abs_error = 0;
};

// Reads and validates an f32 model file (a model or a training checkpoint with its Adam state).
// Rejects, each with a message naming the file and the field or offset: bad magic, a newer
// version (saying which this build supports), truncation, checksum mismatch, a shape that is not
// compiled in, tensor shape or dtype mismatch, non-finite weights, and int8 or f16 files (naming
// their dtype).
StatusOr<Model> LoadModel(const std::string& path);

// Whatever model a file holds, by its dtype: v1 and v2, f32, f16 and int8.
struct AnyModel {
  std::optional<Model> f32;  // also an f16 file's weights, widened exactly
  std::optional<Int8Model> int8;
  std::optional<GoldenVectors> golden;
  bool f16 = false;  // an f16 file: serve `f32` in half precision
  const char* dtype() const { return int8 ? "int8" : f16 ? "f16" : "f32"; }
};
StatusOr<AnyModel> LoadAnyModel(const std::string& path);
// The same on a file's bytes in memory; `name` is used in messages. The bytes are copied once
// (into an aligned buffer the model keeps), so they may be freed after the call.
StatusOr<AnyModel> LoadAnyModelFromBytes(const uint8_t* data, size_t size, const std::string& name);
// What a load keeps beyond the layers. Every part is validated either way.
struct LoadOptions {
  // The per-class latent statistics (ModelMetadata::class_latents): all, none, or those of the
  // labels set in `labels`. A shipped model's are most of its metadata (30 full covariances); a
  // program that draws a few classes, or never draws, need not hold the rest (a microcontroller
  // cannot).
  enum class ClassLatents { kAll, kNone, kLabels };
  ClassLatents class_latents = ClassLatents::kAll;
  std::bitset<256> labels;
  // The golden vectors (AnyModel::golden), which only `edgevae verify` runs.
  bool golden = true;
};
// A model compiled into the program (cmake/EmbedModel.cmake): read in place, not copied. `bytes`
// must stay valid as long as the model and anything made from it (a static array does) and be
// 64-byte aligned (the embedder aligns it); otherwise it is copied as LoadAnyModelFromBytes does.
StatusOr<AnyModel> LoadEmbeddedModel(std::span<const uint8_t> bytes, const std::string& name,
                                     const LoadOptions& options = {});

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

#endif  // EDGEVAE_MODEL_FILE_H_
