// Helpers shared by the fuzz harnesses (tests/fuzz/*_fuzz.cc): a file in memory for readers that
// take a path, little-endian fields, and a check that aborts (so that libFuzzer, and the
// standalone regression runner, report a broken invariant as a crash with the input kept).
#ifndef EDGEVAE_TESTS_FUZZ_FUZZ_UTIL_H_
#define EDGEVAE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

// An invariant of the code under test: abort with the condition and a message if it fails.
#define FUZZ_CHECK(cond, ...)                                                          \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                               \
      std::fputc('\n', stderr);                                                        \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace edgevae::fuzz {

// The bytes as a file that the readers open by path, without touching a disk: a memfd, named
// /proc/self/fd/N. It is a regular file (S_ISREG), as a model or image file on disk is.
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) {
    fd_ = static_cast<int>(::memfd_create("fuzz", MFD_CLOEXEC));
    FUZZ_CHECK(fd_ >= 0, "memfd_create: %s", std::strerror(errno));
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      FUZZ_CHECK(n > 0, "write to memfd: %s", std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

inline uint32_t GetLe32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
inline uint64_t GetLe64(const uint8_t* p) { return GetLe32(p) | uint64_t{GetLe32(p + 4)} << 32; }
inline void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace edgevae::fuzz

#endif  // EDGEVAE_TESTS_FUZZ_FUZZ_UTIL_H_
