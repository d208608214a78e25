// edgevae judge: what the project's digit classifier says about a model's samples (edgevae/judge.h).
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/classifier.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/judge.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "options.h"

namespace edgevae::cli {

struct JudgeArgs {
  std::string model;
  std::string images;  // instead of a model: the first --samples images of an IDX file
  std::string judge = "models/judge.evae";
  bool judge_given = false;
  std::string data = kDefaultDataDir;
  int samples = 10000;
  uint64_t seed = 1;
  int threads = 0;
  bool json = false;
};

namespace {

constexpr int kDecodeBatch = 1000;

// The judge when --judge is not given: models/judge.evae in a checkout, else the installed one
// beside the program (/usr/bin/edgevae -> /usr/share/edgevae/models/judge.evae).
std::string DefaultJudge(const std::string& in_checkout) {
  struct stat st {};
  if (::stat(in_checkout.c_str(), &st) == 0) return in_checkout;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return in_checkout;
  std::string dir(exe, static_cast<size_t>(n));
  dir = dir.substr(0, dir.find_last_of('/'));
  const std::string installed = dir + "/../share/edgevae/models/judge.evae";
  return ::stat(installed.c_str(), &st) == 0 ? installed : in_checkout;
}

// The first `n` images of an IDX file, as floats: real digits judged as samples are (a baseline).
StatusOr<std::vector<float>> ReadImages(const std::string& path, int n, int input) {
  EVAE_ASSIGN_OR_RETURN(ImageSet set, LoadImageSet(path, ""));
  if (set.pixels_per_image() != input) {
    return InvalidArgument(path + ": images of " + std::to_string(set.rows) + "x" +
                           std::to_string(set.cols) + " pixels; the judge takes " +
                           std::to_string(input));
  }
  if (set.count < n) {
    return InvalidArgument(path + " holds " + std::to_string(set.count) + " images; --samples is " +
                           std::to_string(n));
  }
  std::vector<float> images(static_cast<size_t>(n) * input);
  for (size_t i = 0; i < images.size(); ++i) images[i] = set.pixels[i] / 255.0f;
  return images;
}

}  // namespace

int RunJudge(const JudgeArgs& given) {
  JudgeArgs args = given;
  if (!args.judge_given) args.judge = DefaultJudge(args.judge);
  std::FILE* human = HumanStream(args.json);
  StatusOr<Model> judge_model = LoadModel(args.judge);
  if (!judge_model.ok()) return Fail(judge_model.status());
  StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(args.threads);
  if (!runtime.ok()) return Fail(runtime.status());
  StatusOr<std::unique_ptr<Classifier>> judge = Classifier::Create(*judge_model, runtime->get());
  if (!judge.ok()) return Fail(kExitBadInput, "--judge " + args.judge + ": " +
                                                  judge.status().message());
  if (args.model.empty() == args.images.empty()) {
    return Fail(kExitUsage, "judge needs exactly one of --model FILE and --images IDX");
  }
  std::unique_ptr<Engine> engine;
  if (!args.model.empty()) {
    StatusOr<std::unique_ptr<Engine>> loaded = Engine::Load(
        args.model, EngineOptions{.max_batch = kDecodeBatch, .threads = args.threads});
    if (!loaded.ok()) return Fail(loaded.status());
    engine = std::move(loaded).value();
    if (engine->shape().input != (*judge)->shape().input) {
      return Fail(kExitBadInput, args.model + " makes images of " +
                                     std::to_string(engine->shape().input) +
                                     " pixels; the judge " + args.judge + " takes " +
                                     std::to_string((*judge)->shape().input));
    }
  }
  StatusOr<MnistData> data = LoadMnist(args.data);
  if (!data.ok()) return Fail(data.status());

  StatusOr<ClassifierScore> accuracy = ScoreClassifier(**judge, data->test);
  if (!accuracy.ok()) return Fail(accuracy.status());
  StatusOr<FeatureStats> reference = ReferenceFeatures(**judge, data->test);
  if (!reference.ok()) return Fail(reference.status());
  StatusOr<std::vector<float>> samples =
      engine ? DrawSamples(*engine, args.samples, args.seed)
             : ReadImages(args.images, args.samples, (*judge)->shape().input);
  if (!samples.ok()) return Fail(samples.status());
  StatusOr<JudgeReport> report =
      JudgeImages(**judge, samples->data(), args.samples, *reference);
  if (!report.ok()) return Fail(report.status());

  if (args.json) {
    const std::string what = engine ? args.model : args.images;
    PrintJson({{engine ? "model" : "images", what},
               {"dtype", engine ? engine->dtype() : "u8"},
               {"judge", args.judge},
               {"judge_test_accuracy", JsonNumber(accuracy->accuracy)},
               {"samples", report->samples},
               {"seed", args.seed},
               {"recognised", JsonNumber(report->recognised)},
               {"confidence", kJudgeConfidence},
               {"histogram", report->histogram},
               {"coverage_kl", JsonNumber(report->coverage_kl)},
               {"frechet", JsonNumber(report->frechet)}});
    return kExitOk;
  }
  if (engine) {
    std::fprintf(human, "model        %s (%s)\n", args.model.c_str(), engine->dtype());
  } else {
    std::fprintf(human, "images       %s (the first %d)\n", args.images.c_str(), args.samples);
  }
  std::fprintf(human, "judge        %s (%.2f %% right on the %d test images)\n",
               args.judge.c_str(), 100 * accuracy->accuracy, accuracy->images);
  if (engine) {
    std::fprintf(human, "samples      %d from the prior (seed %llu)\n", report->samples,
                 static_cast<unsigned long long>(args.seed));
  }
  std::fprintf(human, "recognised   %.2f %% (most probable class at p >= %.1f)\n",
               100 * report->recognised, kJudgeConfidence);
  std::fprintf(human, "classes     ");
  for (size_t c = 0; c < report->histogram.size(); ++c) {
    std::fprintf(human, " %zu:%.1f%%", c, 100.0 * report->histogram[c] / report->samples);
  }
  std::fprintf(human, "\ncoverage KL  %.4f nats to uniform\n", report->coverage_kl);
  std::fprintf(human, "Fréchet      %.3f (the judge's features, samples vs test images)\n",
               report->frechet);
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kJudgeCommand(
    {"judge",
     "Judge a model's samples with the digit classifier: share recognised, class coverage, "
     "Fréchet distance to the test images",
     25,
     [](CLI::App* cmd, const Invocation&) -> std::function<int()> {
       auto a = std::make_shared<JudgeArgs>();
       CLI::Option* model =
           cmd->add_option("--model", a->model, "Model file whose prior samples are judged (any dtype)");
       cmd->add_option("--images", a->images,
                       "Instead of --model: judge the first --samples images of this IDX file (a "
                       "baseline, e.g. MNIST's training images)")
           ->excludes(model);
       CLI::Option* judge_opt =
           cmd->add_option("--judge", a->judge,
                           "The classifier (edgevae train --shape judge); its features of the "
                           "test images are the Fréchet distance's reference. Default: "
                           "models/judge.evae, else the installed "
                           "share/edgevae/models/judge.evae")
               ->capture_default_str();
       cmd->add_option("--data", a->data, "Directory with the four MNIST IDX files")
           ->capture_default_str();
       cmd->add_option("--samples", a->samples, "Samples to draw from the prior")
           ->check(CLI::Range(2, 1000000))
           ->capture_default_str();
       cmd->add_option("--seed", a->seed, "Seed of the samples' latent draws")
           ->check(kUnsigned64)
           ->capture_default_str();
       AddThreads(cmd, &a->threads);
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] {
         a->judge_given = judge_opt->count() > 0;
         return RunJudge(*a);
       };
     }});

}  // namespace
}  // namespace edgevae::cli
