// Hostile clients against `edgevae-digits serve`, one abuse after another, each followed by the
// questions that matter: is a normal request (GET /digit?d=7 on a new connection, from its own
// address 127.0.0.1) still answered, how fast, during and after; how much memory did the server
// take (its VmHWM, reset before each abuse through /proc/PID/clear_refs, and VmRSS after); how
// many threads does it run. docs/reliability-server.md has the figures and the commands.
//
//   serve_abuse --url http://127.0.0.1:PORT --pid PID [--only range,headers,...] [bounds...]
//
// The abuses (--only picks some; all by default, in this order):
//   range        GET /manifold?grid=30 with a Range header of 2,600 ranges "0-" (7.9 KB)
//   headers      one request with 3,000,000 header lines (39 MB), sent as fast as the server reads
//   url          GET with a 1 MB target
//   methods      POST (with a 1 MB body), PUT, DELETE, PATCH, OPTIONS, TRACE, CONNECT, BREW, and
//                HEAD, each on its own connection: the status and Allow header of each
//   slowloris    --slow connections (from 127.0.0.2) each sending a request line, then one header
//                line every --drip-ms, for up to --hold-s seconds
//   idle         --idle connections (from 127.0.0.3) that never send a byte, for up to --idle-s
//   connections  --connections connections spread over 127.0.1.2, 127.0.1.3, ... (--per-address
//                each), each sending a request line and no more, held --conn-hold-s seconds
// With --reconnect the last three reopen every connection the server closes until their hold
// time is over, as a persistent attacker would.
// During every abuse a normal request goes out every 200 ms; after it, five more.
//
// Exit 1 when a bound given on the command line is broken (each is off unless given):
//   --max-ms            any normal request, during or after an abuse, slower than this (or failed)
//   --max-median-ms     the median of the normal requests during, or after, above this (checked
//                       when at least 5 were answered)
//   --max-peak-kb       VmHWM during an abuse above the baseline VmRSS by more than this
//   --max-after-kb      VmRSS after an abuse above the baseline by more than this
//   --max-extra-threads the server's threads above its count at the start by more than this
//   --max-close-s       a slowloris or idle connection still open this long after it began
//   --min-connections   fewer of --connections established and held than this
//   plus fixed expectations that need no bound: methods other than GET and HEAD get 405 with an
//   Allow header, HEAD gets 200 with no body, a range bomb is not answered with more than one
//   image's worth of bytes, a 1 MB URL and a header flood are refused (a 4xx, or the connection
//   closed) rather than answered 200.
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "raw_http.h"

namespace edgevae::serve_test {
namespace {

constexpr char kNormal[] = "/digit?d=7";
constexpr int kProbeEveryMs = 200;
constexpr int kProbeTimeoutMs = 5000;  // a probe slower than this counts as failed

struct Bounds {
  double max_ms = 0, max_median_ms = 0;
  long max_peak_kb = 0, max_after_kb = 0, max_extra_threads = -1;
  double max_close_s = 0;
  int min_connections = 0;
};

// Latencies of normal requests; failures (no 200 within kProbeTimeoutMs) are kept apart.
struct Probes {
  std::vector<double> ms;
  int failed = 0;
  std::string first_failure;

  double Median() const { return Pct(0.5); }
  double Max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
  double Pct(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<size_t>(p * (s.size() - 1) + 0.5))];
  }
  void Add(const Exchange& e) {
    if (e.response.status == 200 && e.response.complete) {
      ms.push_back(e.ms);
    } else {
      if (failed++ == 0) {
        std::ostringstream why;
        why << "status " << e.response.status << " after " << static_cast<long>(e.ms) << " ms ("
            << (e.response.error.empty() ? "incomplete" : e.response.error) << ")";
        first_failure = why.str();
      }
    }
  }
};

Exchange Normal(const Endpoint& server) {
  return Request(server, GetRequest(kNormal), kProbeTimeoutMs, "127.0.0.1");
}

// Normal requests every kProbeEveryMs on a thread of their own until stopped; also samples the
// server's RSS and threads, so that a peak between probes is seen even where clear_refs is not
// permitted.
class Prober {
 public:
  Prober(const Endpoint& server, int pid) : server_(server), pid_(pid) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Prober() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  Probes probes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return probes_;
  }
  long max_threads() const { return max_threads_; }
  long max_rss_kb() const { return max_rss_kb_; }

 private:
  void Run() {
    while (!stop_) {
      const Clock::time_point next = Clock::now() + std::chrono::milliseconds(kProbeEveryMs);
      const Exchange e = Normal(server_);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        probes_.Add(e);
      }
      Sample();
      while (!stop_ && Clock::now() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        Sample();
      }
    }
  }
  void Sample() {
    const ProcStatus s = ReadProcStatus(pid_);
    max_threads_ = std::max(max_threads_.load(), s.threads);
    max_rss_kb_ = std::max(max_rss_kb_.load(), s.rss_kb);
  }

  Endpoint server_;
  int pid_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  Probes probes_;
  std::atomic<long> max_threads_{0}, max_rss_kb_{0};
  std::thread thread_;
};

// One abuse's figures.
struct Result {
  std::string name;
  std::string outcome;  // what the abuser got, in words
  Probes during, after;
  long peak_kb = -1;       // VmHWM during the abuse
  long after_rss_kb = -1;  // VmRSS once it is over
  long max_threads = -1;
  std::vector<std::string> failures;
};

class Abuser {
 public:
  Abuser(const Endpoint& server, int pid, const Bounds& bounds)
      : server_(server), pid_(pid), bounds_(bounds) {}

  void Baseline() {
    for (int i = 0; i < 20; ++i) baseline_.Add(Normal(server_));
    const ProcStatus s = ReadProcStatus(pid_);
    baseline_rss_kb_ = s.rss_kb;
    baseline_threads_ = s.threads;
  }
  const Probes& baseline() const { return baseline_; }
  long baseline_rss_kb() const { return baseline_rss_kb_; }
  long baseline_threads() const { return baseline_threads_; }

  // Runs `abuse` (which fills in r.outcome and may add failures) with the prober going, then
  // the after-probes and the checks every abuse shares.
  Result Run(const std::string& name, const std::function<void(Result&)>& abuse) {
    Result r;
    r.name = name;
    const bool reset = ResetPeakRss(pid_);
    {
      Prober prober(server_, pid_);
      abuse(r);
      prober.Stop();
      r.during = prober.probes();
      r.max_threads = prober.max_threads();
      r.peak_kb = reset ? ReadProcStatus(pid_).hwm_kb : prober.max_rss_kb();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (int i = 0; i < 5; ++i) r.after.Add(Normal(server_));
    const ProcStatus s = ReadProcStatus(pid_);
    r.after_rss_kb = s.rss_kb;
    r.max_threads = std::max(r.max_threads, s.threads);
    Check(r);
    return r;
  }

 private:
  void Check(Result& r) {
    auto fail = [&](const std::string& what) { r.failures.push_back(what); };
    if (bounds_.max_ms > 0) {
      for (const Probes* p : {&r.during, &r.after}) {
        const char* when = p == &r.during ? "during" : "after";
        if (p->failed > 0) {
          fail(std::to_string(p->failed) + " normal requests " + when +
               " failed; first: " + p->first_failure);
        } else if (p->Max() > bounds_.max_ms) {
          fail(std::string("a normal request ") + when + " took " +
               std::to_string(static_cast<long>(p->Max())) + " ms, bound " +
               std::to_string(static_cast<long>(bounds_.max_ms)) + " ms");
        }
      }
      if (r.after.ms.empty()) fail("no normal request was answered after");
    }
    if (bounds_.max_median_ms > 0) {
      // A median of fewer than 5 probes is one scheduling hiccup of a loaded machine (a short
      // abuse leaves room for a single probe); --max-ms bounds those.
      for (const Probes* p : {&r.during, &r.after}) {
        if (p->ms.size() >= 5 && p->Median() > bounds_.max_median_ms) {
          fail(std::string("normal requests ") + (p == &r.during ? "during" : "after") +
               ": median " + std::to_string(p->Median()) + " ms, bound " +
               std::to_string(bounds_.max_median_ms) + " ms");
        }
      }
    }
    if (bounds_.max_peak_kb > 0 && r.peak_kb - baseline_rss_kb_ > bounds_.max_peak_kb) {
      fail("peak RSS " + std::to_string(r.peak_kb) + " kB, " +
           std::to_string(r.peak_kb - baseline_rss_kb_) + " kB over the baseline, bound " +
           std::to_string(bounds_.max_peak_kb));
    }
    if (bounds_.max_after_kb > 0 && r.after_rss_kb - baseline_rss_kb_ > bounds_.max_after_kb) {
      fail("RSS after " + std::to_string(r.after_rss_kb) + " kB, " +
           std::to_string(r.after_rss_kb - baseline_rss_kb_) + " kB over the baseline, bound " +
           std::to_string(bounds_.max_after_kb));
    }
    if (bounds_.max_extra_threads >= 0 &&
        r.max_threads - baseline_threads_ > bounds_.max_extra_threads) {
      fail(std::to_string(r.max_threads) + " threads, " +
           std::to_string(r.max_threads - baseline_threads_) + " more than at the start, bound " +
           std::to_string(bounds_.max_extra_threads));
    }
  }

  Endpoint server_;
  int pid_;
  Bounds bounds_;
  Probes baseline_;
  long baseline_rss_kb_ = -1, baseline_threads_ = -1;
};

// --- the abuses ---------------------------------------------------------------------------

void RangeBomb(const Endpoint& server, const Probes& baseline, Result& r) {
  // The size of the image without ranges, to compare with.
  const Exchange plain = Request(server, GetRequest("/manifold?grid=30"), 30000);
  std::string ranges = "Range: bytes=0-";
  for (int i = 1; i < 2600; ++i) ranges += ",0-";
  ranges += "\r\n";
  const Exchange e =
      Request(server, GetRequest("/manifold?grid=30", ranges), 120000, "127.0.0.1", 4096);
  std::ostringstream o;
  o << "status " << e.response.status << ", " << e.response.body_bytes << " bytes in "
    << static_cast<long>(e.ms) << " ms (the image alone: " << plain.response.body_bytes
    << " bytes)";
  r.outcome = o.str();
  if (plain.response.status != 200) r.failures.push_back("the plain manifold: " + o.str());
  // Ignoring Range (200, the image) or refusing it (416) are both fine; hundreds of copies not.
  if (e.response.body_bytes > 2 * plain.response.body_bytes + 4096) {
    r.failures.push_back("a range bomb answered with " + std::to_string(e.response.body_bytes) +
                         " bytes for an image of " + std::to_string(plain.response.body_bytes));
  }
  (void)baseline;
}

void HeaderFlood(const Endpoint& server, Result& r) {
  constexpr int kLines = 3000000;
  std::string request = "GET /digit?d=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  request.reserve(request.size() + 13ull * kLines + 4);
  for (int i = 0; i < kLines; ++i) request += "X: 12345678\r\n";
  request += "\r\n";
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::seconds(60);
  const int fd = Connect(server, "127.0.0.4", 5000);
  if (fd < 0) {
    r.outcome = std::string("connect failed: ") + std::strerror(errno);
    r.failures.push_back(r.outcome);
    return;
  }
  const size_t sent = SendAll(fd, request, deadline);
  const int send_errno = errno;
  const RawResponse resp = ReadResponse(fd, Clock::now() + std::chrono::seconds(30), 4096);
  close(fd);
  std::ostringstream o;
  o << request.size() / 1000000 << " MB request, " << sent / 1000 << " kB of it sent"
    << (sent < request.size() ? std::string(" (") + std::strerror(send_errno) + ")" : "")
    << ", then status " << resp.status << " after " << static_cast<long>(MsSince(start)) << " ms"
    << (resp.error.empty() ? "" : " (" + resp.error + ")");
  r.outcome = o.str();
  if (resp.status == 200) r.failures.push_back("a header flood was answered 200: " + o.str());
}

void LongUrl(const Endpoint& server, Result& r) {
  const std::string target = "/digit?d=7&pad=" + std::string(1 << 20, 'a');
  const Exchange e = Request(server, GetRequest(target), 30000, "127.0.0.5", 4096);
  std::ostringstream o;
  o << "status " << e.response.status << " after " << static_cast<long>(e.ms) << " ms"
    << (e.response.error.empty() ? "" : " (" + e.response.error + ")");
  r.outcome = o.str();
  if (e.response.status == 200) r.failures.push_back("a 1 MB URL was answered 200");
}

void Methods(const Endpoint& server, Result& r) {
  struct Case {
    const char* method;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"POST", std::string(1 << 20, 'x')},
      {"PUT", "x"},
      {"DELETE", ""},
      {"PATCH", "x"},
      {"OPTIONS", ""},
      {"TRACE", ""},
      {"CONNECT", ""},
      {"BREW", ""},
  };
  std::ostringstream o;
  for (const Case& c : cases) {
    std::string extra;
    if (!c.body.empty()) {
      extra = "Content-Type: application/octet-stream\r\nContent-Length: " +
              std::to_string(c.body.size()) + "\r\n";
    }
    const std::string target = std::string(c.method) == "CONNECT" ? "127.0.0.1:80" : kNormal;
    const Exchange e =
        Request(server, GetRequest(target, extra, c.method) + c.body, 10000, "127.0.0.6");
    const std::string allow = e.response.Header("allow");
    o << c.method << " " << e.response.status << (allow.empty() ? "" : " (Allow: " + allow + ")")
      << "; ";
    if (e.response.status != 405 || allow.find("GET") == std::string::npos) {
      r.failures.push_back(std::string(c.method) + ": status " + std::to_string(e.response.status) +
                           ", Allow '" + allow + "', expected 405 with an Allow header naming GET");
    }
  }
  const Exchange head =
      Request(server, GetRequest(kNormal, "", "HEAD"), 10000, "127.0.0.6", 1 << 20, /*head=*/true);
  o << "HEAD " << head.response.status << " (Content-Length "
    << head.response.Header("content-length") << ")";
  if (head.response.status != 200 || !head.response.body.empty()) {
    r.failures.push_back("HEAD: status " + std::to_string(head.response.status) +
                         ", expected 200 and no body");
  }
  r.outcome = o.str();
}

// Connections held open from given source addresses: `first` is sent at once, `drip` every
// drip_ms; watched until the server closes each or hold_s pass.
struct Held {
  int opened = 0, failed = 0;
  int closed_at_once = 0;              // closed by the server within 200 ms of being established
  std::vector<double> closed_after_s;  // by the server, the others
  int reconnects = 0;                  // --reconnect: connections opened in place of closed ones
  int still_open = 0;                  // at the end of hold_s
  double held_s = 0;
};

Held Hold(const Endpoint& server, const std::vector<std::string>& sources, const std::string& first,
          const std::string& drip, int drip_ms, double hold_s, bool reconnect) {
  Held h;
  struct Conn {
    int fd;
    std::string source;
    Clock::time_point opened;  // or, once closed, when the server closed it
    bool open;
  };
  std::vector<Conn> conns;
  conns.reserve(sources.size());
  const Clock::time_point start = Clock::now();
  // Every connect at once, then one second for all of them: a full backlog costs one second,
  // not one per connection.
  std::vector<std::pair<int, std::string>> pending;
  for (const std::string& source : sources) {
    const int fd = StartConnect(server, source);
    if (fd < 0) {
      ++h.failed;
      continue;
    }
    pending.emplace_back(fd, source);
  }
  const Clock::time_point connect_deadline = Clock::now() + std::chrono::seconds(1);
  for (const auto& [fd, source] : pending) {
    if (FinishConnect(fd, connect_deadline) != 0) {
      ++h.failed;
      close(fd);
      continue;
    }
    if (!first.empty()) SendAll(fd, first, Clock::now() + std::chrono::milliseconds(100));
    conns.push_back({fd, source, Clock::now(), true});
    ++h.opened;
  }
  Clock::time_point next_drip = Clock::now() + std::chrono::milliseconds(drip_ms);
  const Clock::time_point end = start + std::chrono::milliseconds(static_cast<long>(hold_s * 1000));
  std::vector<pollfd> polls;
  while (Clock::now() < end) {
    polls.clear();
    for (const Conn& c : conns) {
      if (c.open) polls.push_back({c.fd, POLLIN | POLLRDHUP, 0});
    }
    if (polls.empty() && !reconnect) break;
    poll(polls.data(), polls.size(), 50);
    for (Conn& c : conns) {
      if (c.open && PeerClosed(c.fd, 0)) {
        c.open = false;
        close(c.fd);
        const double s = std::chrono::duration<double>(Clock::now() - c.opened).count();
        if (s < 0.2) {
          ++h.closed_at_once;
        } else {
          h.closed_after_s.push_back(s);
        }
        c.opened = Clock::now();
      } else if (!c.open && reconnect && Clock::now() - c.opened > std::chrono::milliseconds(250)) {
        // A persistent attacker: a closed connection is replaced, at most four times a second.
        c.opened = Clock::now();
        c.fd = Connect(server, c.source, 200);
        if (c.fd < 0) continue;
        if (!first.empty()) SendAll(c.fd, first, Clock::now() + std::chrono::milliseconds(100));
        c.open = true;
        ++h.reconnects;
      }
    }
    if (!drip.empty() && Clock::now() >= next_drip) {
      for (Conn& c : conns) {
        if (c.open) SendAll(c.fd, drip, Clock::now() + std::chrono::milliseconds(100));
      }
      next_drip += std::chrono::milliseconds(drip_ms);
    }
  }
  for (Conn& c : conns) {
    if (!c.open) continue;
    ++h.still_open;
    close(c.fd);
  }
  h.held_s = std::chrono::duration<double>(Clock::now() - start).count();
  return h;
}

std::string Describe(const Held& h) {
  std::ostringstream o;
  o << h.opened << " established";
  if (h.failed) o << ", " << h.failed << " not established within 1 s";
  if (h.closed_at_once) o << ", " << h.closed_at_once << " closed by the server at once";
  if (!h.closed_after_s.empty()) {
    const auto [lo, hi] = std::minmax_element(h.closed_after_s.begin(), h.closed_after_s.end());
    o.precision(1);
    o << std::fixed << ", " << h.closed_after_s.size() << " closed by the server after " << *lo
      << "-" << *hi << " s";
  }
  if (h.reconnects) o << ", " << h.reconnects << " reopened after the server closed them";
  if (h.still_open) o << ", " << h.still_open << " still open when the client let go";
  o.precision(1);
  o << std::fixed << " (held " << h.held_s << " s)";
  return o.str();
}

void CheckClosed(const Held& h, double max_close_s, Result& r) {
  if (max_close_s <= 0) return;
  if (h.still_open > 0) {
    r.failures.push_back(std::to_string(h.still_open) + " connections still open after " +
                         std::to_string(h.held_s) + " s, bound " + std::to_string(max_close_s));
  }
  for (const double s : h.closed_after_s) {
    if (s > max_close_s) {
      r.failures.push_back("a connection was closed only after " + std::to_string(s) +
                           " s, bound " + std::to_string(max_close_s));
      break;
    }
  }
}

}  // namespace
}  // namespace edgevae::serve_test

int main(int argc, char** argv) {
  using namespace edgevae::serve_test;
  CLI::App app("Hostile clients against edgevae-digits serve");
  std::string url;
  int pid = 0;
  std::vector<std::string> only;
  int slow = 16, drip_ms = 2000, idle = 80, connections = 500, per_address = 20;
  double hold_s = 14, idle_s = 8, conn_hold_s = 3;
  Bounds bounds;
  bool json = false, markdown = false, reconnect = false;
  app.add_option("--url", url, "Server, http://127.0.0.1:PORT")->required();
  app.add_option("--pid", pid, "Server process, for its memory and threads")->required();
  app.add_option("--only", only, "Abuses to run (default all)")
      ->delimiter(',')
      ->check(CLI::IsMember(
          {"range", "headers", "url", "methods", "slowloris", "idle", "connections"}));
  app.add_option("--slow", slow, "slowloris: connections")->capture_default_str();
  app.add_option("--drip-ms", drip_ms, "slowloris: one header line every so often")
      ->capture_default_str();
  app.add_option("--hold-s", hold_s, "slowloris: give up after")->capture_default_str();
  app.add_option("--idle", idle, "idle: connections")->capture_default_str();
  app.add_option("--idle-s", idle_s, "idle: give up after")->capture_default_str();
  app.add_option("--connections", connections, "connections: how many")->capture_default_str();
  app.add_option("--per-address", per_address, "connections: from each source address")
      ->capture_default_str();
  app.add_option("--conn-hold-s", conn_hold_s, "connections: held this long")
      ->capture_default_str();
  app.add_option("--max-ms", bounds.max_ms, "Bound on every normal request's latency");
  app.add_option("--max-peak-kb", bounds.max_peak_kb, "Bound on VmHWM - baseline VmRSS");
  app.add_option("--max-after-kb", bounds.max_after_kb, "Bound on VmRSS after - baseline");
  app.add_option("--max-median-ms", bounds.max_median_ms,
                 "Bound on the median latency of normal requests during (and after) an abuse");
  app.add_option("--max-extra-threads", bounds.max_extra_threads,
                 "Bound on the threads the server adds to its count at the start");
  app.add_option("--max-close-s", bounds.max_close_s,
                 "Bound on how long the server keeps a slow or idle connection");
  app.add_option("--min-connections", bounds.min_connections,
                 "connections: at least this many established and held");
  app.add_flag("--reconnect", reconnect,
               "slowloris, idle, connections: reopen what the server closes until the hold ends "
               "(a persistent attacker; for long runs by hand)");
  app.add_flag("--json", json, "One JSON object on stdout");
  app.add_flag("--markdown", markdown,
               "One table row per abuse on stdout (docs/reliability-server.md's tables)");
  CLI11_PARSE(app, argc, argv);
  Endpoint server;
  if (!ParseUrl(url, &server)) {
    std::fprintf(stderr, "serve_abuse: --url must look like http://127.0.0.1:8080\n");
    return 2;
  }
  if (only.empty())
    only = {"range", "headers", "url", "methods", "slowloris", "idle", "connections"};
  // Enough descriptors for every connection at once.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  Abuser abuser(server, pid, bounds);
  abuser.Baseline();
  std::vector<Result> results;
  for (const std::string& name : only) {
    results.push_back(abuser.Run(name, [&](Result& r) {
      if (name == "range") RangeBomb(server, abuser.baseline(), r);
      if (name == "headers") HeaderFlood(server, r);
      if (name == "url") LongUrl(server, r);
      if (name == "methods") Methods(server, r);
      if (name == "slowloris") {
        const Held h = Hold(server, std::vector<std::string>(slow, "127.0.0.2"),
                            "GET /digit?d=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-a: b\r\n", drip_ms,
                            hold_s, reconnect);
        r.outcome = Describe(h);
        CheckClosed(h, bounds.max_close_s, r);
      }
      if (name == "idle") {
        const Held h = Hold(server, std::vector<std::string>(idle, "127.0.0.3"), "", "", 1000,
                            idle_s, reconnect);
        r.outcome = Describe(h);
        CheckClosed(h, bounds.max_close_s, r);
      }
      if (name == "connections") {
        std::vector<std::string> sources;
        for (int i = 0; i < connections; ++i) {
          const int a = i / std::max(per_address, 1) + 1;
          sources.push_back("127.0." + std::to_string(1 + a / 250) + "." +
                            std::to_string(1 + a % 250));
        }
        // A request line and nothing more: each connection is mid-request, as a slow client's.
        const Held h =
            Hold(server, sources, "GET / HTTP/1.1\r\n", "", 1000, conn_hold_s, reconnect);
        r.outcome = Describe(h);
        const int held = h.opened - h.closed_at_once;
        if (bounds.min_connections > 0 && held < bounds.min_connections) {
          r.failures.push_back(std::to_string(held) + " connections held, expected at least " +
                               std::to_string(bounds.min_connections));
        }
      }
    }));
  }

  int failures = 0;
  nlohmann::json j;
  j["baseline"] = {{"median_ms", abuser.baseline().Median()},
                   {"max_ms", abuser.baseline().Max()},
                   {"rss_kb", abuser.baseline_rss_kb()},
                   {"threads", abuser.baseline_threads()}};
  if (!json && !markdown) {
    std::printf("baseline: normal request median %.2f ms (max %.2f), VmRSS %ld kB, %ld threads\n",
                abuser.baseline().Median(), abuser.baseline().Max(), abuser.baseline_rss_kb(),
                abuser.baseline_threads());
  }
  for (const Result& r : results) {
    failures += static_cast<int>(r.failures.size());
    j["abuses"].push_back({{"name", r.name},
                           {"outcome", r.outcome},
                           {"peak_kb", r.peak_kb},
                           {"after_rss_kb", r.after_rss_kb},
                           {"threads", r.max_threads},
                           {"during_n", r.during.ms.size()},
                           {"during_failed", r.during.failed},
                           {"during_median_ms", r.during.Median()},
                           {"during_max_ms", r.during.Max()},
                           {"after_median_ms", r.after.Median()},
                           {"after_failed", r.after.failed},
                           {"failures", r.failures}});
    if (json) continue;
    if (markdown) {
      // | abuse | what the abuser got | peak RSS | RSS after | normal requests during | after |
      std::ostringstream during;
      during.setf(std::ios::fixed);
      if (r.during.ms.empty()) {
        during << "none answered";
      } else {
        during << r.during.ms.size() << " answered: median " << std::setprecision(2)
               << r.during.Median() << " ms, max " << std::setprecision(1) << r.during.Max()
               << " ms";
      }
      if (r.during.failed) during << ", " << r.during.failed << " failed (> 5 s or refused)";
      std::printf("| %s | %s | %.1f MB | %.1f MB | %s | %.2f ms |\n", r.name.c_str(),
                  r.outcome.c_str(), r.peak_kb / 1024.0, r.after_rss_kb / 1024.0,
                  during.str().c_str(), r.after.Median());
      continue;
    }
    std::printf("\n%s: %s\n", r.name.c_str(), r.outcome.c_str());
    std::printf("  server: VmHWM %ld kB during, VmRSS %ld kB after, %ld threads\n", r.peak_kb,
                r.after_rss_kb, r.max_threads);
    std::printf(
        "  normal requests during: %zu answered (median %.2f ms, max %.2f ms), %d failed%s%s\n",
        r.during.ms.size(), r.during.Median(), r.during.Max(), r.during.failed,
        r.during.failed ? "; first: " : "", r.during.first_failure.c_str());
    std::printf("  after: median %.2f ms, %d failed\n", r.after.Median(), r.after.failed);
    for (const std::string& f : r.failures) std::printf("  FAIL: %s\n", f.c_str());
  }
  if (json) std::printf("%s\n", j.dump().c_str());
  if (failures > 0) {
    std::fprintf(stderr, "serve_abuse: %d failed checks\n", failures);
    return 1;
  }
  return 0;
}
