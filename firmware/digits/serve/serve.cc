// Serve: DigitHandler behind libmicrohttpd (Debian's libmicrohttpd-dev), until SIGINT/SIGTERM.
//
// Why libmicrohttpd and not cpp-httplib (docs/reliability-server.md has the figures): httplib
// 0.11 gives each connection a worker thread for its whole life and reads a request's headers,
// however many, into memory before any hook of ours runs; so eight slow clients held every
// worker, and one request of three million header lines took 340 MB. libmicrohttpd runs a few
// event loops; a connection costs a fixed pool (HttpLimits::connection_memory) that its request
// line and headers must fit in, and it has connection, per-address and idle limits of its own.
// What it lacks, a deadline for a whole request head (slowloris: a byte now and then defeats any
// idle timeout), is the one thing built here: a thread that shuts down the sockets of connections
// whose head is late.
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "edgevae/status.h"
#include "serve.h"
#include "ui/error_line.h"

namespace edgevae::digits {
namespace {

using Clock = std::chrono::steady_clock;

// Connections the kernel completes before the server accepts them. A burst larger than this
// loses SYNs, and a client whose SYN is lost retries only after a second: 500 connections opened
// at once overflowed a backlog of 128 and delayed a normal request by 1.03 s; 1,024 holds a burst
// of twice the connection limit. (Linux caps it at net.core.somaxconn, 4096 by default.)
constexpr int kListenBacklog = 1024;
// After a burst of connections has gone (down to a quarter of at least this many), the heap's
// free memory is handed back: their 16 kB pools, freed between other allocations, otherwise
// stay resident for good (measured: +7.9 MB after floods of 500 connections).
constexpr size_t kTrimAfterConnections = 64;
constexpr char kAllow[] = "GET, HEAD";

// glibc's allocator, left alone, gives each thread an arena of its own and, after the first
// large free, raises its mmap threshold so that the large buffers of a manifold (its grid, PNG
// and response, under 1 MB each) stay cached in those arenas. For a small server one arena and a
// fixed threshold keep memory flat: large buffers go back to the system when freed. The lock
// contention this adds is nothing next to a decode. (Measured: docs/performance.md, "Web demo".)
void TuneAllocator() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

bool IsLoopback(const std::string& bind) {
  return bind == "localhost" || bind == "::1" || bind.rfind("127.", 0) == 0;
}

// A listening, non-blocking TCP socket on address:port, or -1 with a message. Made here rather
// than by libmicrohttpd so that a host name, IPv6 and port 0 work alike and "in use" is told.
int Listen(const std::string& address, int port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(address.c_str(), service.c_str(), &hints, &found); rc != 0) {
    *error = "cannot resolve " + address + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  int last_errno = 0;
  for (const addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    // SO_REUSEADDR and not SO_REUSEPORT: a restart right after a stop still binds (TIME_WAIT),
    // and a second server on the same port is an error instead of silently taking half the
    // connections.
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, kListenBacklog) != 0) {
      last_errno = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    *error = "cannot listen on " + address + " port " + std::to_string(port) + ": " +
             std::strerror(last_errno) + " (in use, or not an address of this machine)";
  }
  return fd;
}

Status CheckLimits(const HttpLimits& l) {
  if (l.max_connections < 1 || l.max_connections_per_ip < 1 || l.max_headers < 1 ||
      l.header_deadline_ms < 1 || l.idle_timeout_s < 1 || l.http_threads < 1 || l.max_target < 1 ||
      l.connection_memory < 4096) {
    return InvalidArgument(
        "serve: every HTTP limit must be positive, and the connection memory at least 4096 "
        "bytes");
  }
  return Status();
}

class MhdServer final : public HttpServer {
 public:
  MhdServer(DigitHandler& handler, const HttpLimits& limits) : handler_(handler), limits_(limits) {}

  ~MhdServer() override {
    // Stop the event loops first: after MHD_stop_daemon no callback runs, and every
    // connection has been reported closed, so the reaper has nothing left to touch.
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (reaper_.joinable()) reaper_.join();
  }

  int port() const override { return port_; }

  Status Start(const std::string& bind, int port) {
    std::string error;
    const int fd = Listen(bind, port, &error);
    if (fd < 0) return InvalidArgument(error);
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = address.ss_family == AF_INET6
                ? ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port)
                : ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    reaper_ = std::thread([this] { Reap(); });
    // poll(), not epoll: with epoll (libmicrohttpd 0.9.75), an event loop that had reached its
    // share of the connection limit left connections its clients had closed in CLOSE-WAIT until
    // the idle timeout, in 3 of 12 floods of 500 connections; with poll, in none of 14. poll
    // costs a pass over a loop's connections per wake-up: at most 512 here.
    // Quiet: no MHD_USE_ERROR_LOG. Under attack it would print a line per refused connection,
    // a flood of its own on a board's SD card.
    daemon_ = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, nullptr, nullptr, &OnRequest, this,
        MHD_OPTION_LISTEN_SOCKET, fd,  //
        MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(limits_.http_threads),
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(limits_.max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<unsigned>(limits_.max_connections_per_ip),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits_.connection_memory,
        MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(limits_.idle_timeout_s),
        MHD_OPTION_NOTIFY_CONNECTION, &OnConnection, this,  //
        MHD_OPTION_URI_LOG_CALLBACK, &OnRequestLine, this,  //
        MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, this,    //
        MHD_OPTION_END);
    if (daemon_ == nullptr) {
      // Whether libmicrohttpd closed a socket it was given when it fails to start is not
      // documented; nothing else opens descriptors meanwhile, so a valid fd is still ours.
      if (fcntl(fd, F_GETFD) != -1) close(fd);
      return Internal("serve: libmicrohttpd did not start (threads, or the listening socket)");
    }
    return Status();
  }

 private:
  // A connection as the deadline sees it.
  struct Tracked {
    int fd = -1;
    bool armed = true;  // waiting for a request head, which is due by `due`
    Clock::time_point due;
    size_t target_bytes = 0;  // of the current request's target, as sent
  };

  static void OnConnection(void* cls, MHD_Connection* connection, void** /*socket_context*/,
                           MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<MhdServer*>(cls);
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      Tracked& t = self->connections_[connection];
      t.fd = info != nullptr ? info->connect_fd : -1;
      t.due = Clock::now() + std::chrono::milliseconds(self->limits_.header_deadline_ms);
      self->connections_high_ = std::max(self->connections_high_, self->connections_.size());
    } else {
      // libmicrohttpd reports a connection closed before it closes the socket, and waits for
      // this lock to do so: the reaper never shuts down a descriptor that has been reused.
      self->connections_.erase(connection);
      if (self->connections_high_ >= kTrimAfterConnections &&
          self->connections_.size() <= self->connections_high_ / 4) {
        self->connections_high_ = self->connections_.size();
        self->trim_ = true;
        self->wake_.notify_one();
      }
    }
  }

  // The request line has arrived (its target is `uri`, as sent); the headers follow.
  static void* OnRequestLine(void* cls, const char* uri, MHD_Connection* connection) {
    auto* self = static_cast<MhdServer*>(cls);
    std::lock_guard<std::mutex> lock(self->mutex_);
    const auto it = self->connections_.find(connection);
    if (it != self->connections_.end()) it->second.target_bytes = std::strlen(uri);
    return nullptr;
  }

  // An answer has gone out: the next request on this connection is due within the deadline.
  static void OnCompleted(void* cls, MHD_Connection* connection, void** /*con_cls*/,
                          MHD_RequestTerminationCode /*code*/) {
    auto* self = static_cast<MhdServer*>(cls);
    std::lock_guard<std::mutex> lock(self->mutex_);
    const auto it = self->connections_.find(connection);
    if (it == self->connections_.end()) return;
    it->second.armed = true;
    it->second.due = Clock::now() + std::chrono::milliseconds(self->limits_.header_deadline_ms);
  }

  // libmicrohttpd calls this once the request head is complete, then again once its body has
  // been read. An answer queued on the first call goes out at once and closes the connection
  // (the body, if any, is never read): right for every refusal. A GET or HEAD is answered on the
  // second call, so that the connection can be kept alive.
  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* /*version*/,
                              const char* /*upload_data*/, size_t* upload_data_size,
                              void** con_cls) {
    auto* self = static_cast<MhdServer*>(cls);
    static int head_seen;  // its address marks a request whose head has been checked
    if (*con_cls == nullptr) {
      *con_cls = &head_seen;
      return self->CheckHead(connection, url, method);
    }
    if (*upload_data_size != 0) {  // a body that no header announced: not read, not answered
      return MHD_NO;
    }
    QueryParams params;
    MHD_get_connection_values(
        connection, MHD_GET_ARGUMENT_KIND,
        [](void* p, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          static_cast<QueryParams*>(p)->emplace(key, value != nullptr ? value : "");
          return MHD_YES;
        },
        &params);
    return Send(connection, self->handler_.Handle(url, params));
  }

  // The first call: the head has arrived in time; refuses what the limits or the routes do not
  // allow (the connection then closes), else lets the request go on to its answer.
  MHD_Result CheckHead(MHD_Connection* connection, const char* url, const char* method) {
    size_t target_bytes = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = connections_.find(connection);
      if (it != connections_.end()) {
        it->second.armed = false;
        target_bytes = it->second.target_bytes;
      }
    }
    if (target_bytes > limits_.max_target) {
      return Send(connection, Text(414, "request target of " + std::to_string(target_bytes) +
                                            " bytes; at most " +
                                            std::to_string(limits_.max_target) + " are served"));
    }
    const int headers = MHD_get_connection_values(connection, MHD_HEADER_KIND, nullptr, nullptr);
    if (headers > limits_.max_headers) {
      return Send(connection, Text(431, std::to_string(headers) + " header lines; at most " +
                                            std::to_string(limits_.max_headers) + " are served"));
    }
    const std::string_view m = method;
    if (m != MHD_HTTP_METHOD_GET && m != MHD_HTTP_METHOD_HEAD) {
      return Send(connection,
                  Text(405, std::string(m.substr(0, 32)) + " " + std::string(url).substr(0, 64) +
                                ": only GET and HEAD are served"));
    }
    // A GET with a body would be read to its end after the deadline is met: a slow client's
    // way around it. No route takes one.
    const char* length =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if ((length != nullptr && std::string_view(length) != "0") ||
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr) {
      return Send(connection, Text(413, std::string(m) + " " + std::string(url).substr(0, 64) +
                                            ": requests carry no body here"));
    }
    return MHD_YES;
  }

  static HttpResponse Text(int status, std::string message) {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(message) + "\n";
    return r;
  }

  static MHD_Result Send(MHD_Connection* connection, const HttpResponse& r) {
    MHD_Response* response = MHD_create_response_from_buffer(
        r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;  // out of memory: libmicrohttpd closes
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
    // Every image is drawn anew per request (and the page is small): let nothing cache them.
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (!r.seed.empty()) MHD_add_response_header(response, "X-Seed", r.seed.c_str());
    if (r.status == 405) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, kAllow);
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
    MHD_destroy_response(response);
    return queued;
  }

  // Shuts down the socket of every connection whose request head is overdue. libmicrohttpd's
  // event loop then reads end-of-file and closes the connection as if the client had left; no
  // answer is sent (the loop may be writing on that socket, this thread may not). Also trims
  // the heap after a burst of connections (kTrimAfterConnections), off the event loops.
  void Reap() {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto deadline = std::chrono::milliseconds(limits_.header_deadline_ms);
    while (!stopping_) {
      if (trim_) {
        trim_ = false;
        lock.unlock();
#if defined(__GLIBC__)
        malloc_trim(0);
#endif
        lock.lock();
      }
      const Clock::time_point now = Clock::now();
      Clock::time_point next = now + deadline;  // nothing armed now is due sooner than that
      for (auto& [connection, t] : connections_) {
        if (!t.armed) continue;
        if (t.due <= now) {
          if (t.fd >= 0) shutdown(t.fd, SHUT_RDWR);
          t.armed = false;
        } else {
          next = std::min(next, t.due);
        }
      }
      wake_.wait_until(lock, next, [this] { return stopping_ || trim_; });
    }
  }

  DigitHandler& handler_;
  const HttpLimits limits_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  bool stopping_ = false;
  bool trim_ = false;  // the reaper is to trim the heap
  std::unordered_map<MHD_Connection*, Tracked> connections_;
  size_t connections_high_ = 0;  // the most connections since the last trim
  std::thread reaper_;
};

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ServeOptions& options,
                                                        DigitHandler& handler) {
  EVAE_RETURN_IF_ERROR(CheckLimits(options.limits));
  auto server = std::make_unique<MhdServer>(handler, options.limits);
  EVAE_RETURN_IF_ERROR(server->Start(options.bind, options.port));
  return std::unique_ptr<HttpServer>(std::move(server));
}

int Serve(const ServeOptions& options, const AnyModel& model, const AnyModel* model2d,
          const std::vector<const AnyModel*>& families) {
  if (options.port < 0 || options.port > 65535) {
    std::fprintf(stderr, "edgevae-digits serve: error: --port must be in 0..65535, got %d\n",
                 options.port);
    return 2;
  }
  if (options.threads < 1) {
    std::fprintf(stderr, "edgevae-digits serve: error: --threads must be >= 1, got %d\n",
                 options.threads);
    return 2;
  }
  if (options.bind.empty()) {
    std::fprintf(stderr, "edgevae-digits serve: error: --bind needs an address\n");
    return 2;
  }
  if (Status s = CheckLimits(options.limits); !s.ok()) {
    ui::PrintErrorLine("edgevae-digits serve", s.message());
    return 2;
  }
  TuneAllocator();
  StatusOr<std::unique_ptr<DigitHandler>> handler = DigitHandler::Create(options, model, model2d, families);
  if (!handler.ok()) {
    ui::PrintErrorLine("edgevae-digits serve", handler.status().message());
    return 1;
  }

  // A client that hangs up mid-response must not kill the server with SIGPIPE (libmicrohttpd
  // sends with MSG_NOSIGNAL on Linux; this covers the rest).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, &ignore, &old_pipe);
  // SIGINT and SIGTERM are blocked before the server's threads start (they inherit the mask)
  // and taken here by sigwait: no work happens in a signal handler.
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  auto restore = [&] {
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    sigaction(SIGPIPE, &old_pipe, nullptr);
  };

  StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, **handler);
  if (!server.ok()) {
    ui::PrintErrorLine("edgevae-digits serve", server.status().message());
    restore();
    return 1;
  }
  const bool ipv6 = options.bind.find(':') != std::string::npos;
  std::printf("edgevae-digits: serving http://%s%s%s:%d/ (Ctrl-C stops)\n", ipv6 ? "[" : "",
              options.bind.c_str(), ipv6 ? "]" : "", (*server)->port());
  if (!IsLoopback(options.bind)) {
    std::printf("edgevae-digits: note: %s is not loopback; anyone who can reach it can use it\n",
                options.bind.c_str());
  }
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  server->reset();  // closes every connection, joins the server's threads
  restore();
  return 0;
}

}  // namespace edgevae::digits
