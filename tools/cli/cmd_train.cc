// edgevae train: MNIST in, a checkpoint out after every epoch.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include "command.h"
#include "commands.h"
#include "edgevae/atomic_write.h"
#include "edgevae/eval.h"
#include "edgevae/classifier.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/judge.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "options.h"
#include "ui/progress.h"
#include "ui/term.h"

namespace edgevae::cli {

struct TrainArgs {
  std::string data = kDefaultDataDir;
  std::string shape = "mnist";
  int epochs = 10;
  int batch = 128;
  double lr = 1e-3;
  double lr_decay = 1.0;
  uint64_t seed = 1;
  int threads = 0;
  std::string out;
  std::string resume;
  bool json = false;
  bool profile = false;  // per-epoch time breakdown (GEMMs, packing, element-wise, optimizer)
  std::string classes;   // "3" or "0,1,7": train (and test) on these labels only
  std::string precision = "fp32";  // of the dense products: fp32 or bf16
  std::string binarize = "none";    // of the training (and test) images: none, dynamic, static
  std::string objective = "elbo";   // elbo, or iwae with k samples per image
  int k = 5;
  std::string family;  // picks the family's default shape (--shape picks one of any family)
  double gan_reg = 0;  // a GAN's or ALI's: lambda of the generator's ||G(z) - G_old(z)||^2 term
  int d_steps = 1, g_steps = 1;  // a GAN's or ALI's steps per iteration
  std::string ali_loss = "standard";  // ALI's encoder-and-generator loss: standard or su
  double aae_lambda = 1;  // the AAE's reconstruction weight
  std::string judge;        // a classifier file: judge each epoch's samples (edgevae/judge.h)
  int judge_samples = 2000;
  // Which flags were given explicitly (a resumed run takes the others from the checkpoint).
  bool shape_given = false, batch_given = false, lr_given = false, seed_given = false,
       precision_given = false, binarize_given = false, objective_given = false, k_given = false,
       lr_decay_given = false, family_given = false, gan_reg_given = false,
       d_steps_given = false, g_steps_given = false, ali_loss_given = false,
       aae_lambda_given = false;
  std::string command_line;  // this invocation, recorded in metadata.command
};

namespace {

// A GAN, ALI or an AAE: two players trained against each other.
bool IsAdversarial(Family f) {
  return f == Family::kGan || f == Family::kAli || f == Family::kAae;
}

// The model to train: a fresh one, or the checkpoint to resume. Returns the exit code on failure.
std::optional<Model> PrepareModel(TrainArgs* args, int* exit_code) {
  if (args->family_given) {
    StatusOr<Family> family = FindFamily(args->family);
    if (!family.ok()) {
      *exit_code = Fail(kExitUsage, "--family: " + family.status().message());
      return std::nullopt;
    }
    if (!args->shape_given && args->resume.empty()) args->shape = DefaultShape(*family).name;
  }
  if (args->resume.empty()) {
    StatusOr<ShapeInfo> shape = FindShape(args->shape);
    if (!shape.ok()) {
      *exit_code = Fail(shape.status());
      return std::nullopt;
    }
    StatusOr<Model> model = Model::Create(*shape);
    if (!model.ok()) {
      *exit_code = Fail(model.status());
      return std::nullopt;
    }
    model->InitializeLikeTorch(args->seed);
    ModelMetadata& meta = model->metadata();
    // Fashion-MNIST has MNIST's file names (Debian: /usr/share/datasets/fashion-mnist).
    std::string dir = args->data;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    const bool fashion = dir.substr(dir.find_last_of('/') + 1).find("fashion") != std::string::npos;
    meta.dataset = fashion ? "fashion-mnist" : "mnist";
    meta.epochs = 0;
    meta.seed = args->seed;
    meta.batch = args->batch;
    // Adversarial training takes a smaller step (Radford et al.'s DCGAN settings, with beta1 0.5).
    if (IsAdversarial(shape->family) && !args->lr_given) args->lr = 2e-4;
    meta.lr = args->lr;
    return std::move(*model);
  }

  StatusOr<Model> model = LoadModel(args->resume);
  if (!model.ok()) {
    *exit_code = Fail(model.status());
    return std::nullopt;
  }
  const std::string shape_name(model->shape().name);
  if (args->shape_given && args->shape != shape_name) {
    *exit_code = Fail(kExitUsage, "--shape " + args->shape + " does not match the shape '" +
                                      shape_name + "' of checkpoint " + args->resume +
                                      "; leave --shape out when resuming");
    return std::nullopt;
  }
  args->shape = shape_name;
  ModelMetadata& meta = model->metadata();
  // Settings not given on the command line continue those of the checkpoint, so that a resumed
  // run draws the same shuffles and noise as an uninterrupted one.
  if (!args->seed_given) args->seed = meta.seed;
  if (!args->batch_given && meta.batch > 0) args->batch = meta.batch;
  if (!args->lr_given && std::isfinite(meta.lr) && meta.lr > 0) args->lr = meta.lr;
  if (!args->lr_decay_given) args->lr_decay = meta.lr_decay;
  if (!args->precision_given && meta.precision == "bf16") args->precision = "bf16";
  if (!args->binarize_given && !meta.binarize.empty()) args->binarize = meta.binarize;
  if (!args->objective_given && meta.objective == "iwae") args->objective = "iwae";
  if (!args->k_given && meta.iw_samples > 0) args->k = meta.iw_samples;
  if (meta.d_steps > 0) {
    // Each player's Adam step count is the iterations so far times its steps per iteration.
    if ((args->d_steps_given && args->d_steps != meta.d_steps) ||
        (args->g_steps_given && args->g_steps != meta.g_steps)) {
      *exit_code = Fail(kExitUsage, "checkpoint " + args->resume + " was trained with --d-steps " +
                                        std::to_string(meta.d_steps) + " --g-steps " +
                                        std::to_string(meta.g_steps) +
                                        "; a resumed run keeps them");
      return std::nullopt;
    }
    args->d_steps = meta.d_steps;
    args->g_steps = meta.g_steps;
    if (!args->gan_reg_given) args->gan_reg = meta.gan_reg;
    if (!args->ali_loss_given && !meta.ali_loss.empty()) args->ali_loss = meta.ali_loss;
    if (!args->aae_lambda_given && meta.aae_lambda > 0) args->aae_lambda = meta.aae_lambda;
  }
  meta.seed = args->seed;
  meta.batch = args->batch;
  meta.lr = args->lr;
  return std::move(*model);
}

// Training can take hours; find out now, not after the first epoch, that --out cannot take a
// checkpoint: a trial write of a checkpoint's size through the same temp file as the real write
// meets a missing or read-only folder, a full disk or a file size limit now. The size is an upper
// bound: the weights and Adam's two moments, 4 bytes each, plus 64 KiB for the header, the
// tensor table and the metadata JSON (a few KiB).
// Before that, temp files that a killed run left beside --out (several MB each) are removed.
int CheckOutput(const std::string& out, const Model& model) {
  StatusOr<std::vector<std::string>> removed = RemoveStaleTempFiles(out);
  if (!removed.ok()) return Fail(removed.status());
  for (const std::string& path : *removed) {
    std::fprintf(stderr, "edgevae: removed %s, left by an interrupted write of %s\n", path.c_str(),
                 out.c_str());
  }
  const uint64_t bytes = 3 * uint64_t{4} * model.param_floats() + (uint64_t{1} << 16);
  if (Status s = CheckWritable(out, bytes); !s.ok()) {
    return Fail(kExitBadInput, "cannot write checkpoints to --out " + out +
                                   " (checked before training): " + s.message());
  }
  return kExitOk;
}

// A classifier (the judge) trains on its cross-entropy and a GAN on its players' losses, over
// grey images: the VAE's choices of objective, precision, binarization and classes are refused
// by name, as are a GAN's settings for any other family.
int CheckFamilyFlags(const TrainArgs& args, const Model& model) {
  const ShapeInfo& shape = model.shape();
  if (args.family_given && args.family != FamilyName(shape.family)) {
    return Fail(kExitUsage, "--family " + args.family + " does not match shape '" + args.shape +
                                "', a " + FamilyName(shape.family));
  }
  const bool gan = IsAdversarial(shape.family);
  const std::tuple<bool, const char*, bool> family_only[] = {
      {args.gan_reg_given, "--gan-reg applies to GANs and ALI",
       shape.family == Family::kGan || shape.family == Family::kAli},
      {args.ali_loss_given, "--ali-loss applies to ALI", shape.family == Family::kAli},
      {args.aae_lambda_given, "--aae-lambda applies to AAEs", shape.family == Family::kAae},
      {args.d_steps_given, "--d-steps applies to GANs, ALI and AAEs", gan},
      {args.g_steps_given, "--g-steps applies to GANs, ALI and AAEs", gan}};
  for (const auto& [given, what, applies] : family_only) {
    if (given && !applies) {
      return Fail(kExitUsage, std::string(what) + "; shape '" + args.shape + "' is a " +
                                  FamilyName(shape.family));
    }
  }
  if (!args.judge.empty() && !shape.has_decoder()) {
    return Fail(kExitUsage, "--judge judges samples; shape '" + args.shape + "' is a " +
                                FamilyName(shape.family) + ", which draws none");
  }
  if (shape.is_vae()) return kExitOk;
  // --classes (the one-class protocol of anomaly detection) applies to every family that
  // encodes, and so scores by reconstruction: a VAE, ALI, an AAE.
  const std::tuple<bool, const char*, const char*> vae_only[] = {
      {args.binarize_given && args.binarize != "none", "--binarize", "VAEs"},
      {args.objective_given && args.objective != "elbo", "--objective", "VAEs"},
      {args.k_given, "--k", "VAEs"},
      {args.precision_given && args.precision != "fp32", "--precision", "VAEs"},
      {!args.classes.empty() && !shape.has_encoder(), "--classes", "families that encode"},
      {gan && args.profile, "--profile", "VAEs"}};
  for (const auto& [given, flag, applies] : vae_only) {
    if (given) {
      return Fail(kExitUsage, std::string(flag) + " applies to " + applies + "; shape '" +
                                  args.shape + "' is a " + FamilyName(shape.family) +
                                  ", trained on " +
                                  (gan ? "its players' losses" : "its cross-entropy"));
    }
  }
  return kExitOk;
}

// "%.2f" (as the VAE's losses always printed), "%.4f" below 10 (a GAN's and a classifier's).
std::string FormatG(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), std::fabs(v) < 10 ? "%.4f" : "%.2f", v);
  return buf;
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", 100 * share);
  return buf;
}

// --judge: what the classifier says about --judge-samples samples of this epoch's model (f32,
// seed --seed), printed and returned for the epoch's JSON.
StatusOr<Json> JudgeEpoch(const Model& model, Classifier& judge, const FeatureStats& reference,
                          const TrainArgs& args, std::FILE* human) {
  EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                        Engine::Create(model, EngineOptions{.max_batch = 1000,
                                                            .threads = args.threads}));
  EVAE_ASSIGN_OR_RETURN(std::vector<float> samples,
                        DrawSamples(*engine, args.judge_samples, args.seed));
  EVAE_ASSIGN_OR_RETURN(JudgeReport r,
                        JudgeImages(judge, samples.data(), args.judge_samples, reference));
  std::fprintf(human, "  judge: %d samples, %s recognised, coverage KL %.4f nats, Frechet "
                      "distance %.3f\n",
               r.samples, Percent(r.recognised).c_str(), r.coverage_kl, r.frechet);
  return Json{{"samples", r.samples},
              {"recognised", JsonNumber(r.recognised)},
              {"coverage_kl", JsonNumber(r.coverage_kl)},
              {"frechet", JsonNumber(r.frechet)},
              {"histogram", r.histogram}};
}

// Where the last good checkpoint is, for the message of a run that stops part way.
std::string KeptCheckpoint(const TrainArgs& args, int saved_epoch) {
  if (saved_epoch > 0) {
    return "; " + args.out + " keeps epoch " + std::to_string(saved_epoch) +
           ", the last good checkpoint";
  }
  return "; no epoch finished in this run, so " + args.out + " was not written";
}

// Restricts `data` to --classes (one-class or few-class training), or to the classes a resumed
// checkpoint was trained on; records them in the model.
int SelectClasses(const TrainArgs& args, Model* model, MnistData* data) {
  if (!args.classes.empty()) {
    // One-class (or few-class) training: the training and test images of those labels only.
    StatusOr<std::vector<int>> classes = ParseClassList(args.classes, "--classes");
    if (!classes.ok()) return Fail(kExitUsage, classes.status().message());
    if (!args.resume.empty() && model->metadata().classes != *classes) {
      return Fail(kExitUsage, "--classes " + args.classes +
                                  " differs from the classes checkpoint " + args.resume +
                                  " was trained on");
    }
    data->train = SelectLabels(data->train, *classes);
    data->test = SelectLabels(data->test, *classes);
    if (data->train.count == 0 || data->test.count == 0) {
      return Fail(kExitBadInput,
                  args.data + " has no training or test images of --classes " + args.classes);
    }
    model->metadata().classes = *classes;
  } else if (!model->metadata().classes.empty()) {
    // Resuming a one-class checkpoint continues on its classes.
    data->train = SelectLabels(data->train, model->metadata().classes);
    data->test = SelectLabels(data->test, model->metadata().classes);
  }
  return kExitOk;
}

// A resumed checkpoint with enough epochs: nothing to train (tools/demo.sh re-runs rely on this),
// but --out still names the model the run ends with.
int NothingToTrain(const TrainArgs& args, Model* model, std::FILE* human) {
  std::fprintf(human, "checkpoint %s already has %d epochs (--epochs %d); nothing to train\n",
               args.resume.c_str(), model->metadata().epochs, args.epochs);
  if (args.out != args.resume) {
    model->metadata().edgevae_version = Version();
    if (Status s = SaveModel(args.out, *model); !s.ok()) return Fail(s);
    std::fprintf(human, "wrote %s (%s, %d epochs)\n", args.out.c_str(), args.shape.c_str(),
                 model->metadata().epochs);
  }
  if (args.json) PrintJson({{"shape", args.shape}, {"epochs", Json::array()}});
  return kExitOk;
}

// Prints where the epoch's training time went, and returns it for the JSON.
Json ReportProfile(const StepProfile& p, const ShapeInfo& shape, int images, double seconds,
                   std::FILE* human) {
  const double flops = TrainingFlopsPerImage(shape) * images;
  const double total = std::max(seconds, 1e-9);
  const double rest = total - p.gemm_s - p.pack_s - p.elementwise_s - p.optimizer_s;
  auto share = [total](double s) { return 100.0 * s / total; };
  std::fprintf(human,
               "  profile: GEMM %.3f s (%.0f%%, %.1f GFLOP/s over %.1f GFLOP), packing %.3f s "
               "(%.0f%%), element-wise %.3f s (%.0f%%), optimizer %.3f s (%.0f%%), rest "
               "%.3f s (%.0f%%); %.1f GFLOP/s overall\n",
               p.gemm_s, share(p.gemm_s), flops * 1e-9 / std::max(p.gemm_s, 1e-9), flops * 1e-9,
               p.pack_s, share(p.pack_s), p.elementwise_s, share(p.elementwise_s), p.optimizer_s,
               share(p.optimizer_s), rest, share(rest), flops * 1e-9 / total);
  // The GFLOP are those of the dense products: over the lit pixels the first layer does less
  // work, so its rate is an effective one.
  std::fprintf(human, "  first layer over the lit pixels only in %lld of %lld steps\n",
               static_cast<long long>(p.sparse_steps), static_cast<long long>(p.steps));
  return {{"gemm_s", p.gemm_s},
          {"sparse_steps", p.sparse_steps},
          {"steps", p.steps},
          {"pack_s", p.pack_s},
          {"elementwise_s", p.elementwise_s},
          {"optimizer_s", p.optimizer_s},
          {"gflop", flops * 1e-9}};
}

}  // namespace

int RunTrain(const TrainArgs& given) {
  TrainArgs args = given;
  std::FILE* human = HumanStream(args.json);
  // A file size limit (ulimit -f) then fails the write with EFBIG and a message, instead of
  // killing the process with SIGXFSZ part way through a checkpoint.
  std::signal(SIGXFSZ, SIG_IGN);

  int exit_code = kExitOk;
  std::optional<Model> model = PrepareModel(&args, &exit_code);
  if (!model) return exit_code;
  if (int code = CheckFamilyFlags(args, *model); code != kExitOk) return code;
  if (int code = CheckOutput(args.out, *model); code != kExitOk) return code;

  if (model->metadata().epochs >= args.epochs) return NothingToTrain(args, &*model, human);

  // Provenance: how this model was made (a resumed run adds its own command).
  std::string& command = model->metadata().command;
  command = command.empty() ? args.command_line : command + " && " + args.command_line;

  StatusOr<MnistData> data = LoadMnist(args.data);
  if (!data.ok()) return Fail(data.status());
  if (int code = SelectClasses(args, &*model, &*data); code != kExitOk) return code;
  StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(args.threads);
  if (!runtime.ok()) return Fail(runtime.status());

  TrainOptions options;
  options.batch = args.batch;
  options.lr = args.lr;
  options.lr_decay = args.lr_decay;
  options.seed = args.seed;
  options.precision = args.precision == "bf16" ? Precision::kBf16 : Precision::kFp32;
  StatusOr<Binarization> binarization = ParseBinarization(args.binarize);
  if (!binarization.ok()) return Fail(kExitUsage, "--binarize: " + binarization.status().message());
  options.binarization = *binarization;
  options.objective = args.objective == "iwae" ? Objective::kIwae : Objective::kElbo;
  options.adversarial = {.gan_reg = args.gan_reg,
                         .d_steps = args.d_steps,
                         .g_steps = args.g_steps,
                         .ali_loss = args.ali_loss == "standard" ? AliLoss::kStandard : AliLoss::kSu,
                         .aae_lambda = args.aae_lambda};
  const bool gan = IsAdversarial(model->shape().family);
  if (gan) options.beta1 = 0.5f;
  options.iw_samples = args.k;
  model->metadata().objective = options.objective == Objective::kIwae ? "iwae" : "";
  model->metadata().iw_samples = options.objective == Objective::kIwae ? args.k : 0;
  model->metadata().binarize = *binarization == Binarization::kNone ? "" : args.binarize;
  // Binarized training is evaluated on a binarized test set: one fixed draw from the seed.
  if (*binarization != Binarization::kNone) {
    data->test = BinarizeImages(data->test, args.seed, kBinarizeTestPass);
  }
  StatusOr<std::unique_ptr<Trainer>> trainer = CreateTrainer(&*model, runtime->get(), options);
  if (!trainer.ok()) return Fail(trainer.status());
  const Precision precision = (*trainer)->precision();
  model->metadata().precision = PrecisionName(precision);
  if (precision != options.precision) {
    std::fprintf(stderr,
                 "note: this CPU has no AVX512_BF16 (bf16 dot products): training in fp32\n");
  } else if (precision == Precision::kBf16) {
    std::fprintf(human, "training in bf16: products of bf16 operands summed in fp32; weights, "
                        "gradients and Adam in fp32\n");
  }

  // --judge: the classifier and its features of the test images, once; each epoch's samples are
  // judged against them.
  std::unique_ptr<Classifier> judge;
  std::optional<FeatureStats> judge_reference;
  if (!args.judge.empty()) {
    StatusOr<Model> judge_model = LoadModel(args.judge);
    if (!judge_model.ok()) return Fail(judge_model.status());
    StatusOr<std::unique_ptr<Classifier>> c = Classifier::Create(*judge_model, runtime->get());
    if (!c.ok()) return Fail(kExitBadInput, "--judge " + args.judge + ": " + c.status().message());
    judge = std::move(c).value();
    StatusOr<FeatureStats> reference = ReferenceFeatures(*judge, data->test);
    if (!reference.ok()) return Fail(reference.status());
    judge_reference = std::move(reference).value();
  }

  const bool live = ui::IsTerminal(STDERR_FILENO);
  ui::ProgressReporter progress(stderr, live, live ? ui::TerminalColumns(STDERR_FILENO) : 0);
  Json epochs_json = Json::array();
  // The epoch --out holds from this run (0: none yet; a resumed checkpoint written to the same
  // file counts).
  int saved_epoch = args.out == args.resume ? model->metadata().epochs : 0;

  while (model->metadata().epochs < args.epochs) {
    const int epoch = model->metadata().epochs + 1;
    (*trainer)->EnableProfile(args.profile);  // resets the counters
    StatusOr<EpochResult> result = (*trainer)->TrainEpoch(data->train, [&](const BatchProgress& p) {
      ui::ProgressState state;
      state.phase = "train";
      state.epoch = p.epoch;
      state.epochs = args.epochs;
      state.done = p.batch;
      state.total = p.batches;
      state.loss = p.loss;
      state.items_per_s = p.images_per_s;
      state.seconds = p.seconds;
      progress.Update(state, NowSeconds());
    });
    if (!result.ok()) {
      progress.Clear();
      return Fail(kExitBadInput, result.status().message() + KeptCheckpoint(args, saved_epoch));
    }

    EvalOptions eval_options;
    eval_options.seed = args.seed;
    const double test_start = NowSeconds();
    StatusOr<EvalResult> test =
        Evaluate(*model, runtime->get(), data->test, eval_options, [&](int done, int total) {
          const double now = NowSeconds();
          ui::ProgressState state = ui::ImagePassProgress("test", done, total, now - test_start);
          state.epoch = epoch;
          state.epochs = args.epochs;
          progress.Update(state, now);
        });
    progress.Clear();
    if (!test.ok()) {
      return Fail(kExitBadInput, "epoch " + std::to_string(epoch) + ": " + test.status().message() +
                                     KeptCheckpoint(args, saved_epoch));
    }

    model->metadata().test_loss = test->test_loss;
    model->metadata().edgevae_version = Version();
    // A failed save keeps the file as it was.
    if (Status s = SaveModel(args.out, *model); !s.ok()) {
      return Fail(kExitBadInput, "epoch " + std::to_string(epoch) + " was trained but not saved: " +
                                     s.message() + KeptCheckpoint(args, saved_epoch));
    }
    saved_epoch = model->metadata().epochs;

    const bool classifier = std::isfinite(test->accuracy);
    std::string players;
    for (const PlayerLoss& p : result->players) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "  %s %.4f", p.player, p.loss);
      players += buf;
    }
    // A GAN's train loss is its discriminator's, printed with the players'.
    const std::string train =
        players.empty() ? "  train " + FormatG(result->train_loss) : std::string();
    std::fprintf(human, "epoch %d%s  test %s%s%s  %.2f s\n", result->epoch, train.c_str(),
                 FormatG(test->test_loss).c_str(), players.c_str(),
                 classifier ? ("  accuracy " + Percent(test->accuracy)).c_str() : "",
                 result->seconds);
    Json epoch_json = {{"epoch", result->epoch},
                       {"train_loss", JsonNumber(result->train_loss)},
                       {"test_loss", JsonNumber(test->test_loss)}};
    if (classifier) epoch_json["test_accuracy"] = JsonNumber(test->accuracy);
    if (!result->players.empty()) {
      Json p = Json::object();
      for (const PlayerLoss& pl : result->players) p[pl.player] = JsonNumber(pl.loss);
      epoch_json["players"] = std::move(p);
    }
    if (judge) {
      StatusOr<Json> judged = JudgeEpoch(*model, *judge, *judge_reference, args, human);
      if (!judged.ok()) return Fail(judged.status());
      epoch_json["judge"] = std::move(judged).value();
    }
    epoch_json["seconds"] = JsonNumber(result->seconds);
    if (args.profile) {
      epoch_json["profile"] = ReportProfile((*trainer)->profile(), model->shape(),
                                            data->train.count, result->seconds, human);
    }
    std::fflush(human);
    epochs_json.push_back(std::move(epoch_json));
  }
  std::fprintf(human, "wrote %s (%s, %d epochs)\n", args.out.c_str(), args.shape.c_str(),
               model->metadata().epochs);

  if (args.json) {
    const bool vae = model->shape().is_vae();
    Json out = {{"shape", args.shape},
                {"family", FamilyName(model->shape().family)},
                {"precision", PrecisionName(precision)},
                {"binarize", args.binarize},
                {"objective", vae ? args.objective : gan ? "adversarial" : "cross-entropy"},
                {"k", args.objective == "iwae" ? args.k : 1}};
    if (gan) {
      if (model->shape().family == Family::kGan || model->shape().family == Family::kAli) {
        out["gan_reg"] = JsonNumber(args.gan_reg);
      }
      if (model->shape().family == Family::kAli) out["ali_loss"] = args.ali_loss;
      if (model->shape().family == Family::kAae) out["aae_lambda"] = JsonNumber(args.aae_lambda);
      out["d_steps"] = args.d_steps;
      out["g_steps"] = args.g_steps;
    }
    out["epochs"] = std::move(epochs_json);
    PrintJson(out);
  }
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kTrainCommand(
    {"train",
     "Train a VAE (or a GAN, ALI, or the digit classifier: --family) on MNIST; the model (with its "
     "optimizer state) is saved every epoch",
     10,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<TrainArgs>();
       cmd->add_option("--data", a->data, "Directory with the four MNIST IDX files")
           ->capture_default_str();
       CLI::Option* shape_opt = cmd->add_option("--shape", a->shape, "Model shape")
                                    ->check(CLI::IsMember(ShapeNames()))
                                    ->capture_default_str();
       cmd->add_option("--epochs", a->epochs, "Total epochs to reach (counting resumed ones)")
           ->check(CLI::Range(1, 1000000))
           ->capture_default_str();
       CLI::Option* batch_opt = cmd->add_option("--batch", a->batch, "Minibatch size")
                                    ->check(CLI::Range(1, kMaxTrainBatch))
                                    ->capture_default_str();
       CLI::Option* lr_opt = cmd->add_option("--lr", a->lr, "Adam learning rate")
                                 ->check(kPositiveFinite)
                                 ->capture_default_str();
       CLI::Option* lr_decay_opt =
           cmd->add_option("--lr-decay", a->lr_decay,
                           "Learning-rate decay per epoch: epoch e steps with lr * "
                           "decay^(e - 1) (1: constant)")
               ->check(CLI::Range(1e-6, 1.0))
               ->capture_default_str();
       CLI::Option* seed_opt = cmd->add_option("--seed", a->seed, "Seed of every random draw")
                                   ->check(kUnsigned64)
                                   ->capture_default_str();
       AddThreads(cmd, &a->threads);
       cmd->add_option("--out", a->out, "Model file to write (rewritten after every epoch)")
           ->required();
       cmd->add_option("--resume", a->resume,
                       "Checkpoint to continue; flags not given take its seed, batch, lr, "
                       "lr decay, precision, binarization and objective");
       CLI::Option* precision_opt =
           cmd->add_option("--precision", a->precision,
                           "Arithmetic of the dense matrix products: fp32, or bf16 operands summed "
                           "in fp32 on CPUs with AVX512_BF16 (elsewhere fp32, with a note)")
               ->check(CLI::IsMember({"fp32", "bf16"}))
               ->capture_default_str();
       CLI::Option* binarize_opt =
           cmd->add_option("--binarize", a->binarize,
                           "Binarized MNIST: dynamic (a new Bernoulli draw of every pixel each "
                           "epoch, from the seed), static (one fixed draw), or none (grey "
                           "values); the test loss is then on a binarized test set")
               ->check(CLI::IsMember({"none", "dynamic", "static"}))
               ->capture_default_str();
       CLI::Option* objective_opt =
           cmd->add_option("--objective", a->objective,
                           "What to minimise: elbo (the negative ELBO, one sample per image, "
                           "analytic KL) or iwae (the negative importance-weighted bound of "
                           "Burda et al. with --k samples per image; the train loss is then that "
                           "bound)")
               ->check(CLI::IsMember({"elbo", "iwae"}))
               ->capture_default_str();
       CLI::Option* k_opt = cmd->add_option("--k", a->k, "Samples per image for --objective iwae")
                                ->check(CLI::Range(1, kMaxIwSamples))
                                ->capture_default_str();
       cmd->add_flag("--profile", a->profile,
                     "Print where each epoch's training time went (GEMMs, packing, element-wise "
                     "kernels, optimizer, rest) and the GEMM rate");
       cmd->add_option("--classes", a->classes,
                       "Train (and test) on these labels only, e.g. 3 or 0,1,7: the one-class "
                       "protocol of anomaly detection; stored in the model's metadata")
           ->type_name("LIST");
       CLI::Option* family_opt =
           cmd->add_option("--family", a->family,
                           "What to train, by family: vae (shape mnist), gan (shape gan: a "
                           "generator and a discriminator), ali (shape ali: an encoder, a "
                           "generator and a discriminator of (x, z) pairs), aae (shape aae: a "
                           "deterministic encoder, a decoder and a discriminator of codes) or "
                           "classifier (shape judge); --shape picks any shape")
               ->check(CLI::IsMember({"vae", "gan", "ali", "aae", "classifier"}));
       CLI::Option* gan_reg_opt =
           cmd->add_option("--gan-reg", a->gan_reg,
                           "GAN and ALI: lambda of the generator's ||G(z) - G_old(z)||^2 term, "
                           "G_old the generator one step earlier (0: the standard "
                           "non-saturating loss)")
               ->check(CLI::Range(0.0, 1e6))
               ->capture_default_str();
       CLI::Option* d_steps_opt =
           cmd->add_option("--d-steps", a->d_steps,
                           "GAN, ALI, AAE: discriminator steps per iteration, each on its own "
                           "batch")
               ->check(CLI::Range(1, kMaxPlayerSteps))
               ->capture_default_str();
       CLI::Option* g_steps_opt =
           cmd->add_option("--g-steps", a->g_steps,
                           "GAN, ALI, AAE: generator (ALI, AAE: encoder-and-generator) steps per "
                           "iteration")
               ->check(CLI::Range(1, kMaxPlayerSteps))
               ->capture_default_str();
       CLI::Option* ali_loss_opt =
           cmd->add_option("--ali-loss", a->ali_loss,
                           "ALI: the encoder's and generator's loss, su (the seed paper's: both "
                           "sides push the discriminator towards 1) or standard")
               ->check(CLI::IsMember({"su", "standard"}))
               ->capture_default_str();
       CLI::Option* aae_lambda_opt =
           cmd->add_option("--aae-lambda", a->aae_lambda,
                           "AAE: the weight lambda of the reconstruction term "
                           "lambda ||x - G(E(x))||^2 beside the encoder's -log D(E(x))")
               ->check(CLI::Range(1e-6, 1e6))
               ->capture_default_str();
       cmd->add_option("--judge", a->judge,
                       "A classifier file (models/judge.evae): after every epoch, judge "
                       "--judge-samples samples of the model (share recognised, mode coverage, "
                       "Frechet distance; in the JSON per epoch)");
       cmd->add_option("--judge-samples", a->judge_samples, "Samples per epoch for --judge")
           ->check(CLI::Range(2, 100000))
           ->capture_default_str();
       cmd->add_flag("--json", a->json,
                     "Print one JSON object on stdout at the end; progress goes to stderr");
       return [=] {
         a->shape_given = shape_opt->count() > 0;
         a->batch_given = batch_opt->count() > 0;
         a->lr_given = lr_opt->count() > 0;
         a->lr_decay_given = lr_decay_opt->count() > 0;
         a->seed_given = seed_opt->count() > 0;
         a->precision_given = precision_opt->count() > 0;
         a->binarize_given = binarize_opt->count() > 0;
         a->objective_given = objective_opt->count() > 0;
         a->k_given = k_opt->count() > 0;
         a->family_given = family_opt->count() > 0;
         a->gan_reg_given = gan_reg_opt->count() > 0;
         a->d_steps_given = d_steps_opt->count() > 0;
         a->g_steps_given = g_steps_opt->count() > 0;
         a->ali_loss_given = ali_loss_opt->count() > 0;
         a->aae_lambda_given = aae_lambda_opt->count() > 0;
         a->command_line = CommandLine(invocation);
         return RunTrain(*a);
       };
     }});

}  // namespace
}  // namespace edgevae::cli
