#include "runtime/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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

constexpr char kTempInfix[] = ".tmp.";
constexpr size_t kTempRandomChars = 6;  // mkostemp's XXXXXX

// Creates "<path>.tmp.<pid>.XXXXXX" (mode 0600) and locks it. Returns the descriptor, or -1 with
// errno set.
int CreateLockedTemp(const std::string& path, std::string* tmp) {
  *tmp = path + kTempInfix + std::to_string(::getpid()) + "." + std::string(kTempRandomChars, 'X');
  const int fd = ::mkostemp(tmp->data(), O_CLOEXEC);
  if (fd < 0) return -1;
  // The lock lives as long as the descriptor and dies with the process, whatever kills it. A
  // file system without flock (ENOLCK on some NFS setups) leaves the pid to protect the file.
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  return fd;
}

std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

// "<pid>.<6 characters>" after "<name>.tmp." -> the pid, or 0 if the rest is not of that form.
pid_t TempFilePid(const std::string& rest) {
  const size_t dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 10 ||
      rest.size() != dot + 1 + kTempRandomChars) {
    return 0;
  }
  long long pid = 0;
  for (size_t i = 0; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return 0;
    pid = pid * 10 + (rest[i] - '0');
  }
  for (size_t i = dot + 1; i < rest.size(); ++i) {
    if (!std::isalnum(static_cast<unsigned char>(rest[i]))) return 0;
  }
  // 0 and negative values would make kill() address process groups.
  return pid > 0 && pid <= 0x7fffffff ? static_cast<pid_t>(pid) : 0;
}

// True if no live process is writing `tmp` (written by `pid`); then it is removed, under its
// lock. Any doubt keeps the file.
bool RemoveIfStale(const std::string& tmp, pid_t pid) {
  struct stat link_st {};
  if (::lstat(tmp.c_str(), &link_st) != 0 || !S_ISREG(link_st.st_mode)) return false;
  Fd fd(::open(tmp.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || st.st_dev != link_st.st_dev ||
      st.st_ino != link_st.st_ino) {
    return false;
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno != ENOLCK && errno != EINVAL) {
    return false;  // held: its writer is alive
  }
  // A writer takes the lock right after creating the file; in between, its pid is alive. A
  // live pid on a file untouched for a minute is another process that got the number later.
  const bool pid_alive = ::kill(pid, 0) == 0 || errno == EPERM;
  if (pid_alive && std::time(nullptr) - st.st_mtime < kStaleTempSeconds) return false;
  return ::unlink(tmp.c_str()) == 0;
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

StatusOr<FileBytes> ReadWholeFile(const std::string& path, uint64_t max_bytes, const char* what) {
  // stat before open: opening a FIFO would wait for a writer, and opening some devices acts.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return IoError(path + ": cannot open: " + ErrnoText(err));
  }
  struct stat link_st {};
  const bool symlink = ::lstat(path.c_str(), &link_st) == 0 && S_ISLNK(link_st.st_mode);
  const auto check = [&](const struct stat& s) -> Status {
    if (S_ISDIR(s.st_mode)) return IoError(path + ": is a directory, not " + what);
    if (!S_ISREG(s.st_mode)) {
      return DataError(path + ": " + (symlink ? "a symlink to " : "") + FileKind(s.st_mode) +
                       ", not a regular file; not read");
    }
    if (static_cast<uint64_t>(s.st_size) > max_bytes ||
        static_cast<uint64_t>(s.st_size) > std::numeric_limits<size_t>::max() / 2) {
      return DataError(path + ": " + std::to_string(s.st_size) + " bytes, over the limit of " +
                       std::to_string(max_bytes) + " for " + what + "; not read");
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
  FileBytes out;
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) return out;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) return IoError(path + ": cannot map: " + ErrnoText(errno));
  out.bytes = {static_cast<const uint8_t*>(p), size};
  out.owner = std::shared_ptr<const void>(
      p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  return out;
}

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string dir = DirName(path);
  std::string tmp;
  Fd fd(CreateLockedTemp(path, &tmp));
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
  // Renamed before it is closed, so that its lock covers the temp file's whole life. After a
  // successful fsync, close has no write error left to report.
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    return fail("cannot rename " + tmp + " over it", err);
  }
  if (fd.Close() != 0) {
    const int err = errno;
    return IoError(path + ": written, but closing it failed: " + ErrnoText(err));
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

Status RemoveStaleTempFiles(const std::string& path, std::vector<std::string>* removed) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = DirName(path);
  const std::string prefix =
      (slash == std::string::npos ? path : path.substr(slash + 1)) + kTempInfix;
  const std::string shown_dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Status::Ok();
    return IoError(path + ": cannot read directory " + dir +
                   " to remove stale temp files: " + ErrnoText(err));
  }
  std::vector<std::pair<std::string, pid_t>> candidates;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (const pid_t pid = TempFilePid(name.substr(prefix.size())); pid > 0) {
      candidates.emplace_back(shown_dir + name, pid);
    }
  }
  ::closedir(d);
  std::sort(candidates.begin(), candidates.end());
  for (const auto& [tmp, pid] : candidates) {
    if (RemoveIfStale(tmp, pid)) removed->push_back(tmp);
  }
  return Status::Ok();
}

Status CheckWritable(const std::string& path, uint64_t bytes) {
  const std::string dir = DirName(path);
  std::string tmp;
  Fd fd(CreateLockedTemp(path, &tmp));
  if (!fd.valid()) {
    const int err = errno;
    return IoError(path + ": cannot create a file in " + dir + ": " + ErrnoText(err));
  }
  const auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return IoError(path + ": " + what + ": " + ErrnoText(err));
  };
  static const uint8_t kZeros[1 << 16] = {};
  uint64_t done = 0;
  while (done < bytes) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), bytes - done));
    const ssize_t w = ::write(fd.get(), kZeros, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return fail("a trial write of " + std::to_string(bytes) + " bytes to " + tmp +
                      " failed at offset " + std::to_string(done),
                  err);
    }
    done += static_cast<uint64_t>(w);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    return fail("fsync of a trial write to " + tmp + " failed", err);
  }
  if (::unlink(tmp.c_str()) != 0) {
    const int err = errno;
    return IoError(path + ": cannot remove the trial file " + tmp + ": " + ErrnoText(err));
  }
  return Status::Ok();
}

}  // namespace edgevae::io
