// edgevae calibrate: an anomaly threshold at a target false-positive rate, from the scores of
// normal images (an MNIST directory's training split, or the user's held-out IDX file or folder),
// stored in the model's metadata with how it was made (method, FPR, images, samples). `edgevae
// score` then flags anomalies and prints normalised scores.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/image_read.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/score.h"
#include "options.h"
#include "score_inputs.h"

namespace edgevae::cli {

struct CalibrateArgs {
  std::string model;
  std::string data = kDefaultDataDir;  // MNIST directory, or an IDX file / folder of normal images
  std::string labels;                  // IDX labels for an IDX --data file
  double fpr = 0.01;
  int images = 2000;  // the last N normal images
  ScoreMethodArgs method;
  std::string out;
  bool json = false;
};

namespace {

// The last `n` images of `set`.
ImageSet Tail(const ImageSet& set, int n) {
  const int keep = std::min(n, set.count);
  ImageSet out;
  out.rows = set.rows;
  out.cols = set.cols;
  out.count = keep;
  const size_t per = static_cast<size_t>(set.rows) * set.cols;
  out.pixels.assign(set.pixels.end() - static_cast<ptrdiff_t>(keep * per), set.pixels.end());
  if (!set.labels.empty()) out.labels.assign(set.labels.end() - keep, set.labels.end());
  return out;
}

StatusOr<std::vector<double>> ScoreSet(ParallelScorer& scorer, const ImageSet& set) {
  std::vector<double> scores(set.count);
  EVAE_RETURN_IF_ERROR(scorer.Score(set.pixels.data(), set.count, 0, scores.data()));
  return scores;
}

// An MNIST-style directory: the training images are there (plain or .gz).
bool IsMnistDirectory(const std::string& path) {
  if (!IsDirectory(path)) return false;
  struct stat st {};
  const std::string f = path + "/train-images-idx3-ubyte";
  return ::stat(f.c_str(), &st) == 0 || ::stat((f + ".gz").c_str(), &st) == 0;
}

// Writes `model` back in its own dtype with the new metadata.
Status Save(const std::string& path, AnyModel& model) {
  const GoldenVectors* golden = model.golden ? &*model.golden : nullptr;
  if (model.int8) return SaveInt8Model(path, *model.int8, golden);
  if (model.f16) return SaveF16Model(path, *model.f32, golden);
  if (golden != nullptr) return SaveModelWithGolden(path, *model.f32, *golden);
  return SaveModel(path, *model.f32);
}

}  // namespace

int RunCalibrate(const CalibrateArgs& args) {
  ScoreOptions options;
  if (Status s = MakeScoreOptions(args.method, &options); !s.ok()) {
    return Fail(kExitUsage, s.message());
  }
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  if (!model.ok()) return Fail(model.status());
  ModelMetadata& meta = model->int8 ? model->int8->metadata : model->f32->metadata();
  std::vector<int> classes = meta.classes;
  if (classes.empty()) {
    for (int c = 0; c < 10; ++c) classes.push_back(c);
  }
  ImageSet calib, test_normal;
  std::string source;
  if (IsMnistDirectory(args.data)) {
    if (!args.labels.empty()) {
      return Fail(kExitUsage, "--labels goes with an IDX --data file, not an MNIST directory");
    }
    StatusOr<MnistData> data = LoadMnist(args.data);
    if (!data.ok()) return Fail(data.status());
    // The training split is what an MNIST directory offers besides the test set, which stays
    // untouched for evaluation: the last N training images of the normal classes. The FPR the
    // threshold reaches on the test set's normal images is reported beside the target.
    calib = Tail(SelectLabels(data->train, classes), args.images);
    test_normal = SelectLabels(data->test, classes);
    source = "the last " + std::to_string(calib.count) + " training images of " + args.data;
  } else {
    // Held-out normal images of the user's: an IDX file (with --labels, those of the normal
    // classes) or a folder of PNG/PGM files. A malformed item is reported, and then nothing is
    // written: a threshold from part of the set the user chose is not what they asked for.
    Inputs inputs;
    int failed = 0;
    if (Status s = AppendInput(args.data, args.labels, false, 28, 28, &inputs, &failed); !s.ok()) {
      return Fail(s);
    }
    ImageSet all;
    all.rows = all.cols = 28;
    for (size_t i = 0; i < inputs.labels.size(); ++i) {
      const int l = inputs.labels[i];
      if (l >= 0 && std::find(classes.begin(), classes.end(), l) == classes.end()) continue;
      all.pixels.insert(all.pixels.end(), inputs.pixels.begin() + i * 784,
                        inputs.pixels.begin() + (i + 1) * 784);
      ++all.count;
    }
    calib = Tail(all, args.images);
    source = "the last " + std::to_string(calib.count) + " normal images of " + args.data;
    if (failed > 0) {
      return Fail(kExitBadInput, std::to_string(failed) + " item(s) of " + args.data +
                                     " could not be read; not calibrating on a partial set");
    }
  }
  if (calib.count == 0) {
    return Fail(kExitBadInput, args.data + " has no images of the model's classes");
  }

  StatusOr<std::unique_ptr<ParallelScorer>> scorer =
      ParallelScorer::Create(*model, options, args.method.threads);
  if (!scorer.ok()) return Fail(scorer.status());
  StatusOr<std::vector<double>> scores = ScoreSet(**scorer, calib);
  if (!scores.ok()) return Fail(scores.status());
  StatusOr<double> threshold = ThresholdAtFpr(*scores, args.fpr);
  if (!threshold.ok()) return Fail(threshold.status());

  double test_fpr = -1;
  if (test_normal.count > 0) {
    StatusOr<std::vector<double>> test_scores = ScoreSet(**scorer, test_normal);
    if (!test_scores.ok()) return Fail(test_scores.status());
    const size_t over = std::count_if(test_scores->begin(), test_scores->end(),
                                      [&](double s) { return s > *threshold; });
    test_fpr = static_cast<double>(over) / test_normal.count;
  }

  AnomalyThreshold t;
  t.method = ScoreMethodName(options);
  t.fpr = args.fpr;
  t.images = calib.count;
  t.samples = ScoreSamples(options);
  t.threshold = *threshold;
  meta.anomaly = t;
  if (Status s = Save(args.out, *model); !s.ok()) return Fail(s);

  if (args.json) {
    Json out = {{"method", t.method},
                {"fpr", t.fpr},
                {"images", t.images},
                {"samples", t.samples},
                {"threshold", JsonNumber(t.threshold)},
                {"test_normal_images", test_normal.count},
                {"test_fpr", test_fpr >= 0 ? JsonNumber(test_fpr) : Json(nullptr)},
                {"out", args.out}};
    PrintJson(out);
    return kExitOk;
  }
  std::printf("threshold  %.6g (%s, %d samples)\n", t.threshold, t.method.c_str(), t.samples);
  std::printf("calibrated on %s (classes", source.c_str());
  for (int c : classes) std::printf(" %d", c);
  std::printf("), target FPR %.4g\n", t.fpr);
  if (test_fpr >= 0) {
    std::printf("FPR on the %d normal test images: %.4f\n", test_normal.count, test_fpr);
  }
  std::printf("wrote %s\n", args.out.c_str());
  return kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kCalibrateCommand(
    {"calibrate", "Anomaly threshold at a target false-positive rate, stored in the model", 100,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<CalibrateArgs>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("--data", a->data,
                       "Normal images: an MNIST-style directory (the last --images training images "
                       "of the model's classes; the test set is left for evaluation), or held-out "
                       "images as an IDX file (with --labels: those of the model's classes) or a "
                       "folder of PNG/PGM files")
           ->capture_default_str();
       cmd->add_option("--labels", a->labels, "IDX labels for an IDX --data file");
       cmd->add_option("--fpr", a->fpr, "Target false-positive rate")
           ->check(FiniteRange(1e-9, 0.999999))
           ->capture_default_str();
       cmd->add_option("--images", a->images, "Normal images to calibrate on")
           ->check(CLI::Range(1, 1000000))
           ->capture_default_str();
       AddScoreMethod(cmd, &a->method);
       cmd->add_option("--out", a->out, "Model file to write (may be --model)")->required();
       cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
       return [=] { return RunCalibrate(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
