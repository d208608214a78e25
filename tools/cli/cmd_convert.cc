// edgevae convert: between PyTorch's state_dict (safetensors) and .evae files, and from a model or
// training checkpoint to a deployable f32 or int8 model carrying golden vectors.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/class_latents.h"
#include "edgevae/decoder_only.h"
#include "edgevae/engine.h"
#include "edgevae/golden.h"
#include "edgevae/idx.h"
#include "edgevae/latent.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/quant.h"
#include "edgevae/runtime.h"
#include "edgevae/safetensors.h"
#include "edgevae/shape.h"
#include "options.h"

namespace edgevae::cli {

// Exactly one input (--from-safetensors or --in) and one output (--out or --to-safetensors);
// RunConvert reports other combinations as usage errors.
struct ConvertArgs {
  std::string from_safetensors;
  std::string in;
  std::string out;
  std::string to_safetensors;
  std::string dtype = "f32";                 // of --out: f32, f16 or int8
  std::string calib_data = kDefaultDataDir;  // MNIST: calibration, validation and golden images
  std::string calibration = "auto";          // auto | minmax | percentile | mse
  int threads = 0;
  int class_components = 3;  // Gaussians per class in metadata.class_latents (k-means)
  double class_temperature = 1;  // their covariances scaled by its square
  bool decoder_only = false;  // --in an int8 VAE -> its decoder alone (edgevae/decoder_only.h)
  std::string layout;  // of an int8 --out: rows | cortex-m; empty: rows, or --in's layout
  std::string command_line;  // this invocation, appended to metadata.command
};

namespace {

constexpr int kGoldenImages = 8;

std::string ShapeText(const ShapeInfo& s) { return std::string(s.name) + " " + s.SizesText(); }

}  // namespace

// --layout NAME on the int8 model about to be written (unset: leave it as it is).
void ApplyLayout(const ConvertArgs& args, Int8Model* m) {
  if (!args.layout.empty()) {
    m->layout = args.layout == "cortex-m" ? WeightLayout::kCortexM : WeightLayout::kRows;
  }
}

// --in an int8 file --layout NAME --out FILE: the same model, metadata and golden vectors, its
// weights stored in another layout.
int ConvertLayout(const ConvertArgs& args, AnyModel any) {
  Int8Model& m = *any.int8;
  const WeightLayout from = m.layout;
  ApplyLayout(args, &m);
  std::string& command = m.metadata.command;
  command = command.empty() ? args.command_line : command + " && " + args.command_line;
  if (Status s = SaveInt8Model(args.out, m, any.golden ? &*any.golden : nullptr); !s.ok()) {
    return Fail(s);
  }
  std::printf("wrote %s (%s, int8, weights in the %s layout, from the %s layout of %s)\n",
              args.out.c_str(), ShapeText(m.shape).c_str(), WeightLayoutName(m.layout),
              WeightLayoutName(from), args.in.c_str());
  return kExitOk;
}

// --decoder-only: the int8 layers of the decoder, unchanged, with the metadata that picks a
// digit, and golden vectors of its own samples.
int ConvertDecoderOnly(const ConvertArgs& args) {
  if (args.in.empty() || args.out.empty()) {
    return Fail(kExitUsage, "--decoder-only needs --in FILE and --out FILE (see 'edgevae convert "
                            "--help')");
  }
  StatusOr<AnyModel> any = LoadAnyModel(args.in);
  if (!any.ok()) return Fail(any.status());
  if (!any->int8) {
    return Fail(kExitUsage, args.in + " is " + any->dtype() +
                                ": --decoder-only cuts an int8 file's decoder (make one with "
                                "edgevae convert --dtype int8)");
  }
  StatusOr<Int8Model> decoder = DecoderOnly(*any->int8);
  if (!decoder.ok()) return Fail(decoder.status());
  ApplyLayout(args, &*decoder);
  std::string& command = decoder->metadata.command;
  command = command.empty() ? args.command_line : command + " && " + args.command_line;
  StatusOr<GoldenVectors> golden = DecoderGoldenVectors(*decoder, kGoldenImages);
  if (!golden.ok()) return Fail(golden.status());
  if (Status s = SaveInt8Model(args.out, *decoder, &*golden); !s.ok()) return Fail(s);
  std::printf("wrote %s (%s, int8%s, the decoder of %s: %zu of %zu layers, %zu class Gaussians, "
              "%d golden vectors of its own samples)\n",
              args.out.c_str(), ShapeText(decoder->shape).c_str(),
              decoder->layout == WeightLayout::kCortexM ? " in the cortex-m layout" : "",
              args.in.c_str(),
              decoder->layers.size(), any->int8->layers.size(),
              decoder->metadata.class_latents.size(), golden->count);
  return kExitOk;
}

int ConvertToOut(const ConvertArgs& args) {
  if (args.decoder_only) return ConvertDecoderOnly(args);
  const bool from_safetensors = !args.from_safetensors.empty();
  const bool from_evae = !args.in.empty();
  // The parser already refuses both inputs, and --to-safetensors with --from-safetensors.
  if (from_safetensors == from_evae) {
    return Fail(kExitUsage,
                "convert needs exactly one input: --from-safetensors FILE or --in FILE (see "
                "'edgevae convert --help')");
  }
  const bool to_evae = !args.out.empty();
  const bool to_safetensors = !args.to_safetensors.empty();
  if (to_evae == to_safetensors) {
    return Fail(kExitUsage,
                std::string(from_safetensors ? "--from-safetensors needs --out FILE"
                                             : "--in needs exactly one output: --out FILE or "
                                               "--to-safetensors FILE") +
                    " (see 'edgevae convert --help')");
  }

  if (from_safetensors) {
    StatusOr<Model> model = ImportSafetensors(args.from_safetensors);
    if (!model.ok()) return Fail(model.status());
    if (Status s = SaveModel(args.out, *model); !s.ok()) return Fail(s);
    std::printf("wrote %s (%s, %s, from %s)\n", args.out.c_str(), ShapeText(model->shape()).c_str(),
                args.dtype.c_str(), args.from_safetensors.c_str());
    return kExitOk;
  }

  if (!args.layout.empty() && !to_safetensors) {
    // An int8 file in another layout; an f32 one goes on to --dtype int8 below.
    StatusOr<AnyModel> any = LoadAnyModel(args.in);
    if (!any.ok()) return Fail(any.status());
    if (any->int8) return ConvertLayout(args, std::move(any).value());
    if (args.dtype != "int8") {
      return Fail(kExitUsage, "--layout " + args.layout + " stores int8 weights: " + args.in +
                                  " is " + any->dtype() + ", so give --dtype int8 as well");
    }
  }
  StatusOr<Model> model = LoadModel(args.in);
  if (!model.ok()) return Fail(model.status());
  if (to_safetensors) {
    if (Status s = ExportSafetensors(args.to_safetensors, *model); !s.ok()) return Fail(s);
    std::printf("wrote %s (safetensors, %s, F32)\n", args.to_safetensors.c_str(),
                ShapeText(model->shape()).c_str());
    return kExitOk;
  }
  // The deployable model: the weights and metadata, without a checkpoint's Adam moments, with
  // golden vectors (test images and the f32 reconstructions) that `edgevae verify` re-runs.
  const bool had_optimizer = model->has_optimizer();
  model->DropOptimizer();
  const std::string trained_shape(model->shape().name);
  if (!model->shape().deploy.empty()) {  // a GAN deploys its generator, ALI its encoder and generator
    StatusOr<Model> deployable = DeployableModel(*model);
    if (!deployable.ok()) return Fail(deployable.status());
    model = std::move(deployable);
    std::printf("%s: what a device runs, shape '%s' (the discriminator only trains)\n",
                trained_shape.c_str(), std::string(model->shape().name).c_str());
  }
  if (!model->shape().has_decoder()) {
    // A classifier (the judge) deploys as its f32 weights: no engine, golden vectors or latents.
    if (args.dtype != "f32") {
      return Fail(kExitUsage, "--dtype " + args.dtype + ": shape '" +
                                  std::string(model->shape().name) + "' is a " +
                                  FamilyName(model->shape().family) + ", stored as f32 only");
    }
    std::string& command = model->metadata().command;
    command = command.empty() ? args.command_line : command + " && " + args.command_line;
    if (Status s = SaveModel(args.out, *model); !s.ok()) return Fail(s);
    std::printf("wrote %s (%s, f32, %d epochs%s)\n", args.out.c_str(),
                ShapeText(model->shape()).c_str(), model->metadata().epochs,
                had_optimizer ? ", optimizer state dropped" : "");
    return kExitOk;
  }
  StatusOr<MnistData> data = LoadMnist(args.calib_data);
  if (!data.ok()) return Fail(data.status());
  StatusOr<GoldenVectors> golden = MakeGoldenVectors(*model, data->test, kGoldenImages);
  if (!golden.ok()) return Fail(golden.status());

  // Per-class statistics of the f32 encoder's mu over the training images, so that the deployed
  // model can be asked for a given digit (edgevae/latent.h); and the provenance of the file. A
  // generator alone has no encoder to take them with.
  if (model->shape().has_encoder()) {
    StatusOr<std::unique_ptr<Engine>> f32 =
        Engine::Create(*model, EngineOptions{.max_batch = 500, .threads = args.threads});
    if (!f32.ok()) return Fail(f32.status());
    StatusOr<std::vector<ClassLatentStats>> stats =
        ComputeClassLatentStats(**f32, data->train, args.class_components, args.class_temperature);
    if (!stats.ok()) return Fail(stats.status());
    model->metadata().class_latents = std::move(stats).value();
    model->metadata().class_temperature = args.class_temperature;
    std::printf("class latents: %zu Gaussians (up to %d per class) over %d training images, "
                "temperature %g\n",
                model->metadata().class_latents.size(), args.class_components, data->train.count,
                args.class_temperature);
  }
  std::string& command = model->metadata().command;
  command = command.empty() ? args.command_line : command + " && " + args.command_line;

  if (args.dtype == "f32") {
    // The same arithmetic on another CPU or SIMD target differs by a few ulps.
    golden->max_abs_error = 1e-4;
    golden->mean_abs_error = 1e-5;
    if (Status s = SaveModelWithGolden(args.out, *model, *golden); !s.ok()) return Fail(s);
    std::printf("wrote %s (%s, f32, %d epochs%s, %d golden vectors)\n", args.out.c_str(),
                ShapeText(model->shape()).c_str(), model->metadata().epochs,
                had_optimizer ? ", optimizer state dropped" : "", golden->count);
    return kExitOk;
  }

  if (args.dtype == "f16") {
    // Thresholds from the f16 model's own error where it can run; elsewhere (no fp16
    // arithmetic here) from the rounding of half precision alone.
    golden->max_abs_error = 0.01;
    golden->mean_abs_error = 0.001;
    StatusOr<std::unique_ptr<Engine>> f16 = Engine::Create(
        *model, EngineOptions{.max_batch = golden->count, .threads = 1, .f16 = true});
    if (f16.ok()) {
      StatusOr<GoldenCheck> check = CheckGoldenVectors(**f16, *golden);
      if (!check.ok()) return Fail(check.status());
      golden->max_abs_error = 1.5 * check->max_abs_error + 0.002;
      golden->mean_abs_error = 1.5 * check->mean_abs_error + 0.0002;
    }
    if (Status s = SaveF16Model(args.out, *model, &*golden); !s.ok()) return Fail(s);
    std::printf("wrote %s (%s, f16, %d epochs, %d golden vectors)\n", args.out.c_str(),
                ShapeText(model->shape()).c_str(), model->metadata().epochs, golden->count);
    return kExitOk;
  }

  StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(args.threads);
  if (!runtime.ok()) return Fail(runtime.status());
  const ImageSet& train = data->train;
  StatusOr<Int8Model> q = Status(StatusCode::kInternal, "not quantized");
  if (args.calibration == "auto") {
    // Held-out: the last 10,000 training images (calibration uses the first 2,000).
    const int held_out = std::min(10000, train.count / 2);
    ImageSet validation = Head(train, 0);
    validation.count = held_out;
    validation.pixels.assign(train.image(train.count - held_out),
                             train.image(train.count - 1) + train.pixels_per_image());
    std::vector<CalibrationReport> report;
    q = QuantizeInt8Best(*model, runtime->get(), train, validation, &report);
    for (const CalibrationReport& r : report) {
      if (model->shape().has_encoder()) {
        std::printf("calibration %-10s loss on %d held-out training images %.3f\n",
                    CalibrationName(r.method), held_out, r.loss);
      } else {
        std::printf("calibration %-10s mean |pixel error| of %d samples against f32 %.5f\n",
                    CalibrationName(r.method), kGeneratorValidationSamples, r.loss);
      }
    }
  } else {
    const Calibration method = args.calibration == "minmax"       ? Calibration::kMinMax
                               : args.calibration == "percentile" ? Calibration::kPercentile
                                                                  : Calibration::kMse;
    q = QuantizeInt8(*model, runtime->get(), train, method);
  }
  if (!q.ok()) return Fail(q.status());
  ApplyLayout(args, &*q);

  // Thresholds from the int8 model's own error on the golden images, with headroom for another
  // CPU's requantization rounding (XNNPACK's micro-kernels may differ by one step).
  StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(*q, EngineOptions{.max_batch = golden->count, .threads = 1});
  if (!engine.ok()) return Fail(engine.status());
  StatusOr<GoldenCheck> check = CheckGoldenVectors(**engine, *golden);
  if (!check.ok()) return Fail(check.status());
  golden->max_abs_error = 1.5 * check->max_abs_error + 0.02;
  golden->mean_abs_error = 1.5 * check->mean_abs_error + 0.002;
  if (Status s = SaveInt8Model(args.out, *q, &*golden); !s.ok()) return Fail(s);
  std::printf(
      "wrote %s (%s, int8%s, calibration %s, %d golden vectors: max |error| %.3g, mean "
      "%.3g against f32)\n",
      args.out.c_str(), ShapeText(model->shape()).c_str(),
      q->layout == WeightLayout::kCortexM ? " in the cortex-m layout" : "", q->calibration.c_str(),
      golden->count,
      check->max_abs_error, check->mean_abs_error);
  return kExitOk;
}

int RunConvert(const ConvertArgs& args) { return ConvertToOut(args); }

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kConvertCommand(
    {"convert",
     "Import a PyTorch state_dict (safetensors), export one, or strip a checkpoint's optimizer "
     "state",
     70, [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<ConvertArgs>();
       cmd->footer(
           "Modes (exactly one input):\n"
           "  --from-safetensors FILE --out FILE   the PyTorch VAE example's state_dict -> .evae\n"
           "  --in FILE --out FILE [--dtype f32|f16|int8] [--calib-data DIR] [--calibration M]\n"
           "                                       a model or checkpoint -> deployable model; "
           "int8\n"
           "                                       is calibrated on MNIST training images\n"
           "  --in FILE --to-safetensors FILE      a model -> state_dict for PyTorch\n"
           "  --in FILE --decoder-only --out FILE  an int8 VAE -> its decoder alone (for a "
           "device\n"
           "                                       that only draws), the same int8 layers\n"
           "  --in INT8FILE --layout L --out FILE  the same int8 model, its weights stored in "
           "layout L");
       CLI::Option* from_st_opt =
           cmd->add_option("--from-safetensors", a->from_safetensors,
                           "safetensors file with fc1, fc21, fc22, fc3, fc4 .weight/.bias (F32)")
               ->type_name("FILE");
       CLI::Option* in_opt =
           cmd->add_option("--in", a->in, "Model file (.evae) to read")->type_name("FILE");
       CLI::Option* out_opt =
           cmd->add_option("--out", a->out, "Model file (.evae) to write")->type_name("FILE");
       CLI::Option* to_st_opt = cmd->add_option("--to-safetensors", a->to_safetensors,
                                                "safetensors file to write (with --in)")
                                    ->type_name("FILE");
       cmd->add_option("--dtype", a->dtype, "Weight type of the written model")
           ->check(CLI::IsMember({"f32", "f16", "int8"}))
           ->capture_default_str();
       cmd->add_option(
              "--calib-data", a->calib_data,
              "MNIST directory: int8 calibration (first 2,000 training images), the choice "
              "of calibration (last 10,000 training images) and golden vectors (test images)")
           ->capture_default_str();
       cmd->add_option("--calibration", a->calibration,
                       "Activation ranges for int8: min/max, percentile, MSE-optimal, or auto (all "
                       "three, keeping the one with the lowest loss on held-out training images)")
           ->check(CLI::IsMember({"auto", "minmax", "percentile", "mse"}))
           ->capture_default_str();
       cmd->add_option("--class-components", a->class_components,
                       "Gaussians per digit in the stored per-class latent statistics (k-means of "
                       "the training images' encodings; 1 = one Gaussian per class)")
           ->check(CLI::Range(1, 64))
           ->capture_default_str();
       cmd->add_option("--class-temperature", a->class_temperature,
                       "Sampling temperature of the per-class statistics: their covariances are "
                       "stored times T^2, so a digit drawn for a class lies T times as far from "
                       "its component's mean (below 1: more typical digits); recorded in the "
                       "metadata")
           ->check(CLI::Range(0.01, kMaxClassTemperature))
           ->capture_default_str();
       CLI::Option* decoder_opt = cmd->add_flag(
           "--decoder-only", a->decoder_only,
           "With --in an int8 VAE file: write its decoder alone (shape NAME-decoder), the same "
           "int8 layers, the class statistics, no encoder");
       CLI::Option* layout_opt =
           cmd->add_option("--layout", a->layout,
                           "How an int8 file stores its weights: rows (int8, the default) or "
                           "cortex-m (widened to int16 and packed for the Cortex-M kernel: twice "
                           "the bytes, a third of the instructions per multiply-add there; the "
                           "same arithmetic). Unset: --in's own layout")
               ->check(CLI::IsMember({"rows", "cortex-m"}))
               ->type_name("L");
       AddThreads(cmd, &a->threads);
       layout_opt->excludes(from_st_opt);
       layout_opt->excludes(to_st_opt);
       decoder_opt->excludes(from_st_opt);
       decoder_opt->excludes(to_st_opt);
       from_st_opt->excludes(in_opt);
       from_st_opt->excludes(to_st_opt);
       out_opt->excludes(to_st_opt);
       return [=] {
         a->command_line = CommandLine(invocation);
         return RunConvert(*a);
       };
     }});

}  // namespace
}  // namespace edgevae::cli
