// What the CLI's commands share: exit codes, the one-line error, JSON output, and the option
// groups more than one command takes. Each command lives in its tools/cli/cmd_*.cc: its
// arguments, its options (registered beside it, command.h) and its Run function, which calls the
// library, prints, and returns the process exit code. No ML logic lives here: a failed library
// Status becomes one line on stderr and exit code 1.
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

enum class Preview { kAuto, kForce, kSuppress };

// Scoring options shared by score and calibrate.
struct ScoreMethodArgs {
  std::string method = "elbo";  // bce | mse | elbo | iw, optionally -ic
  int samples = 1;              // S for elbo
  int iw = 64;                  // K for iw
  uint64_t seed = 1;
  int threads = 0;
};

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_COMMANDS_H_
