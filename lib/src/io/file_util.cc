#include "io/file_util.h"

#include <cstdio>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
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

Status ReadToEnd(int fd, const std::string& path, std::vector<uint8_t>* out) {
  uint8_t buf[1 << 16];
  for (;;) {
    EVAE_ASSIGN_OR_RETURN(const size_t n, ReadFully(fd, path, buf, sizeof(buf), out->size()));
    out->insert(out->end(), buf, buf + n);
    if (n < sizeof(buf)) return Status::Ok();
  }
}

Status ReadRegularFile(const std::string& path, uint64_t max_bytes, std::vector<uint8_t>* out) {
  // stat before open: opening a FIFO would wait for a writer, and opening some devices acts.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return IoError(path + ": cannot open: " + ErrnoText(err));
  }
  struct stat link_st {};
  const bool symlink = ::lstat(path.c_str(), &link_st) == 0 && S_ISLNK(link_st.st_mode);
  const auto check = [&](const struct stat& s) -> Status {
    if (!S_ISREG(s.st_mode)) {
      return DataError(path + ": " + (symlink ? "a symlink to " : "") + FileKind(s.st_mode) +
                       ", not a regular file; not read");
    }
    if (static_cast<uint64_t>(s.st_size) > max_bytes) {
      return DataError(path + ": " + std::to_string(s.st_size) + " bytes, over the limit of " +
                       std::to_string(max_bytes) + "; not read");
    }
    return Status::Ok();
  };
  EVAE_RETURN_IF_ERROR(check(st));
  // O_NONBLOCK: if the name was switched to a FIFO since the stat, open must not wait.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    const int err = errno;
    return IoError(path + ": cannot open: " + ErrnoText(err));
  }
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return IoError(path + ": cannot stat: " + ErrnoText(err));
  }
  EVAE_RETURN_IF_ERROR(check(st));
  // One byte more than the size, to see a file that grows while it is read.
  const size_t size = static_cast<size_t>(st.st_size);
  out->resize(size + 1);
  EVAE_ASSIGN_OR_RETURN(const size_t n, ReadFully(fd.get(), path, out->data(), size + 1));
  if (n > size) {
    return DataError(path + ": grew while it was read (past its " + std::to_string(size) +
                     " bytes); not read");
  }
  out->resize(n);
  return Status::Ok();
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
