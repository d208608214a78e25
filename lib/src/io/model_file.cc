// The .evae model file, versions 1 and 2. docs/model-format.md is the specification; the constants
// below must agree with it. v2 writes everything; v1 files (f32 only, no "dtype" key) still load.
//
// Reading copies the file into one aligned buffer with read() rather than mmap()ing it: the
// weights are copied into the model's own flat array anyway, and a mapping would turn a file
// truncated by someone else while we read it into SIGBUS instead of a Status. The format keeps
// every tensor 64-byte aligned so that a reader that wants a zero-copy mapping can have one.
#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "edgevae/buffer.h"
#include "edgevae/file.h"
#include "io/file_util.h"
#include "io/json_util.h"
#include "simd/kernels.h"

namespace edgevae {
namespace {

using io::GetU32;
using io::GetU64;
using io::PutU32;
using io::PutU64;
using io::Quoted;

// --- Layout (docs/model-format.md) -------------------------------------------------------------

// PNG's trick: the CR LF, ^Z and LF after the name catch text-mode transfers and newline
// conversion, which would otherwise only show up as a checksum mismatch.
constexpr unsigned char kMagic[8] = {'E', 'V', 'A', 'E', '\r', '\n', 0x1a, '\n'};

constexpr uint64_t kHeaderBytes = 128;
// The checksum covers every byte after its own field: [kChecksummedFrom, file_bytes). The bytes
// before it (magic, version, header size, file size) are each validated exactly instead.
constexpr uint64_t kChecksummedFrom = 32;

// Header field offsets.
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 8;
constexpr size_t kOffHeaderBytes = 12;
constexpr size_t kOffFileBytes = 16;
constexpr size_t kOffChecksum = 24;
constexpr size_t kOffShapeName = 32;  // char[16], NUL-padded
constexpr size_t kOffInput = 48;
constexpr size_t kOffHidden = 52;
constexpr size_t kOffLatent = 56;
constexpr size_t kOffTensorCount = 60;
constexpr size_t kOffTableOffset = 64;
constexpr size_t kOffMetadataOffset = 72;
constexpr size_t kOffMetadataBytes = 80;
// 88..127 reserved, written as zero.
constexpr size_t kShapeNameBytes = 16;
static_assert(kOffMetadataBytes + 8 <= kHeaderBytes);
static_assert(kOffChecksum + 8 == kChecksummedFrom);

// Tensor table entry: fixed size, so entry i sits at table_offset + i * kEntryBytes.
constexpr uint64_t kEntryBytes = 72;
constexpr size_t kEntName = 0;  // char[32], NUL-padded
constexpr size_t kEntDType = 32;
constexpr size_t kEntNdims = 36;
constexpr size_t kEntDims = 40;  // u32[4], unused trailing dims 0
constexpr size_t kEntOffset = 56;
constexpr size_t kEntBytes = 64;
constexpr size_t kTensorNameBytes = 32;
constexpr uint32_t kMaxDims = 4;
static_assert(kEntBytes + 8 == kEntryBytes);

constexpr uint64_t kDataAlignment = 64;  // tensor data offsets, from the start of the file
static_assert(kDataAlignment == kAlignment);

constexpr const char* kAdamM = "adam.m";
constexpr const char* kAdamV = "adam.v";
constexpr const char* kGoldenPixels = "golden.pixels";
constexpr const char* kGoldenReconstruction = "golden.reconstruction";

// The first version with dtypes other than f32 (int8 models, golden vectors).
constexpr uint32_t kFirstVersionWithInt8 = 2;
constexpr const char* kWeightScheme = "symmetric per-tensor";


size_t DTypeBytes(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
      return 2;
    case DType::kI8:
    case DType::kU8:
      return 1;
  }
  return 0;  // not a dtype this build knows
}

// `n` elements of `dtype` from memory to the file's little-endian bytes, and back.
void StoreElements(uint8_t* dst, DType dtype, const void* src, size_t n) {
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
void LoadElements(void* dst, DType dtype, const uint8_t* src, size_t n) {
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

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// --- Message helpers ----------------------------------------------------------------------------

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
  return buf;
}


// A fixed-size NUL-padded string field: up to the first NUL.
std::string FixedString(const uint8_t* p, size_t n) {
  const auto* c = reinterpret_cast<const char*>(p);
  return std::string(c, strnlen(c, n));
}

std::string DTypeText(DType dtype) {
  if (DTypeBytes(dtype) != 0) return DTypeName(dtype);
  return "dtype " + std::to_string(static_cast<uint32_t>(dtype));
}

std::string DimsText(const std::vector<uint32_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(dims[i]);
  }
  return out + "]";
}

// Element count of `dims`, or nullopt if it overflows 64 bits.
std::optional<uint64_t> ElementCount(const std::vector<uint32_t>& dims) {
  uint64_t n = 1;
  for (const uint32_t d : dims) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
  }
  return n;
}

// Whether [offset, offset + bytes) lies within [0, size), without overflow.
bool Within(uint64_t offset, uint64_t bytes, uint64_t size) {
  return offset <= size && bytes <= size - offset;
}

// --- Files --------------------------------------------------------------------------------------

// The whole file in one 64-byte-aligned buffer.
struct FileBytes {
  AlignedBuffer<uint8_t> data;
  uint64_t size = 0;
};

Status ReadWholeFile(const std::string& path, FileBytes* out) {
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return IoError(path + ": cannot open: " + io::ErrnoText(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError(path + ": cannot stat: " + io::ErrnoText(errno));
  if (S_ISDIR(st.st_mode)) return IoError(path + ": is a directory, not a model file");
  if (!S_ISREG(st.st_mode)) return IoError(path + ": not a regular file");
  const uint64_t want = static_cast<uint64_t>(st.st_size);
  if (want > std::numeric_limits<size_t>::max() / 2) {
    return IoError(path + ": " + std::to_string(want) + " bytes is too large to read here");
  }
  out->data.Resize(want);
  if (want != 0 && out->data.empty()) {
    return Internal(path + ": out of memory allocating " + std::to_string(want) + " bytes");
  }
  // A file that shrank since fstat reads short: validation reports it as truncated.
  EVAE_ASSIGN_OR_RETURN(out->size,
                        io::ReadFully(fd.get(), path, out->data.data(), static_cast<size_t>(want)));
  return Status::Ok();
}

// --- Parsing the container ----------------------------------------------------------------------

struct ParsedFile {
  FileBytes bytes;
  ModelFileInfo info;
  uint64_t table_offset = 0;
  uint64_t metadata_offset = 0;
};

// Reads the file and checks what must hold before anything in it can be located: size, magic,
// version, header size, declared file size, and that the table, the metadata and every tensor lie
// inside the file. Computes the checksum but does not judge it.
StatusOr<ParsedFile> Locate(const std::string& path, FileBytes bytes);

StatusOr<ParsedFile> ReadAndLocate(const std::string& path) {
  FileBytes bytes;
  EVAE_RETURN_IF_ERROR(ReadWholeFile(path, &bytes));
  return Locate(path, std::move(bytes));
}

// ReadAndLocate on bytes already in memory; `path` names them in messages.
StatusOr<ParsedFile> Locate(const std::string& path, FileBytes bytes) {
  ParsedFile f;
  f.bytes = std::move(bytes);
  const uint8_t* p = f.bytes.data.data();
  const uint64_t size = f.bytes.size;

  const size_t magic_avail = static_cast<size_t>(std::min<uint64_t>(size, sizeof(kMagic)));
  if (magic_avail != 0 && std::memcmp(p + kOffMagic, kMagic, magic_avail) != 0) {
    return DataError(
        path + ": bad magic at offset 0: expected " +
        Quoted(std::string_view(reinterpret_cast<const char*>(kMagic), sizeof(kMagic))) +
        ", found " + Quoted(std::string_view(reinterpret_cast<const char*>(p), magic_avail)) +
        "; not an edgevae model file");
  }
  if (size < kHeaderBytes) {
    return DataError(path + ": truncated: " + std::to_string(size) + " bytes, shorter than the " +
                     std::to_string(kHeaderBytes) + "-byte header");
  }

  ModelFileInfo& info = f.info;
  info.version = GetU32(p + kOffVersion);
  if (info.version == 0) {
    return DataError(path + ": header field version (offset " + std::to_string(kOffVersion) +
                     ") is 0, which no edgevae writes");
  }
  if (info.version > kModelFileVersion) {
    return Unsupported(path + ": file version " + std::to_string(info.version) +
                       " is newer than this build supports (" + std::to_string(kModelFileVersion) +
                       ")");
  }
  const uint32_t header_bytes = GetU32(p + kOffHeaderBytes);
  if (header_bytes != kHeaderBytes) {
    return DataError(path + ": header field header_bytes (offset " +
                     std::to_string(kOffHeaderBytes) + "): expected " +
                     std::to_string(kHeaderBytes) + " for version " + std::to_string(info.version) +
                     ", found " + std::to_string(header_bytes));
  }
  info.file_bytes = GetU64(p + kOffFileBytes);
  if (size < info.file_bytes) {
    return DataError(path + ": truncated: header (offset " + std::to_string(kOffFileBytes) +
                     ") says " + std::to_string(info.file_bytes) + " bytes, file has " +
                     std::to_string(size));
  }
  if (size > info.file_bytes) {
    return DataError(path + ": " + std::to_string(size - info.file_bytes) +
                     " trailing bytes: header (offset " + std::to_string(kOffFileBytes) +
                     ") says " + std::to_string(info.file_bytes) + " bytes, file has " +
                     std::to_string(size));
  }

  info.stored_checksum = GetU64(p + kOffChecksum);
  info.computed_checksum = XXH64(p + kChecksummedFrom, size - kChecksummedFrom, 0);
  info.checksum_ok = info.stored_checksum == info.computed_checksum;

  info.shape_name = FixedString(p + kOffShapeName, kShapeNameBytes);
  // Sizes beyond int range cannot name any shape; clamp so that the message stays sane.
  const auto as_int = [](uint32_t v) {
    return static_cast<int>(std::min<uint32_t>(v, std::numeric_limits<int>::max()));
  };
  info.input = as_int(GetU32(p + kOffInput));
  info.hidden = as_int(GetU32(p + kOffHidden));
  info.latent = as_int(GetU32(p + kOffLatent));

  const uint32_t count = GetU32(p + kOffTensorCount);
  f.table_offset = GetU64(p + kOffTableOffset);
  const uint64_t table_bytes = static_cast<uint64_t>(count) * kEntryBytes;
  if (!Within(f.table_offset, table_bytes, size)) {
    return DataError(path + ": truncated: tensor table (" + std::to_string(count) + " entries of " +
                     std::to_string(kEntryBytes) + " bytes at offset " +
                     std::to_string(f.table_offset) + ") extends past the end of the file (" +
                     std::to_string(size) + " bytes)");
  }
  f.metadata_offset = GetU64(p + kOffMetadataOffset);
  const uint64_t metadata_bytes = GetU64(p + kOffMetadataBytes);
  if (!Within(f.metadata_offset, metadata_bytes, size)) {
    return DataError(path + ": truncated: metadata (" + std::to_string(metadata_bytes) +
                     " bytes at offset " + std::to_string(f.metadata_offset) +
                     ") extends past the end of the file (" + std::to_string(size) + " bytes)");
  }
  info.metadata_json.assign(reinterpret_cast<const char*>(p + f.metadata_offset), metadata_bytes);

  info.tensors.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t at = f.table_offset + i * kEntryBytes;
    const uint8_t* e = p + at;
    ModelFileInfo::Tensor t;
    t.name = FixedString(e + kEntName, kTensorNameBytes);
    t.dtype = static_cast<DType>(GetU32(e + kEntDType));
    const uint32_t ndims = GetU32(e + kEntNdims);
    if (ndims == 0 || ndims > kMaxDims) {
      return DataError(path + ": tensor table entry " + std::to_string(i) + " (" + Quoted(t.name) +
                       ", offset " + std::to_string(at + kEntNdims) + "): ndims " +
                       std::to_string(ndims) + ", expected 1 to " + std::to_string(kMaxDims));
    }
    for (uint32_t d = 0; d < ndims; ++d) t.dims.push_back(GetU32(e + kEntDims + 4 * d));
    t.offset = GetU64(e + kEntOffset);
    t.bytes = GetU64(e + kEntBytes);
    if (!Within(t.offset, t.bytes, size)) {
      return DataError(path + ": truncated: tensor " + Quoted(t.name) + " (" +
                       std::to_string(t.bytes) + " bytes at offset " + std::to_string(t.offset) +
                       ") extends past the end of the file (" + std::to_string(size) + " bytes)");
    }
    info.tensors.push_back(std::move(t));
  }
  return f;
}

// The regions of the file must not overlap (a writer bug or a crafted file otherwise).
Status CheckNoOverlap(const std::string& path, const ParsedFile& f) {
  struct Region {
    uint64_t begin, end;
    std::string what;
  };
  std::vector<Region> regions;
  regions.push_back({0, kHeaderBytes, "the header"});
  regions.push_back(
      {f.table_offset, f.table_offset + f.info.tensors.size() * kEntryBytes, "the tensor table"});
  regions.push_back(
      {f.metadata_offset, f.metadata_offset + f.info.metadata_json.size(), "the metadata"});
  for (const ModelFileInfo::Tensor& t : f.info.tensors) {
    regions.push_back({t.offset, t.offset + t.bytes, "tensor " + Quoted(t.name)});
  }
  std::erase_if(regions, [](const Region& r) { return r.begin == r.end; });
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < regions.size(); ++i) {
    const Region& a = regions[i - 1];
    const Region& b = regions[i];
    if (b.begin < a.end) {
      return DataError(path + ": " + b.what + " at [" + std::to_string(b.begin) + ", " +
                       std::to_string(b.end) + ") overlaps " + a.what + " at [" +
                       std::to_string(a.begin) + ", " + std::to_string(a.end) + ")");
    }
  }
  return Status::Ok();
}

// --- Metadata -----------------------------------------------------------------------------------

using Json = nlohmann::json;


// Reads keys of one JSON object; `prefix` ("quantization.layers.fc1.") makes a nested key's
// message name its full path.
class MetadataReader {
 public:
  MetadataReader(const std::string& path, const Json& j, std::string prefix = "")
      : path_(path), j_(j), prefix_(std::move(prefix)) {}

  Status String(const char* key, std::string* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_string()) return Wrong(key, "a string", *v);
    *out = v->get<std::string>();
    return Status::Ok();
  }
  Status Integer(const char* key, int64_t lo, uint64_t hi, int64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    const std::string want =
        "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      if (u > hi || (lo > 0 && u < static_cast<uint64_t>(lo))) return Wrong(key, want, *v);
      *out = static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
      const int64_t s = v->get<int64_t>();
      if (s < lo) return Wrong(key, want, *v);
      *out = s;
    } else {
      return Wrong(key, want, *v);
    }
    return Status::Ok();
  }
  Status Unsigned(const char* key, uint64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    // nlohmann stores every non-negative integer literal as unsigned.
    if (!v->is_number_unsigned()) return Wrong(key, "a non-negative integer", *v);
    *out = v->get<uint64_t>();
    return Status::Ok();
  }
  // A number, or null for NaN (JSON has no non-finite numbers).
  Status NumberOrNull(const char* key, double* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (v->is_null()) {
      *out = std::numeric_limits<double>::quiet_NaN();
    } else if (v->is_number()) {
      *out = v->get<double>();
    } else {
      return Wrong(key, "a number or null", *v);
    }
    return Status::Ok();
  }
  Status NonNegative(const char* key, double* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_number() || !(v->get<double>() >= 0)) return Wrong(key, "a number >= 0", *v);
    *out = v->get<double>();
    return Status::Ok();
  }
  // A quantization scale: stored as the double equal to the float, so the cast back is exact.
  Status Scale(const char* key, float* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    // Range first: casting a double beyond FLT_MAX to float is undefined.
    const double d = v->is_number() ? v->get<double>() : 0.0;
    const float f = d > 0 && d <= std::numeric_limits<float>::max() ? static_cast<float>(d) : 0.0f;
    if (!(f > 0)) return Wrong(key, "a finite float > 0", *v);
    *out = f;
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_boolean()) return Wrong(key, "true or false", *v);
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status Object(const char* key, const Json** out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_object()) return Wrong(key, "an object", *v);
    *out = v;
    return Status::Ok();
  }
  Status Array(const char* key, const Json** out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_array()) return Wrong(key, "an array", *v);
    *out = v;
    return Status::Ok();
  }
  Status Finite(const char* key, double* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_number() || !std::isfinite(v->get<double>())) return Wrong(key, "a number", *v);
    *out = v->get<double>();
    return Status::Ok();
  }
  // An array of exactly `n` finite numbers that fit a float.
  Status Floats(const char* key, size_t n, std::vector<float>* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Missing(key);
    const std::string want = "an array of " + std::to_string(n) + " finite numbers";
    if (!v->is_array() || v->size() != n) return Wrong(key, want, *v);
    out->resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Json& e = (*v)[i];
      const double d = e.is_number() ? e.get<double>() : std::numeric_limits<double>::infinity();
      if (!(std::fabs(d) <= std::numeric_limits<float>::max())) return Wrong(key, want, *v);
      (*out)[i] = static_cast<float>(d);
    }
    return Status::Ok();
  }
  bool Has(const char* key) const { return Find(key) != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& prefix() const { return prefix_; }

  Status Wrong(const char* key, const std::string& want, const Json& found) const {
    return DataError(path_ + ": metadata key '" + prefix_ + key + "': expected " + want +
                     ", found " + io::JsonExcerpt(found));
  }

 private:
  const Json* Find(const char* key) const {
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  Status Missing(const char* key) const {
    return DataError(path_ + ": metadata: missing key '" + prefix_ + key + "'");
  }
  const std::string& path_;
  const Json& j_;
  std::string prefix_;
};

// Metadata beyond this is refused before parsing (a shipped model's is ~200 KB, mostly the
// per-class latent statistics).
constexpr uint64_t kMaxMetadataBytes = 8 << 20;

// Whether the metadata may be parsed at all: its size and CheckJsonStructure's limits.
Status CheckMetadataText(const std::string& path, const ParsedFile& f) {
  const std::string& text = f.info.metadata_json;
  const std::string what = path + ": metadata (" + std::to_string(text.size()) +
                           " bytes at offset " + std::to_string(f.metadata_offset) + ")";
  if (text.size() > kMaxMetadataBytes) {
    return DataError(what + " is larger than the " + std::to_string(kMaxMetadataBytes) +
                     "-byte limit");
  }
  return io::CheckJsonStructure(text, what, f.metadata_offset);
}

StatusOr<Json> ParseMetadataJson(const std::string& path, const ParsedFile& f) {
  const std::string& text = f.info.metadata_json;
  EVAE_RETURN_IF_ERROR(CheckMetadataText(path, f));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return DataError(path + ": metadata (" + std::to_string(text.size()) + " bytes at offset " +
                     std::to_string(f.metadata_offset) + ") is not valid JSON: " +
                     io::JsonSyntaxError(text.data(), text.data() + text.size()));
  }
  if (!j.is_object()) {
    return DataError(path + ": metadata (offset " + std::to_string(f.metadata_offset) +
                     "): expected a JSON object, found " + j.type_name());
  }
  return j;
}

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// Each float as the double nearest to its shortest decimal form (std::to_chars), so that the JSON
// shows about 9 digits instead of the 17 of the exact double (the class statistics of a
// mixture are some 12,000 numbers); casting the parsed double back to float gives the same
// float (checked, with the exact double as the fallback).
std::vector<double> ShortestDoubles(const std::vector<float>& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (float f : values) {
    char buf[32];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf) - 1, f);
    *r.ptr = '\0';
    const double d = std::strtod(buf, nullptr);
    out.push_back(r.ec == std::errc() && static_cast<float>(d) == f ? d : static_cast<double>(f));
  }
  return out;
}

// The optional keys: classes, command, class_latents, anomaly.
Status ParseOptionalMetadata(const MetadataReader& r, int latent, ModelMetadata* md) {
  if (r.Has("command")) EVAE_RETURN_IF_ERROR(r.String("command", &md->command));
  if (r.Has("classes")) {
    const Json* a = nullptr;
    EVAE_RETURN_IF_ERROR(r.Array("classes", &a));
    for (const Json& c : *a) {
      if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() > 255) {
        return r.Wrong("classes", "an array of labels in [0, 255]", *a);
      }
      md->classes.push_back(c.get<int>());
    }
  }
  if (r.Has("class_latents")) {
    const Json* a = nullptr;
    EVAE_RETURN_IF_ERROR(r.Array("class_latents", &a));
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string prefix = "class_latents[" + std::to_string(i) + "].";
      if (!(*a)[i].is_object()) return r.Wrong("class_latents", "an array of objects", *a);
      const MetadataReader cr(r.path(), (*a)[i], r.prefix() + prefix);
      ClassLatentStats c;
      int64_t label = 0, count = 0;
      EVAE_RETURN_IF_ERROR(cr.Integer("label", 0, 255, &label));
      EVAE_RETURN_IF_ERROR(cr.Integer("count", 1, kIntMax, &count));
      EVAE_RETURN_IF_ERROR(cr.Floats("mean", static_cast<size_t>(latent), &c.mean));
      EVAE_RETURN_IF_ERROR(
          cr.Floats("cov", static_cast<size_t>(latent) * static_cast<size_t>(latent), &c.cov));
      c.label = static_cast<int>(label);
      c.count = static_cast<int>(count);
      md->class_latents.push_back(std::move(c));
    }
  }
  if (r.Has("anomaly")) {
    const Json* o = nullptr;
    EVAE_RETURN_IF_ERROR(r.Object("anomaly", &o));
    const MetadataReader ar(r.path(), *o, r.prefix() + "anomaly.");
    AnomalyThreshold t;
    int64_t images = 0, samples = 0;
    EVAE_RETURN_IF_ERROR(ar.String("method", &t.method));
    EVAE_RETURN_IF_ERROR(ar.NonNegative("fpr", &t.fpr));
    EVAE_RETURN_IF_ERROR(ar.Integer("images", 0, kIntMax, &images));
    EVAE_RETURN_IF_ERROR(ar.Integer("samples", 0, kIntMax, &samples));
    EVAE_RETURN_IF_ERROR(ar.Finite("threshold", &t.threshold));
    t.images = static_cast<int>(images);
    t.samples = static_cast<int>(samples);
    md->anomaly = std::move(t);
  }
  return Status::Ok();
}

Status ParseMetadata(const MetadataReader& r, int latent, bool want_adam_step, ModelMetadata* md,
                     int64_t* adam_step) {
  int64_t epochs = 0, batch = 0;
  EVAE_RETURN_IF_ERROR(r.String("dataset", &md->dataset));
  EVAE_RETURN_IF_ERROR(r.Integer("epochs", 0, kIntMax, &epochs));
  EVAE_RETURN_IF_ERROR(r.Unsigned("seed", &md->seed));
  EVAE_RETURN_IF_ERROR(r.Integer("batch", 0, kIntMax, &batch));
  EVAE_RETURN_IF_ERROR(r.NumberOrNull("lr", &md->lr));
  EVAE_RETURN_IF_ERROR(r.NumberOrNull("train_loss", &md->train_loss));
  EVAE_RETURN_IF_ERROR(r.NumberOrNull("test_loss", &md->test_loss));
  EVAE_RETURN_IF_ERROR(r.String("edgevae_version", &md->edgevae_version));
  md->epochs = static_cast<int>(epochs);
  md->batch = static_cast<int>(batch);
  EVAE_RETURN_IF_ERROR(ParseOptionalMetadata(r, latent, md));
  if (want_adam_step) {
    EVAE_RETURN_IF_ERROR(r.Integer("adam_step", 0, std::numeric_limits<int64_t>::max(), adam_step));
  }
  return Status::Ok();
}

// --- The five layers ----------------------------------------------------------------------------

// A layer's place in the model: its name, [out, in] for a shape, and whether a ReLU follows it.
struct LayerSpec {
  const char* name;
  int out, in;
  bool relu;
  Int8Layer Int8Model::*member;
};

std::array<LayerSpec, 5> LayerSpecs(const ShapeInfo& s) {
  return {{{"fc1", s.hidden, s.input, true, &Int8Model::fc1},
           {"fc21", s.latent, s.hidden, false, &Int8Model::fc21},
           {"fc22", s.latent, s.hidden, false, &Int8Model::fc22},
           {"fc3", s.hidden, s.latent, true, &Int8Model::fc3},
           {"fc4", s.input, s.hidden, false, &Int8Model::fc4}}};
}

// A layer's input must be quantized as the layer feeding it quantizes its output: the engine
// passes int8 activations from one to the next unchanged.
Status CheckInt8Chain(const std::string& what, const Int8Model& m) {
  const std::pair<const Int8Layer*, const Int8Layer*> chain[] = {
      {&m.fc1, &m.fc21}, {&m.fc1, &m.fc22}, {&m.fc3, &m.fc4}};
  const std::array<LayerSpec, 5> specs = LayerSpecs(m.shape);
  auto name = [&](const Int8Layer* l) {
    for (const LayerSpec& s : specs) {
      if (&(m.*s.member) == l) return s.name;
    }
    return "?";
  };
  for (const auto& [from, to] : chain) {
    if (to->input.scale != from->output.scale || to->input.zero_point != from->output.zero_point) {
      return DataError(what + ": " + name(to) + " input range (scale " + std::to_string(to->input.scale) + ", zero point " +
                       std::to_string(to->input.zero_point) + ") differs from the output range of " +
                       name(from) + " (scale " + std::to_string(from->output.scale) +
                       ", zero point " + std::to_string(from->output.zero_point) +
                       ") that feeds it");
    }
  }
  return Status::Ok();
}

Status ParseQuantization(const std::string& path, const MetadataReader& r, const ShapeInfo& shape,
                         Int8Model* m) {
  const Json* q = nullptr;
  EVAE_RETURN_IF_ERROR(r.Object("quantization", &q));
  const MetadataReader qr(path, *q, "quantization.");
  std::string weights;
  EVAE_RETURN_IF_ERROR(qr.String("weights", &weights));
  if (weights != kWeightScheme) {
    return qr.Wrong("weights", std::string("\"") + kWeightScheme + "\"", Json(weights));
  }
  EVAE_RETURN_IF_ERROR(qr.String("calibration", &m->calibration));
  int64_t images = 0;
  EVAE_RETURN_IF_ERROR(qr.Integer("calibration_images", 0, kIntMax, &images));
  m->calibration_images = static_cast<int>(images);
  const Json* layers = nullptr;
  EVAE_RETURN_IF_ERROR(qr.Object("layers", &layers));
  const MetadataReader lr(path, *layers, "quantization.layers.");
  for (const LayerSpec& spec : LayerSpecs(shape)) {
    const Json* lj = nullptr;
    EVAE_RETURN_IF_ERROR(lr.Object(spec.name, &lj));
    const MetadataReader l(path, *lj, std::string("quantization.layers.") + spec.name + ".");
    Int8Layer& layer = m->*spec.member;
    int64_t in_zp = 0, out_zp = 0;
    EVAE_RETURN_IF_ERROR(l.Scale("weight_scale", &layer.weight_scale));
    EVAE_RETURN_IF_ERROR(l.Scale("input_scale", &layer.input.scale));
    EVAE_RETURN_IF_ERROR(l.Integer("input_zero_point", -128, 127, &in_zp));
    EVAE_RETURN_IF_ERROR(l.Scale("output_scale", &layer.output.scale));
    EVAE_RETURN_IF_ERROR(l.Integer("output_zero_point", -128, 127, &out_zp));
    EVAE_RETURN_IF_ERROR(l.Bool("relu", &layer.relu));
    if (layer.relu != spec.relu) {
      return l.Wrong("relu",
                     std::string(spec.relu ? "true (a ReLU follows " : "false (no ReLU follows ") +
                         spec.name + ")",
                     Json(layer.relu));
    }
    layer.input.zero_point = static_cast<int32_t>(in_zp);
    layer.output.zero_point = static_cast<int32_t>(out_zp);
    layer.out = spec.out;
    layer.in = spec.in;
    if (const std::string why = Int8LayerProblem(layer); !why.empty()) {
      return DataError(path + ": metadata key 'quantization.layers." + spec.name + "': " + why);
    }
  }
  return CheckInt8Chain(path + ": metadata key 'quantization.layers'", *m);
}

Status ParseGolden(const std::string& path, const MetadataReader& r, GoldenVectors* g) {
  const Json* gj = nullptr;
  EVAE_RETURN_IF_ERROR(r.Object("golden", &gj));
  const MetadataReader gr(path, *gj, "golden.");
  int64_t count = 0;
  EVAE_RETURN_IF_ERROR(gr.Integer("count", 1, kIntMax, &count));
  EVAE_RETURN_IF_ERROR(gr.NonNegative("max_abs_error", &g->max_abs_error));
  EVAE_RETURN_IF_ERROR(gr.NonNegative("mean_abs_error", &g->mean_abs_error));
  g->count = static_cast<int>(count);
  return Status::Ok();
}

// --- Writing metadata ---------------------------------------------------------------------------

using OJson = nlohmann::ordered_json;  // keys in the documented order, for people reading it

OJson NumberOrNull(double x) { return std::isfinite(x) ? OJson(x) : OJson(nullptr); }

OJson BaseMetadata(const ModelMetadata& md, const char* dtype) {
  OJson j = OJson::object();
  j["dataset"] = md.dataset;
  j["epochs"] = md.epochs;
  j["seed"] = md.seed;
  j["batch"] = md.batch;
  j["lr"] = NumberOrNull(md.lr);
  j["train_loss"] = NumberOrNull(md.train_loss);
  j["test_loss"] = NumberOrNull(md.test_loss);
  j["edgevae_version"] = Version();  // the program writing this file
  j["dtype"] = dtype;
  if (!md.command.empty()) j["command"] = md.command;
  if (!md.classes.empty()) j["classes"] = md.classes;
  if (!md.class_latents.empty()) {
    OJson a = OJson::array();
    for (const ClassLatentStats& c : md.class_latents) {
      OJson cj = OJson::object();
      cj["label"] = c.label;
      cj["count"] = c.count;
      cj["mean"] = ShortestDoubles(c.mean);
      cj["cov"] = ShortestDoubles(c.cov);
      a.push_back(std::move(cj));
    }
    j["class_latents"] = std::move(a);
  }
  if (md.anomaly) {
    OJson aj = OJson::object();
    aj["method"] = md.anomaly->method;
    aj["fpr"] = md.anomaly->fpr;
    aj["images"] = md.anomaly->images;
    aj["samples"] = md.anomaly->samples;
    aj["threshold"] = md.anomaly->threshold;
    j["anomaly"] = std::move(aj);
  }
  return j;
}

OJson GoldenMetadata(const GoldenVectors& g) {
  OJson j = OJson::object();
  j["count"] = g.count;
  j["max_abs_error"] = g.max_abs_error;
  j["mean_abs_error"] = g.mean_abs_error;
  return j;
}

OJson QuantizationMetadata(const Int8Model& m) {
  OJson layers = OJson::object();
  for (const LayerSpec& spec : LayerSpecs(m.shape)) {
    const Int8Layer& l = m.*spec.member;
    OJson lj = OJson::object();
    // float -> double is exact and nlohmann prints doubles with 17 digits: the float round-trips.
    lj["weight_scale"] = static_cast<double>(l.weight_scale);
    lj["input_scale"] = static_cast<double>(l.input.scale);
    lj["input_zero_point"] = l.input.zero_point;
    lj["output_scale"] = static_cast<double>(l.output.scale);
    lj["output_zero_point"] = l.output.zero_point;
    lj["relu"] = l.relu;
    layers[spec.name] = std::move(lj);
  }
  OJson q = OJson::object();
  q["weights"] = kWeightScheme;
  q["calibration"] = m.calibration;
  q["calibration_images"] = m.calibration_images;
  q["layers"] = std::move(layers);
  return q;
}

// Replaces every non-empty array of numbers in j by a placeholder string naming its index in
// *arrays, where its compact form is kept.
void HoistNumberArrays(OJson* j, std::vector<std::string>* arrays) {
  if (j->is_object()) {
    for (auto& [key, value] : j->items()) HoistNumberArrays(&value, arrays);
  } else if (j->is_array()) {
    const bool numbers = !j->empty() && std::all_of(j->begin(), j->end(), [](const OJson& v) {
      return v.is_number();
    });
    if (!numbers) {
      for (OJson& v : *j) HoistNumberArrays(&v, arrays);
      return;
    }
    std::string text = j->dump(-1);
    for (size_t i = 1; i < text.size(); ++i) {
      if (text[i - 1] == ',') text.insert(i++, " ");
    }
    *j = std::string("\x01") + "array" + std::to_string(arrays->size());
    arrays->push_back(std::move(text));
  }
}

std::string MetadataText(const OJson& j) {
  // Pretty-printed, except that arrays of numbers stay on one line: the per-class latent
  // statistics hold thousands of numbers, and one per line would add a tenth to a shipped model.
  OJson copy = j;
  std::vector<std::string> arrays;
  HoistNumberArrays(&copy, &arrays);
  // replace: a dataset name that is not UTF-8 must not make dump() throw.
  const std::string text = copy.dump(2, ' ', false, OJson::error_handler_t::replace) + "\n";
  std::string out;
  out.reserve(text.size());
  const std::string marker = "\"\\u0001array";  // how dump() writes the placeholder
  for (size_t pos = 0;;) {
    const size_t at = text.find(marker, pos);
    if (at == std::string::npos) {
      out.append(text, pos, std::string::npos);
      break;
    }
    out.append(text, pos, at - pos);
    size_t end = at + marker.size();
    const size_t index = std::stoul(text.substr(end, text.find('"', end) - end));
    out += arrays[index];
    pos = text.find('"', end) + 1;
  }
  return out;
}

// --- Writing the container ----------------------------------------------------------------------

struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<uint32_t> dims;
  const void* src;
  uint64_t count;
  uint64_t offset = 0;
};

std::vector<uint32_t> Dims(int rows, int cols) {
  std::vector<uint32_t> dims = {static_cast<uint32_t>(rows)};
  if (cols != 0) dims.push_back(static_cast<uint32_t>(cols));
  return dims;
}

void AddGoldenTensors(const GoldenVectors& g, int input, std::vector<OutTensor>* outs) {
  const uint64_t n = static_cast<uint64_t>(g.count) * static_cast<uint64_t>(input);
  outs->push_back({kGoldenPixels, DType::kU8, Dims(g.count, input), g.pixels.data(), n});
  outs->push_back(
      {kGoldenReconstruction, DType::kF32, Dims(g.count, input), g.reconstruction.data(), n});
}

Status WriteModelFile(const std::string& path, const ShapeInfo& shape, std::vector<OutTensor> outs,
                      const std::string& metadata) {
  const std::string_view shape_name = shape.name;
  if (shape_name.size() >= kShapeNameBytes) {
    return Internal(path + ": shape name '" + std::string(shape_name) + "' is longer than " +
                    std::to_string(kShapeNameBytes - 1) + " bytes");
  }
  const uint64_t table_offset = kHeaderBytes;
  const uint64_t metadata_offset = table_offset + outs.size() * kEntryBytes;
  uint64_t end = metadata_offset + metadata.size();
  for (OutTensor& o : outs) {
    o.offset = RoundUp(end, kDataAlignment);
    end = o.offset + o.count * DTypeBytes(o.dtype);
  }
  const uint64_t file_bytes = end;

  AlignedBuffer<uint8_t> buf(file_bytes);  // zero-filled: padding and reserved fields are 0
  if (buf.empty()) {
    return Internal(path + ": out of memory allocating " + std::to_string(file_bytes) + " bytes");
  }
  uint8_t* p = buf.data();
  std::memcpy(p + kOffMagic, kMagic, sizeof(kMagic));
  PutU32(p + kOffVersion, kModelFileVersion);
  PutU32(p + kOffHeaderBytes, kHeaderBytes);
  PutU64(p + kOffFileBytes, file_bytes);
  std::memcpy(p + kOffShapeName, shape_name.data(), shape_name.size());
  PutU32(p + kOffInput, static_cast<uint32_t>(shape.input));
  PutU32(p + kOffHidden, static_cast<uint32_t>(shape.hidden));
  PutU32(p + kOffLatent, static_cast<uint32_t>(shape.latent));
  PutU32(p + kOffTensorCount, static_cast<uint32_t>(outs.size()));
  PutU64(p + kOffTableOffset, table_offset);
  PutU64(p + kOffMetadataOffset, metadata_offset);
  PutU64(p + kOffMetadataBytes, metadata.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    const OutTensor& o = outs[i];
    uint8_t* e = p + table_offset + i * kEntryBytes;
    std::memcpy(e + kEntName, o.name.data(), std::min(o.name.size(), kTensorNameBytes - 1));
    PutU32(e + kEntDType, static_cast<uint32_t>(o.dtype));
    PutU32(e + kEntNdims, static_cast<uint32_t>(o.dims.size()));
    for (size_t d = 0; d < o.dims.size(); ++d) PutU32(e + kEntDims + 4 * d, o.dims[d]);
    PutU64(e + kEntOffset, o.offset);
    PutU64(e + kEntBytes, o.count * DTypeBytes(o.dtype));
    StoreElements(p + o.offset, o.dtype, o.src, o.count);
  }
  std::memcpy(p + metadata_offset, metadata.data(), metadata.size());
  PutU64(p + kOffChecksum, XXH64(p + kChecksummedFrom, file_bytes - kChecksummedFrom, 0));

  return io::WriteFileAtomic(path, std::span<const uint8_t>(p, file_bytes));
}

// Golden vectors the reader would accept, for a model with `input` pixels.
Status CheckGoldenForSave(const std::string& path, const GoldenVectors& g, int input) {
  const std::string what = path + ": not saving golden vectors: ";
  if (g.count <= 0) {
    return DataError(what + "count is " + std::to_string(g.count) + ", expected at least 1");
  }
  const uint64_t n = static_cast<uint64_t>(g.count) * static_cast<uint64_t>(input);
  if (g.pixels.size() != n || g.reconstruction.size() != n) {
    return DataError(what + std::to_string(g.pixels.size()) + " pixels and " +
                     std::to_string(g.reconstruction.size()) +
                     " reconstruction values, expected count x input = " + std::to_string(n));
  }
  for (size_t i = 0; i < n; ++i) {
    const float v = g.reconstruction[i];
    if (!(v >= 0.0f && v <= 1.0f)) {
      return DataError(what + "reconstruction[" + std::to_string(i) + "] is " +
                       std::to_string(v) + ", expected a value in [0, 1]");
    }
  }
  if (!(g.max_abs_error >= 0 && std::isfinite(g.max_abs_error)) ||
      !(g.mean_abs_error >= 0 && std::isfinite(g.mean_abs_error))) {
    return DataError(what + "thresholds must be finite and >= 0, found max_abs_error " +
                     std::to_string(g.max_abs_error) + ", mean_abs_error " +
                     std::to_string(g.mean_abs_error));
  }
  return Status::Ok();
}

// An int8 model the reader would accept.
Status CheckInt8ForSave(const std::string& path, const Int8Model& m) {
  const std::string what = path + ": not saving int8 model: ";
  StatusOr<ShapeInfo> by_size = FindShape(m.shape.input, m.shape.hidden, m.shape.latent);
  if (!by_size.ok()) return Unsupported(what + by_size.status().message());
  if (by_size->name != m.shape.name) {
    return Unsupported(what + "shape '" + std::string(m.shape.name) + "' has the sizes of '" +
                       std::string(by_size->name) + "'");
  }
  for (const LayerSpec& spec : LayerSpecs(m.shape)) {
    const Int8Layer& l = m.*spec.member;
    const std::string name = spec.name;
    if (l.out != spec.out || l.in != spec.in) {
      return DataError(what + name + " is [" + std::to_string(l.out) + ", " + std::to_string(l.in) +
                       "], expected [" + std::to_string(spec.out) + ", " +
                       std::to_string(spec.in) + "] for shape '" + std::string(m.shape.name) +
                       "'");
    }
    const size_t weights = static_cast<size_t>(spec.out) * static_cast<size_t>(spec.in);
    if (l.weight.size() != weights || l.bias.size() != static_cast<size_t>(spec.out)) {
      return DataError(what + name + " has " + std::to_string(l.weight.size()) + " weights and " +
                       std::to_string(l.bias.size()) + " biases, expected " +
                       std::to_string(weights) + " and " + std::to_string(spec.out));
    }
    if (const std::string why = Int8LayerProblem(l); !why.empty()) {
      return DataError(what + name + "." + why);
    }
    if (l.relu != spec.relu) {
      return DataError(what + name + ".relu is " + (l.relu ? "true" : "false") + ", expected " +
                       (spec.relu ? "true" : "false"));
    }
  }
  if (m.calibration_images < 0) {
    return DataError(what + "calibration_images is " + std::to_string(m.calibration_images));
  }
  return CheckInt8Chain(path + ": not saving int8 model", m);
}

Status SaveF32(const std::string& path, const Model& model, const GoldenVectors* golden) {
  // Never write a file that LoadModel would refuse.
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": not saving a model with a non-finite weight " + bad);
  }
  if (golden != nullptr) EVAE_RETURN_IF_ERROR(CheckGoldenForSave(path, *golden, model.shape().input));

  std::vector<OutTensor> outs;
  for (const TensorView& tv : model.tensors()) {
    outs.push_back(
        {tv.name, DType::kF32, Dims(tv.rows, tv.cols), model.params() + tv.offset, tv.size()});
  }
  OJson j = BaseMetadata(model.metadata(), "f32");
  if (model.has_optimizer()) {
    const uint64_t n = model.param_floats();
    outs.push_back({kAdamM, DType::kF32, {static_cast<uint32_t>(n)}, model.optimizer().m.data(), n});
    outs.push_back({kAdamV, DType::kF32, {static_cast<uint32_t>(n)}, model.optimizer().v.data(), n});
    j["adam_step"] = model.optimizer().step;
  }
  if (golden != nullptr) {
    AddGoldenTensors(*golden, model.shape().input, &outs);
    j["golden"] = GoldenMetadata(*golden);
  }
  return WriteModelFile(path, model.shape(), std::move(outs), MetadataText(j));
}

Status SaveF16(const std::string& path, const Model& model, const GoldenVectors* golden) {
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": not saving a model with a non-finite weight " + bad);
  }
  if (golden != nullptr) EVAE_RETURN_IF_ERROR(CheckGoldenForSave(path, *golden, model.shape().input));
  // The halves must outlive the tensors that point at them.
  std::vector<std::vector<uint16_t>> halves;
  std::vector<OutTensor> outs;
  for (const TensorView& tv : model.tensors()) {
    halves.emplace_back(tv.size());
    simd::F32ToF16(model.params() + tv.offset, halves.back().data(), tv.size());
    for (uint16_t h : halves.back()) {
      if ((h & 0x7C00) == 0x7C00) {
        return DataError(path + ": " + tv.name + " has a weight beyond the f16 range (65504)");
      }
    }
    outs.push_back({tv.name, DType::kF16, Dims(tv.rows, tv.cols), halves.back().data(), tv.size()});
  }
  OJson j = BaseMetadata(model.metadata(), "f16");
  if (golden != nullptr) {
    AddGoldenTensors(*golden, model.shape().input, &outs);
    j["golden"] = GoldenMetadata(*golden);
  }
  return WriteModelFile(path, model.shape(), std::move(outs), MetadataText(j));
}

// --- Reading ------------------------------------------------------------------------------------

Status CheckChecksum(const std::string& path, const ModelFileInfo& info) {
  if (info.checksum_ok) return Status::Ok();
  return DataError(path + ": checksum mismatch: header (offset " + std::to_string(kOffChecksum) +
                   ") says " + Hex(info.stored_checksum) + ", XXH64 of bytes [" +
                   std::to_string(kChecksummedFrom) + ", " + std::to_string(info.file_bytes) +
                   ") is " + Hex(info.computed_checksum));
}

// The sizes must be compiled in, and the name must be this build's name for them.
StatusOr<ShapeInfo> CheckShape(const std::string& path, const ModelFileInfo& info) {
  StatusOr<ShapeInfo> by_size = FindShape(info.input, info.hidden, info.latent);
  if (!by_size.ok()) {
    return Unsupported(path + ": header shape " + Quoted(info.shape_name) + " (offset " +
                       std::to_string(kOffShapeName) + "): " + by_size.status().message());
  }
  if (by_size->name != info.shape_name) {
    return Unsupported(path + ": header shape " + Quoted(info.shape_name) + " (offset " +
                       std::to_string(kOffShapeName) + ") has sizes " + std::to_string(info.input) +
                       "-" + std::to_string(info.hidden) + "-" + std::to_string(info.latent) +
                       ", which this build calls '" + std::string(by_size->name) +
                       "'; compiled shapes: " + CompiledShapeList());
  }
  return by_size;
}

const ModelFileInfo::Tensor* FindTensor(const ModelFileInfo& info, std::string_view name) {
  for (const ModelFileInfo::Tensor& t : info.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

struct ExpectedTensor {
  std::string name;
  DType dtype;
  std::vector<uint32_t> dims;
};

// Present, with the expected dims, dtype and byte length, at an aligned offset.
Status CheckTensor(const std::string& path, const ModelFileInfo& info, const ExpectedTensor& want,
                   bool has_adam) {
  const ModelFileInfo::Tensor* t = FindTensor(info, want.name);
  if (t == nullptr) {
    return DataError(path + ": missing tensor '" + want.name + "'" +
                     (has_adam && (want.name == kAdamM || want.name == kAdamV)
                          ? " (optimizer state needs both adam.m and adam.v)"
                          : ""));
  }
  const std::string type = DTypeText(want.dtype);
  if (t->dims != want.dims || t->dtype != want.dtype) {
    return DataError(path + ": tensor " + want.name + ": expected " + DimsText(want.dims) + " " +
                     type + ", found " + DimsText(t->dims) + " " + DTypeText(t->dtype));
  }
  const uint64_t want_bytes = *ElementCount(want.dims) * DTypeBytes(want.dtype);
  if (t->bytes != want_bytes) {
    return DataError(path + ": tensor " + want.name + ": byte length " + std::to_string(t->bytes) +
                     ", expected " + std::to_string(want_bytes) + " for " + DimsText(want.dims) +
                     " " + type);
  }
  if (t->offset % kDataAlignment != 0) {
    return DataError(path + ": tensor " + want.name + ": data offset " + std::to_string(t->offset) +
                     " is not a multiple of " + std::to_string(kDataAlignment));
  }
  return Status::Ok();
}

// Everything LoadModel and LoadAnyModel share; `f32_only` rejects an int8 file as soon as its
// dtype is known.
Status LoadParsed(const std::string& path, ParsedFile f, bool f32_only, AnyModel* result);

Status LoadFile(const std::string& path, bool f32_only, AnyModel* result) {
  EVAE_ASSIGN_OR_RETURN(ParsedFile f, ReadAndLocate(path));
  return LoadParsed(path, std::move(f), f32_only, result);
}

Status LoadParsed(const std::string& path, ParsedFile f, bool f32_only, AnyModel* result) {
  const ModelFileInfo& info = f.info;
  EVAE_RETURN_IF_ERROR(CheckChecksum(path, info));
  EVAE_ASSIGN_OR_RETURN(ShapeInfo shape, CheckShape(path, info));

  // The metadata says what kind of model this is, so it is parsed before the tensors are judged.
  EVAE_ASSIGN_OR_RETURN(Json j, ParseMetadataJson(path, f));
  const MetadataReader r(path, j);
  bool int8 = false, f16 = false;
  std::string dtype = "f32";
  if (r.Has("dtype")) {  // absent in v1 files: f32
    EVAE_RETURN_IF_ERROR(r.String("dtype", &dtype));
    if (dtype == "int8") {
      int8 = true;
    } else if (dtype == "f16") {
      f16 = true;
    } else if (dtype != "f32") {
      return r.Wrong("dtype", "\"f32\", \"f16\" or \"int8\"", Json(dtype));
    }
  }
  if ((int8 || f16) && info.version < kFirstVersionWithInt8) {
    return DataError(path + ": metadata key 'dtype' is \"" + dtype +
                     "\", which needs file version " + std::to_string(kFirstVersionWithInt8) +
                     "; this file is version " + std::to_string(info.version));
  }
  if ((int8 || f16) && f32_only) {
    return DataError(path + ": is an " + dtype + " model (dtype " + dtype +
                     "); this needs an f32 model");
  }

  // Tensors: every name known and unique, every expected one present with its dims and dtype.
  const std::array<LayerSpec, 5> specs = LayerSpecs(shape);
  std::vector<std::string> known;
  for (const LayerSpec& spec : specs) {
    known.push_back(std::string(spec.name) + ".weight");
    known.push_back(std::string(spec.name) + ".bias");
  }
  if (!int8 && !f16) {
    known.push_back(kAdamM);
    known.push_back(kAdamV);
  }
  known.push_back(kGoldenPixels);
  known.push_back(kGoldenReconstruction);
  for (size_t i = 0; i < info.tensors.size(); ++i) {
    const ModelFileInfo::Tensor& t = info.tensors[i];
    if (std::find(known.begin(), known.end(), t.name) == known.end()) {
      return DataError(path + ": tensor table entry " + std::to_string(i) + ": unknown tensor " +
                       Quoted(t.name) + (int8 || f16 ? " in an " + dtype + " model" : ""));
    }
    for (size_t k = 0; k < i; ++k) {
      if (info.tensors[k].name == t.name) {
        return DataError(path + ": tensor table entries " + std::to_string(k) + " and " +
                         std::to_string(i) + " are both " + Quoted(t.name));
      }
    }
    if (t.dtype != DType::kF32 && info.version < kFirstVersionWithInt8) {
      return DataError(path + ": tensor " + t.name + ": " + DTypeText(t.dtype) +
                       " needs file version " + std::to_string(kFirstVersionWithInt8) +
                       "; this file is version " + std::to_string(info.version));
    }
  }
  const bool has_adam =
      FindTensor(info, kAdamM) != nullptr || FindTensor(info, kAdamV) != nullptr;
  const bool has_pixels = FindTensor(info, kGoldenPixels) != nullptr;
  const bool has_reconstruction = FindTensor(info, kGoldenReconstruction) != nullptr;
  if (has_pixels != has_reconstruction) {
    return DataError(path + ": tensor '" +
                     (has_pixels ? kGoldenPixels : kGoldenReconstruction) + "' without '" +
                     (has_pixels ? kGoldenReconstruction : kGoldenPixels) +
                     "': golden vectors need both");
  }
  std::optional<GoldenVectors> golden;
  if (has_pixels) {
    golden.emplace();
    EVAE_RETURN_IF_ERROR(ParseGolden(path, r, &*golden));
    for (const char* name : {kGoldenPixels, kGoldenReconstruction}) {
      const ModelFileInfo::Tensor* t = FindTensor(info, name);
      if (t->dims.size() != 2 || t->dims[0] != static_cast<uint32_t>(golden->count)) {
        return DataError(path + ": tensor " + name + " is " + DimsText(t->dims) +
                         ", but metadata golden.count is " + std::to_string(golden->count) +
                         " (expected [" + std::to_string(golden->count) + ", " +
                         std::to_string(shape.input) + "])");
      }
    }
  } else if (r.Has("golden")) {
    return DataError(path + ": metadata key 'golden' is present, but the file has no tensors '" +
                     kGoldenPixels + "' and '" + kGoldenReconstruction + "'");
  }

  std::vector<ExpectedTensor> expected;
  for (const LayerSpec& spec : specs) {
    const DType real = f16 ? DType::kF16 : DType::kF32;
    expected.push_back({std::string(spec.name) + ".weight", int8 ? DType::kI8 : real,
                        Dims(spec.out, spec.in)});
    expected.push_back(
        {std::string(spec.name) + ".bias", int8 ? DType::kI32 : real, Dims(spec.out, 0)});
  }
  // Model::Create's flat array length, without allocating it before the file is vetted.
  const auto param_floats = static_cast<uint32_t>(ParamLayout::For(shape).total);
  if (has_adam) {
    expected.push_back({kAdamM, DType::kF32, {param_floats}});
    expected.push_back({kAdamV, DType::kF32, {param_floats}});
  }
  if (golden) {
    expected.push_back({kGoldenPixels, DType::kU8, Dims(golden->count, shape.input)});
    expected.push_back({kGoldenReconstruction, DType::kF32, Dims(golden->count, shape.input)});
  }
  for (const ExpectedTensor& want : expected) {
    EVAE_RETURN_IF_ERROR(CheckTensor(path, info, want, has_adam));
  }
  EVAE_RETURN_IF_ERROR(CheckNoOverlap(path, f));

  ModelMetadata metadata;
  int64_t adam_step = 0;
  EVAE_RETURN_IF_ERROR(ParseMetadata(r, shape.latent, has_adam, &metadata, &adam_step));

  const uint8_t* base = f.bytes.data.data();
  const auto copy = [&](const std::string& name, DType dtype, void* dst) {
    const ModelFileInfo::Tensor* t = FindTensor(info, name);
    LoadElements(dst, dtype, base + t->offset, t->bytes / DTypeBytes(dtype));
  };

  AnyModel& out = *result;
  if (int8) {
    Int8Model m;
    m.shape = shape;
    m.metadata = std::move(metadata);
    EVAE_RETURN_IF_ERROR(ParseQuantization(path, r, shape, &m));
    for (const LayerSpec& spec : specs) {
      Int8Layer& l = m.*spec.member;
      l.weight.resize(static_cast<size_t>(spec.out) * static_cast<size_t>(spec.in));
      l.bias.resize(static_cast<size_t>(spec.out));
      copy(std::string(spec.name) + ".weight", DType::kI8, l.weight.data());
      copy(std::string(spec.name) + ".bias", DType::kI32, l.bias.data());
    }
    out.int8 = std::move(m);
  } else {
    EVAE_ASSIGN_OR_RETURN(Model model, Model::Create(shape));
    model.metadata() = std::move(metadata);
    std::vector<uint16_t> halves;
    for (const TensorView& tv : model.tensors()) {
      if (f16) {  // widened exactly; the engine rounds back to the same halves
        halves.resize(tv.size());
        copy(tv.name, DType::kF16, halves.data());
        simd::F16ToF32(halves.data(), model.params() + tv.offset, tv.size());
      } else {
        copy(tv.name, DType::kF32, model.params() + tv.offset);
      }
    }
    if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
      return DataError(path + ": non-finite weight " + bad);
    }
    if (has_adam) {
      model.EnsureOptimizer();
      model.optimizer().step = adam_step;
      const size_t n = model.param_floats();
      for (const auto& [name, v] : {std::pair{kAdamM, model.optimizer().m.data()},
                                    std::pair{kAdamV, model.optimizer().v.data()}}) {
        copy(name, DType::kF32, v);
        for (size_t i = 0; i < n; ++i) {
          if (!std::isfinite(v[i])) {
            return DataError(path + ": non-finite optimizer state " + name + "[" +
                             std::to_string(i) + "]");
          }
        }
      }
    }
    out.f32.emplace(std::move(model));
    out.f16 = f16;
  }
  if (golden) {
    const size_t n = static_cast<size_t>(golden->count) * static_cast<size_t>(shape.input);
    golden->pixels.resize(n);
    golden->reconstruction.resize(n);
    copy(kGoldenPixels, DType::kU8, golden->pixels.data());
    copy(kGoldenReconstruction, DType::kF32, golden->reconstruction.data());
    for (size_t i = 0; i < n; ++i) {
      const float v = golden->reconstruction[i];
      if (!(v >= 0.0f && v <= 1.0f)) {
        return DataError(path + ": golden.reconstruction[" + std::to_string(i) + "] is " +
                         std::to_string(v) + ", expected a finite value in [0, 1]");
      }
    }
    out.golden = std::move(golden);
  }
  return Status::Ok();
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kI8:
      return "i8";
    case DType::kI32:
      return "i32";
    case DType::kU8:
      return "u8";
    case DType::kF16:
      return "f16";
  }
  return "unknown";
}

StatusOr<ModelFileInfo> InspectModelFile(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(ParsedFile f, ReadAndLocate(path));
  if (Status st = CheckMetadataText(path, f); !st.ok()) f.info.metadata_problem = st.message();
  return std::move(f.info);
}

StatusOr<Model> LoadModel(const std::string& path) {
  AnyModel any;
  EVAE_RETURN_IF_ERROR(LoadFile(path, /*f32_only=*/true, &any));
  return std::move(*any.f32);
}

StatusOr<AnyModel> LoadAnyModel(const std::string& path) {
  AnyModel any;
  EVAE_RETURN_IF_ERROR(LoadFile(path, /*f32_only=*/false, &any));
  return any;
}

StatusOr<AnyModel> LoadAnyModelFromBytes(const uint8_t* data, size_t size,
                                         const std::string& name) {
  FileBytes bytes;
  bytes.size = size;
  bytes.data.Resize(size);
  if (size != 0 && bytes.data.empty()) return Internal(name + ": out of memory");
  if (size != 0) std::memcpy(bytes.data.data(), data, size);
  EVAE_ASSIGN_OR_RETURN(ParsedFile f, Locate(name, std::move(bytes)));
  AnyModel any;
  EVAE_RETURN_IF_ERROR(LoadParsed(name, std::move(f), /*f32_only=*/false, &any));
  return any;
}

Status WriteCArray(const std::string& path, const std::string& model_path,
                   const std::string& symbol) {
  FileBytes bytes;
  EVAE_RETURN_IF_ERROR(ReadWholeFile(model_path, &bytes));
  std::string text;
  text.reserve(bytes.size * 5 + 1024);
  text += "// Generated by edgevae convert --emit-c from " + model_path +
          "; do not edit.\n// Load it with edgevae::LoadAnyModelFromBytes(" + symbol + ", " +
          symbol + "_size, \"" + symbol + "\").\n#pragma once\n#include <stddef.h>\n\n";
  text += "alignas(64) static const unsigned char " + symbol + "[] = {";
  static const char kHex[] = "0123456789abcdef";
  for (uint64_t i = 0; i < bytes.size; ++i) {
    if (i % 16 == 0) text += "\n   ";
    const uint8_t b = bytes.data[i];
    text += " 0x";
    text += kHex[b >> 4];
    text += kHex[b & 15];
    text += ',';
  }
  text += "\n};\nstatic const size_t " + symbol + "_size = " + std::to_string(bytes.size) + ";\n";
  return io::WriteFileAtomic(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Status SaveModel(const std::string& path, const Model& model) {
  return SaveF32(path, model, nullptr);
}

Status SaveF16Model(const std::string& path, const Model& model, const GoldenVectors* golden) {
  return SaveF16(path, model, golden);
}

Status SaveModelWithGolden(const std::string& path, const Model& model,
                           const GoldenVectors& golden) {
  return SaveF32(path, model, &golden);
}

Status SaveInt8Model(const std::string& path, const Int8Model& model,
                     const GoldenVectors* golden) {
  EVAE_RETURN_IF_ERROR(CheckInt8ForSave(path, model));
  if (golden != nullptr) EVAE_RETURN_IF_ERROR(CheckGoldenForSave(path, *golden, model.shape.input));
  std::vector<OutTensor> outs;
  for (const LayerSpec& spec : LayerSpecs(model.shape)) {
    const Int8Layer& l = model.*spec.member;
    outs.push_back({std::string(spec.name) + ".weight", DType::kI8, Dims(spec.out, spec.in),
                    l.weight.data(), l.weight.size()});
    outs.push_back({std::string(spec.name) + ".bias", DType::kI32, Dims(spec.out, 0),
                    l.bias.data(), l.bias.size()});
  }
  OJson j = BaseMetadata(model.metadata, "int8");
  j["quantization"] = QuantizationMetadata(model);
  if (golden != nullptr) {
    AddGoldenTensors(*golden, model.shape.input, &outs);
    j["golden"] = GoldenMetadata(*golden);
  }
  return WriteModelFile(path, model.shape, std::move(outs), MetadataText(j));
}

}  // namespace edgevae
