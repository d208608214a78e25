// Fuzz harness: FrameReader (edgevae-anomalyd's input: raw frames from stdin or a named pipe).
// The reader never looks at the bytes, only at how they arrive, so the input describes a stream's
// timing rather than its content:
//   byte 0  frame size: 1 + b % 48, or 784 (an MNIST frame) for 0xff
//   byte 1  max_frames: 1 + b % 8
//   byte 2  mode: bit 0 a memfd (a regular file: reads return everything asked for) instead of
//           a pipe; bit 1 an idle timeout of 1 ms (pipe only); bit 2 the input ends by a signal
//           (SIGTERM to edgevae-anomalyd: a stop flag set by a handler without SA_RESTART, the
//           blocked read or poll interrupted) instead of the writer closing; bit 3 the reader
//           gets a descriptor it cannot read (an OS error)
//   then    one byte per event on the pipe: n > 0 writes the next n bytes of the stream; 0 is a
//           pause (with the idle timeout: the sender stops mid-frame, at most kMaxPauses times,
//           since each costs a millisecond) or, without it, a Reset() (a reopened named pipe).
// The stream's byte k is k % 251. A model of the reader (what a pipe's read() returns is exactly
// defined: everything written so far, up to the count asked for) predicts every Next(): the
// frames and their bytes, the dropped partial frames, the end of input, pending(). Next() is only
// called when it cannot block forever.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "edgevae/frames.h"
#include "edgevae/status.h"
#include "fuzz_util.h"

namespace {

constexpr int kMaxPauses = 3;

// The stop signal: a real-time one, since libFuzzer owns SIGALRM (-timeout) and SIGUSR1/2. The
// handler sets the stop flag from the second signal on, so that a read interrupted before the
// flag is set is retried (both EINTR paths of the reader).
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_signals = 0;
void OnStopSignal(int) {
  g_signals = g_signals + 1;
  if (g_signals >= 2) g_stop = 1;
}
int StopSignal() {
  static const int sig = [] {
    const int s = SIGRTMIN + 3;
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART, as edgevae-anomalyd
    FUZZ_CHECK(sigaction(s, &sa, nullptr) == 0, "sigaction: %s", std::strerror(errno));
    return s;
  }();
  return sig;
}

uint8_t StreamByte(uint64_t k) { return static_cast<uint8_t>(k % 251); }

class Harness {
 public:
  Harness(int fd, size_t frame_bytes, int max_frames, int timeout_ms, bool closed)
      : reader_(fd, frame_bytes, max_frames, timeout_ms, &g_stop),
        frame_(frame_bytes),
        capacity_(frame_bytes * static_cast<size_t>(max_frames)),
        timeout_(timeout_ms > 0),
        closed_(closed),
        out_(capacity_) {}

  void Wrote(size_t n) { written_ += n; }
  void Closed() { closed_ = true; }
  size_t have() const { return read_ - start_; }
  size_t unread() const { return written_ - read_; }

  // Calls Next() and checks it against the model. `stopping`: a stop signal ends the input.
  edgevae::FrameRead Next(bool stopping = false) {
    edgevae::FrameRead want;
    size_t have = this->have();
    bool done = false;
    while (have < frame_ && !done) {
      if (unread() == 0 && stopping) {  // read() or poll() interrupted with the flag set
        want.dropped_bytes = have;
        want.end = true;
        done = true;
      } else if (unread() == 0 && closed_) {  // read() returns 0
        want.dropped_bytes = have;
        want.end = true;
        done = true;
      } else if (unread() == 0) {  // poll() times out (the harness never lets read() block)
        FUZZ_CHECK(timeout_ && have > 0, "the harness would block the reader");
        want.dropped_bytes = have;
        done = true;
      } else {
        const size_t n = std::min(unread(), capacity_ - have);
        read_ += n;
        have += n;
      }
    }
    if (!done) want.frames = static_cast<int>(have / frame_);

    std::fill(out_.begin(), out_.end(), 0xAA);
    edgevae::StatusOr<edgevae::FrameRead> got = stopping ? NextStopped() : reader_.Next(out_.data());
    FUZZ_CHECK(got.ok(), "Next: %s", got.status().message().c_str());
    FUZZ_CHECK(got->frames == want.frames && got->dropped_bytes == want.dropped_bytes &&
                   got->end == want.end,
               "Next gave %d frames, %zu dropped, end %d; expected %d, %zu, %d", got->frames,
               got->dropped_bytes, got->end, want.frames, want.dropped_bytes, want.end);
    for (size_t i = 0; i < static_cast<size_t>(got->frames) * frame_; ++i) {
      FUZZ_CHECK(out_[i] == StreamByte(start_ + i), "frame byte %zu is %d, stream byte %zu is %d",
                 i, out_[i], start_ + i, StreamByte(start_ + i));
    }
    start_ += static_cast<size_t>(got->frames) * frame_ + got->dropped_bytes;
    FUZZ_CHECK(reader_.pending() == this->have(), "pending %zu, expected %zu", reader_.pending(),
               this->have());
    return *got;
  }

  // Next() while it cannot block: whole frames available, or a partial one to time out.
  void Drain() {
    while (have() + unread() >= frame_) Next();
  }

  // Next() while a thread keeps signalling this one until it returns.
  edgevae::StatusOr<edgevae::FrameRead> NextStopped() {
    g_stop = 0;
    g_signals = 0;
    const int sig = StopSignal();
    const pthread_t self = ::pthread_self();
    std::atomic<bool> returned{false};
    std::thread signaller([&] {
      while (!returned.load()) {
        ::pthread_kill(self, sig);
        ::usleep(200);
      }
    });
    edgevae::StatusOr<edgevae::FrameRead> got = reader_.Next(out_.data());
    returned = true;
    signaller.join();
    g_stop = 0;
    return got;
  }

  void Reset() {
    const size_t dropped = reader_.Reset();
    FUZZ_CHECK(dropped == have(), "Reset dropped %zu, expected %zu", dropped, have());
    start_ = read_;
  }

 private:
  edgevae::FrameReader reader_;
  const size_t frame_, capacity_;
  const bool timeout_;
  bool closed_;
  std::vector<uint8_t> out_;
  uint64_t written_ = 0;  // stream bytes written to the descriptor
  uint64_t read_ = 0;     // of them, read by the reader (the model's count)
  uint64_t start_ = 0;    // the first byte the reader holds (pending)
};

void WriteStream(int fd, uint64_t from, size_t n) {
  uint8_t buf[256];
  while (n > 0) {
    const size_t k = std::min(n, sizeof(buf));
    for (size_t i = 0; i < k; ++i) buf[i] = StreamByte(from + i);
    const ssize_t w = ::write(fd, buf, k);
    if (w < 0 && errno == EINTR) continue;
    FUZZ_CHECK(w == static_cast<ssize_t>(k), "write: %s", std::strerror(errno));
    from += k;
    n -= k;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const size_t frame_bytes = data[0] == 0xff ? 784 : 1 + data[0] % 48;
  const int max_frames = 1 + data[1] % 8;
  const bool memfd = (data[2] & 1) != 0;
  const bool timeout = !memfd && (data[2] & 2) != 0;
  const bool stop = !memfd && (data[2] & 4) != 0;
  const bool unreadable = (data[2] & 8) != 0;
  const uint8_t* events = data + 3;
  const size_t n_events = size - 3;

  if (unreadable) {  // the write end of a pipe: read() fails with EBADF
    int fds[2];
    FUZZ_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", std::strerror(errno));
    edgevae::FrameReader reader(fds[1], frame_bytes, max_frames);
    std::vector<uint8_t> out(frame_bytes * static_cast<size_t>(max_frames));
    edgevae::StatusOr<edgevae::FrameRead> got = reader.Next(out.data());
    FUZZ_CHECK(!got.ok() && got.status().code() == edgevae::StatusCode::kIoError,
               "reading a write-only descriptor: %s", got.ok() ? "ok" : "another error");
    ::close(fds[0]);
    ::close(fds[1]);
    return 0;
  }

  if (memfd) {
    uint64_t total = 0;
    for (size_t i = 0; i < n_events; ++i) total += events[i];
    std::vector<uint8_t> bytes(total);
    for (uint64_t k = 0; k < total; ++k) bytes[k] = StreamByte(k);
    const edgevae::fuzz::MemFile mem(bytes.data(), bytes.size());
    const int fd = ::open(mem.path().c_str(), O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0, "open %s: %s", mem.path().c_str(), std::strerror(errno));
    Harness h(fd, frame_bytes, max_frames, 0, /*closed=*/true);
    h.Wrote(total);
    while (!h.Next().end) {
    }
    FUZZ_CHECK(h.Next().end, "input ended, then came back");
    ::close(fd);
    return 0;
  }

  int fds[2];
  FUZZ_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", std::strerror(errno));
  // When a signal ends the input, an idle timeout must not end a partial frame first.
  Harness h(fds[0], frame_bytes, max_frames, timeout ? (stop ? 60000 : 1) : 0, /*closed=*/false);
  uint64_t written = 0;
  int pauses = 0;
  for (size_t i = 0; i < n_events; ++i) {
    if (events[i] != 0) {
      WriteStream(fds[1], written, events[i]);
      written += events[i];
      h.Wrote(events[i]);
      h.Drain();
    } else if (timeout && !stop && pauses < kMaxPauses && h.have() + h.unread() > 0) {
      ++pauses;
      const edgevae::FrameRead r = h.Next();
      FUZZ_CHECK(r.frames == 0 && r.dropped_bytes > 0, "a pause gave %d frames, %zu dropped",
                 r.frames, r.dropped_bytes);
    } else {
      h.Reset();
    }
  }
  if (stop) {  // whole frames are out (Drain), a partial one is pending or in the pipe
    FUZZ_CHECK(h.Next(/*stopping=*/true).end, "a stop signal did not end the input");
    ::close(fds[1]);
    ::close(fds[0]);
    return 0;
  }
  ::close(fds[1]);
  h.Closed();
  while (!h.Next().end) {
  }
  FUZZ_CHECK(h.Next().end, "input ended, then came back");
  ::close(fds[0]);
  return 0;
}
