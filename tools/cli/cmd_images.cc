// edgevae sample and edgevae reconstruct: image grids written as PNG, previewed on a terminal.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/image.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/runtime.h"
#include "options.h"
#include "ui/progress.h"
#include "ui/term.h"

namespace edgevae::cli {

struct SampleArgs {
  std::string model;
  int n = 64;
  uint64_t seed = 1;
  std::string out;
  int threads = 0;
  Preview preview = Preview::kAuto;
};

struct ReconstructArgs {
  std::string model;
  std::string data = kDefaultDataDir;
  int n = 16;
  std::string out;
  int threads = 0;
  Preview preview = Preview::kAuto;
};

namespace {

constexpr int kGridPad = 2;

// Images of the compiled shapes are square (784 = 28 x 28); the side, or 0 if not a square.
int SquareSide(int pixels) {
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(pixels))));
  return side * side == pixels ? side : 0;
}

// The smallest side with side * side >= n (n <= 65536, so the loop is short).
int CeilSqrt(int n) {
  int side = 1;
  while (side * side < n) ++side;
  return side;
}

void MaybePreview(const GreyImage& grid, Preview preview) {
  const bool show =
      preview == Preview::kForce || (preview == Preview::kAuto && ui::IsTerminal(STDOUT_FILENO));
  if (!show) return;
  const std::string text =
      ui::RenderHalfBlocks(grid.pixels.data(), grid.width, grid.height,
                           ui::ColorModeFromEnvironment(), ui::TerminalColumns(STDOUT_FILENO));
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// Grid, PNG, preview; returns the exit code.
int WriteGrid(const std::vector<float>& images, int count, int side, int grid_cols,
              const std::string& out, Preview preview, GreyImage* grid_out) {
  StatusOr<GreyImage> grid = MakeGrid(images.data(), count, side, side, grid_cols, kGridPad);
  if (!grid.ok()) return Fail(grid.status());
  if (Status s = WritePng(out, *grid); !s.ok()) return Fail(s);
  MaybePreview(*grid, preview);
  *grid_out = std::move(*grid);
  return kExitOk;
}

int ModelImageSide(const ShapeInfo& shape, const std::string& path, int* side) {
  *side = SquareSide(shape.input);
  if (*side == 0) {
    return Fail(kExitBadInput, "model " + path + " has " + std::to_string(shape.input) +
                                   " inputs, which are not a square image");
  }
  return kExitOk;
}

}  // namespace

int RunSample(const SampleArgs& args) {
  // Any dtype: the engine serves what the file holds.
  StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Load(args.model, EngineOptions{.max_batch = args.n, .threads = args.threads});
  if (!engine.ok()) return Fail(engine.status());
  int side = 0;
  if (int code = ModelImageSide((*engine)->shape(), args.model, &side); code != kExitOk) {
    return code;
  }

  std::vector<float> images(static_cast<size_t>(args.n) * (*engine)->shape().input);
  if (Status s = (*engine)->Sample(args.n, args.seed, images.data()); !s.ok()) return Fail(s);
  const int grid_cols = CeilSqrt(args.n);
  GreyImage grid;
  if (int code = WriteGrid(images, args.n, side, grid_cols, args.out, args.preview, &grid);
      code != kExitOk) {
    return code;
  }
  std::printf("wrote %s (%d samples, seed %llu, %d x %d px)\n", args.out.c_str(), args.n,
              static_cast<unsigned long long>(args.seed), grid.width, grid.height);
  return kExitOk;
}

int RunReconstruct(const ReconstructArgs& args) {
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  if (!model.ok()) return Fail(model.status());
  const ShapeInfo shape = model->int8 ? model->int8->shape : model->f32->shape();
  int side = 0;
  if (int code = ModelImageSide(shape, args.model, &side); code != kExitOk) return code;
  StatusOr<MnistData> data = LoadMnist(args.data);
  if (!data.ok()) return Fail(data.status());
  const int input = shape.input;
  if (data->test.pixels_per_image() != input) {
    return Fail(kExitBadInput, "test images in " + args.data + " are " +
                                   std::to_string(data->test.rows) + " x " +
                                   std::to_string(data->test.cols) + " but model " + args.model +
                                   " takes " + std::to_string(input) + " pixels");
  }
  const ImageSet set = Head(data->test, args.n);
  const int n = set.count;  // fewer than asked if the test set is smaller
  if (n == 0) return Fail(kExitBadInput, "the test set in " + args.data + " has no images");
  StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(*model, EngineOptions{.max_batch = n, .threads = args.threads});
  if (!engine.ok()) return Fail(engine.status());

  std::vector<float> recon(static_cast<size_t>(n) * input);
  if (Status s = (*engine)->Reconstruct(set.pixels.data(), n, /*sample_z=*/false, 0, recon.data());
      !s.ok()) {
    return Fail(s);
  }
  // Pairs side by side: input then reconstruction.
  std::vector<float> pairs(static_cast<size_t>(2) * n * input);
  for (int i = 0; i < n; ++i) {
    float* in = pairs.data() + static_cast<size_t>(2 * i) * input;
    const uint8_t* pixels = set.image(i);
    for (int p = 0; p < input; ++p) in[p] = pixels[p] / 255.0f;
    const float* r = recon.data() + static_cast<size_t>(i) * input;
    std::copy(r, r + input, in + input);
  }
  const int grid_cols = 2 * CeilSqrt(n);
  GreyImage grid;
  if (int code = WriteGrid(pairs, 2 * n, side, grid_cols, args.out, args.preview, &grid);
      code != kExitOk) {
    return code;
  }
  std::printf("wrote %s (%d test images beside their reconstructions, %d x %d px)\n",
              args.out.c_str(), n, grid.width, grid.height);
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kSampleCommand(
    {"sample", "Decode z ~ N(0, I) into a PNG grid of generated digits", 30,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<SampleArgs>();
       auto preview = std::make_shared<PreviewFlags>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("-n,--count", a->n, "Number of images")
           ->check(CLI::Range(1, kMaxImages))
           ->capture_default_str();
       cmd->add_option("--seed", a->seed, "Seed of the latent draws")
           ->check(kUnsigned64)
           ->capture_default_str();
       cmd->add_option("--out", a->out, "PNG file to write")->required();
       AddThreads(cmd, &a->threads);
       AddPreview(cmd, preview.get());
       return [=] {
         a->preview = preview->mode();
         return RunSample(*a);
       };
     }});

const CommandRegistration kReconstructCommand(
    {"reconstruct", "The first n test images beside their reconstructions, as a PNG grid", 40,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<ReconstructArgs>();
       auto preview = std::make_shared<PreviewFlags>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("--data", a->data, "Directory with the four MNIST IDX files")
           ->capture_default_str();
       cmd->add_option("-n,--count", a->n, "Number of test images")
           ->check(CLI::Range(1, kMaxImages))
           ->capture_default_str();
       cmd->add_option("--out", a->out, "PNG file to write")->required();
       AddThreads(cmd, &a->threads);
       AddPreview(cmd, preview.get());
       return [=] {
         a->preview = preview->mode();
         return RunReconstruct(*a);
       };
     }});

}  // namespace
}  // namespace edgevae::cli
