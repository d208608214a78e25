// The .evae model file (layout in docs/model-format.md): versioned, little-endian, checksummed
// with xxHash64, 64-byte-aligned tensors so a reader can mmap it, a JSON metadata section.
// Writing is atomic: a temp file beside the target, fsync, rename; a failed write leaves any
// existing file untouched.
#ifndef EDGEVAE_FILE_H_
#define EDGEVAE_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/status.h"

namespace edgevae {

inline constexpr uint32_t kModelFileVersion = 1;  // the newest version this build reads and writes

enum class DType : uint32_t { kF32 = 1 };
const char* DTypeName(DType dtype);

// Writes the model's ten tensors, its metadata and, if present, the Adam state (tensors adam.m
// and adam.v over the flat parameter array, and the step count in the metadata) so that a
// checkpoint resumes exactly.
Status SaveModel(const std::string& path, const Model& model);

// Reads and validates a model file. Rejects, each with a message naming the file and the field or
// offset: bad magic, a newer version (saying which this build supports), truncation, checksum
// mismatch, a shape that is not compiled in, tensor shape or dtype mismatch, non-finite weights.
StatusOr<Model> LoadModel(const std::string& path);

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
};
StatusOr<ModelFileInfo> InspectModelFile(const std::string& path);

}  // namespace edgevae

#endif  // EDGEVAE_FILE_H_
