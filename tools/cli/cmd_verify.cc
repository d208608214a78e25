// edgevae verify: re-run the golden vectors a converted model carries and compare with the f32
// reference outputs stored beside them.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>

#include "command.h"
#include "commands.h"
#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "options.h"

namespace edgevae::cli {

struct VerifyArgs {
  std::string model;
  int threads = 1;
  bool json = false;
};

int RunVerify(const VerifyArgs& args) {
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  if (!model.ok()) return Fail(model.status());
  if (!model->golden) {
    return Fail(kExitBadInput, args.model +
                                   " carries no golden vectors (only files written by "
                                   "edgevae convert do)");
  }
  const GoldenVectors& golden = *model->golden;
  StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(*model, EngineOptions{.max_batch = golden.count, .threads = args.threads});
  if (!engine.ok()) return Fail(engine.status());
  StatusOr<GoldenCheck> check = CheckGoldenVectors(**engine, golden);
  if (!check.ok()) return Fail(check.status());

  if (args.json) {
    PrintJson({{"model", args.model},
               {"dtype", (*engine)->dtype()},
               {"outputs",
                {{{"name", "reconstruction"},
                  {"count", check->count},
                  {"max_abs_error", JsonNumber(check->max_abs_error)},
                  {"max_abs_error_threshold", JsonNumber(golden.max_abs_error)},
                  {"mean_abs_error", JsonNumber(check->mean_abs_error)},
                  {"mean_abs_error_threshold", JsonNumber(golden.mean_abs_error)},
                  {"pass", check->pass}}}},
               {"pass", check->pass}});
  } else {
    std::printf("model           %s (%s)\n", args.model.c_str(), (*engine)->dtype());
    std::printf(
        "reconstruction  %d golden images: max |error| %.3g (threshold %.3g), mean %.3g "
        "(threshold %.3g)\n",
        check->count, check->max_abs_error, golden.max_abs_error, check->mean_abs_error,
        golden.mean_abs_error);
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
       AddThreads(cmd, &a->threads);
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] { return RunVerify(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
