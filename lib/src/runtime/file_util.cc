#include "runtime/file_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace edgevae::io {
namespace {

// The directory holding `path`, for fsync after a rename.
std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::Close() {
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

std::string ErrnoText(int err) { return std::generic_category().message(err); }

StatusOr<size_t> ReadFully(int fd, const std::string& path, uint8_t* out, size_t n,
                           uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::read(fd, out + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return IoError(path + ": read failed at offset " + std::to_string(offset + done) + ": " +
                     ErrnoText(err));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

StatusOr<FileBytes> ReadWholeFile(const std::string& path, uint64_t max_bytes, const char* what) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return IoError(path + ": cannot open: " + ErrnoText(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError(path + ": cannot stat: " + ErrnoText(errno));
  if (S_ISDIR(st.st_mode)) return IoError(path + ": is a directory, not " + what);
  if (!S_ISREG(st.st_mode)) return IoError(path + ": not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes || size > std::numeric_limits<size_t>::max() / 2) {
    return DataError(path + ": " + std::to_string(size) + " bytes is larger than " + what +
                     " may be here (" + std::to_string(max_bytes) + ")");
  }
  FileBytes out;
  if (size == 0) return out;
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) return IoError(path + ": cannot map: " + ErrnoText(errno));
  out.bytes = {static_cast<const uint8_t*>(p), static_cast<size_t>(size)};
  out.owner = std::shared_ptr<const void>(p, [size](const void* q) {
    ::munmap(const_cast<void*>(q), static_cast<size_t>(size));
  });
  return out;
}

Status ReadToEnd(int fd, const std::string& path, std::vector<uint8_t>* out, size_t max_bytes) {
  uint8_t buf[1 << 16];
  for (;;) {
    EVAE_ASSIGN_OR_RETURN(const size_t n, ReadFully(fd, path, buf, sizeof(buf), out->size()));
    if (n > max_bytes - std::min(max_bytes, out->size())) {
      return DataError(path + ": too large: more than " + std::to_string(max_bytes) +
                       " bytes, the limit for this kind of input");
    }
    out->insert(out->end(), buf, buf + n);
    if (n < sizeof(buf)) return Status::Ok();
  }
}

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string dir = DirName(path);
  std::string tmp = path + ".tmp.XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    return IoError(path + ": cannot create temp file in " + dir + ": " + ErrnoText(err));
  }
  const auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return IoError(path + ": " + what + ": " + ErrnoText(err));
  };
  // mkstemp creates the file 0600; nothing we write is a secret.
  if (::fchmod(fd.get(), 0644) != 0) {
    const int err = errno;
    return fail("cannot set the mode of " + tmp, err);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return fail("writing " + tmp + " failed at offset " + std::to_string(done), err);
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    return fail("fsync of " + tmp + " failed", err);
  }
  if (fd.Close() != 0) {
    const int err = errno;
    return fail("closing " + tmp + " failed", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    return fail("cannot rename " + tmp + " over it", err);
  }
  // The new file is in place; what remains is making the directory entry durable.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) {
    const int err = errno;
    return IoError(path + ": written, but cannot open directory " + dir +
                   " to fsync it: " + ErrnoText(err));
  }
  if (::fsync(dir_fd.get()) != 0 && errno != EINVAL) {
    const int err = errno;
    return IoError(path + ": written, but fsync of directory " + dir +
                   " failed: " + ErrnoText(err));
  }
  return Status::Ok();
}

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

}  // namespace edgevae::io
