// POSIX file plumbing shared by the readers and writers in lib/src/runtime and lib/src/tools:
// one fd owner, one errno text, one read loop, one atomic write. Shared by lib/src only. Messages
// are one line and start with the path, like every other Status the library returns.
#ifndef EDGEVAE_RUNTIME_FILE_UTIL_H_
#define EDGEVAE_RUNTIME_FILE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgevae/status.h"
#include "runtime/bytes.h"  // GetU32 ... Quoted, which the file code uses too

namespace edgevae::io {

// Owns a file descriptor (or -1) and closes it on destruction.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and returns close()'s result: a deferred write error can surface only here. The
  // descriptor is released either way (retrying close() after EINTR could close someone else's).
  int Close();

 private:
  int fd_;
};

// The OS's text for an errno value, e.g. "No such file or directory".
std::string ErrnoText(int err);

// Reads `n` bytes into `out` unless the file ends first, retrying EINTR and short reads. Returns
// the count read (less than `n` only at end of file). `offset` is where the read starts in the
// file, used only so that an error names the offset that failed.
StatusOr<size_t> ReadFully(int fd, const std::string& path, uint8_t* out, size_t n,
                           uint64_t offset = 0);

// A whole file's bytes, read-only, and what keeps them valid.
struct FileBytes {
  std::span<const uint8_t> bytes;     // page-aligned (so 64-byte aligned), or empty
  std::shared_ptr<const void> owner;  // the mapping; the bytes live as long as any copy of it
};
// Maps a regular file read-only (mmap, MAP_PRIVATE): the bytes come from the page cache, nothing is
// copied. Anything but a regular file of at most `max_bytes` (after following symlinks) is refused
// before a byte is read, with a message naming what it is: a named pipe (reading could wait
// forever for a writer), a device (/dev/zero never ends), a directory, or a larger file. `what`
// names the kind of file expected in the messages ("a model file"). Another process truncating the
// file while it is mapped makes reads past the new end raise SIGBUS: the project's writers replace
// files by rename (WriteFileAtomic), which leaves a mapped file intact.
StatusOr<FileBytes> ReadWholeFile(const std::string& path, uint64_t max_bytes, const char* what);

// Appends everything up to end of file to `out`: for files whose length fstat cannot tell (a
// pipe, a device). More than `max_bytes` in all (/dev/zero never ends) is a DataError naming the
// limit, returned before the excess is stored.
Status ReadToEnd(int fd, const std::string& path, std::vector<uint8_t>* out, size_t max_bytes);

// Replaces `path` with `bytes` so that a reader sees the old file or the whole new one, never a
// part: a temp file beside the target (same file system so rename() is atomic), mode 0644,
// write, fsync, rename over the target, fsync the directory. On any failure before the rename
// the temp file is removed and an existing target is untouched. A failure to sync the directory
// after the rename is reported ("written, but ...") except EINVAL, which means the file system
// cannot sync directories at all.
//
// The temp file is "<path>.tmp.<pid>.<6 random characters>", and its writer holds an exclusive
// flock() on it from creation until after the rename. A process killed in between (SIGKILL, the
// OOM killer, power loss) leaves it behind; the kernel drops the lock with the process, and the
// pid in the name says who wrote it, so that RemoveStaleTempFiles can tell it from a live write.
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes);

// Removes the temp files that atomic writes of `path` left when their process died: names of
// exactly the form "<path>.tmp.<pid>.<6 characters>" (this target only), regular files only (not
// symlinks), and only when nobody holds the file's lock and its writer is gone: no process has
// that pid, or the file has not changed for kStaleTempSeconds (then the pid was reused, e.g.
// after a reboot). Appends the removed paths to *removed. A missing folder is not an error
// (there is nothing to remove); one that cannot be read is.
inline constexpr int kStaleTempSeconds = 60;
Status RemoveStaleTempFiles(const std::string& path, std::vector<std::string>* removed);

// Finds out now, instead of after hours of work, whether WriteFileAtomic(path, <bytes bytes>)
// could succeed: creates its temp file, writes `bytes` zero bytes, fsyncs and removes it. Fails
// like the real write would, naming the cause: a missing or read-only folder, no permission, a
// full disk (ENOSPC), a file size limit (EFBIG under RLIMIT_FSIZE when SIGXFSZ is ignored; with
// the default action the process is killed, as by the real write).
Status CheckWritable(const std::string& path, uint64_t bytes);

}  // namespace edgevae::io

#endif  // EDGEVAE_RUNTIME_FILE_UTIL_H_
