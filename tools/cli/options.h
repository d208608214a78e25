// Option groups that more than one command's parser uses (CLI11; the validators are the UI
// library's, ui/flags.h, shared with the device programs): --threads, --preview,
// the scoring flags of score and calibrate, and the invocation recorded in a model's metadata.
#ifndef EDGEVAE_TOOLS_CLI_OPTIONS_H_
#define EDGEVAE_TOOLS_CLI_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"
#include "ui/flags.h"

namespace edgevae::cli {

inline constexpr int kMaxImages = 65536;

using ui::FiniteRange;
using ui::kPositiveFinite;
using ui::kUnsigned64;

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
