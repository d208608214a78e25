// edgevae: the command-line shell over the libraries. This file builds the parser (CLI11) from the
// commands that register themselves (command.h, one per cmd_*.cc) and runs the one given. Values
// the parser rejects are usage errors (exit 2); what the libraries reject is bad input (exit 1).
// Either way stderr gets exactly one line.
#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <map>
#include <new>
#include <string>

#include "command.h"
#include "commands.h"
#include "edgevae/model.h"

namespace edgevae::cli {
namespace {

int Main(int argc, char** argv) {
  CLI::App app("Train, evaluate and sample a variational autoencoder on MNIST (XNNPACK + Highway).",
               "edgevae");
  app.set_version_flag("--version", std::string(Version()));
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 bad input (a file or value the library rejects), 2 bad usage.\n"
      "Run 'edgevae <command> --help' for the options of a command.");
  const Invocation invocation{argc, argv};
  std::map<std::string, std::function<int()>> runs;
  std::string names;
  for (const Command* command : Commands()) {
    CLI::App* cmd = app.add_subcommand(command->name, command->help);
    runs[command->name] = command->add(cmd, invocation);
    names += (names.empty() ? "" : ", ") + std::string(command->name);
  }

  // CLI11 reports a mistyped command as a missing one; name it instead.
  if (argc > 1 && argv[1][0] != '-' && runs.count(argv[1]) == 0) {
    return Fail(kExitUsage, "unknown command '" + std::string(argv[1]) + "'; commands: " + names +
                                " (see 'edgevae --help')");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string hint = "edgevae --help";
    for (const CLI::App* sub : app.get_subcommands()) {
      hint = "edgevae " + sub->get_name() + " --help";
    }
    return Fail(kExitUsage, std::string(e.what()) + " (see '" + hint + "')");
  }
  for (const CLI::App* sub : app.get_subcommands()) return runs.at(sub->get_name())();
  return Fail(kExitUsage, "no command given (see 'edgevae --help')");
}

}  // namespace
}  // namespace edgevae::cli

int main(int argc, char** argv) {
  // The libraries report failures as Status; exceptions can only come from the parser (handled in
  // Main), JSON or allocation.
  try {
    return edgevae::cli::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    return edgevae::cli::Fail(edgevae::cli::kExitBadInput, "out of memory");
  } catch (const std::exception& e) {
    return edgevae::cli::Fail(edgevae::cli::kExitBadInput, e.what());
  }
}
