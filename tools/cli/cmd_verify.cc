// edgevae verify: re-run the golden vectors a converted model carries and compare with the f32
// reference outputs stored beside them; with --reference, also decode prior draws (and a 2-D
// model's manifold grid) with both the converted model and its source, and compare the pixels.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/engine.h"
#include "edgevae/latent.h"
#include "edgevae/model_file.h"
#include "options.h"

namespace edgevae::cli {

struct VerifyArgs {
  std::string model;
  std::string reference;
  int samples = 10000;
  int grid = 20;
  uint64_t seed = 1;
  int threads = 1;
  bool json = false;
};

// The mean and largest |pixel difference| between two engines' decodings of the same codes.
struct PixelError {
  int count = 0;
  double mean = 0, max = 0;
};

StatusOr<PixelError> ComparePixels(Engine& a, Engine& b, const std::vector<float>& z) {
  const int dim = a.shape().latent, input = a.shape().input;
  const int chunk = std::min(a.max_batch(), b.max_batch());
  const int n = static_cast<int>(z.size() / static_cast<size_t>(dim));
  std::vector<float> pa(static_cast<size_t>(chunk) * input), pb(pa.size());
  PixelError e;
  e.count = n;
  double sum = 0;
  for (int i = 0; i < n; i += chunk) {
    const int m = std::min(chunk, n - i);
    const float* zi = z.data() + static_cast<size_t>(i) * dim;
    EVAE_RETURN_IF_ERROR(a.Decode(zi, m, pa.data()));
    EVAE_RETURN_IF_ERROR(b.Decode(zi, m, pb.data()));
    for (size_t k = 0; k < static_cast<size_t>(m) * input; ++k) {
      const double d = std::fabs(static_cast<double>(pa[k]) - pb[k]);
      sum += d;
      e.max = std::max(e.max, d);
    }
  }
  e.mean = n > 0 ? sum / (static_cast<double>(n) * input) : 0;
  return e;
}

// The AEVB paper's manifold picture: a grid x grid of codes at equally spaced probabilities
// through the inverse normal CDF, as edgevae-digits manifold draws it.
std::vector<float> ManifoldCodes(int grid) {
  std::vector<float> z;
  for (int r = 0; r < grid; ++r) {
    for (int c = 0; c < grid; ++c) {
      z.push_back(static_cast<float>(InverseNormalCdf((c + 0.5) / grid)));
      z.push_back(static_cast<float>(InverseNormalCdf(1.0 - (r + 0.5) / grid)));
    }
  }
  return z;
}

struct ReferenceCheck {
  std::string dtype;
  PixelError samples;
  std::optional<PixelError> manifold;  // 2-D latent spaces only
};

StatusOr<ReferenceCheck> CheckAgainstReference(const VerifyArgs& args, Engine& engine) {
  StatusOr<AnyModel> ref = LoadAnyModel(args.reference);
  if (!ref.ok()) return ref.status();
  StatusOr<std::unique_ptr<Engine>> ref_engine =
      Engine::Create(*ref, EngineOptions{.max_batch = 256, .threads = args.threads});
  if (!ref_engine.ok()) return ref_engine.status();
  const ShapeInfo &s = engine.shape(), &rs = (*ref_engine)->shape();
  if (s.latent != rs.latent || s.input != rs.input) {
    return InvalidArgument(args.reference + ": shape '" + std::string(rs.name) +
                           "' cannot be compared with " + args.model + "'s '" +
                           std::string(s.name) + "'");
  }
  ReferenceCheck c;
  c.dtype = (*ref_engine)->dtype();
  std::vector<float> z(static_cast<size_t>(args.samples) * s.latent);
  LatentGaussian::StandardNormal(s.latent).Sample(args.seed, args.samples, z.data());
  EVAE_ASSIGN_OR_RETURN(c.samples, ComparePixels(engine, **ref_engine, z));
  if (s.latent == 2) {
    EVAE_ASSIGN_OR_RETURN(c.manifold, ComparePixels(engine, **ref_engine, ManifoldCodes(args.grid)));
  }
  return c;
}

Json ErrorJson(const PixelError& e) {
  return {{"count", e.count},
          {"mean_abs_error", JsonNumber(e.mean)},
          {"max_abs_error", JsonNumber(e.max)}};
}

int RunVerify(const VerifyArgs& args) {
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  if (!model.ok()) return Fail(model.status());
  if (!model->golden) {
    return Fail(kExitBadInput, args.model +
                                   " carries no golden vectors (only files written by "
                                   "edgevae convert do)");
  }
  const GoldenVectors& golden = *model->golden;
  StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(
      *model, EngineOptions{.max_batch = std::max(golden.count, 256), .threads = args.threads});
  if (!engine.ok()) return Fail(engine.status());
  StatusOr<GoldenCheck> check = CheckGoldenVectors(**engine, golden);
  if (!check.ok()) return Fail(check.status());
  std::optional<ReferenceCheck> ref;
  if (!args.reference.empty()) {
    StatusOr<ReferenceCheck> r = CheckAgainstReference(args, **engine);
    if (!r.ok()) return Fail(r.status());
    ref = std::move(*r);
  }

  if (args.json) {
    Json j = {{"model", args.model},
              {"dtype", (*engine)->dtype()},
              {"outputs",
               {{{"name", "reconstruction"},
                 {"count", check->count},
                 {"max_abs_error", JsonNumber(check->max_abs_error)},
                 {"max_abs_error_threshold", JsonNumber(golden.max_abs_error)},
                 {"mean_abs_error", JsonNumber(check->mean_abs_error)},
                 {"mean_abs_error_threshold", JsonNumber(golden.mean_abs_error)},
                 {"pass", check->pass}}}},
              {"pass", check->pass}};
    if (ref) {
      Json r = {{"model", args.reference},
                {"dtype", ref->dtype},
                {"seed", args.seed},
                {"samples", ErrorJson(ref->samples)}};
      if (ref->manifold) r["manifold"] = ErrorJson(*ref->manifold);
      j["reference"] = std::move(r);
    }
    PrintJson(j);
  } else {
    std::printf("model           %s (%s)\n", args.model.c_str(), (*engine)->dtype());
    std::printf(
        "reconstruction  %d golden images: max |error| %.3g (threshold %.3g), mean %.3g "
        "(threshold %.3g)\n",
        check->count, check->max_abs_error, golden.max_abs_error, check->mean_abs_error,
        golden.mean_abs_error);
    if (ref) {
      std::printf("reference       %s (%s)\n", args.reference.c_str(), ref->dtype.c_str());
      std::printf("samples         %d prior draws (seed %llu): mean |pixel error| %.4f, max %.3g\n",
                  ref->samples.count, static_cast<unsigned long long>(args.seed),
                  ref->samples.mean, ref->samples.max);
      if (ref->manifold) {
        std::printf("manifold        %d x %d grid: mean |pixel error| %.4f, max %.3g\n", args.grid,
                    args.grid, ref->manifold->mean, ref->manifold->max);
      }
    }
    std::printf("result          %s\n", check->pass ? "pass" : "FAIL");
  }
  if (!check->pass) {
    std::fprintf(stderr, "edgevae: error: %s: golden vectors differ beyond their thresholds\n",
                 args.model.c_str());
    return kExitBadInput;
  }
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kVerifyCommand(
    {"verify", "Re-run a converted model's golden vectors and compare with its f32 reference", 80,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<VerifyArgs>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("--reference", a->reference,
                       "Also decode with this model (the f32 file the model was converted from) "
                       "and report the mean and largest |pixel difference|: --samples prior "
                       "draws and, for a 2-D latent space, the --grid x --grid manifold")
           ->type_name("FILE");
       cmd->add_option("--samples", a->samples, "Prior draws decoded with --reference")
           ->check(CLI::Range(1, 1000000))
           ->capture_default_str();
       cmd->add_option("--grid", a->grid, "Manifold grid side with --reference (2-D models)")
           ->check(CLI::Range(2, 100))
           ->capture_default_str();
       cmd->add_option("--seed", a->seed, "Seed of the prior draws")->capture_default_str();
       AddThreads(cmd, &a->threads);
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] { return RunVerify(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
