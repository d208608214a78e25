#include "edgevae/frames.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/file_util.h"

namespace edgevae {

FrameReader::FrameReader(int fd, size_t frame_bytes, int max_frames, int idle_timeout_ms,
                         const volatile std::sig_atomic_t* stop)
    : fd_(fd),
      frame_bytes_(frame_bytes),
      max_frames_(std::max(max_frames, 1)),
      idle_timeout_ms_(idle_timeout_ms),
      stop_(stop),
      buf_(frame_bytes * static_cast<size_t>(std::max(max_frames, 1))) {}

size_t FrameReader::Reset() {
  const size_t n = have_;
  have_ = 0;
  return n;
}

StatusOr<FrameRead> FrameReader::Next(uint8_t* out) {
  FrameRead r;
  const auto stopped = [&] {
    if (stop_ == nullptr || *stop_ == 0) return false;
    r.dropped_bytes = Reset();
    r.end = true;
    return true;
  };
  while (have_ < frame_bytes_) {
    if (have_ > 0 && idle_timeout_ms_ > 0) {
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, idle_timeout_ms_);
      if (rc < 0) {
        if (errno == EINTR) {
          if (stopped()) return r;
          continue;
        }
        return IoError("poll on input: " + io::ErrnoText(errno));
      }
      if (rc == 0) {  // the sender paused mid-frame: drop what it sent
        r.dropped_bytes = Reset();
        return r;
      }
    }
    const ssize_t n = ::read(fd_, buf_.data() + have_, buf_.size() - have_);
    if (n < 0) {
      if (errno == EINTR) {
        if (stopped()) return r;
        continue;
      }
      return IoError("read from input: " + io::ErrnoText(errno));
    }
    if (n == 0) {
      r.dropped_bytes = Reset();
      r.end = true;
      return r;
    }
    have_ += static_cast<size_t>(n);
  }
  const size_t frames = have_ / frame_bytes_;
  const size_t used = frames * frame_bytes_;
  std::memcpy(out, buf_.data(), used);
  std::memmove(buf_.data(), buf_.data() + used, have_ - used);
  have_ -= used;
  r.frames = static_cast<int>(frames);
  return r;
}

}  // namespace edgevae
