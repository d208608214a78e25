// Command-line flag checks shared by the CLI and the device programs (CLI11 validators): they
// refuse what CLI11's own let through (NaN passes CLI::Range and CLI::PositiveNumber; an unsigned
// option takes "-1" as 2^64 - 1). Header-only: CLI11 is.
#ifndef EDGEVAE_TOOLS_UI_FLAGS_H_
#define EDGEVAE_TOOLS_UI_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace edgevae::ui {

// A finite number > 0 (CLI::PositiveNumber lets NaN through).
inline const CLI::Validator kPositiveFinite(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) {
        return "expected a finite number > 0, got '" + text + "'";
      }
      return "";
    },
    "POSITIVE");

// A finite number in [lo, hi] (CLI::Range lets NaN through: every comparison with it is false).
inline CLI::Validator FiniteRange(double lo, double hi) {
  char range[64];
  std::snprintf(range, sizeof(range), "[%g, %g]", lo, hi);
  return CLI::Validator(
      [lo, hi, text_range = std::string(range)](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
          return "expected a number in " + text_range + ", got '" + text + "'";
        }
        return "";
      },
      "FLOAT in " + std::string(range));
}

// A decimal unsigned 64-bit number (CLI11 would wrap "-1" around to 2^64 - 1).
inline const CLI::Validator kUnsigned64(
    [](std::string& text) -> std::string {
      if (text.empty() || text.size() > 20 ||
          text.find_first_not_of("0123456789") != std::string::npos ||
          (text.size() == 20 && text > "18446744073709551615")) {
        return "expected an integer from 0 to 18446744073709551615, got '" + text + "'";
      }
      return "";
    },
    "UINT64");

}  // namespace edgevae::ui

#endif  // EDGEVAE_TOOLS_UI_FLAGS_H_
