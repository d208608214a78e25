// The .evae model file, version 1. docs/model-format.md is the specification; the constants below
// must agree with it.
//
// Reading copies the file into one aligned buffer with read() rather than mmap()ing it: the
// weights are copied into the model's own flat array anyway, and a mapping would turn a file
// truncated by someone else while we read it into SIGBUS instead of a Status. The format keeps
// every tensor 64-byte aligned so that a reader that wants a zero-copy mapping can have one.
#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
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

namespace edgevae {
namespace {

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

// --- Little-endian byte access (independent of the host's byte order) ---------------------------

uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint64_t GetU64(const uint8_t* p) {
  return static_cast<uint64_t>(GetU32(p)) | static_cast<uint64_t>(GetU32(p + 4)) << 32;
}
void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void StoreFloats(uint8_t* dst, const float* src, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) PutU32(dst + 4 * i, std::bit_cast<uint32_t>(src[i]));
  }
}
void LoadFloats(float* dst, const uint8_t* src, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(GetU32(src + 4 * i));
  }
}

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// --- Message helpers ----------------------------------------------------------------------------

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
  return buf;
}

// Bytes from an untrusted file, quoted so that a message stays one printable line.
std::string Quoted(std::string_view s) {
  std::string out = "'";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out + "'";
}

// A fixed-size NUL-padded string field: up to the first NUL.
std::string FixedString(const uint8_t* p, size_t n) {
  const auto* c = reinterpret_cast<const char*>(p);
  return std::string(c, strnlen(c, n));
}

std::string DTypeText(DType dtype) {
  if (dtype == DType::kF32) return "f32";
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

size_t DTypeBytes(DType dtype) { return dtype == DType::kF32 ? 4 : 0; }

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
StatusOr<ParsedFile> ReadAndLocate(const std::string& path) {
  ParsedFile f;
  EVAE_RETURN_IF_ERROR(ReadWholeFile(path, &f.bytes));
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

// Only used on the error path, to say where the text stops being JSON.
class ErrorSax : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
    if (const size_t close = message.find("] ");
        !message.empty() && message[0] == '[' && close != std::string::npos) {
      message.erase(0, close + 2);
    }
    return false;
  }
  std::string message;
};

class MetadataReader {
 public:
  MetadataReader(const std::string& path, const Json& j) : path_(path), j_(j) {}

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
      if (u > hi) return Wrong(key, want, *v);
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
  bool Has(const char* key) const { return Find(key) != nullptr; }

 private:
  const Json* Find(const char* key) const {
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  Status Missing(const char* key) const {
    return DataError(path_ + ": metadata: missing key '" + key + "'");
  }
  Status Wrong(const char* key, const std::string& want, const Json& found) const {
    return DataError(path_ + ": metadata key '" + key + "': expected " + want + ", found " +
                     found.dump(-1, ' ', true, Json::error_handler_t::replace));
  }
  const std::string& path_;
  const Json& j_;
};

Status ParseMetadata(const std::string& path, const ParsedFile& f, bool want_adam_step,
                     ModelMetadata* md, int64_t* adam_step) {
  const std::string& text = f.info.metadata_json;
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ErrorSax sax;
    Json::sax_parse(text, &sax);
    return DataError(path + ": metadata (" + std::to_string(text.size()) + " bytes at offset " +
                     std::to_string(f.metadata_offset) + ") is not valid JSON: " + sax.message);
  }
  if (!j.is_object()) {
    return DataError(path + ": metadata (offset " + std::to_string(f.metadata_offset) +
                     "): expected a JSON object, found " + j.type_name());
  }
  const MetadataReader r(path, j);
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
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
  if (want_adam_step) {
    EVAE_RETURN_IF_ERROR(r.Integer("adam_step", 0, std::numeric_limits<int64_t>::max(), adam_step));
  }
  return Status::Ok();
}

std::string MetadataText(const Model& model) {
  using OJson = nlohmann::ordered_json;  // keys in the documented order, for people reading it
  const auto number_or_null = [](double x) { return std::isfinite(x) ? OJson(x) : OJson(nullptr); };
  const ModelMetadata& md = model.metadata();
  OJson j = OJson::object();
  j["dataset"] = md.dataset;
  j["epochs"] = md.epochs;
  j["seed"] = md.seed;
  j["batch"] = md.batch;
  j["lr"] = number_or_null(md.lr);
  j["train_loss"] = number_or_null(md.train_loss);
  j["test_loss"] = number_or_null(md.test_loss);
  j["edgevae_version"] = Version();  // the program writing this file
  if (model.has_optimizer()) j["adam_step"] = model.optimizer().step;
  // replace: a dataset name that is not UTF-8 must not make dump() throw.
  return j.dump(2, ' ', false, OJson::error_handler_t::replace) + "\n";
}

// --- What the file must contain for a model of a given shape ------------------------------------

struct ExpectedTensor {
  std::string name;
  std::vector<uint32_t> dims;
  float* dst;  // where its floats go in the model
};

std::vector<ExpectedTensor> ExpectedTensors(Model& model, bool with_adam) {
  std::vector<ExpectedTensor> out;
  for (const TensorView& tv : model.tensors()) {
    std::vector<uint32_t> dims = {static_cast<uint32_t>(tv.rows)};
    if (tv.cols != 0) dims.push_back(static_cast<uint32_t>(tv.cols));
    out.push_back({tv.name, std::move(dims), model.params() + tv.offset});
  }
  if (with_adam) {
    model.EnsureOptimizer();
    const auto n = static_cast<uint32_t>(model.param_floats());
    out.push_back({kAdamM, {n}, model.optimizer().m.data()});
    out.push_back({kAdamV, {n}, model.optimizer().v.data()});
  }
  return out;
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
  }
  return "unknown";
}

StatusOr<ModelFileInfo> InspectModelFile(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(ParsedFile f, ReadAndLocate(path));
  return std::move(f.info);
}

StatusOr<Model> LoadModel(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(ParsedFile f, ReadAndLocate(path));
  const ModelFileInfo& info = f.info;
  if (!info.checksum_ok) {
    return DataError(path + ": checksum mismatch: header (offset " + std::to_string(kOffChecksum) +
                     ") says " + Hex(info.stored_checksum) + ", XXH64 of bytes [" +
                     std::to_string(kChecksummedFrom) + ", " + std::to_string(info.file_bytes) +
                     ") is " + Hex(info.computed_checksum));
  }

  // Shape: the sizes must be compiled in, and the name must be this build's name for them.
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
  EVAE_ASSIGN_OR_RETURN(Model model, Model::Create(*by_size));

  // Tensors: every name known and unique, every expected one present with its dims and dtype.
  bool has_adam = false;
  for (size_t i = 0; i < info.tensors.size(); ++i) {
    const std::string& name = info.tensors[i].name;
    const bool is_adam = name == kAdamM || name == kAdamV;
    has_adam |= is_adam;
    const bool known =
        is_adam || std::any_of(model.tensors().begin(), model.tensors().end(),
                               [&](const TensorView& tv) { return tv.name == name; });
    if (!known) {
      return DataError(path + ": tensor table entry " + std::to_string(i) + ": unknown tensor " +
                       Quoted(name));
    }
    for (size_t k = 0; k < i; ++k) {
      if (info.tensors[k].name == name) {
        return DataError(path + ": tensor table entries " + std::to_string(k) + " and " +
                         std::to_string(i) + " are both " + Quoted(name));
      }
    }
  }
  const std::vector<ExpectedTensor> expected = ExpectedTensors(model, has_adam);
  std::vector<const ModelFileInfo::Tensor*> found(expected.size(), nullptr);
  for (size_t e = 0; e < expected.size(); ++e) {
    const ExpectedTensor& want = expected[e];
    for (const ModelFileInfo::Tensor& t : info.tensors) {
      if (t.name == want.name) found[e] = &t;
    }
    const ModelFileInfo::Tensor* t = found[e];
    if (t == nullptr) {
      return DataError(path + ": missing tensor '" + want.name + "'" +
                       (has_adam && (want.name == kAdamM || want.name == kAdamV)
                            ? " (optimizer state needs both adam.m and adam.v)"
                            : ""));
    }
    if (t->dims != want.dims || t->dtype != DType::kF32) {
      return DataError(path + ": tensor " + want.name + ": expected " + DimsText(want.dims) +
                       " f32, found " + DimsText(t->dims) + " " + DTypeText(t->dtype));
    }
    const uint64_t want_bytes = *ElementCount(want.dims) * DTypeBytes(DType::kF32);
    if (t->bytes != want_bytes) {
      return DataError(path + ": tensor " + want.name + ": byte length " +
                       std::to_string(t->bytes) + ", expected " + std::to_string(want_bytes) +
                       " for " + DimsText(want.dims) + " f32");
    }
    if (t->offset % kDataAlignment != 0) {
      return DataError(path + ": tensor " + want.name + ": data offset " +
                       std::to_string(t->offset) + " is not a multiple of " +
                       std::to_string(kDataAlignment));
    }
  }
  EVAE_RETURN_IF_ERROR(CheckNoOverlap(path, f));

  int64_t adam_step = 0;
  EVAE_RETURN_IF_ERROR(ParseMetadata(path, f, has_adam, &model.metadata(), &adam_step));

  const uint8_t* base = f.bytes.data.data();
  for (size_t e = 0; e < expected.size(); ++e) {
    LoadFloats(expected[e].dst, base + found[e]->offset, found[e]->bytes / sizeof(float));
  }
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": non-finite weight " + bad);
  }
  if (has_adam) {
    model.optimizer().step = adam_step;
    for (size_t e = expected.size() - 2; e < expected.size(); ++e) {
      const float* v = expected[e].dst;
      const size_t n = model.param_floats();
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(v[i])) {
          return DataError(path + ": non-finite optimizer state " + expected[e].name + "[" +
                           std::to_string(i) + "]");
        }
      }
    }
  }
  return model;
}

Status SaveModel(const std::string& path, const Model& model) {
  // Never write a file that LoadModel would refuse.
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": not saving a model with a non-finite weight " + bad);
  }
  const std::string_view shape_name = model.shape().name;
  if (shape_name.size() >= kShapeNameBytes) {
    return Internal(path + ": shape name '" + std::string(shape_name) + "' is longer than " +
                    std::to_string(kShapeNameBytes - 1) + " bytes");
  }

  struct Out {
    std::string name;
    std::vector<uint32_t> dims;
    const float* src;
    uint64_t count;
    uint64_t offset;
  };
  std::vector<Out> outs;
  for (const TensorView& tv : model.tensors()) {
    std::vector<uint32_t> dims = {static_cast<uint32_t>(tv.rows)};
    if (tv.cols != 0) dims.push_back(static_cast<uint32_t>(tv.cols));
    outs.push_back({tv.name, std::move(dims), model.params() + tv.offset, tv.size(), 0});
  }
  if (model.has_optimizer()) {
    const uint64_t n = model.param_floats();
    outs.push_back({kAdamM, {static_cast<uint32_t>(n)}, model.optimizer().m.data(), n, 0});
    outs.push_back({kAdamV, {static_cast<uint32_t>(n)}, model.optimizer().v.data(), n, 0});
  }

  const std::string metadata = MetadataText(model);
  const uint64_t table_offset = kHeaderBytes;
  const uint64_t metadata_offset = table_offset + outs.size() * kEntryBytes;
  uint64_t end = metadata_offset + metadata.size();
  for (Out& o : outs) {
    o.offset = RoundUp(end, kDataAlignment);
    end = o.offset + o.count * sizeof(float);
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
  PutU32(p + kOffInput, static_cast<uint32_t>(model.shape().input));
  PutU32(p + kOffHidden, static_cast<uint32_t>(model.shape().hidden));
  PutU32(p + kOffLatent, static_cast<uint32_t>(model.shape().latent));
  PutU32(p + kOffTensorCount, static_cast<uint32_t>(outs.size()));
  PutU64(p + kOffTableOffset, table_offset);
  PutU64(p + kOffMetadataOffset, metadata_offset);
  PutU64(p + kOffMetadataBytes, metadata.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    const Out& o = outs[i];
    uint8_t* e = p + table_offset + i * kEntryBytes;
    std::memcpy(e + kEntName, o.name.data(), std::min(o.name.size(), kTensorNameBytes - 1));
    PutU32(e + kEntDType, static_cast<uint32_t>(DType::kF32));
    PutU32(e + kEntNdims, static_cast<uint32_t>(o.dims.size()));
    for (size_t d = 0; d < o.dims.size(); ++d) PutU32(e + kEntDims + 4 * d, o.dims[d]);
    PutU64(e + kEntOffset, o.offset);
    PutU64(e + kEntBytes, o.count * sizeof(float));
    StoreFloats(p + o.offset, o.src, o.count);
  }
  std::memcpy(p + metadata_offset, metadata.data(), metadata.size());
  PutU64(p + kOffChecksum, XXH64(p + kChecksummedFrom, file_bytes - kChecksummedFrom, 0));

  return io::WriteFileAtomic(path, std::span<const uint8_t>(p, file_bytes));
}

}  // namespace edgevae
