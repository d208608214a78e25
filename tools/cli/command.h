// The CLI's commands register themselves: each tools/cli/cmd_*.cc defines a CommandRegistration
// beside its Run function, giving the command's name, help line, place in the list, and a
// function that adds its options to the parser and returns what runs once they are parsed. main.cc
// knows no command by name.
#ifndef EDGEVAE_TOOLS_CLI_COMMAND_H_
#define EDGEVAE_TOOLS_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace edgevae::cli {

// The process's arguments, for commands that record how they were invoked (metadata.command).
struct Invocation {
  int argc = 0;
  char** argv = nullptr;
};

struct Command {
  const char* name;
  const char* help;
  int order;  // place in `edgevae --help` and in messages (ascending)
  // Adds the command's options to `cmd`; the returned function runs it after parsing and returns
  // the exit code.
  std::function<std::function<int()>(CLI::App* cmd, const Invocation& invocation)> add;
};

// Every registered command, in `order`.
std::vector<const Command*> Commands();

// Registers `command` while static objects are constructed (one per cmd_*.cc).
class CommandRegistration {
 public:
  explicit CommandRegistration(Command command);

 private:
  Command command_;
};

}  // namespace edgevae::cli

#endif  // EDGEVAE_TOOLS_CLI_COMMAND_H_
