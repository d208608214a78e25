// HTTP/1.1 over plain sockets, for tests that must send what no well-behaved client sends:
// thousands of headers, a megabyte of URL, a request dripped one line at a time, connections
// that never speak, a chosen source address (127.0.0.x, so that per-address limits can be told
// apart from global ones). Header-only; Linux sockets; no exceptions.
//
// Also the server's memory and thread count from /proc/PID/status, and a reset of its peak RSS
// (/proc/PID/clear_refs), so that the peak of one abuse is not hidden by an earlier one.
#ifndef EDGEVAE_TESTS_SERVE_RAW_HTTP_H_
#define EDGEVAE_TESTS_SERVE_RAW_HTTP_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

namespace edgevae::serve_test {

using Clock = std::chrono::steady_clock;

inline double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Where the server listens: an IPv4 address and port.
struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 0;
};

// "http://127.0.0.1:8080" (a trailing slash or path is ignored); false if it is not that shape.
inline bool ParseUrl(std::string_view url, Endpoint* out) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  url.remove_prefix(kScheme.size());
  const size_t slash = url.find('/');
  if (slash != std::string_view::npos) url = url.substr(0, slash);
  const size_t colon = url.rfind(':');
  if (colon == std::string_view::npos) return false;
  out->host = std::string(url.substr(0, colon));
  out->port = std::atoi(std::string(url.substr(colon + 1)).c_str());
  return out->port > 0 && out->port < 65536;
}

// Waits for `events` on fd until `deadline`; false on timeout or error.
inline bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    // Once the deadline has passed, one more look without waiting: what is ready counts.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// Starts a non-blocking TCP connection to `server` from `source` (an address of this machine,
// such as 127.0.0.2; empty: the kernel's choice). Returns the socket, connected or on its way
// (EINPROGRESS), or -1 with errno set.
inline int StartConnect(const Endpoint& server, const std::string& source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof(from)) != 0) {
      const int e = errno;
      close(fd);
      errno = e == 0 ? EINVAL : e;
      return -1;
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(server.port));
  if (inet_pton(AF_INET, server.host.c_str(), &to.sin_addr) != 1) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) == 0) return fd;
  if (errno != EINPROGRESS) {
    const int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Whether a socket from StartConnect is established: 0 yes, else its error (ETIMEDOUT when it is
// still on its way at `deadline`, as when the server's listen backlog is full).
inline int FinishConnect(int fd, Clock::time_point deadline) {
  if (!WaitFor(fd, POLLOUT, deadline)) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

// A TCP connection established within timeout_ms (StartConnect + FinishConnect), or -1 with
// errno set.
inline int Connect(const Endpoint& server, const std::string& source, int timeout_ms) {
  const int fd = StartConnect(server, source);
  if (fd < 0) return -1;
  const int err = FinishConnect(fd, Clock::now() + std::chrono::milliseconds(timeout_ms));
  if (err != 0) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// Sends all of `data` before `deadline`. Returns the bytes sent; fewer than data.size() when the
// peer closed or reset (errno says which) or the deadline passed (errno = ETIMEDOUT).
inline size_t SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd, POLLOUT, deadline)) {
        errno = ETIMEDOUT;
        return sent;
      }
      continue;
    }
    return sent;
  }
  return sent;
}

// What came back for one request.
struct RawResponse {
  int status = -1;                                  // -1: no status line arrived
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;                                 // at most `keep` bytes of it
  size_t body_bytes = 0;                            // all of it, kept or not
  bool complete = false;                            // the whole body (Content-Length or EOF) read
  bool closed = false;                              // the server closed the connection
  std::string error;                                // why it is incomplete, or empty

  std::string Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Reads one response before `deadline`. The body runs for Content-Length bytes, or to EOF when
// there is none; of it, `keep` bytes are stored (a range bomb's reply need not fit in memory).
// `head`: the request was HEAD, so no body follows whatever Content-Length says.
inline RawResponse ReadResponse(int fd, Clock::time_point deadline, size_t keep = 1 << 20,
                                bool head = false) {
  RawResponse r;
  std::string buffer;
  char chunk[65536];
  size_t header_end = std::string::npos;
  long long content_length = -1;
  auto fill = [&]() -> ssize_t {  // >0 bytes, 0 EOF, <0 error or timeout
    for (;;) {
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!WaitFor(fd, POLLIN, deadline)) {
          r.error = "timed out";
          return -1;
        }
        continue;
      }
      r.error = std::string("recv: ") + std::strerror(errno);
      return -1;
    }
  };
  while (header_end == std::string::npos) {
    const ssize_t n = fill();
    if (n <= 0) {
      if (n == 0) {
        r.closed = true;
        r.error = buffer.empty() ? "closed before any answer" : "closed inside the header";
      }
      return r;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    header_end = buffer.find("\r\n\r\n");
    if (header_end == std::string::npos && buffer.size() > (1 << 20)) {
      r.error = "no end of header in 1 MB";
      return r;
    }
  }
  std::istringstream head_lines(buffer.substr(0, header_end));
  std::string line;
  std::getline(head_lines, line);
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) {
    r.error = "not an HTTP status line: " + line.substr(0, 60);
    return r;
  }
  r.status = std::atoi(line.c_str() + 9);
  while (std::getline(head_lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    r.headers.emplace(name, line.substr(v));
  }
  if (const std::string cl = r.Header("content-length"); !cl.empty()) {
    content_length = std::atoll(cl.c_str());
  }
  if (head) content_length = 0;
  auto take = [&](const char* data, size_t n) {
    r.body_bytes += n;
    if (r.body.size() < keep) r.body.append(data, std::min(n, keep - r.body.size()));
  };
  take(buffer.data() + header_end + 4, buffer.size() - header_end - 4);
  while (content_length < 0 || static_cast<long long>(r.body_bytes) < content_length) {
    const ssize_t n = fill();
    if (n < 0) return r;
    if (n == 0) {
      r.closed = true;
      r.complete = content_length < 0;
      if (!r.complete) r.error = "closed inside the body";
      return r;
    }
    take(chunk, static_cast<size_t>(n));
  }
  r.complete = true;
  return r;
}

// True when the server has closed (or reset) fd; reads and drops anything it sent first.
// Waits at most wait_ms.
inline bool PeerClosed(int fd, int wait_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  char chunk[4096];
  for (;;) {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset
    if (!WaitFor(fd, POLLIN, deadline)) return false;
  }
}

// One request on a new connection from `source`, its answer, and how long that took from
// connect to the last byte.
struct Exchange {
  RawResponse response;
  double ms = 0;
  int connect_errno = 0;  // non-zero: the connection was not established
};

inline Exchange Request(const Endpoint& server, std::string_view request, int timeout_ms,
                        const std::string& source = "", size_t keep = 1 << 20, bool head = false) {
  Exchange e;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::milliseconds(timeout_ms);
  const int fd = Connect(server, source, timeout_ms);
  if (fd < 0) {
    e.connect_errno = errno;
    e.response.error = std::string("connect: ") + std::strerror(errno);
    e.ms = MsSince(start);
    return e;
  }
  if (SendAll(fd, request, deadline) < request.size()) {
    // The server may have answered early (an error for a request it will not read); read it.
    e.response.error = std::string("send: ") + std::strerror(errno);
  }
  RawResponse r = ReadResponse(fd, deadline, keep, head);
  if (r.status > 0 || e.response.error.empty()) e.response = std::move(r);
  close(fd);
  e.ms = MsSince(start);
  return e;
}

// "GET <target> HTTP/1.1" with a Host header and Connection: close, plus `extra` header lines
// (each ending in \r\n).
inline std::string GetRequest(std::string_view target, std::string_view extra = "",
                              std::string_view method = "GET") {
  std::string r;
  r.reserve(target.size() + extra.size() + 64);
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  r.append(extra).append("Connection: close\r\n\r\n");
  return r;
}

// The server's memory (kB) and threads, from /proc/PID/status; -1 where unreadable.
struct ProcStatus {
  long rss_kb = -1, hwm_kb = -1, anon_kb = -1, file_kb = -1, threads = -1;
};

inline ProcStatus ReadProcStatus(int pid) {
  ProcStatus s;
  if (pid <= 0) return s;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    long value = 0;
    fields >> key >> value;
    if (key == "VmRSS:") s.rss_kb = value;
    if (key == "VmHWM:") s.hwm_kb = value;
    if (key == "RssAnon:") s.anon_kb = value;
    if (key == "RssFile:") s.file_kb = value;
    if (key == "Threads:") s.threads = value;
  }
  return s;
}

// Resets the process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0, "5" to clear_refs);
// false when not permitted.
inline bool ResetPeakRss(int pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace edgevae::serve_test

#endif  // EDGEVAE_TESTS_SERVE_RAW_HTTP_H_
