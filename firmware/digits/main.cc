// edgevae-digits: the on-device digit generation demo. Runs with no files at all (the shipped
// int8 models are compiled in); every mode turns into latent codes, one decode pass, and then a
// PNG grid, an IDX file, a terminal preview and/or a Linux framebuffer.
//
// Exit codes: 0 success, 1 bad input (a model or image file the library rejects, a device that
// fails), 2 bad usage (flags, values out of range). Errors are one line on stderr.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "digits.h"
#include "ui/error_line.h"
#include "ui/flags.h"
#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/image.h"
#include "edgevae/latent.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "ui/term.h"
#include "embedded_models.h"
#include "framebuffer.h"
#ifdef EDGEVAE_DIGITS_HAVE_SERVE
#include "serve/serve.h"
#endif

namespace edgevae::digits {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadInput = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  ui::PrintErrorLine("edgevae-digits", message);
  return code;
}
// Argument values out of range are usage errors; everything else is bad input.
int Fail(const Status& s) {
  return Fail(s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitBadInput, s.message());
}

// bench --runs: each run keeps two latencies (16 bytes), so this caps that at 16 MB.
constexpr int kMaxBenchRuns = 1000000;

using ui::kUnsigned64;

// What every drawing mode shares.
struct Output {
  std::string model;  // empty: the embedded model
  uint64_t seed = 1;
  int threads = 1;
  std::string png;
  std::string out_idx;
  std::string fb;
  std::string fb_format;  // "WxHxBPP" for a regular file standing in for a framebuffer
  bool preview = false;
  bool no_preview = false;
};

void AddOutputOptions(CLI::App* cmd, Output* o) {
  cmd->add_option("--model", o->model, "Model file (.evae) instead of the embedded one")
      ->type_name("FILE");
  cmd->add_option("--seed", o->seed, "Seed of every random draw")
      ->check(kUnsigned64)
      ->capture_default_str();
  cmd->add_option("--threads", o->threads,
                  "Threads (0: one per core, at most " + std::to_string(kMaxThreads) + ")")
      ->check(CLI::Range(0, kMaxThreads))
      ->capture_default_str();
  cmd->add_option("--png", o->png, "Write the digits as a PNG grid")->type_name("FILE");
  cmd->add_option("--out-idx", o->out_idx, "Write the digits as an IDX u8 file (N x 28 x 28)")
      ->type_name("FILE");
  cmd->add_option("--fb", o->fb, "Show the grid on a Linux framebuffer, e.g. /dev/fb0")
      ->type_name("DEVICE");
  cmd->add_option("--fb-format", o->fb_format,
                  "Geometry WIDTHxHEIGHTxBPP instead of asking the device (for a regular file)")
      ->type_name("WxHxBPP");
  CLI::Option* force = cmd->add_flag(
      "--preview", o->preview, "Print the terminal preview even when stdout is not a terminal");
  cmd->add_flag("--no-preview", o->no_preview, "Never print the terminal preview")->excludes(force);
}

StatusOr<AnyModel> LoadModelOrEmbedded(const std::string& path, bool two_d) {
  if (!path.empty()) return LoadAnyModel(path);
  return two_d ? LoadEmbeddedMnist2d() : LoadEmbeddedMnist();
}

StatusOr<std::unique_ptr<Engine>> MakeEngine(const AnyModel& model, int count, int threads) {
  return Engine::Create(model,
                        EngineOptions{.max_batch = std::clamp(count, 1, 256), .threads = threads});
}

// Decodes the grid and writes every output asked for.
int Emit(Engine& engine, const LatentGrid& grid, const Output& o) {
  std::vector<float> images;
  if (Status s = DecodeGrid(engine, grid, &images); !s.ok()) return Fail(s);
  const ShapeInfo& shape = engine.shape();
  const int side = static_cast<int>(std::lround(std::sqrt(shape.input)));
  StatusOr<GreyImage> png = MakeGrid(images.data(), grid.count, side, side, grid.grid_cols, 2);
  if (!png.ok()) return Fail(png.status());
  if (!o.png.empty()) {
    if (Status s = WritePng(o.png, *png); !s.ok()) return Fail(s);
    std::fprintf(stderr, "wrote %s (%d digits, %dx%d)\n", o.png.c_str(), grid.count, png->width,
                 png->height);
  }
  if (!o.out_idx.empty()) {
    IdxArray idx{{static_cast<uint32_t>(grid.count), static_cast<uint32_t>(side),
                  static_cast<uint32_t>(side)},
                 ToBytes(images)};
    if (Status s = WriteIdx(o.out_idx, idx); !s.ok()) return Fail(s);
    std::fprintf(stderr, "wrote %s (%d x %d x %d, u8)\n", o.out_idx.c_str(), grid.count, side,
                 side);
  }
  if (!o.fb.empty()) {
    std::optional<FramebufferFormat> format;
    if (!o.fb_format.empty()) {
      StatusOr<FramebufferFormat> f = ParseFramebufferFormat(o.fb_format);
      if (!f.ok()) return Fail(f.status());
      format = *f;
    }
    if (Status s = ShowOnFramebuffer(o.fb, *png, format); !s.ok()) return Fail(s);
  }
  // The preview: on a terminal, or when asked, or when no other output was asked for.
  const bool other = !o.png.empty() || !o.out_idx.empty() || !o.fb.empty();
  if (!o.no_preview && (o.preview || ui::IsTerminal(STDOUT_FILENO) || !other)) {
    const std::string text =
        ui::RenderHalfBlocks(png->pixels.data(), png->width, png->height, ui::ColorModeFromEnvironment(),
                         ui::TerminalColumns(STDOUT_FILENO));
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return kExitOk;
}

// Loads the model, builds the engine, makes the codes, emits.
template <typename MakeGridFn>
int Run(const Output& o, bool two_d, int max_count, MakeGridFn make) {
  StatusOr<AnyModel> model = LoadModelOrEmbedded(o.model, two_d);
  if (!model.ok()) return Fail(model.status());
  StatusOr<std::unique_ptr<Engine>> engine = MakeEngine(*model, max_count, o.threads);
  if (!engine.ok()) return Fail(engine.status());
  StatusOr<LatentGrid> grid = make(**engine);
  if (!grid.ok()) return Fail(grid.status());
  return Emit(**engine, *grid, o);
}

// Latency of one digit decoded and written as a 28 x 28 PNG: the demo's unit of work.
int RunBench(const Output& o, int runs, const std::string& dir) {
  StatusOr<AnyModel> model = LoadModelOrEmbedded(o.model, false);
  if (!model.ok()) return Fail(model.status());
  StatusOr<std::unique_ptr<Engine>> engine = MakeEngine(*model, 1, o.threads);
  if (!engine.ok()) return Fail(engine.status());
  const ModelMetadata& md = (*engine)->metadata();
  const int dim = (*engine)->shape().latent;
  const std::string path = dir + "/edgevae-digits-bench-" + std::to_string(::getpid()) + ".png";
  std::vector<double> decode_us, total_us;
  std::vector<float> image((*engine)->shape().input);
  for (int r = 0; r < runs + 10; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    StatusOr<LatentGrid> grid = DigitGrid(md, dim, r % 10, 1, o.seed + r);
    if (!grid.ok()) return Fail(grid.status());
    if (Status s = (*engine)->Decode(grid->z.data(), 1, image.data()); !s.ok()) return Fail(s);
    const auto t1 = std::chrono::steady_clock::now();
    StatusOr<GreyImage> png = MakeGrid(image.data(), 1, 28, 28, 1, 0);
    if (!png.ok()) return Fail(png.status());
    if (Status s = WritePng(path, *png); !s.ok()) return Fail(s);
    const auto t2 = std::chrono::steady_clock::now();
    if (r < 10) continue;  // warm-up
    decode_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    total_us.push_back(std::chrono::duration<double, std::micro>(t2 - t0).count());
  }
  ::unlink(path.c_str());
  auto report = [](const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-36s min %8.1f us  median %8.1f us  max %8.1f us\n", what, v.front(),
                v[v.size() / 2], v.back());
  };
  std::printf("edgevae-digits bench: %d runs (after 10 warm-up), %d thread(s), %s model\n", runs,
              (*engine)->threads(), (*engine)->dtype());
  report("class draw + decode", decode_us);
  report("class draw + decode + 28x28 PNG file", total_us);
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app("Generate MNIST digits on the device with the embedded int8 VAE (no files needed).",
               "edgevae-digits");
  app.require_subcommand(1);
  app.footer(
      "Outputs of every mode: --png FILE, --out-idx FILE, the terminal (Unicode half blocks, "
      "grey when colour is available) and --fb /dev/fbN.\nExit codes: 0 success, 1 bad input, "
      "2 bad usage.");

  Output sample_out, digit_out, interp_out, manifold_out, perturb_out, bench_out;
  int sample_n = 64;
  CLI::App* sample = app.add_subcommand("sample", "Random digits from the prior N(0, I)");
  sample->add_option("-n", sample_n, "How many digits")->capture_default_str();
  AddOutputOptions(sample, &sample_out);

  std::vector<int> digits;
  int digit_n = 10;
  CLI::App* digit_cmd = app.add_subcommand(
      "digit", "Digits of one class (or one row per class), drawn from its latent mixture");
  digit_cmd->add_option("D", digits, "The digit, 0-9 (several: one row of -n each)")->required();
  digit_cmd->add_option("-n", digit_n, "How many digits")->capture_default_str();
  AddOutputOptions(digit_cmd, &digit_out);

  int from = 4, to = 9, steps = 10;
  CLI::App* interp = app.add_subcommand(
      "interpolate", "A walk from one digit to another: a linear row, then a spherical one");
  interp->add_option("A", from, "Start digit")->capture_default_str();
  interp->add_option("B", to, "End digit")->capture_default_str();
  interp->add_option("--steps", steps, "Images per row (including both ends)")
      ->capture_default_str();
  AddOutputOptions(interp, &interp_out);

  int grid = 20;
  CLI::App* manifold = app.add_subcommand(
      "manifold",
      "The 2-D latent manifold of mnist2d through the inverse Gaussian CDF (AEVB fig. 4)");
  manifold->add_option("--grid", grid, "Digits per side")->capture_default_str();
  AddOutputOptions(manifold, &manifold_out);

  int dim = 0, perturb_digit = 3, perturb_steps = 10, image_index = 0;
  std::string image_file;
  CLI::App* perturb = app.add_subcommand(
      "perturb",
      "Vary one latent dimension around an encoding: a row moving the mean by -3..+3 sd, a row of "
      "draws with its variance");
  perturb->add_option("--dim", dim, "The latent dimension to vary")->required();
  perturb
      ->add_option("--digit", perturb_digit,
                   "Around the mean encoding of this digit's class, with its spread (default)")
      ->capture_default_str();
  perturb
      ->add_option("--image", image_file,
                   "Around the encoding of an image from this IDX file instead (e.g. "
                   "data/mnist/t10k-images-idx3-ubyte)")
      ->type_name("FILE");
  perturb->add_option("--index", image_index, "Which image of --image")->capture_default_str();
  perturb->add_option("--steps", perturb_steps, "Images per row")->capture_default_str();
  AddOutputOptions(perturb, &perturb_out);

  int bench_runs = 1000;
  std::string bench_dir = "/tmp";
  CLI::App* bench =
      app.add_subcommand("bench", "Latency of one digit drawn, decoded and written as a 28x28 PNG");
  bench->add_option("--runs", bench_runs, "Timed runs")
      ->check(CLI::Range(1, kMaxBenchRuns))
      ->capture_default_str();
  bench->add_option("--dir", bench_dir, "Where the PNG is written (tmpfs keeps disks out of it)")
      ->capture_default_str();
  AddOutputOptions(bench, &bench_out);

  std::string serve_bind = "127.0.0.1", serve_model, serve_model2d;
  int serve_port = 8080, serve_threads = 1;
  uint64_t serve_seed = 0;
  CLI::App* serve = app.add_subcommand("serve", "A small web page of digits (loopback by default)");
  serve->add_option("--port", serve_port, "TCP port")->capture_default_str();
  serve->add_option("--bind", serve_bind, "Address to listen on")->capture_default_str();
  serve
      ->add_option("--threads", serve_threads,
                   "Threads (at most " + std::to_string(kMaxThreads) + ")")
      ->check(CLI::Range(1, kMaxThreads))
      ->capture_default_str();
  serve->add_option("--seed", serve_seed, "Seed of the random draws")
      ->check(kUnsigned64)
      ->capture_default_str();
  serve->add_option("--model", serve_model, "20-D model instead of the embedded one")
      ->type_name("FILE");
  serve->add_option("--model2d", serve_model2d, "2-D model instead of the embedded one")
      ->type_name("FILE");
  std::vector<std::string> serve_families;
  serve
      ->add_option("--family", serve_families,
                   "Another generative model (a GAN's generator, another VAE) whose samples the "
                   "page shows beside the main model's; repeatable, up to four")
      ->type_name("FILE")
      ->allow_extra_args(false);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string hint = "edgevae-digits --help";
    for (const CLI::App* sub : app.get_subcommands()) {
      hint = "edgevae-digits " + sub->get_name() + " --help";
    }
    return Fail(kExitUsage, std::string(e.what()) + " (see '" + hint + "')");
  }

  if (sample->parsed()) {
    return Run(sample_out, false, sample_n,
               [&](Engine& e) { return SampleGrid(e.shape().latent, sample_n, sample_out.seed); });
  }
  if (digit_cmd->parsed()) {
    // Checked before any code is drawn: each class's draws are made before the total is known.
    if (digit_n >= 1 && digits.size() * static_cast<size_t>(digit_n) > size_t{kMaxDigits}) {
      return Fail(kExitUsage, "at most " + std::to_string(kMaxDigits) + " digits, asked for " +
                                  std::to_string(digits.size()) + " x " + std::to_string(digit_n));
    }
    const int count = static_cast<int>(digits.size()) * digit_n;
    return Run(digit_out, false, count, [&](Engine& e) -> StatusOr<LatentGrid> {
      LatentGrid all;
      for (int d : digits) {
        EVAE_ASSIGN_OR_RETURN(
            LatentGrid g, DigitGrid(e.metadata(), e.shape().latent, d, digit_n, digit_out.seed));
        all.dim = g.dim;
        all.count += g.count;
        all.grid_cols = g.grid_cols;
        all.z.insert(all.z.end(), g.z.begin(), g.z.end());
      }
      if (all.count > kMaxDigits) {
        return InvalidArgument("at most " + std::to_string(kMaxDigits) + " digits, asked for " +
                               std::to_string(all.count));
      }
      if (digits.size() > 1) all.grid_cols = std::min(digit_n, 50);  // one row per digit
      return all;
    });
  }
  if (interp->parsed()) {
    return Run(interp_out, false, 2 * steps, [&](Engine& e) {
      return InterpolationGrid(e.metadata(), e.shape().latent, from, to, steps, interp_out.seed);
    });
  }
  if (manifold->parsed()) {
    return Run(manifold_out, true, grid * grid,
               [&](Engine& e) { return ManifoldGrid(e.shape().latent, grid); });
  }
  if (perturb->parsed()) {
    return Run(perturb_out, false, 2 * perturb_steps, [&](Engine& e) -> StatusOr<LatentGrid> {
      const int lat = e.shape().latent;
      std::vector<float> mu(lat), sd(lat);
      if (!image_file.empty()) {
        EVAE_ASSIGN_OR_RETURN(ImageSet images, LoadImageSet(image_file, ""));
        if (image_index < 0 || image_index >= images.count) {
          return InvalidArgument("--index must be in [0, " + std::to_string(images.count - 1) +
                                 "] for " + image_file + ", got " + std::to_string(image_index));
        }
        if (images.pixels_per_image() != e.shape().input) {
          return DataError(image_file + ": images of " + std::to_string(images.pixels_per_image()) +
                           " pixels, the model takes " + std::to_string(e.shape().input));
        }
        std::vector<float> logvar(lat);
        EVAE_RETURN_IF_ERROR(e.Encode(images.image(image_index), 1, mu.data(), logvar.data()));
        for (int i = 0; i < lat; ++i) sd[i] = std::exp(0.5f * logvar[i]);
      } else {
        if (perturb_digit < 0 || perturb_digit > 9) {
          return InvalidArgument("--digit must be in [0, 9], got " + std::to_string(perturb_digit));
        }
        StatusOr<LatentMixture> c =
            LatentMixture::ForLabel(e.metadata().class_latents, perturb_digit);
        if (!c.ok() || c->dim() != lat) {
          return DataError("the model has no usable latent statistics for digit " +
                           std::to_string(perturb_digit) + " ('edgevae convert' stores them)");
        }
        mu = c->mean();
        sd = c->stddev();
      }
      return PerturbationGrid(mu, sd, dim, perturb_steps, perturb_out.seed);
    });
  }
  if (bench->parsed()) {
    return RunBench(bench_out, bench_runs, bench_dir);
  }
  if (serve->parsed()) {
#ifdef EDGEVAE_DIGITS_HAVE_SERVE
    StatusOr<AnyModel> model = LoadModelOrEmbedded(serve_model, false);
    if (!model.ok()) return Fail(model.status());
    StatusOr<AnyModel> model2d = LoadModelOrEmbedded(serve_model2d, true);
    if (!model2d.ok()) return Fail(model2d.status());
    if (serve_families.size() > static_cast<size_t>(kMaxFamilies)) {
      return Fail(kExitUsage, "serve takes at most " + std::to_string(kMaxFamilies) +
                                  " --family models, got " + std::to_string(serve_families.size()));
    }
    std::vector<AnyModel> families;
    for (const std::string& path : serve_families) {
      StatusOr<AnyModel> more = LoadAnyModel(path);
      if (!more.ok()) return Fail(more.status());
      families.push_back(std::move(more).value());
    }
    std::vector<const AnyModel*> family_ptrs;
    for (const AnyModel& m : families) family_ptrs.push_back(&m);
    ServeOptions options;
    options.bind = serve_bind;
    options.port = serve_port;
    options.threads = serve_threads;
    options.seed = serve_seed;
    return Serve(options, *model, &*model2d, family_ptrs);
#else
    return Fail(kExitUsage,
                "serve is not built into this edgevae-digits (firmware/digits/serve/ or its HTTP "
                "library, libmicrohttpd-dev, was missing when it was configured)");
#endif
  }
  return Fail(kExitUsage, "no command given (see 'edgevae-digits --help')");
}

}  // namespace
}  // namespace edgevae::digits

int main(int argc, char** argv) {
  try {
    return edgevae::digits::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    return edgevae::digits::Fail(edgevae::digits::kExitBadInput, "out of memory");
  } catch (const std::exception& e) {
    return edgevae::digits::Fail(edgevae::digits::kExitBadInput, e.what());
  }
}
