// Helpers shared by the subcommands: error lines, JSON output, the clock.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "ui/error_line.h"

namespace edgevae::cli {

int Fail(int exit_code, std::string_view message) {
  std::fflush(stdout);  // keep the order of anything already printed
  ui::PrintErrorLine("edgevae", message);
  return exit_code;
}

int Fail(const Status& status) { return Fail(kExitBadInput, status.message()); }

Json JsonNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

void PrintJson(const Json& object) {
  const std::string text = object.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::fprintf(stdout, "%s\n", text.c_str());
  std::fflush(stdout);
}

StatusOr<std::vector<int>> ParseClassList(const std::string& text, const std::string& flag) {
  bool seen[10] = {};
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    if (item.size() != 1 || item[0] < '0' || item[0] > '9') {
      return InvalidArgument(flag + " " + text + ": '" + item +
                             "' is not a class label 0-9 (expected e.g. 3 or 0,1,7)");
    }
    seen[item[0] - '0'] = true;
    pos = comma + 1;
  }
  std::vector<int> out;
  for (int c = 0; c < 10; ++c) {
    if (seen[c]) out.push_back(c);
  }
  return out;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace edgevae::cli
