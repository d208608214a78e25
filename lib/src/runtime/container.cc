#include "runtime/container.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "runtime/bytes.h"
#include "runtime/model_format.h"
#if !defined(EDGEVAE_BARE_METAL)
#include "runtime/file_util.h"
#endif

namespace edgevae {

using namespace format;  // NOLINT: the layout constants are this file's vocabulary
using io::GetU64;
using io::PutU64;
using io::Quoted;

namespace {

// Magic, header size, version and declared file size: what must hold before any offset in the
// header can be trusted.
Status CheckHeader(std::span<const uint8_t> bytes, const std::string& path, ModelFileInfo* out) {
  const uint8_t* p = bytes.data();
  const uint64_t size = bytes.size();
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

  ModelFileInfo& info = *out;
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
  return Status::Ok();
}

// Tensor table entry i: its name, dtype, dims and where its bytes are.
StatusOr<ModelFileInfo::Tensor> ReadEntry(std::span<const uint8_t> bytes, uint64_t table_offset,
                                          uint32_t i, const std::string& path) {
  const uint64_t size = bytes.size();
  const uint64_t at = table_offset + i * kEntryBytes;
  const uint8_t* e = bytes.data() + at;
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
  return t;
}

}  // namespace

StatusOr<Container> LocateContainer(std::span<const uint8_t> bytes, const std::string& path) {
  Container f;
  f.bytes = bytes;
  const uint8_t* p = bytes.data();
  const uint64_t size = bytes.size();
  ModelFileInfo& info = f.info;
  EVAE_RETURN_IF_ERROR(CheckHeader(bytes, path, &info));

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
  f.metadata = std::string_view(reinterpret_cast<const char*>(p + f.metadata_offset),
                                static_cast<size_t>(metadata_bytes));

  info.tensors.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    EVAE_ASSIGN_OR_RETURN(ModelFileInfo::Tensor t, ReadEntry(bytes, f.table_offset, i, path));
    info.tensors.push_back(std::move(t));
  }
  return f;
}

Status CheckNoOverlap(const std::string& path, const Container& f) {
  struct Region {
    uint64_t begin, end;
    std::string what;
  };
  std::vector<Region> regions;
  regions.push_back({0, kHeaderBytes, "the header"});
  regions.push_back(
      {f.table_offset, f.table_offset + f.info.tensors.size() * kEntryBytes, "the tensor table"});
  regions.push_back(
      {f.metadata_offset, f.metadata_offset + f.metadata.size(), "the metadata"});
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

Status CheckChecksum(const std::string& path, const ModelFileInfo& info) {
  if (info.checksum_ok) return Status::Ok();
  return DataError(path + ": checksum mismatch: header (offset " + std::to_string(kOffChecksum) +
                   ") says " + Hex(info.stored_checksum) + ", XXH64 of bytes [" +
                   std::to_string(kChecksummedFrom) + ", " + std::to_string(info.file_bytes) +
                   ") is " + Hex(info.computed_checksum));
}

StatusOr<ShapeInfo> CheckShape(const std::string& path, const ModelFileInfo& info) {
  StatusOr<ShapeInfo> named = FindShape(info.shape_name);
  if (!named.ok()) {
    return Unsupported(path + ": header shape " + Quoted(info.shape_name) + " (offset " +
                       std::to_string(kOffShapeName) + "): " + named.status().message());
  }
  const auto sizes = [](int input, int hidden, int latent) {
    return std::to_string(input) + "-" + std::to_string(hidden) + "-" + std::to_string(latent);
  };
  if (named->input != info.input || named->hidden != info.hidden ||
      named->latent != info.latent) {
    return Unsupported(path + ": header shape " + Quoted(info.shape_name) + " (offset " +
                       std::to_string(kOffShapeName) + ") has sizes " +
                       sizes(info.input, info.hidden, info.latent) + ", but this build's '" +
                       std::string(named->name) + "' is " +
                       sizes(named->input, named->hidden, named->latent) +
                       "; compiled shapes: " + CompiledShapeList());
  }
  return named;
}

const ModelFileInfo::Tensor* FindTensor(const ModelFileInfo& info, std::string_view name) {
  for (const ModelFileInfo::Tensor& t : info.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<uint32_t> Dims(int rows, int cols) {
  std::vector<uint32_t> dims = {static_cast<uint32_t>(rows)};
  if (cols != 0) dims.push_back(static_cast<uint32_t>(cols));
  return dims;
}

#if !defined(EDGEVAE_BARE_METAL)  // no files to write there
Status WriteContainer(const std::string& path, const ShapeInfo& shape, std::vector<OutTensor> outs,
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
  // The oldest version that has every dtype written (docs/model-format.md, "Versioning policy").
  const bool has_i16 = std::any_of(outs.begin(), outs.end(),
                                   [](const OutTensor& o) { return o.dtype == DType::kI16; });
  PutU32(p + kOffVersion, has_i16 ? kFirstVersionWithI16 : kFirstVersionWithInt8);
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
#endif

}  // namespace edgevae
