// Byte-level access to .evae files for tests that build corrupt or hostile ones: the offsets of
// docs/model-format.md, little-endian field access, the checksum, and metadata edits that re-lay
// the file out (the metadata sits before the tensors) and fix the checksum, so that the check a
// test aims at is the one that fires.
#ifndef EDGEVAE_TESTS_COMMON_MODEL_BYTES_H_
#define EDGEVAE_TESTS_COMMON_MODEL_BYTES_H_

#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edgevae::model_bytes {

using Bytes = std::vector<uint8_t>;

// Offsets from docs/model-format.md.
inline constexpr size_t kHeaderBytes = 128;
inline constexpr size_t kOffVersion = 8;
inline constexpr size_t kOffFileBytes = 16;
inline constexpr size_t kOffChecksum = 24;
inline constexpr size_t kChecksummedFrom = 32;
inline constexpr size_t kOffShapeName = 32;
inline constexpr size_t kOffHidden = 52;
inline constexpr size_t kOffTensorCount = 60;
inline constexpr size_t kOffTableOffset = 64;
inline constexpr size_t kOffMetadataOffset = 72;
inline constexpr size_t kOffMetadataBytes = 80;
inline constexpr size_t kEntryBytes = 72;
inline constexpr size_t kEntName = 0;
inline constexpr size_t kEntDType = 32;
inline constexpr size_t kEntDims = 40;
inline constexpr size_t kEntOffset = 56;
inline constexpr size_t kEntBytes = 64;

inline Bytes ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// False if the file could not be written completely.
inline bool WriteBytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

inline uint32_t GetU32(const Bytes& b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | b[at + i];
  return v;
}
inline uint64_t GetU64(const Bytes& b, size_t at) {
  return GetU32(b, at) | static_cast<uint64_t>(GetU32(b, at + 4)) << 32;
}
inline void PutU32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutU64(Bytes& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutF32(Bytes& b, size_t at, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  PutU32(b, at, u);
}

inline uint64_t Checksum(const Bytes& b) {
  return XXH64(b.data() + kChecksummedFrom, b.size() - kChecksummedFrom, 0);
}
inline void FixChecksum(Bytes& b) { PutU64(b, kOffChecksum, Checksum(b)); }

inline std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Start of tensor table entry `i`.
inline size_t Entry(const Bytes& b, size_t i) {
  return static_cast<size_t>(GetU64(b, kOffTableOffset)) + i * kEntryBytes;
}
inline std::string EntryName(const Bytes& b, size_t i) {
  return std::string(reinterpret_cast<const char*>(b.data() + Entry(b, i) + kEntName));
}

inline std::string MetadataText(const Bytes& b) {
  const size_t at = GetU64(b, kOffMetadataOffset);
  return std::string(b.begin() + at, b.begin() + at + GetU64(b, kOffMetadataBytes));
}

// The file with its metadata replaced by `text`: header and table as they were, then the
// metadata, then each tensor's data at the next multiple of 64, offsets and checksum updated.
inline Bytes WithMetadata(const Bytes& b, const std::string& text) {
  const size_t count = GetU32(b, kOffTensorCount);
  const size_t table_end = Entry(b, count);
  Bytes out(b.begin(), b.begin() + table_end);
  PutU64(out, kOffMetadataOffset, out.size());
  PutU64(out, kOffMetadataBytes, text.size());
  out.insert(out.end(), text.begin(), text.end());
  for (size_t i = 0; i < count; ++i) {
    const size_t e = Entry(b, i);
    const size_t offset = GetU64(b, e + kEntOffset);
    const size_t bytes = GetU64(b, e + kEntBytes);
    out.resize((out.size() + 63) / 64 * 64, 0);
    PutU64(out, e + kEntOffset, out.size());
    out.insert(out.end(), b.begin() + offset, b.begin() + offset + bytes);
  }
  PutU64(out, kOffFileBytes, out.size());
  FixChecksum(out);
  return out;
}

// The metadata parsed, edited and written back (pretty-printed).
inline Bytes EditMetadata(const Bytes& b, const std::function<void(nlohmann::ordered_json&)>& edit) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(MetadataText(b));
  edit(j);
  return WithMetadata(b, j.dump(2) + "\n");
}

// The metadata text with `member` ("\"key\": value", any text) added as the last member of the
// top-level object, without parsing it (so that it may be deeper or larger than nlohmann takes).
inline Bytes WithExtraMember(const Bytes& b, const std::string& member) {
  std::string text = MetadataText(b);
  text = text.substr(0, text.rfind('}')) + ", " + member + "}\n";
  return WithMetadata(b, text);
}

}  // namespace edgevae::model_bytes

#endif  // EDGEVAE_TESTS_COMMON_MODEL_BYTES_H_
