#include "options.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edgevae/runtime.h"
#include "edgevae/shape.h"

namespace edgevae::cli {

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

void AddPreview(CLI::App* cmd, PreviewFlags* flags) {
  CLI::Option* force =
      cmd->add_flag("--preview", flags->force,
                    "Print a half-block preview on stdout even when it is not a terminal");
  CLI::Option* suppress = cmd->add_flag("--no-preview", flags->suppress, "Never print the preview");
  force->excludes(suppress);
}

std::string CommandLine(const Invocation& invocation) {
  std::string line = "edgevae";
  for (int i = 1; i < invocation.argc; ++i) {
    const std::string arg = invocation.argv[i];
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

void AddScoreMethod(CLI::App* cmd, ScoreMethodArgs* m) {
  cmd->add_option("--method", m->method,
                  "Score: bce or mse (reconstruction error, z = mu), mse3x3 (the residual summed "
                  "over 3x3 patches, squared: a stroke missing or extra counts, a shifted one "
                  "less), elbo (negative ELBO over S samples), iw (importance-weighted NLL, K "
                  "samples); suffix -ic subtracts the input complexity L(x) (zlib length in nats, "
                  "Serra et al. 2020), -icr divides by it")
      ->check(CLI::IsMember({"bce", "mse", "mse3x3", "elbo", "iw", "bce-ic", "mse-ic",
                             "mse3x3-ic", "elbo-ic", "iw-ic", "bce-icr", "mse-icr", "mse3x3-icr",
                             "elbo-icr", "iw-icr"}))
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
}

}  // namespace edgevae::cli
