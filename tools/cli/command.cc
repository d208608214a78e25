#include "command.h"

#include <algorithm>
#include <utility>

namespace edgevae::cli {
namespace {

// A function-local static, so that registrations from any translation unit find it constructed.
std::vector<const Command*>& Registry() {
  static std::vector<const Command*> registry;
  return registry;
}

}  // namespace

CommandRegistration::CommandRegistration(Command command) : command_(std::move(command)) {
  Registry().push_back(&command_);
}

std::vector<const Command*> Commands() {
  std::vector<const Command*> commands = Registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command* a, const Command* b) { return a->order < b->order; });
  return commands;
}

}  // namespace edgevae::cli
