// edgevae: the command-line shell over the library. This file owns the argument parser (CLI11):
// names, defaults, ranges and help. Values the parser rejects are usage errors (exit 2); what the
// library rejects is bad input (exit 1). Either way stderr gets exactly one line.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "commands.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"

namespace edgevae::cli {
namespace {

constexpr int kMaxImages = 65536;
// --threads goes up to kMaxThreads (edgevae/runtime.h), the library's own limit.

// A finite number > 0 (CLI::PositiveNumber lets NaN through).
const CLI::Validator kPositiveFinite(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) {
        return "expected a finite number > 0, got '" + text + "'";
      }
      return "";
    },
    "POSITIVE");

// A finite number in [lo, hi] (CLI::Range lets NaN through: every comparison with it is false).
CLI::Validator FiniteRange(double lo, double hi) {
  char range[64];
  std::snprintf(range, sizeof(range), "[%g, %g]", lo, hi);
  return CLI::Validator(
      [lo, hi, text_range = std::string(range)](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
          return "expected a number in " + text_range + ", got '" + text + "'";
        }
        return "";
      },
      "FLOAT in " + std::string(range));
}

// A decimal unsigned 64-bit number (CLI11 would wrap "-1" around to 2^64 - 1).
const CLI::Validator kUnsigned64(
    [](std::string& text) -> std::string {
      if (text.empty() || text.size() > 20 ||
          text.find_first_not_of("0123456789") != std::string::npos ||
          (text.size() == 20 && text > "18446744073709551615")) {
        return "expected an integer from 0 to 18446744073709551615, got '" + text + "'";
      }
      return "";
    },
    "UINT64");

std::vector<std::string> ShapeNames() {
  std::vector<std::string> names;
  for (const ShapeInfo& s : CompiledShapes()) names.emplace_back(s.name);
  return names;
}

void AddThreads(CLI::App* cmd, int* threads) {
  cmd->add_option(
         "--threads", *threads,
         "Worker threads; 0 = one per logical core (at most " + std::to_string(kMaxThreads) + ")")
      ->check(CLI::Range(0, kMaxThreads))
      ->capture_default_str();
}

// --preview / --no-preview; the flags exclude each other.
struct PreviewFlags {
  bool force = false;
  bool suppress = false;
  Preview mode() const {
    return suppress ? Preview::kSuppress : force ? Preview::kForce : Preview::kAuto;
  }
};

void AddPreview(CLI::App* cmd, PreviewFlags* flags) {
  CLI::Option* force =
      cmd->add_flag("--preview", flags->force,
                    "Print a half-block preview on stdout even when it is not a terminal");
  CLI::Option* suppress = cmd->add_flag("--no-preview", flags->suppress, "Never print the preview");
  force->excludes(suppress);
}

// "edgevae train --epochs 10 ...": the invocation as a shell would re-run it (arguments other
// than plain words single-quoted), for a model's metadata.command.
std::string CommandLine(int argc, char** argv) {
  std::string line = "edgevae";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      line += " " + arg;
      continue;
    }
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += " " + quoted + "'";
  }
  return line;
}

int Main(int argc, char** argv) {
  CLI::App app("Train, evaluate and sample a variational autoencoder on MNIST (XNNPACK + Highway).",
               "edgevae");
  app.set_version_flag("--version", std::string(Version()));
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 bad input (a file or value the library rejects), 2 bad usage.\n"
      "Run 'edgevae <command> --help' for the options of a command.");

  // train
  TrainArgs train;
  CLI::App* train_cmd = app.add_subcommand(
      "train", "Train a VAE on MNIST; the model (with its optimizer state) is saved every epoch");
  train_cmd->add_option("--data", train.data, "Directory with the four MNIST IDX files")
      ->capture_default_str();
  CLI::Option* shape_opt = train_cmd->add_option("--shape", train.shape, "Model shape")
                               ->check(CLI::IsMember(ShapeNames()))
                               ->capture_default_str();
  train_cmd->add_option("--epochs", train.epochs, "Total epochs to reach (counting resumed ones)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  CLI::Option* batch_opt = train_cmd->add_option("--batch", train.batch, "Minibatch size")
                               ->check(CLI::Range(1, kMaxTrainBatch))
                               ->capture_default_str();
  CLI::Option* lr_opt = train_cmd->add_option("--lr", train.lr, "Adam learning rate")
                            ->check(kPositiveFinite)
                            ->capture_default_str();
  CLI::Option* seed_opt = train_cmd->add_option("--seed", train.seed, "Seed of every random draw")
                              ->check(kUnsigned64)
                              ->capture_default_str();
  AddThreads(train_cmd, &train.threads);
  train_cmd->add_option("--out", train.out, "Model file to write (rewritten after every epoch)")
      ->required();
  train_cmd->add_option("--resume", train.resume,
                        "Checkpoint to continue; flags not given take its seed, batch and lr");
  train_cmd->add_flag("--profile", train.profile,
                      "Print where each epoch's training time went (GEMMs, packing, element-wise "
                      "kernels, optimizer, rest) and the GEMM rate");
  train_cmd->add_option("--classes", train.classes,
                        "Train (and test) on these labels only, e.g. 3 or 0,1,7: the one-class "
                        "protocol of anomaly detection; stored in the model's metadata")
      ->type_name("LIST");
  train_cmd->add_flag("--json", train.json,
                      "Print one JSON object on stdout at the end; progress goes to stderr");

  // eval
  EvalArgs eval;
  CLI::App* eval_cmd =
      app.add_subcommand("eval", "Test loss (and importance-weighted NLL) on the MNIST test set");
  eval_cmd->add_option("--model", eval.model, "Model file")->required();
  eval_cmd->add_option("--data", eval.data, "Directory with the four MNIST IDX files")
      ->capture_default_str();
  eval_cmd->add_option("--iw", eval.iw, "Also estimate -log p(x) with K importance samples")
      ->check(CLI::Range(1, 1000000));
  eval_cmd->add_option("--seed", eval.seed, "Seed of the evaluation noise")
      ->check(kUnsigned64)
      ->capture_default_str();
  AddThreads(eval_cmd, &eval.threads);
  eval_cmd->add_flag("--json", eval.json, "Print one JSON object on stdout");

  // sample
  SampleArgs sample;
  PreviewFlags sample_preview;
  CLI::App* sample_cmd =
      app.add_subcommand("sample", "Decode z ~ N(0, I) into a PNG grid of generated digits");
  sample_cmd->add_option("--model", sample.model, "Model file")->required();
  sample_cmd->add_option("-n,--count", sample.n, "Number of images")
      ->check(CLI::Range(1, kMaxImages))
      ->capture_default_str();
  sample_cmd->add_option("--seed", sample.seed, "Seed of the latent draws")
      ->check(kUnsigned64)
      ->capture_default_str();
  sample_cmd->add_option("--out", sample.out, "PNG file to write")->required();
  AddThreads(sample_cmd, &sample.threads);
  AddPreview(sample_cmd, &sample_preview);

  // reconstruct
  ReconstructArgs recon;
  PreviewFlags recon_preview;
  CLI::App* recon_cmd = app.add_subcommand(
      "reconstruct", "The first n test images beside their reconstructions, as a PNG grid");
  recon_cmd->add_option("--model", recon.model, "Model file")->required();
  recon_cmd->add_option("--data", recon.data, "Directory with the four MNIST IDX files")
      ->capture_default_str();
  recon_cmd->add_option("-n,--count", recon.n, "Number of test images")
      ->check(CLI::Range(1, kMaxImages))
      ->capture_default_str();
  recon_cmd->add_option("--out", recon.out, "PNG file to write")->required();
  AddThreads(recon_cmd, &recon.threads);
  AddPreview(recon_cmd, &recon_preview);

  // info
  InfoArgs info;
  CLI::App* info_cmd = app.add_subcommand(
      "info", "What a model file holds, whether it loads, and this machine's CPU and SIMD target");
  info_cmd->add_option("--model", info.model, "Model file")->required();
  info_cmd->add_flag("--json", info.json, "Print one JSON object on stdout");

  // bench
  BenchArgs bench;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench", "Latency of one inference call: min / median / max, images/s, peak RSS");
  bench_cmd->add_option("--model", bench.model, "Model file")->required();
  bench_cmd->add_option("--op", bench.op, "Operation to time")
      ->check(CLI::IsMember({"encode", "decode", "reconstruct", "sample"}))
      ->capture_default_str();
  bench_cmd->add_option("--batch", bench.batch, "Images per call")
      ->check(CLI::Range(1, kMaxImages))
      ->capture_default_str();
  bench_cmd
      ->add_option(
          "--threads", bench.threads,
          "Worker threads; 0 = one per logical core (at most " + std::to_string(kMaxThreads) + ")")
      ->check(CLI::Range(0, kMaxThreads))
      ->capture_default_str();
  bench_cmd->add_option("--warmup", bench.warmup, "Untimed calls first")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  bench_cmd->add_option("--runs", bench.runs, "Timed calls")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  bench_cmd->add_option("--data", bench.data,
                        "MNIST directory: encode/reconstruct the first 1,000 test images in turn "
                        "(default: synthetic images, 25 % random nonzero pixels)");
  bench_cmd->add_flag("--json", bench.json, "Print one JSON object on stdout");

  // convert
  ConvertArgs convert;
  CLI::App* convert_cmd = app.add_subcommand(
      "convert",
      "Import a PyTorch state_dict (safetensors), export one, or strip a checkpoint's optimizer "
      "state");
  convert_cmd->footer(
      "Modes (exactly one input):\n"
      "  --from-safetensors FILE --out FILE   the PyTorch VAE example's state_dict -> .evae\n"
      "  --in FILE --out FILE [--dtype f32|f16|int8] [--calib-data DIR] [--calibration M]\n"
      "                                       a model or checkpoint -> deployable model; int8\n"
      "                                       is calibrated on MNIST training images\n"
      "  --in FILE --to-safetensors FILE      a model -> state_dict for PyTorch");
  CLI::Option* from_st_opt =
      convert_cmd
          ->add_option("--from-safetensors", convert.from_safetensors,
                       "safetensors file with fc1, fc21, fc22, fc3, fc4 .weight/.bias (F32)")
          ->type_name("FILE");
  CLI::Option* in_opt =
      convert_cmd->add_option("--in", convert.in, "Model file (.evae) to read")->type_name("FILE");
  CLI::Option* out_opt =
      convert_cmd->add_option("--out", convert.out, "Model file (.evae) to write")
          ->type_name("FILE");
  CLI::Option* to_st_opt = convert_cmd
                               ->add_option("--to-safetensors", convert.to_safetensors,
                                            "safetensors file to write (with --in)")
                               ->type_name("FILE");
  convert_cmd->add_option("--dtype", convert.dtype, "Weight type of the written model")
      ->check(CLI::IsMember({"f32", "f16", "int8"}))
      ->capture_default_str();
  convert_cmd
      ->add_option("--calib-data", convert.calib_data,
                   "MNIST directory: int8 calibration (first 2,000 training images), the choice "
                   "of calibration (last 10,000 training images) and golden vectors (test images)")
      ->capture_default_str();
  convert_cmd
      ->add_option("--calibration", convert.calibration,
                   "Activation ranges for int8: min/max, percentile, MSE-optimal, or auto (all "
                   "three, keeping the one with the lowest loss on held-out training images)")
      ->check(CLI::IsMember({"auto", "minmax", "percentile", "mse"}))
      ->capture_default_str();
  convert_cmd
      ->add_option("--class-components", convert.class_components,
                   "Gaussians per digit in the stored per-class latent statistics (k-means of "
                   "the training images' encodings; 1 = one Gaussian per class)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  AddThreads(convert_cmd, &convert.threads);

  // verify
  VerifyArgs verify;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "Re-run a converted model's golden vectors and compare with its f32 reference");
  verify_cmd->add_option("--model", verify.model, "Model file")->required();
  AddThreads(verify_cmd, &verify.threads);
  verify_cmd->add_flag("--json", verify.json, "Print one JSON object on stdout");
  // score and calibrate share the scoring flags.
  const auto add_method = [&](CLI::App* cmd, ScoreMethodArgs* m) {
    cmd->add_option("--method", m->method,
                    "Score: bce or mse (reconstruction error, z = mu), elbo (negative ELBO over S "
                    "samples), iw (importance-weighted NLL, K samples); suffix -ic subtracts the "
                    "input complexity L(x) (zlib length in nats, Serra et al. 2020), -icr "
                    "divides by it")
        ->check(CLI::IsMember({"bce", "mse", "elbo", "iw", "bce-ic", "mse-ic", "elbo-ic", "iw-ic",
                               "bce-icr", "mse-icr", "elbo-icr", "iw-icr"}))
        ->capture_default_str();
    cmd->add_option("--samples", m->samples, "S: samples per image for elbo")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--iw", m->iw, "K: importance samples per image for iw")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cmd->add_option("--seed", m->seed, "Seed of the sampling noise")
        ->check(kUnsigned64)
        ->capture_default_str();
    AddThreads(cmd, &m->threads);
  };

  // score
  ScoreArgs score;
  CLI::App* score_cmd = app.add_subcommand(
      "score", "Anomaly score per image; with labels, AUROC and AUPR against the normal classes");
  score_cmd->add_option("--model", score.model, "Model file")->required();
  score_cmd
      ->add_option("--input", score.input,
                   "IDX images file (.gz too), PNG/PGM file, folder of them, or - for raw "
                   "784-byte frames on stdin")
      ->required();
  score_cmd->add_option("--labels", score.labels, "IDX labels file for an IDX --input");
  score_cmd
      ->add_option("--idle-timeout-ms", score.idle_timeout_ms,
                   "With --input -: a frame cut short by this long a pause is dropped and the "
                   "next byte starts a new frame (0: wait forever)")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  score_cmd
      ->add_option("--normal-classes", score.normal_classes,
                   "Labels that are normal, e.g. 3 or 0,1,7 (default: the classes the model was "
                   "trained on); other labels are anomalies")
      ->type_name("LIST");
  score_cmd->add_option("--ood", score.ood,
                        "Another input (IDX file or folder) whose items all count as anomalies, "
                        "e.g. Fashion-MNIST against an MNIST model");
  add_method(score_cmd, &score.method);
  CLI::Option* score_json =
      score_cmd->add_flag("--json", score.json, "One JSON object per line, then a summary line");
  CLI::Option* score_csv = score_cmd->add_flag("--csv", score.csv, "CSV records (summary on stderr)");
  score_json->excludes(score_csv);
  score_cmd->add_flag("--summary-only", score.summary_only, "Print the summary only");

  // calibrate
  CalibrateArgs calibrate;
  CLI::App* calibrate_cmd = app.add_subcommand(
      "calibrate", "Anomaly threshold at a target false-positive rate, stored in the model");
  calibrate_cmd->add_option("--model", calibrate.model, "Model file")->required();
  calibrate_cmd
      ->add_option("--data", calibrate.data,
                   "Normal images: an MNIST-style directory (the last --images training images "
                   "of the model's classes; the test set is left for evaluation), or held-out "
                   "images as an IDX file (with --labels: those of the model's classes) or a "
                   "folder of PNG/PGM files")
      ->capture_default_str();
  calibrate_cmd->add_option("--labels", calibrate.labels, "IDX labels for an IDX --data file");
  calibrate_cmd->add_option("--fpr", calibrate.fpr, "Target false-positive rate")
      ->check(FiniteRange(1e-9, 0.999999))
      ->capture_default_str();
  calibrate_cmd->add_option("--images", calibrate.images, "Normal images to calibrate on")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  add_method(calibrate_cmd, &calibrate.method);
  calibrate_cmd->add_option("--out", calibrate.out, "Model file to write (may be --model)")
      ->required();
  calibrate_cmd->add_flag("--json", calibrate.json, "Print one JSON object on stdout");

  from_st_opt->excludes(in_opt);
  from_st_opt->excludes(to_st_opt);
  out_opt->excludes(to_st_opt);

  // CLI11 reports a mistyped command as a missing one; name it instead.
  const auto is_command = [&](const std::string& name) {
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == name) return true;
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    return Fail(kExitUsage, "unknown command '" + std::string(argv[1]) +
                                "'; commands: train, eval, sample, reconstruct, info, bench, "
                                "convert, verify, score, calibrate (see 'edgevae --help')");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string hint = "edgevae --help";
    for (const CLI::App* sub : app.get_subcommands())
      hint = "edgevae " + sub->get_name() + " --help";
    return Fail(kExitUsage, std::string(e.what()) + " (see '" + hint + "')");
  }

  if (train_cmd->parsed()) {
    train.shape_given = shape_opt->count() > 0;
    train.batch_given = batch_opt->count() > 0;
    train.lr_given = lr_opt->count() > 0;
    train.seed_given = seed_opt->count() > 0;
    train.command_line = CommandLine(argc, argv);
    return RunTrain(train);
  }
  if (eval_cmd->parsed()) return RunEval(eval);
  if (sample_cmd->parsed()) {
    sample.preview = sample_preview.mode();
    return RunSample(sample);
  }
  if (recon_cmd->parsed()) {
    recon.preview = recon_preview.mode();
    return RunReconstruct(recon);
  }
  if (info_cmd->parsed()) return RunInfo(info);
  if (bench_cmd->parsed()) return RunBench(bench);
  if (verify_cmd->parsed()) return RunVerify(verify);
  if (convert_cmd->parsed()) {
    convert.command_line = CommandLine(argc, argv);
    return RunConvert(convert);
  }
  if (score_cmd->parsed()) return RunScore(score);
  if (calibrate_cmd->parsed()) return RunCalibrate(calibrate);
  return Fail(kExitUsage, "no command given (see 'edgevae --help')");
}

}  // namespace
}  // namespace edgevae::cli

int main(int argc, char** argv) {
  // The library reports failures as Status; exceptions can only come from the parser (handled in
  // Main), JSON or allocation.
  try {
    return edgevae::cli::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    return edgevae::cli::Fail(edgevae::cli::kExitBadInput, "out of memory");
  } catch (const std::exception& e) {
    return edgevae::cli::Fail(edgevae::cli::kExitBadInput, e.what());
  }
}
