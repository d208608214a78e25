// edgevae-anomalyd: an anomaly-scoring service for the board. Reads raw 28x28 grey frames (784
// bytes each, no header) from stdin or a named pipe and writes one JSON line per frame to
// stdout: {"frame", "score", "anomaly", "normalized", "latency_us"} (anomaly and normalized when
// the model holds a calibrated threshold, see `edgevae calibrate`). A malformed frame -- cut
// short by the end of a writer's stream or by a pause longer than --idle-timeout-ms -- gets a
// line {"frame", "error"} and the service goes on. On a named pipe, a writer closing is not the
// end: the pipe is reopened for the next writer. Any other --input (stdin, a regular file, a
// character device) ends at its end: a regular file is read once. It exits then, or on SIGINT or
// SIGTERM, and reports frames, malformed frames, seconds and frames/s as one JSON line on stderr.
//
// Memory is constant: every buffer is allocated before the first frame (the model's engines,
// the frame batch, the scores); records are formatted into a fixed buffer.
//
// Uses only the library's public API (lib/include/edgevae).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ui/error_line.h"
#include "ui/flags.h"
#include "edgevae/model_file.h"
#include "edgevae/frames.h"
#include "edgevae/runtime.h"
#include "edgevae/score.h"

namespace {

namespace ui = edgevae::ui;

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int Fail(const std::string& message) {
  ui::PrintErrorLine("edgevae-anomalyd", message);
  return 1;
}

using ui::kUnsigned64;

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, input = "-", method = "elbo";
  int samples = 1, iw = 64, threads = 1, batch = 64, idle_ms = 200;
  uint64_t seed = 1;
  CLI::App app("Anomaly scores for raw 784-byte frames, one JSON line per frame",
               "edgevae-anomalyd");
  app.add_option("--model", model_path, "Model file (.evae), ideally calibrated")->required();
  app.add_option("--input", input,
                 "- for stdin, a named pipe (reopened when a writer closes), or a file (read once)")
      ->capture_default_str();
  app.add_option("--method", method,
                 "bce, mse, elbo, iw, optionally -ic or -icr (as edgevae score)")
      ->capture_default_str();
  app.add_option("--samples", samples, "S for elbo")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--iw", iw, "K for iw")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--seed", seed, "Seed of the sampling noise")
      ->check(kUnsigned64)
      ->capture_default_str();
  app.add_option("--threads", threads,
                 "Worker threads (at most " + std::to_string(edgevae::kMaxThreads) + ")")
      ->check(CLI::Range(1, edgevae::kMaxThreads))
      ->capture_default_str();
  app.add_option("--batch", batch, "Most frames scored together")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_ms,
                 "Drop a partial frame after this many ms without new bytes (0: never)")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    ui::PrintErrorLine("edgevae-anomalyd", std::string(e.what()) + " (see --help)");
    return 2;
  }

  edgevae::ScoreOptions options;
  if (edgevae::Status s = edgevae::ParseScoreMethod(method, &options); !s.ok()) {
    ui::PrintErrorLine("edgevae-anomalyd", s.message());
    return 2;
  }
  options.samples = samples;
  options.iw_samples = iw;
  options.seed = seed;
  edgevae::StatusOr<edgevae::AnyModel> model = edgevae::LoadAnyModel(model_path);
  if (!model.ok()) return Fail(model.status().message());
  auto scorer = edgevae::ParallelScorer::Create(*model, options, threads);
  if (!scorer.ok()) return Fail(scorer.status().message());
  const size_t in = (*scorer)->engine().shape().input;
  const auto& meta = (*scorer)->engine().metadata();
  const bool flag = meta.anomaly && meta.anomaly->method == edgevae::ScoreMethodName(options) &&
                    meta.anomaly->samples == edgevae::ScoreSamples(options);
  const double threshold = flag ? meta.anomaly->threshold : 0;
  if (meta.anomaly && !flag) {
    std::fprintf(stderr,
                 "edgevae-anomalyd: warning: the model's threshold is for --method %s with %d "
                 "samples; no frame will be flagged\n",
                 meta.anomaly->method.c_str(), meta.anomaly->samples);
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR and the loop ends
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Only a named pipe outlives its writer; at the end of anything else there is nothing more to
  // read (reopening a regular file would replay it forever).
  bool fifo = false;
  int fd = STDIN_FILENO;
  if (input != "-") {
    struct stat st {};
    if (::stat(input.c_str(), &st) != 0) return Fail(input + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return Fail(input + ": is a directory; --input takes a file or pipe");
    fifo = S_ISFIFO(st.st_mode);
    fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(input + ": cannot open: " + std::strerror(errno));
  }
  edgevae::FrameReader reader(fd, in, batch, idle_ms, &g_stop);
  std::vector<uint8_t> frames(static_cast<size_t>(batch) * in);
  std::vector<double> scores(batch);
  char line[256];
  uint64_t next = 0, malformed = 0, scored = 0;
  const double start = Now();
  int exit_code = 0;
  while (!g_stop) {
    edgevae::StatusOr<edgevae::FrameRead> got = reader.Next(frames.data());
    if (!got.ok()) {
      exit_code = Fail(got.status().message());
      break;
    }
    const double t0 = Now();
    if (got->frames > 0) {
      if (edgevae::Status s = (*scorer)->Score(frames.data(), got->frames, next, scores.data());
          !s.ok()) {
        exit_code = Fail(s.message());
        break;
      }
      const double latency_us = (Now() - t0) * 1e6;
      for (int i = 0; i < got->frames; ++i) {
        const double sc = scores[i];
        int n;
        if (flag) {
          const double norm = 1.0 + (sc - threshold) / std::fmax(std::fabs(threshold), 1e-12);
          n = std::snprintf(line, sizeof(line),
                            "{\"frame\":%llu,\"score\":%.6g,\"anomaly\":%s,\"normalized\":%.6g,"
                            "\"latency_us\":%.1f}\n",
                            static_cast<unsigned long long>(next + i), sc,
                            sc > threshold ? "true" : "false", norm, latency_us);
        } else {
          n = std::snprintf(line, sizeof(line),
                            "{\"frame\":%llu,\"score\":%.6g,\"latency_us\":%.1f}\n",
                            static_cast<unsigned long long>(next + i), sc, latency_us);
        }
        std::fwrite(line, 1, static_cast<size_t>(n), stdout);
      }
      next += got->frames;
      scored += got->frames;
    }
    if (got->dropped_bytes > 0) {
      const int n = std::snprintf(line, sizeof(line),
                                  "{\"frame\":%llu,\"error\":\"malformed frame: %zu bytes, "
                                  "expected %zu; dropped\"}\n",
                                  static_cast<unsigned long long>(next), got->dropped_bytes, in);
      std::fwrite(line, 1, static_cast<size_t>(n), stdout);
      ++malformed;
      ++next;
    }
    std::fflush(stdout);
    if (got->end) {
      if (!fifo || g_stop) break;
      // A writer closed the named pipe: wait for the next one.
      ::close(fd);
      fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR && g_stop) break;
        exit_code = Fail(input + ": cannot reopen: " + std::strerror(errno));
        break;
      }
      reader.set_fd(fd);
    }
  }
  const double seconds = Now() - start;
  std::fprintf(stderr,
               "{\"frames\":%llu,\"malformed\":%llu,\"seconds\":%.3f,\"frames_per_s\":%.1f}\n",
               static_cast<unsigned long long>(scored), static_cast<unsigned long long>(malformed),
               seconds, seconds > 0 ? scored / seconds : 0.0);
  if (input != "-" && fd >= 0) ::close(fd);
  return exit_code;
}
