// Serve: DigitHandler behind cpp-httplib (Debian's libcpp-httplib-dev), until SIGINT/SIGTERM.
//
// Memory stays bounded under any load: a fixed pool of worker threads takes connections from a
// queue of fixed capacity (when it is full, accepting waits, and the kernel's listen backlog
// pushes back on clients), each keep-alive connection serves a bounded number of requests, and
// request bodies are refused (every route is a GET).
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "httplib.h"
#include "serve.h"

namespace edgevae::digits {
namespace {

constexpr int kWorkers = 8;            // as httplib's own default; a browser opens up to 6
constexpr size_t kQueueCapacity = 64;  // accepted connections waiting for a worker
constexpr size_t kKeepAliveRequests = 100;
constexpr time_t kKeepAliveSeconds = 2;  // an idle keep-alive connection holds a worker this long

// httplib's ThreadPool with a bounded queue: enqueue blocks while `capacity` jobs wait.
class BoundedThreadPool : public httplib::TaskQueue {
 public:
  BoundedThreadPool(int threads, size_t capacity) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~BoundedThreadPool() override = default;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return jobs_.size() < capacity_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    lock.unlock();
    not_empty_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shutdown_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down, and nothing left to do
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      not_full_.notify_one();
      fn();
    }
  }

  const size_t capacity_;
  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> jobs_;
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  bool shutdown_ = false;
};

void Reply(const HttpResponse& r, httplib::Response& res) {
  res.status = r.status;
  res.set_content(r.body, r.content_type.c_str());
  // Every image is drawn anew per request (and the page is small): let nothing cache them.
  res.set_header("Cache-Control", "no-store");
  if (!r.seed.empty()) res.set_header("X-Seed", r.seed);
}

// glibc's allocator, left alone, gives each worker thread an arena of its own (about 0.5 MB
// resident each once a manifold has been drawn there: 4 MB for 8 workers) and, after the first
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

}  // namespace

int Serve(const ServeOptions& options, const AnyModel& model, const AnyModel* model2d) {
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
  TuneAllocator();
  StatusOr<std::unique_ptr<DigitHandler>> handler = DigitHandler::Create(options, model, model2d);
  if (!handler.ok()) {
    std::fprintf(stderr, "edgevae-digits serve: error: %s\n", handler.status().message().c_str());
    return 1;
  }
  DigitHandler& h = **handler;

  httplib::Server server;
  server.new_task_queue = [] { return new BoundedThreadPool(kWorkers, kQueueCapacity); };
  server.set_keep_alive_max_count(kKeepAliveRequests);
  server.set_keep_alive_timeout(kKeepAliveSeconds);
  server.set_payload_max_length(0);  // GET only: no request carries a body
  server.set_tcp_nodelay(true);      // small responses: do not wait for Nagle
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and
  // silently take half the connections. SO_REUSEADDR alone: a restart right after a stop still
  // binds (TIME_WAIT), a port in use is an error.
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.Get(".*", [&h](const httplib::Request& req, httplib::Response& res) {
    Reply(h.Handle(req.path, req.params), res);
  });
  const auto refuse = [](const httplib::Request& req, httplib::Response& res) {
    Reply({405, "text/plain; charset=utf-8",
           req.method + " " + req.path + ": only GET (and HEAD) are served\n", ""},
          res);
  };
  server.Post(".*", refuse).Put(".*", refuse).Delete(".*", refuse).Patch(".*", refuse);

  // A client that hangs up mid-response must not kill the server with SIGPIPE.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, &ignore, &old_pipe);

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.bind);
  } else if (!server.bind_to_port(options.bind, port)) {
    port = -1;
  }
  if (port <= 0) {
    std::fprintf(stderr,
                 "edgevae-digits serve: error: cannot listen on %s port %d (in use, or not an "
                 "address of this machine)\n",
                 options.bind.c_str(), options.port);
    sigaction(SIGPIPE, &old_pipe, nullptr);
    return 1;
  }

  // SIGINT and SIGTERM are blocked in every thread (the workers inherit the mask) and taken by
  // one waiter thread, which stops the server: no work happens in a signal handler.
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  });

  const bool ipv6 = options.bind.find(':') != std::string::npos;
  std::printf("edgevae-digits: serving http://%s%s%s:%d/ (Ctrl-C stops)\n", ipv6 ? "[" : "",
              options.bind.c_str(), ipv6 ? "]" : "", port);
  if (!IsLoopback(options.bind)) {
    std::printf("edgevae-digits: note: %s is not loopback; anyone who can reach it can use it\n",
                options.bind.c_str());
  }
  std::fflush(stdout);
  const bool listened = server.listen_after_bind();

  // If listening ended without a signal, wake the waiter with one of its own.
  if (server.is_running()) server.stop();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  if (!listened) {
    std::fprintf(stderr, "edgevae-digits serve: error: the server stopped accepting connections\n");
    return 1;
  }
  return 0;
}

}  // namespace edgevae::digits
