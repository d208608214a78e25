// micro_digits: digits drawn by the embedded int8 model, printed as ASCII art or as a PGM image.
// One source for two builds: the bare-metal firmware (micro_digits.elf, run under
// qemu-system-arm or on a board, output over semihosting) and a host program
// (edgevae-micro-digits) that runs the same code on the Linux int8 engine, so that a test can
// compare their bytes (docs/micro.md).
//
//   micro_digits [--label D | --prior] [--count N] [--seed S] [--pgm]
//   micro_digits --interp A B [--steps K] [--seed S] [--pgm]
//
// --label D: N draws from digit D's latent mixture (the model's class statistics); --prior: from
// N(0, I); --interp A B: K codes from digit A's mixture mean to digit B's, evenly spaced.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/latent.h"
#include "edgevae/model_file.h"
#include "micro_model.h"
#include "micro_options.h"

namespace edgevae::micro {
namespace {

constexpr int kMaxImages = 8;
constexpr int kSide = 28;
constexpr int kPixels = kSide * kSide;
constexpr int kMaxLatent = 64;

// The decoded images, as bytes: static, so that they count in .bss rather than on the stack.
uint8_t g_images[kMaxImages * kPixels];
float g_z[kMaxImages * kMaxLatent];
float g_probs[kPixels];

struct Options {
  int label = 7;
  bool prior = false;
  bool interp = false;
  int from = 4, to = 9;
  int count = 4;
  uint64_t seed = 1;
  bool pgm = false;
  bool stats = false;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  ArgReader r(argc, argv);
  while (r.More()) {
    if (r.Flag("--pgm")) {
      o->pgm = true;
    } else if (r.Flag("--prior")) {
      o->prior = true;
    } else if (r.Flag("--stats")) {
      o->stats = true;
    } else if (r.Int("--label", 0, 9, &o->label) || r.Int("--count", 1, kMaxImages, &o->count) ||
               r.Int("--steps", 2, kMaxImages, &o->count) || r.Seed("--seed", &o->seed)) {
    } else if (r.Int2("--interp", 0, 9, &o->from, &o->to)) {
      o->interp = true;
    } else {
      return r.Fail(
          "usage: micro_digits [--label D | --prior | --interp A B] [--count N | --steps K] "
          "[--seed S] [--pgm] [--stats]");
    }
  }
  return r.ok();
}

// Fills g_z with the codes the options ask for.
Status MakeCodes(int dim, const std::vector<ClassLatentStats>& stats, const Options& o) {
  if (dim > kMaxLatent) return Unsupported("latent size above " + std::to_string(kMaxLatent));
  if (o.prior) {
    LatentGaussian::StandardNormal(dim).Sample(o.seed, o.count, g_z);
    return Status::Ok();
  }
  if (!o.interp) {
    EVAE_ASSIGN_OR_RETURN(LatentMixture m, LatentMixture::ForLabel(stats, o.label));
    m.Sample(o.seed, o.count, g_z);
    return Status::Ok();
  }
  EVAE_ASSIGN_OR_RETURN(LatentMixture a, LatentMixture::ForLabel(stats, o.from));
  EVAE_ASSIGN_OR_RETURN(LatentMixture b, LatentMixture::ForLabel(stats, o.to));
  for (int i = 0; i < o.count; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(o.count - 1);
    LerpLatent(a.mean().data(), b.mean().data(), t, dim, g_z + i * dim);
  }
  return Status::Ok();
}

// Probability to grey value, as edgevae-digits rounds it: std::lround(v * 255), half away from
// zero. v * 255 lies in [0, 255], where the integer part and the test of the fraction give that
// exactly (the subtraction is exact below 2^23) in a few instructions; newlib's lroundf takes
// about 17 a pixel.
uint8_t ToByte(float p) {
  const float v = (p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p) * 255.0f;
  const int whole = static_cast<int>(v);
  return static_cast<uint8_t>(whole + (v - static_cast<float>(whole) >= 0.5f ? 1 : 0));
}

void PrintAscii(int count) {
  static const char kRamp[] = " .:-=+*#%@";
  char line[kMaxImages * (kSide + 1) + 2];
  for (int y = 0; y < kSide; ++y) {
    int n = 0;
    for (int i = 0; i < count; ++i) {
      for (int x = 0; x < kSide; ++x) line[n++] = kRamp[g_images[i * kPixels + y * kSide + x] * 9 / 255];
      line[n++] = ' ';
    }
    line[n++] = '\n';
    std::fwrite(line, 1, static_cast<size_t>(n), stdout);
  }
}

// The images side by side: rows of count * 28 bytes.
void PrintPgm(int count) {
  std::printf("P5\n%d %d\n255\n", count * kSide, kSide);
  for (int y = 0; y < kSide; ++y) {
    for (int i = 0; i < count; ++i) std::fwrite(g_images + i * kPixels + y * kSide, 1, kSide, stdout);
  }
}

int Run(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return 2;
  LoadOptions load;
  load.class_latents = o.prior ? LoadOptions::ClassLatents::kNone : LoadOptions::ClassLatents::kLabels;
  load.labels.set(static_cast<size_t>(o.interp ? o.from : o.label));
  load.labels.set(static_cast<size_t>(o.interp ? o.to : o.label));
  StatusOr<MicroModel> model = LoadMicroModel(load);
  if (!model.ok()) return Fail(model.status());
  if (model->model.shape.input != kPixels) {
    return Fail(Unsupported("the model's images are not 28 x 28"));
  }
  const int dim = model->model.shape.latent;
  // The codes first, then the statistics freed, then the engine: the heap's peak is the larger
  // of the two phases, not their sum (docs/micro.md, "RAM").
  if (Status s = MakeCodes(dim, model->class_latents, o); !s.ok()) return Fail(s);
  std::vector<ClassLatentStats>().swap(model->class_latents);
  StatusOr<std::unique_ptr<Engine>> engine = CreateMicroEngine(model->model);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  for (int i = 0; i < o.count; ++i) {
    if (Status s = e.Decode(g_z + i * dim, 1, g_probs); !s.ok()) return Fail(s);
    for (int p = 0; p < kPixels; ++p) g_images[i * kPixels + p] = ToByte(g_probs[p]);
  }
  if (o.pgm) {
    PrintPgm(o.count);
  } else {
    PrintAscii(o.count);
  }
  if (o.stats) PrintMemoryStats();
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace edgevae::micro

int main(int argc, char** argv) { return edgevae::micro::Run(argc, argv); }
