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

#include "edgevae/status.h"

namespace edgevae::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;  // any failed Status from the library
inline constexpr int kExitUsage = 2;     // bad flags or values, conflicting arguments

inline constexpr const char* kDefaultDataDir = "data/mnist";

// Objects keep the order in which fields are added (the documented order), not sorted keys.
using Json = nlohmann::ordered_json;

// Writes "edgevae: error: <message>" to stderr as one line (newlines in the message become
// spaces) and returns exit_code.
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
  std::string emit_c;         // also write --out as a C header (an embedded model)
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

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_COMMANDS_H_
