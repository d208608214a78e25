// edgevae bench: latency of one inference call, in the manner of TFLite's benchmark_model and
// ncnn's benchncnn: warm-up calls, then timed calls, min / median / max, with the machine and
// the code paths that produced them.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "options.h"

namespace edgevae::cli {

struct BenchArgs {
  std::string model;
  std::string op = "reconstruct";  // encode | decode | reconstruct | sample
  int batch = 1;
  int threads = 1;
  int warmup = 20;
  int runs = 200;
  std::string data;  // MNIST directory: real test images instead of synthetic ones
  bool json = false;
};

namespace {

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

}  // namespace

int RunBench(const BenchArgs& args) {
  StatusOr<std::unique_ptr<Engine>> loaded =
      Engine::Load(args.model, EngineOptions{.max_batch = args.batch, .threads = args.threads});
  if (!loaded.ok()) return Fail(loaded.status());
  Engine& engine = **loaded;
  const size_t in = engine.shape().input, lat = engine.shape().latent;
  const size_t b = static_cast<size_t>(args.batch);

  // Inputs: the first 1,000 MNIST test images in turn (--data; the int8 engine's batch-1 fc1
  // depends on how many pixels are lit), else synthetic grey images with 25 % random nonzero
  // pixels, from a fixed seed; and latent vectors.
  std::vector<uint8_t> pixels;
  size_t sets = 1;  // batches of images the calls cycle through
  if (!args.data.empty()) {
    StatusOr<MnistData> mnist = LoadMnist(args.data);
    if (!mnist.ok()) return Fail(mnist.status());
    if (static_cast<size_t>(mnist->test.pixels_per_image()) != in) {
      return Fail(kExitBadInput, "test images in " + args.data + " have " +
                                     std::to_string(mnist->test.pixels_per_image()) +
                                     " pixels; the model takes " + std::to_string(in));
    }
    sets = std::max<size_t>(1, std::min<size_t>(1000, mnist->test.count) / b);
    if (sets * b > static_cast<size_t>(mnist->test.count)) {
      return Fail(kExitBadInput, "--batch " + std::to_string(b) + " is larger than the " +
                                     std::to_string(mnist->test.count) + " test images in " +
                                     args.data);
    }
    pixels.assign(mnist->test.pixels.begin(), mnist->test.pixels.begin() + sets * b * in);
  } else {
    pixels.resize(b * in);
    const RngStream rng(20261122, 0);
    for (size_t i = 0; i < pixels.size(); ++i) {
      const uint32_t r = rng.Bits(i);
      pixels[i] = (r & 3) == 0 ? static_cast<uint8_t>(r >> 24) : 0;
    }
  }
  std::vector<float> z(b * lat), mu(b * lat), logvar(b * lat), out(b * in);
  FillNormal(RngStream(20261122, 1), 0, z.data(), z.size());

  uint64_t seed = 1;
  size_t set = 0;
  auto call = [&]() -> Status {
    const uint8_t* x = pixels.data() + (set++ % sets) * b * in;
    if (args.op == "encode") return engine.Encode(x, args.batch, mu.data(), logvar.data());
    if (args.op == "decode") return engine.Decode(z.data(), args.batch, out.data());
    if (args.op == "sample") return engine.Sample(args.batch, seed++, out.data());
    return engine.Reconstruct(x, args.batch, /*sample_z=*/false, 0, out.data());
  };
  for (int i = 0; i < args.warmup; ++i) {
    if (Status s = call(); !s.ok()) return Fail(s);
  }
  std::vector<double> us(static_cast<size_t>(args.runs));
  for (double& t : us) {
    const auto start = std::chrono::steady_clock::now();
    if (Status s = call(); !s.ok()) return Fail(s);
    t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  }
  std::sort(us.begin(), us.end());
  const double min_us = us.front(), max_us = us.back();
  const size_t mid = us.size() / 2;
  const double median_us = us.size() % 2 == 1 ? us[mid] : 0.5 * (us[mid - 1] + us[mid]);
  const double images_per_s = args.batch * 1e6 / median_us;
  const CpuReport cpu = DetectCpu();
  const long rss = PeakRssKb();

  if (args.json) {
    PrintJson({{"op", args.op},
               {"batch", args.batch},
               {"threads", engine.threads()},
               {"dtype", engine.dtype()},
               {"min_us", JsonNumber(min_us)},
               {"median_us", JsonNumber(median_us)},
               {"max_us", JsonNumber(max_us)},
               {"images_per_s", JsonNumber(images_per_s)},
               {"peak_rss_kb", rss},
               {"cpu", cpu.name},
               {"simd_target", SimdTargetName()},
               {"warmup", args.warmup},
               {"runs", args.runs},
               {"cpu_features", cpu.features}});
    return kExitOk;
  }
  std::printf("model       %s (%s, %s)\n", args.model.c_str(),
              std::string(engine.shape().name).c_str(), engine.dtype());
  std::printf("op          %s, batch %d, %d thread(s), %d warm-up + %d timed calls\n",
              args.op.c_str(), args.batch, engine.threads(), args.warmup, args.runs);
  std::printf("latency     min %.1f us  median %.1f us  max %.1f us per call\n", min_us, median_us,
              max_us);
  std::printf("throughput  %.0f images/s (at the median)\n", images_per_s);
  std::printf("peak RSS    %ld KB\n", rss);
  std::printf("cpu         %s (%s)\n", cpu.name.c_str(), cpu.features.c_str());
  std::printf("paths       XNNPACK %s fully-connected, Highway %s\n", engine.dtype(),
              SimdTargetName());
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kBenchCommand(
    {"bench", "Latency of one inference call: min / median / max, images/s, peak RSS", 60,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<BenchArgs>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("--op", a->op, "Operation to time")
           ->check(CLI::IsMember({"encode", "decode", "reconstruct", "sample"}))
           ->capture_default_str();
       cmd->add_option("--batch", a->batch, "Images per call")
           ->check(CLI::Range(1, kMaxImages))
           ->capture_default_str();
       cmd->add_option("--threads", a->threads,
                       "Worker threads; 0 = one per logical core (at most " +
                           std::to_string(kMaxThreads) + ")")
           ->check(CLI::Range(0, kMaxThreads))
           ->capture_default_str();
       cmd->add_option("--warmup", a->warmup, "Untimed calls first")
           ->check(CLI::Range(0, 1000000))
           ->capture_default_str();
       cmd->add_option("--runs", a->runs, "Timed calls")
           ->check(CLI::Range(1, 10000000))
           ->capture_default_str();
       cmd->add_option("--data", a->data,
                       "MNIST directory: encode/reconstruct the first 1,000 test images in turn "
                       "(default: synthetic images, 25 % random nonzero pixels)");
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] { return RunBench(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
