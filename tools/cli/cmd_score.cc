// edgevae score: an anomaly score per image (IDX, PNG/PGM files, a folder, or raw frames on
// stdin), and with labels the AUROC / AUPR of anomalies against the model's normal classes.
// A malformed item is reported on stderr and skipped; the exit code is 1 if any item failed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "edgevae/engine.h"
#include "edgevae/frames.h"
#include "edgevae/idx.h"
#include "edgevae/image_read.h"
#include "edgevae/model_file.h"
#include "edgevae/score.h"
#include "options.h"
#include "score_inputs.h"

namespace edgevae::cli {

struct ScoreArgs {
  std::string model;
  std::string input;           // IDX(.gz) file, PNG/PGM file, folder of them, or - (stdin)
  std::string labels;          // IDX labels for an IDX input
  std::string normal_classes;  // default: the classes the model was trained on
  std::string ood;             // another input whose items all count as anomalies
  int idle_timeout_ms = 200;   // --input -: drop a partial frame after this long a pause
  ScoreMethodArgs method;
  bool json = false;
  bool csv = false;
  bool summary_only = false;  // no per-item records
};

namespace {

// How one record is printed.
enum class Format { kText, kJson, kCsv };

struct Threshold {
  bool active = false;
  double value = 0;
};

// 1.0 at the threshold, increasing with the score: score / threshold for a positive threshold,
// and the same slope for any sign (the -ic scores can be negative).
double Normalized(double score, double threshold) {
  return 1.0 + (score - threshold) / std::max(std::fabs(threshold), 1e-12);
}

void PrintCsvHeader(bool files, bool labels, const Threshold& t) {
  std::printf("%s,score%s%s\n", files ? "file" : "index", labels ? ",label" : "",
              t.active ? ",anomaly,normalized" : "");
}

// One record: `index` or `file`, `score`, `label` if known, `anomaly` and `normalized` with a
// threshold, `ood` for items of --ood.
void PrintRecord(Format format, int index, const std::string* file, double score, int label,
                 bool labels_column, bool ood, const Threshold& t) {
  if (format == Format::kJson) {
    Json j;
    if (file != nullptr) {
      j["file"] = *file;
    } else {
      j["index"] = index;
    }
    j["score"] = JsonNumber(score);
    if (label >= 0) j["label"] = label;
    if (ood) j["ood"] = true;
    if (t.active) {
      j["anomaly"] = score > t.value;
      j["normalized"] = JsonNumber(Normalized(score, t.value));
    }
    std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    return;
  }
  const char sep = format == Format::kCsv ? ',' : '\t';
  if (file != nullptr) {
    std::printf("%s", file->c_str());
  } else {
    std::printf("%d", index);
  }
  std::printf("%c%.6g", sep, score);
  if (labels_column) {
    if (label >= 0) {
      std::printf("%c%d", sep, label);
    } else {
      std::printf("%c%s", sep, ood ? "ood" : "");
    }
  }
  if (t.active) {
    std::printf("%c%d%c%.6g", sep, score > t.value ? 1 : 0, sep, Normalized(score, t.value));
  }
  std::printf("\n");
}

Threshold ThresholdFor(const ModelMetadata& meta, const ScoreOptions& options,
                       const std::string& model) {
  Threshold t;
  if (!meta.anomaly) return t;
  if (meta.anomaly->method != ScoreMethodName(options) ||
      meta.anomaly->samples != ScoreSamples(options)) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "edgevae: warning: %s's threshold was calibrated for --method %s with %d "
                 "samples; scoring with %s (%d samples) flags nothing\n",
                 model.c_str(), meta.anomaly->method.c_str(), meta.anomaly->samples,
                 ScoreMethodName(options).c_str(), ScoreSamples(options));
    return t;
  }
  t.active = true;
  t.value = meta.anomaly->threshold;
  return t;
}

// Raw frames from stdin, scored and printed as they arrive (one record per frame, flushed).
// Frames have no header, so the only framing is the byte count: a frame cut short by the end of
// the input or by a pause of --idle-timeout-ms is dropped (one line on stderr) and keeps its
// index, and the next byte starts the next frame. Without the timeout, a sender that paused
// mid-frame would shift every later frame by the missing bytes and each would be scored as
// garbage that looks like a normal record.
int ScoreStream(const ScoreArgs& args, ParallelScorer& scorer, const ScoreOptions& options,
                Format format) {
  Engine& engine = scorer.engine();
  const size_t in = engine.shape().input;
  const Threshold t = ThresholdFor(engine.metadata(), options, args.model);
  constexpr int kMaxFrames = 1024;
  FrameReader reader(STDIN_FILENO, in, kMaxFrames, args.idle_timeout_ms);
  std::vector<uint8_t> frames(kMaxFrames * in);
  std::vector<double> scores(kMaxFrames);
  uint64_t next = 0;    // index of the next frame (a dropped frame has one too)
  uint64_t scored = 0;  // frames scored
  int failed = 0, flagged = 0;
  double score_seconds = 0;
  const double start = NowSeconds();
  if (format == Format::kCsv && !args.summary_only) PrintCsvHeader(false, false, t);
  for (;;) {
    StatusOr<FrameRead> got = reader.Next(frames.data());
    if (!got.ok()) return Fail(got.status());
    if (got->frames > 0) {
      const double s0 = NowSeconds();
      if (Status s = scorer.Score(frames.data(), got->frames, next, scores.data()); !s.ok()) {
        return Fail(s);
      }
      score_seconds += NowSeconds() - s0;
      for (int i = 0; i < got->frames; ++i) {
        flagged += t.active && scores[i] > t.value;
        if (!args.summary_only) {
          PrintRecord(format, static_cast<int>(next + i), nullptr, scores[i], -1, false, false, t);
        }
      }
      std::fflush(stdout);
      next += got->frames;
      scored += got->frames;
    }
    if (got->dropped_bytes > 0) {
      ++failed;
      const std::string why =
          got->end ? "then the input ended"
                   : "then no byte for " + std::to_string(args.idle_timeout_ms) +
                         " ms (--idle-timeout-ms); dropped, the next byte starts frame " +
                         std::to_string(next + 1);
      Fail(kExitBadInput, "stdin: frame " + std::to_string(next) + " is malformed: " +
                              std::to_string(got->dropped_bytes) + " bytes, expected " +
                              std::to_string(in) + ", " + why + (got->end ? "; dropped" : ""));
      ++next;
    }
    if (got->end) break;
  }
  const double seconds = NowSeconds() - start;
  if (format == Format::kJson) {
    Json summary = {{"images", scored},
                    {"failed", failed},
                    {"method", ScoreMethodName(options)},
                    {"seconds", JsonNumber(seconds)},
                    {"images_per_s", JsonNumber(score_seconds > 0 ? scored / score_seconds : 0)}};
    if (t.active) summary["flagged"] = flagged;
    PrintJson({{"summary", summary}});
  } else {
    std::FILE* out = format == Format::kCsv ? stderr : stdout;
    std::fprintf(out, "frames %llu, failed %d%s%s, %.3f s\n",
                 static_cast<unsigned long long>(scored), failed, t.active ? ", flagged " : "",
                 t.active ? std::to_string(flagged).c_str() : "", seconds);
  }
  return failed > 0 ? kExitBadInput : kExitOk;
}

}  // namespace

int RunScore(const ScoreArgs& args) {
  const Format format = args.json ? Format::kJson : args.csv ? Format::kCsv : Format::kText;
  ScoreOptions options;
  if (Status s = MakeScoreOptions(args.method, &options); !s.ok()) {
    return Fail(kExitUsage, s.message());
  }
  const bool stream = args.input == "-";
  if (stream && (!args.labels.empty() || !args.ood.empty())) {
    return Fail(kExitUsage, "--labels and --ood need a file or folder --input, not - (stdin)");
  }
  StatusOr<AnyModel> model = LoadAnyModel(args.model);
  if (!model.ok()) return Fail(model.status());
  StatusOr<std::unique_ptr<ParallelScorer>> scorer =
      ParallelScorer::Create(*model, options, args.method.threads);
  if (!scorer.ok()) return Fail(scorer.status());
  Engine& engine = (*scorer)->engine();
  const ModelMetadata& meta = engine.metadata();

  std::vector<int> normal = meta.classes;
  if (!args.normal_classes.empty()) {
    StatusOr<std::vector<int>> parsed = ParseClassList(args.normal_classes, "--normal-classes");
    if (!parsed.ok()) return Fail(kExitUsage, parsed.status().message());
    normal = *parsed;
  }
  if (normal.empty()) {
    for (int c = 0; c < 10; ++c) normal.push_back(c);
  }

  if (stream) return ScoreStream(args, **scorer, options, format);

  // ---- files: load everything, score in one call, then print.
  Inputs inputs;
  int failed = 0;
  const int rows = engine.shape().input == 784 ? 28 : 0;
  if (rows == 0)
    return Fail(kExitBadInput, "score reads 28x28 images; the model takes another size");
  if (Status s = AppendInput(args.input, args.labels, false, rows, rows, &inputs, &failed);
      !s.ok()) {
    return Fail(s);
  }
  if (!args.ood.empty()) {
    if (Status s = AppendInput(args.ood, "", true, rows, rows, &inputs, &failed); !s.ok()) {
      return Fail(s);
    }
  }
  const size_t count = inputs.labels.size();
  std::vector<double> scores(count);
  const double start = NowSeconds();
  if (count > 0) {
    if (Status s = (*scorer)->Score(inputs.pixels.data(), count, 0, scores.data()); !s.ok()) {
      return Fail(s);
    }
  }
  const double seconds = NowSeconds() - start;

  const Threshold t = ThresholdFor(meta, options, args.model);
  bool any_label = !args.ood.empty();
  for (int l : inputs.labels) any_label |= l >= 0;
  bool files = false;
  for (const std::string& f : inputs.files) files |= !f.empty();
  std::vector<double> truth_scores;
  std::vector<uint8_t> truth;
  int flagged = 0;
  if (format == Format::kCsv && !args.summary_only) PrintCsvHeader(files, any_label, t);
  for (size_t i = 0; i < count; ++i) {
    const int label = inputs.labels[i];
    const bool ood = inputs.ood[i] != 0;
    flagged += t.active && scores[i] > t.value;
    if (!args.summary_only) {
      PrintRecord(format, inputs.index[i], inputs.files[i].empty() ? nullptr : &inputs.files[i],
                  scores[i], label, any_label, ood, t);
    }
    // With --ood, unlabelled items of --input are the normal ones.
    if (ood || label >= 0 || !args.ood.empty()) {
      truth_scores.push_back(scores[i]);
      truth.push_back(
          ood || (label >= 0 && std::find(normal.begin(), normal.end(), label) == normal.end()));
    }
  }

  Json summary = {{"images", count},
                  {"failed", failed},
                  {"method", ScoreMethodName(options)},
                  {"samples", ScoreSamples(options)},
                  {"dtype", engine.dtype()},
                  {"threads", (*scorer)->threads()},
                  {"seconds", JsonNumber(seconds)},
                  {"images_per_s", JsonNumber(seconds > 0 ? count / seconds : 0)}};
  if (t.active) {
    summary["threshold"] = JsonNumber(t.value);
    summary["flagged"] = flagged;
  }
  if (!truth.empty()) {
    summary["normal_classes"] = normal;
    const size_t anomalies = std::count(truth.begin(), truth.end(), 1);
    summary["normals"] = truth.size() - anomalies;
    summary["anomalies"] = anomalies;
    StatusOr<double> auroc = Auroc(truth_scores, truth);
    StatusOr<double> aupr = Aupr(truth_scores, truth);
    summary["auroc"] = auroc.ok() ? JsonNumber(*auroc) : Json(nullptr);
    summary["aupr"] = aupr.ok() ? JsonNumber(*aupr) : Json(nullptr);
    if (t.active) {
      size_t fp = 0, tp = 0;
      for (size_t i = 0; i < truth.size(); ++i) {
        if (truth_scores[i] > t.value) (truth[i] ? tp : fp) += 1;
      }
      summary["fpr"] =
          JsonNumber(static_cast<double>(fp) / std::max<size_t>(truth.size() - anomalies, 1));
      summary["tpr"] = JsonNumber(static_cast<double>(tp) / std::max<size_t>(anomalies, 1));
    }
  }
  if (format == Format::kJson) {
    PrintJson({{"summary", summary}});
  } else {
    std::FILE* out = format == Format::kCsv ? stderr : stdout;
    std::fflush(stdout);
    std::fprintf(out, "# %s\n", summary.dump().c_str());
  }
  return failed > 0 ? kExitBadInput : kExitOk;
}

// --- The command ------------------------------------------------------------------------------

namespace {

const CommandRegistration kScoreCommand(
    {"score", "Anomaly score per image; with labels, AUROC and AUPR against the normal classes", 90,
     [](CLI::App* cmd, const Invocation& invocation) -> std::function<int()> {
       auto a = std::make_shared<ScoreArgs>();
       cmd->add_option("--model", a->model, "Model file")->required();
       cmd->add_option("--input", a->input,
                       "IDX images file (.gz too), PNG/PGM file, folder of them, or - for raw "
                       "784-byte frames on stdin")
           ->required();
       cmd->add_option("--labels", a->labels, "IDX labels file for an IDX --input");
       cmd->add_option("--idle-timeout-ms", a->idle_timeout_ms,
                       "With --input -: a frame cut short by this long a pause is dropped and the "
                       "next byte starts a new frame (0: wait forever)")
           ->check(CLI::Range(0, 3600000))
           ->capture_default_str();
       cmd->add_option(
              "--normal-classes", a->normal_classes,
              "Labels that are normal, e.g. 3 or 0,1,7 (default: the classes the model was "
              "trained on); other labels are anomalies")
           ->type_name("LIST");
       cmd->add_option("--ood", a->ood,
                       "Another input (IDX file or folder) whose items all count as anomalies, "
                       "e.g. Fashion-MNIST against an MNIST model");
       AddScoreMethod(cmd, &a->method);
       CLI::Option* score_json =
           cmd->add_flag("--json", a->json, "One JSON object per line, then a summary line");
       CLI::Option* score_csv = cmd->add_flag("--csv", a->csv, "CSV records (summary on stderr)");
       score_json->excludes(score_csv);
       cmd->add_flag("--summary-only", a->summary_only, "Print the summary only");
       return [=] { return RunScore(*a); };
     }});

}  // namespace
}  // namespace edgevae::cli
