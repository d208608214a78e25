// The CLI's subcommands. Each Run* function takes parsed, range-checked arguments (main.cc owns
// the parser), calls the library, prints, and returns the process exit code. No ML logic lives
// here: a failed library Status becomes one line on stderr and exit code 1.
#ifndef EDGEVAE_TOOLS_CLI_COMMANDS_H_
#define EDGEVAE_TOOLS_CLI_COMMANDS_H_

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgevae/status.h"

namespace edgevae::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;  // any failed Status from the library
inline constexpr int kExitUsage = 2;     // bad flags or values, conflicting arguments

inline constexpr const char* kDefaultDataDir = "data/mnist";

// Objects keep the order in which fields are added (the documented order), not sorted keys.
using Json = nlohmann::ordered_json;

// Writes "edgevae: error: <message>" to stderr as one line (ui::OneLine: printable, at most ~1,000
// characters) and returns exit_code.
int Fail(int exit_code, std::string_view message);
// Fail(kExitBadInput, status.message()).
int Fail(const Status& status);

// A JSON number, or null when v is NaN or infinite (JSON has no such numbers).
Json JsonNumber(double v);
// The single JSON object a --json run prints on stdout, with a newline. Invalid UTF-8 (e.g. from
// a damaged file's strings) is replaced rather than thrown on.
void PrintJson(const Json& object);
// Seconds on a monotonic clock from an arbitrary origin.
double NowSeconds();

// "3" or "0,1,7" -> labels 0..9, sorted, without repeats; an error names the bad element.
StatusOr<std::vector<int>> ParseClassList(const std::string& text, const std::string& flag);

// Where human-readable output goes: stdout normally, stderr when stdout is reserved for JSON.
inline std::FILE* HumanStream(bool json) { return json ? stderr : stdout; }

struct TrainArgs {
  std::string data = kDefaultDataDir;
  std::string shape = "mnist";
  int epochs = 10;
  int batch = 128;
  double lr = 1e-3;
  uint64_t seed = 1;
  int threads = 0;
  std::string out;
  std::string resume;
  bool json = false;
  bool profile = false;  // per-epoch time breakdown (GEMMs, packing, element-wise, optimizer)
  std::string classes;   // "3" or "0,1,7": train (and test) on these labels only
  // Which flags were given explicitly (a resumed run takes the others from the checkpoint).
  bool shape_given = false, batch_given = false, lr_given = false, seed_given = false;
  std::string command_line;  // this invocation, recorded in metadata.command
};
int RunTrain(const TrainArgs& args);

struct EvalArgs {
  std::string model;
  std::string data = kDefaultDataDir;
  int iw = 0;  // 0 = no importance-weighted estimate
  uint64_t seed = 1;
  int threads = 0;
  bool json = false;
};
int RunEval(const EvalArgs& args);

enum class Preview { kAuto, kForce, kSuppress };

struct SampleArgs {
  std::string model;
  int n = 64;
  uint64_t seed = 1;
  std::string out;
  int threads = 0;
  Preview preview = Preview::kAuto;
};
int RunSample(const SampleArgs& args);

struct ReconstructArgs {
  std::string model;
  std::string data = kDefaultDataDir;
  int n = 16;
  std::string out;
  int threads = 0;
  Preview preview = Preview::kAuto;
};
int RunReconstruct(const ReconstructArgs& args);

struct InfoArgs {
  std::string model;
  bool json = false;
};
int RunInfo(const InfoArgs& args);

struct BenchArgs {
  std::string model;
  std::string op = "reconstruct";  // encode | decode | reconstruct | sample
  int batch = 1;
  int threads = 1;
  int warmup = 20;
  int runs = 200;
  std::string data;  // MNIST directory: real test images instead of synthetic ones
  bool json = false;
};
int RunBench(const BenchArgs& args);

// Exactly one input (--from-safetensors or --in) and one output (--out or --to-safetensors);
// RunConvert reports other combinations as usage errors.
struct ConvertArgs {
  std::string from_safetensors;
  std::string in;
  std::string out;
  std::string to_safetensors;
  std::string dtype = "f32";  // of --out: f32, f16 or int8
  std::string calib_data = kDefaultDataDir;  // MNIST: calibration, validation and golden images
  std::string calibration = "auto";  // auto | minmax | percentile | mse
  int threads = 0;
  int class_components = 3;  // Gaussians per class in metadata.class_latents (k-means)
  std::string command_line;  // this invocation, appended to metadata.command
};
int RunConvert(const ConvertArgs& args);

struct VerifyArgs {
  std::string model;
  int threads = 1;
  bool json = false;
};
int RunVerify(const VerifyArgs& args);

// Scoring options shared by score and calibrate.
struct ScoreMethodArgs {
  std::string method = "elbo";  // bce | mse | elbo | iw, optionally -ic
  int samples = 1;              // S for elbo
  int iw = 64;                  // K for iw
  uint64_t seed = 1;
  int threads = 0;
};

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
  bool summary_only = false;   // no per-item records
};
int RunScore(const ScoreArgs& args);

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
int RunCalibrate(const CalibrateArgs& args);

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_COMMANDS_H_
