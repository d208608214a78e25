// Raw image frames from a byte stream (stdin, a pipe, a named pipe): each frame is exactly
// `frame_bytes` bytes (784 for MNIST: 28x28 grey, row-major), with no header. A stream cannot
// mark a bad frame, so a malformed frame is one that is cut short: by the end of the input, or,
// with an idle timeout, by a pause in the middle of a frame. Its bytes are dropped and reported,
// and the next byte starts a new frame -- a sender that wrote a short frame does not shift every
// later frame.
#ifndef EDGEVAE_FRAMES_H_
#define EDGEVAE_FRAMES_H_

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "edgevae/status.h"

namespace edgevae {

struct FrameRead {
  int frames = 0;            // complete frames written to `out`
  size_t dropped_bytes = 0;  // a partial frame discarded (malformed), 0 if none
  bool end = false;          // end of input: nothing more will come from this descriptor
};

class FrameReader {
 public:
  // Does not own `fd`. Holds up to `max_frames` frames (allocated here, once).
  // idle_timeout_ms > 0: a partial frame with no new byte for that long is dropped.
  // `stop` (may be null), set by a signal handler installed without SA_RESTART: a read
  // interrupted while it is set ends the input instead of being retried.
  FrameReader(int fd, size_t frame_bytes, int max_frames, int idle_timeout_ms = 0,
              const volatile std::sig_atomic_t* stop = nullptr);

  // Blocks until there is at least one complete frame, a partial frame is dropped, or the input
  // ends; then returns every complete frame already read (up to max_frames) in `out`
  // (max_frames x frame_bytes). Returns as soon as frames are available, so a slow sender's
  // frames are not held back to fill a batch. Only an OS read error is a failed Status.
  StatusOr<FrameRead> Next(uint8_t* out);

  // Forgets a partial frame (e.g. after reopening a named pipe); returns its length.
  size_t Reset();
  // Reads from another descriptor from now on (a reopened named pipe); keeps the buffer.
  void set_fd(int fd) { fd_ = fd; }
  // Bytes of a partial frame held now.
  size_t pending() const { return have_; }

 private:
  int fd_;
  size_t frame_bytes_;
  int max_frames_;
  int idle_timeout_ms_;
  const volatile std::sig_atomic_t* stop_;
  std::vector<uint8_t> buf_;
  size_t have_ = 0;
};

}  // namespace edgevae

#endif  // EDGEVAE_FRAMES_H_
