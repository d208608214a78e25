// The byte layout of docs/model-format.md: header and tensor-table offsets, element types and
// their little-endian storage, and the message helpers every part of the model-file code uses.
// The constants here must agree with that document. Internal to the libraries (the reader in
// the runtime, the writer in the tools).
#ifndef EDGEVAE_RUNTIME_MODEL_FORMAT_H_
#define EDGEVAE_RUNTIME_MODEL_FORMAT_H_

#include <bit>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/model_file.h"
#include "runtime/file_util.h"

namespace edgevae::format {

using io::GetU32;
using io::PutU32;

// PNG's trick: the CR LF, ^Z and LF after the name catch text-mode transfers and newline
// conversion, which would otherwise only show up as a checksum mismatch.
inline constexpr unsigned char kMagic[8] = {'E', 'V', 'A', 'E', '\r', '\n', 0x1a, '\n'};

inline constexpr uint64_t kHeaderBytes = 128;
// The checksum covers every byte after its own field: [kChecksummedFrom, file_bytes). The bytes
// before it (magic, version, header size, file size) are each validated exactly instead.
inline constexpr uint64_t kChecksummedFrom = 32;

// Header field offsets.
inline constexpr size_t kOffMagic = 0;
inline constexpr size_t kOffVersion = 8;
inline constexpr size_t kOffHeaderBytes = 12;
inline constexpr size_t kOffFileBytes = 16;
inline constexpr size_t kOffChecksum = 24;
inline constexpr size_t kOffShapeName = 32;  // char[16], NUL-padded
inline constexpr size_t kOffInput = 48;
inline constexpr size_t kOffHidden = 52;
inline constexpr size_t kOffLatent = 56;
inline constexpr size_t kOffTensorCount = 60;
inline constexpr size_t kOffTableOffset = 64;
inline constexpr size_t kOffMetadataOffset = 72;
inline constexpr size_t kOffMetadataBytes = 80;
// 88..127 reserved, written as zero.
inline constexpr size_t kShapeNameBytes = 16;
static_assert(kOffMetadataBytes + 8 <= kHeaderBytes);
static_assert(kOffChecksum + 8 == kChecksummedFrom);

// Tensor table entry: fixed size, so entry i sits at table_offset + i * kEntryBytes.
inline constexpr uint64_t kEntryBytes = 72;
inline constexpr size_t kEntName = 0;  // char[32], NUL-padded
inline constexpr size_t kEntDType = 32;
inline constexpr size_t kEntNdims = 36;
inline constexpr size_t kEntDims = 40;  // u32[4], unused trailing dims 0
inline constexpr size_t kEntOffset = 56;
inline constexpr size_t kEntBytes = 64;
inline constexpr size_t kTensorNameBytes = 32;
inline constexpr uint32_t kMaxDims = 4;
static_assert(kEntBytes + 8 == kEntryBytes);

inline constexpr uint64_t kDataAlignment = 64;  // tensor data offsets, from the start of the file
static_assert(kDataAlignment == kAlignment);

inline constexpr const char* kAdamM = "adam.m";
inline constexpr const char* kAdamV = "adam.v";
inline constexpr const char* kGoldenPixels = "golden.pixels";
inline constexpr const char* kGoldenReconstruction = "golden.reconstruction";

// The first version with dtypes other than f32 (int8 models, golden vectors).
inline constexpr uint32_t kFirstVersionWithInt8 = 2;
// The first version with i16 tensors (the cortex-m weight layout); what files without them say.
inline constexpr uint32_t kFirstVersionWithI16 = 3;
static_assert(kFirstVersionWithI16 == kModelFileVersion);
// quantization.weights: one scale per layer (in the metadata), or one per output row (a tensor
// "<layer>.weight_scale", f32 [out], beside the weights).
inline constexpr const char* kWeightScheme = "symmetric per-tensor";
inline constexpr const char* kWeightSchemePerRow = "symmetric per-row";
inline constexpr const char* kRowScalesSuffix = ".weight_scale";

inline size_t DTypeBytes(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kI16:
      return 2;
    case DType::kI8:
    case DType::kU8:
      return 1;
  }
  return 0;  // not a dtype this build knows
}

// `n` elements of `dtype` from memory to the file's little-endian bytes, and back.
inline void StoreElements(uint8_t* dst, DType dtype, const void* src, size_t n) {
  const size_t size = DTypeBytes(dtype);
  if (size == 1 || std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * size);
    return;
  }
  const auto* s = static_cast<const uint8_t*>(src);
  if (size == 2) {
    for (size_t i = 0; i < n; ++i) {
      uint16_t half;
      std::memcpy(&half, s + 2 * i, 2);
      dst[2 * i] = static_cast<uint8_t>(half);
      dst[2 * i + 1] = static_cast<uint8_t>(half >> 8);
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t word;  // f32 and i32 alike
    std::memcpy(&word, s + 4 * i, 4);
    PutU32(dst + 4 * i, word);
  }
}
inline void LoadElements(void* dst, DType dtype, const uint8_t* src, size_t n) {
  const size_t size = DTypeBytes(dtype);
  if (size == 1 || std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * size);
    return;
  }
  auto* d = static_cast<uint8_t*>(dst);
  if (size == 2) {
    for (size_t i = 0; i < n; ++i) {
      const uint16_t half = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
      std::memcpy(d + 2 * i, &half, 2);
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t word = GetU32(src + 4 * i);
    std::memcpy(d + 4 * i, &word, 4);
  }
}

inline uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// --- Message helpers ----------------------------------------------------------------------------

inline std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
  return buf;
}

// A fixed-size NUL-padded string field: up to the first NUL.
inline std::string FixedString(const uint8_t* p, size_t n) {
  const auto* c = reinterpret_cast<const char*>(p);
  return std::string(c, strnlen(c, n));
}

inline std::string DTypeText(DType dtype) {
  if (DTypeBytes(dtype) != 0) return DTypeName(dtype);
  return "dtype " + std::to_string(static_cast<uint32_t>(dtype));
}

inline std::string DimsText(const std::vector<uint32_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(dims[i]);
  }
  return out + "]";
}

// Element count of `dims`, or nullopt if it overflows 64 bits.
inline std::optional<uint64_t> ElementCount(const std::vector<uint32_t>& dims) {
  uint64_t n = 1;
  for (const uint32_t d : dims) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
  }
  return n;
}

// Whether [offset, offset + bytes) lies within [0, size), without overflow.
inline bool Within(uint64_t offset, uint64_t bytes, uint64_t size) {
  return offset <= size && bytes <= size - offset;
}
}  // namespace edgevae::format

#endif  // EDGEVAE_RUNTIME_MODEL_FORMAT_H_
