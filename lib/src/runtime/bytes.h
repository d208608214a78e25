// Reading and quoting the bytes of a file held in memory: little-endian integers (independent of
// the host's byte order) and untrusted text made printable. Needs no file system, so the
// bare-metal runtime reads embedded model files with it too.
#ifndef EDGEVAE_RUNTIME_BYTES_H_
#define EDGEVAE_RUNTIME_BYTES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace edgevae::io {

inline uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
inline uint64_t GetU64(const uint8_t* p) {
  return static_cast<uint64_t>(GetU32(p)) | static_cast<uint64_t>(GetU32(p + 4)) << 32;
}
inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Bytes from an untrusted file, quoted so that a message stays one printable line:
// 'text', with \xNN for anything not printable ASCII (and for the quote and backslash).
std::string Quoted(std::string_view s);

}  // namespace edgevae::io

#endif  // EDGEVAE_RUNTIME_BYTES_H_
