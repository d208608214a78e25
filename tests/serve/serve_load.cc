// A load client for the digit demo's web server: N GET requests one after another over one
// keep-alive connection (as a browser's page does), the latency of each (request sent to last
// body byte read), and the server's resident memory (VmRSS, VmHWM from /proc/PID/status) at
// checkpoints. Prints min / median / p90 / p99 / max; with --json one JSON object.
//
//   serve_load --url http://127.0.0.1:8080 --path '/digit?d=7' --requests 1000 --pid PID
//
// Each request gets a new image: the path's "{i}" is replaced by the request's index, and paths
// without it rely on the server drawing a fresh seed per request. --mix cycles through every
// route, bad queries included. Exit 1 if any answer has an unexpected status or a bound given
// with --max-rss-kb / --max-growth-kb is exceeded (a bounded-memory check, not a timing one).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "raw_http.h"

namespace {

using Memory = edgevae::serve_test::ProcStatus;
Memory ReadMemory(int pid) { return edgevae::serve_test::ReadProcStatus(pid); }

std::string Expand(std::string path, long i) {
  const size_t at = path.find("{i}");
  if (at != std::string::npos) path.replace(at, 3, std::to_string(i));
  return path;
}

// --mix: every route the page uses, and bad queries, with the status each must get.
struct MixEntry {
  const char* path;
  int status;
};
constexpr MixEntry kMix[] = {
    {"/digit?d={i}", 200},  // {i} mod 10 below
    {"/sample", 200},
    {"/interpolate?a=4&b=9&t=0.25", 200},
    {"/latent2d?x=0.5&y=-1", 200},
    {"/manifold?grid=10", 200},
    {"/info", 200},
    {"/", 200},
    {"/digit?d=12", 400},
    {"/latent2d?x=nan&y=0", 400},
    {"/nowhere", 404},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Load client for the digit demo's web server");
  std::string url = "http://127.0.0.1:8080", path = "/digit?d=7";
  long requests = 1000;
  int pid = 0, warmup = 20, expect = 200;
  bool mix = false, json = false;
  std::vector<long> checkpoints;
  long max_rss_kb = 0, max_anon_kb = 0, max_growth_kb = -1;
  app.add_option("--url", url, "Server, scheme://host:port");
  app.add_option("--path", path, "Path and query; {i} becomes the request index");
  app.add_option("--requests", requests, "Requests to time")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "Untimed requests first");
  app.add_option("--expect", expect, "Status every timed answer must have");
  app.add_flag("--mix", mix, "Cycle through every route and some bad queries instead of --path");
  app.add_option("--pid", pid, "Server process, for its memory");
  app.add_option("--checkpoints", checkpoints, "Request counts at which to read memory")
      ->delimiter(',');
  app.add_option("--max-rss-kb", max_rss_kb, "Fail if the server's peak RSS (VmHWM) exceeds this");
  app.add_option("--max-anon-kb", max_anon_kb,
                 "Fail if the server's anonymous resident memory (RssAnon) exceeds this at any "
                 "checkpoint");
  app.add_option("--max-growth-kb", max_growth_kb,
                 "Fail if VmRSS grows by more than this between the first and last checkpoint");
  app.add_flag("--json", json, "One JSON object on stdout");
  CLI11_PARSE(app, argc, argv);

  httplib::Client client(url);
  client.set_keep_alive(true);
  client.set_read_timeout(10, 0);
  int bad = 0;
  std::string first_bad;
  auto get = [&](long i, bool check) {
    std::string p = path;
    int want = expect;
    if (mix) {
      const MixEntry& e = kMix[i % std::size(kMix)];
      p = Expand(e.path, i % 10);
      want = e.status;
    } else {
      p = Expand(path, i);
    }
    httplib::Result r = client.Get(p);
    const int status = r ? r->status : -1;
    if (check && status != want) {
      if (bad++ == 0) {
        first_bad = p + ": status " + std::to_string(status) + ", expected " +
                    std::to_string(want) + (r ? "" : " (" + httplib::to_string(r.error()) + ")");
      }
    }
    if (check && r && status == 200 && r->body.empty()) {
      if (bad++ == 0) first_bad = p + ": empty body";
    }
  };
  for (long i = 0; i < warmup; ++i) get(-1 - i, false);

  std::sort(checkpoints.begin(), checkpoints.end());
  std::vector<std::pair<long, Memory>> memory;
  std::vector<double> us;
  us.reserve(requests);
  size_t next_checkpoint = 0;
  for (long i = 0; i < requests; ++i) {
    const auto start = std::chrono::steady_clock::now();
    get(i, true);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint] == i + 1) {
      memory.emplace_back(i + 1, ReadMemory(pid));
      ++next_checkpoint;
    }
  }
  if (memory.empty() || memory.back().first != requests)
    memory.emplace_back(requests, ReadMemory(pid));

  std::vector<double> sorted = us;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) {
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * (sorted.size() - 1) + 0.5))];
  };
  const double median = sorted.size() % 2
                            ? sorted[sorted.size() / 2]
                            : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  const long growth = memory.front().second.rss_kb >= 0 && memory.back().second.rss_kb >= 0
                          ? memory.back().second.rss_kb - memory.front().second.rss_kb
                          : 0;
  const long peak = memory.back().second.hwm_kb;

  if (json) {
    nlohmann::json j;
    j["url"] = url;
    j["path"] = mix ? "mix" : path;
    j["requests"] = requests;
    j["min_us"] = sorted.front();
    j["median_us"] = median;
    j["p90_us"] = pct(0.90);
    j["p99_us"] = pct(0.99);
    j["max_us"] = sorted.back();
    j["unexpected"] = bad;
    nlohmann::json mem = nlohmann::json::array();
    for (const auto& [n, m] : memory) {
      mem.push_back({{"after", n},
                     {"rss_kb", m.rss_kb},
                     {"hwm_kb", m.hwm_kb},
                     {"anon_kb", m.anon_kb},
                     {"file_kb", m.file_kb}});
    }
    j["memory"] = mem;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s%s: %ld requests, one keep-alive connection\n", url.c_str(),
                mix ? " (mix)" : path.c_str(), requests);
    std::printf("latency us: min %.0f  median %.0f  p90 %.0f  p99 %.0f  max %.0f\n", sorted.front(),
                median, pct(0.90), pct(0.99), sorted.back());
    for (const auto& [n, m] : memory) {
      std::printf(
          "server memory after %ld requests: VmRSS %ld kB, VmHWM %ld kB (RssAnon %ld kB, "
          "RssFile %ld kB)\n",
          n, m.rss_kb, m.hwm_kb, m.anon_kb, m.file_kb);
    }
  }
  int rc = 0;
  if (bad > 0) {
    std::fprintf(stderr, "serve_load: %d unexpected answers; first: %s\n", bad, first_bad.c_str());
    rc = 1;
  }
  if (max_rss_kb > 0 && (peak < 0 || peak > max_rss_kb)) {
    std::fprintf(stderr, "serve_load: server peak RSS %ld kB, bound %ld kB\n", peak, max_rss_kb);
    rc = 1;
  }
  long peak_anon = 0;
  for (const auto& [n, m] : memory) peak_anon = std::max(peak_anon, m.anon_kb);
  if (max_anon_kb > 0 && peak_anon > max_anon_kb) {
    std::fprintf(stderr, "serve_load: server RssAnon %ld kB, bound %ld kB\n", peak_anon,
                 max_anon_kb);
    rc = 1;
  }
  if (max_growth_kb >= 0 && growth > max_growth_kb) {
    std::fprintf(stderr,
                 "serve_load: server RSS grew %ld kB from %ld to %ld requests, bound %ld kB\n",
                 growth, memory.front().first, memory.back().first, max_growth_kb);
    rc = 1;
  }
  return rc;
}
