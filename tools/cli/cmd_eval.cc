// edgevae eval: test loss (and the importance-weighted NLL) of a model on the MNIST test set.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>

#include "command.h"
#include "commands.h"
#include "edgevae/binarize.h"
#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/idx.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/runtime.h"
#include "options.h"
#include "ui/progress.h"
#include "ui/term.h"

namespace edgevae::cli {

struct EvalArgs {
  std::string model;
  std::string data = kDefaultDataDir;
  int iw = 0;  // 0 = no importance-weighted estimate
  std::string binarize;  // none, dynamic, static; empty: as the model was trained
  uint64_t seed = 1;
  int threads = 0;
  bool json = false;
};

int RunEval(const EvalArgs& args) {
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  if (!model.ok()) return Fail(model.status());
  const bool quantized = model->int8 || model->f16;
  const ModelMetadata& meta = model->int8 ? model->int8->metadata : model->f32->metadata();
  const std::string binarize =
      !args.binarize.empty() ? args.binarize : (meta.binarize.empty() ? "none" : meta.binarize);
  StatusOr<Binarization> binarization = ParseBinarization(binarize);
  if (!binarization.ok()) return Fail(kExitUsage, "--binarize: " + binarization.status().message());
  StatusOr<MnistData> data = LoadMnist(args.data);
  if (!data.ok()) return Fail(data.status());
  // The likelihood benchmark's test set: one fixed Bernoulli draw of every test image, from the
  // seed (dynamic and static training are both evaluated on it).
  if (*binarization != Binarization::kNone) {
    data->test = BinarizeImages(data->test, args.seed, kBinarizeTestPass);
  }
  StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(args.threads);
  if (!runtime.ok()) return Fail(runtime.status());

  EvalOptions options;
  options.iw_samples = args.iw;
  options.seed = args.seed;
  const bool live = ui::IsTerminal(STDERR_FILENO);
  ui::ProgressReporter progress(stderr, live, live ? ui::TerminalColumns(STDERR_FILENO) : 0);
  const double start = NowSeconds();
  StatusOr<EvalResult> result = Status(StatusCode::kInternal, "not evaluated");
  if (quantized) {
    // int8 and f16 models are evaluated through the engine that serves them; its batches also
    // carry the importance samples (up to 1,000 per call).
    const int max_batch = std::max(256, std::min(args.iw, 1000));
    StatusOr<std::unique_ptr<Engine>> engine =
        Engine::Create(*model, EngineOptions{.max_batch = max_batch, .threads = args.threads});
    if (!engine.ok()) return Fail(engine.status());
    result = EvaluateEngine(**engine, data->test, options, [&](int done, int total) {
      const double now = NowSeconds();
      progress.Update(ui::ImagePassProgress("eval", done, total, now - start), now);
    });
  } else {
    result = Evaluate(*model->f32, runtime->get(), data->test, options, [&](int done, int total) {
      const double now = NowSeconds();
      progress.Update(ui::ImagePassProgress("eval", done, total, now - start), now);
    });
  }
  progress.Clear();
  if (!result.ok()) return Fail(result.status());

  if (args.json) {
    Json out = {{"test_loss", JsonNumber(result->test_loss)}, {"binarize", binarize}};
    if (args.iw > 0) out["iw_nll"] = JsonNumber(result->iw_nll);
    if (std::isfinite(result->accuracy)) out["accuracy"] = JsonNumber(result->accuracy);
    if (!std::isnan(result->code_kl)) out["code_kl"] = JsonNumber(result->code_kl);
    out["images"] = result->images;
    out["seconds"] = JsonNumber(result->seconds);
    PrintJson(out);
    return kExitOk;
  }
  std::printf("test loss  %.2f nats/image%s\n", result->test_loss,
              binarize == "none" ? "" : " (binarized test set)");
  if (args.iw > 0) std::printf("iw nll     %.2f nats/image (K = %d)\n", result->iw_nll, args.iw);
  if (std::isfinite(result->accuracy)) {
    std::printf("accuracy   %.2f %% (a classifier; its test loss is the cross-entropy)\n",
                100 * result->accuracy);
  }
  if (!std::isnan(result->code_kl)) {
    std::printf("code kl    %.3f nats (a Gaussian fitted to the codes, against N(0, I))\n",
                result->code_kl);
  }
  std::printf("images     %d\n", result->images);
  std::printf("seconds    %.2f\n", result->seconds);
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kEvalCommand(
    {"eval", "Test loss (and importance-weighted NLL) on the MNIST test set", 20,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<EvalArgs>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("--data", a->data, "Directory with the four MNIST IDX files")
           ->capture_default_str();
       cmd->add_option("--iw", a->iw, "Also estimate -log p(x) with K importance samples")
           ->check(CLI::Range(1, 1000000));
       cmd->add_option("--binarize", a->binarize,
                       "Evaluate on a binarized test set (one Bernoulli draw of every pixel from "
                       "the seed): dynamic or static; none: the grey values. Default: as the "
                       "model was trained")
           ->check(CLI::IsMember({"none", "dynamic", "static"}));
       cmd->add_option("--seed", a->seed, "Seed of the evaluation noise (and of the binarization)")
           ->check(kUnsigned64)
           ->capture_default_str();
       AddThreads(cmd, &a->threads);
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] { return RunEval(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
