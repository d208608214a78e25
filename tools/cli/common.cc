// Helpers shared by the subcommands: error lines, JSON output, the clock.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"

namespace edgevae::cli {

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto escape = [&](unsigned char c) {
    char buf[5];
    std::snprintf(buf, sizeof(buf), "\\x%02x", c);
    out += buf;
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) {
        escape(c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, continuation bytes 10xxxxxx, no overlong
    // forms or surrogates, and not a C1 control (U+0080..U+009F, which terminals obey).
    const size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    uint32_t cp = len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
    bool ok = len != 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    ok = ok && cp >= 0xa0 && !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff &&
         !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000);
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      escape(c);
      ++i;
    }
  }
  return out;
}

int Fail(int exit_code, std::string_view message) {
  // Newlines first, so that they read as spaces rather than \x0a.
  std::string flat(message);
  for (char& c : flat) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  // Cut before escaping: a cut sequence is then escaped like any other invalid byte.
  constexpr size_t kMaxLine = 1000;
  if (flat.size() > kMaxLine) flat = flat.substr(0, kMaxLine - 3) + "...";
  std::string line = Printable(flat);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.empty()) line = "unknown error";
  std::fflush(stdout);  // keep the order of anything already printed
  std::fprintf(stderr, "edgevae: error: %s\n", line.c_str());
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
