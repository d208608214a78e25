// micro_anomaly: scores 784-byte frames (28 x 28 grey images) read from stdin with the embedded
// int8 model and prints one line per frame: its index, its reconstruction error and a verdict.
// Bare-metal firmware (frames over semihosting, or a UART on a board) and host program from one
// source, like micro_digits (docs/micro.md). The scores are Engine::ReconstructionError's exact
// integer sums, so both builds, and `edgevae score` with the same method, agree exactly.
//
//   micro_anomaly [--method bce|mse|mse3x3] [--threshold T] [--stats] < frames
//
// The threshold is the model's calibrated one (`edgevae calibrate` with bce, mse or mse3x3;
// --method then defaults to its method), or --threshold T. Without either, lines carry no verdict.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "edgevae/engine.h"
#include "micro_model.h"
#include "micro_options.h"

namespace edgevae::micro {
namespace {

constexpr int kPixels = 784;
uint8_t g_frame[kPixels];

struct Options {
  std::string method;  // empty: the calibration's, else bce
  bool threshold_set = false;
  double threshold = 0;
  bool stats = false;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  ArgReader r(argc, argv);
  const char* method = nullptr;
  while (r.More()) {
    if (r.Flag("--stats")) {
      o->stats = true;
    } else if (r.Word("--method", {"bce", "mse", "mse3x3"}, &method)) {
    } else if (r.Number("--threshold", 0, 1e30, &o->threshold)) {
      o->threshold_set = true;
    } else {
      return r.Fail("usage: micro_anomaly [--method bce|mse|mse3x3] [--threshold T] [--stats] < frames");
    }
  }
  if (method != nullptr) o->method = method;
  return r.ok();
}

// Reads exactly one frame; false at the end of the input (a partial last frame is reported).
bool ReadFrame(size_t index, bool* partial) {
  size_t got = 0;
  while (got < sizeof(g_frame)) {
    const size_t n = std::fread(g_frame + got, 1, sizeof(g_frame) - got, stdin);
    if (n == 0) break;
    got += n;
  }
  *partial = got != 0 && got != sizeof(g_frame);
  if (*partial) {
    std::fprintf(stderr, "error: frame %lu: %lu bytes at the end of the input, expected %d\n",
                 static_cast<unsigned long>(index), static_cast<unsigned long>(got), kPixels);
  }
  return got == sizeof(g_frame);
}

int Run(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return 2;
  LoadOptions load;
  load.class_latents = LoadOptions::ClassLatents::kNone;
  StatusOr<MicroModel> model = LoadMicroModel(load);
  if (!model.ok()) return Fail(model.status());
  StatusOr<std::unique_ptr<Engine>> engine = CreateMicroEngine(model->model);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  if (e.shape().input != kPixels) return Fail(Unsupported("the model's images are not 28 x 28"));
  const std::optional<AnomalyThreshold>& cal = e.metadata().anomaly;
  if (o.method.empty()) o.method = cal ? cal->method : "bce";
  if (o.method != "bce" && o.method != "mse" && o.method != "mse3x3") {
    return Fail(Unsupported("score method '" + o.method +
                            "': the micro programs score bce, mse or mse3x3 (exact on int8)"));
  }
  if (!o.threshold_set && cal && cal->method == o.method) {
    o.threshold_set = true;
    o.threshold = cal->threshold;
  }
  const ReconstructionLoss loss = o.method == "mse"      ? ReconstructionLoss::kMse
                                  : o.method == "mse3x3" ? ReconstructionLoss::kMse3x3
                                                         : ReconstructionLoss::kBce;
  size_t index = 0, flagged = 0;
  bool partial = false;
  for (; ReadFrame(index, &partial); ++index) {
    double score = 0;
    if (Status s = e.ReconstructionError(g_frame, 1, loss, &score); !s.ok()) return Fail(s);
    if (o.threshold_set) {
      const bool anomaly = score > o.threshold;
      flagged += anomaly;
      std::printf("%lu %.6f %s\n", static_cast<unsigned long>(index), score,
                  anomaly ? "anomaly" : "normal");
    } else {
      std::printf("%lu %.6f\n", static_cast<unsigned long>(index), score);
    }
  }
  std::fprintf(stderr, "%lu frames, %lu flagged (%s, threshold %s)\n",
               static_cast<unsigned long>(index), static_cast<unsigned long>(flagged),
               o.method.c_str(), o.threshold_set ? "set" : "none");
  if (o.stats) PrintMemoryStats();
  if (std::fflush(stdout) != 0) return 1;
  return partial ? 1 : 0;
}

}  // namespace
}  // namespace edgevae::micro

int main(int argc, char** argv) { return edgevae::micro::Run(argc, argv); }
