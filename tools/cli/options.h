// Option groups and checks that more than one command's parser uses (CLI11): validators that
// refuse what CLI11's own let through (NaN, "-1" wrapped to 2^64 - 1), --threads, --preview,
// the scoring flags of score and calibrate, and the invocation recorded in a model's metadata.
#ifndef EDGEVAE_TOOLS_CLI_OPTIONS_H_
#define EDGEVAE_TOOLS_CLI_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"

namespace edgevae::cli {

inline constexpr int kMaxImages = 65536;

// A finite number > 0 (CLI::PositiveNumber lets NaN through).
extern const CLI::Validator kPositiveFinite;
// A decimal unsigned 64-bit number (CLI11 would wrap "-1" around to 2^64 - 1).
extern const CLI::Validator kUnsigned64;
// A finite number in [lo, hi] (CLI::Range lets NaN through: every comparison with it is false).
CLI::Validator FiniteRange(double lo, double hi);

// The compiled shapes' names, for --shape.
std::vector<std::string> ShapeNames();

// --threads T: 0 = one per logical core, at most kMaxThreads (edgevae/runtime.h).
void AddThreads(CLI::App* cmd, int* threads);

// --preview / --no-preview; the flags exclude each other.
struct PreviewFlags {
  bool force = false;
  bool suppress = false;
  Preview mode() const {
    return suppress ? Preview::kSuppress : force ? Preview::kForce : Preview::kAuto;
  }
};
void AddPreview(CLI::App* cmd, PreviewFlags* flags);

// --method, --samples, --iw, --seed, --threads of score and calibrate.
void AddScoreMethod(CLI::App* cmd, ScoreMethodArgs* m);

// "edgevae train --epochs 10 ...": the invocation as a shell would re-run it (arguments other
// than plain words single-quoted), for a model's metadata.command.
std::string CommandLine(const Invocation& invocation);

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_OPTIONS_H_
