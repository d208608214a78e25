#include "ui/error_line.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace edgevae::ui {

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

std::string OneLine(std::string_view message) {
  // Newlines first, so that they read as spaces rather than \x0a; cut before escaping, so that a
  // cut sequence is escaped like any other invalid byte.
  std::string flat(message);
  for (char& c : flat) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  constexpr size_t kMaxLine = 1000;
  if (flat.size() > kMaxLine) flat = flat.substr(0, kMaxLine - 3) + "...";
  std::string line = Printable(flat);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.empty()) line = "unknown error";
  return line;
}

void PrintErrorLine(std::string_view program, std::string_view message) {
  const std::string line = OneLine(message);
  std::fprintf(stderr, "%.*s: error: %s\n", static_cast<int>(program.size()), program.data(),
               line.c_str());
}

}  // namespace edgevae::ui
