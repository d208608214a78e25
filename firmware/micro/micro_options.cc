#include "micro_options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace edgevae::micro {

bool ArgReader::Flag(const char* name) {
  if (!More() || std::strcmp(argv_[i_], name) != 0) return false;
  ++i_;
  return true;
}

const char* ArgReader::Take(const char* name) {
  if (i_ >= argc_) {
    std::fprintf(stderr, "error: %s needs a value\n", name);
    ok_ = false;
    return nullptr;
  }
  return argv_[i_++];
}

bool ArgReader::Bad(const char* name, const char* want) {
  std::fprintf(stderr, "error: %s must be %s\n", name, want);
  ok_ = false;
  return false;
}

bool ArgReader::Value(const char* name, long long lo, long long hi, long long* out) {
  const char* text = Take(name);
  if (text == nullptr) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
    char want[64];
    std::snprintf(want, sizeof(want), "an integer in [%lld, %lld]", lo, hi);
    return Bad(name, want);
  }
  *out = v;
  return true;
}

bool ArgReader::Int(const char* name, int lo, int hi, int* out) {
  if (!Flag(name)) return false;
  long long v = 0;
  if (Value(name, lo, hi, &v)) *out = static_cast<int>(v);
  return true;
}

bool ArgReader::Int2(const char* name, int lo, int hi, int* a, int* b) {
  if (!Flag(name)) return false;
  long long x = 0, y = 0;
  if (Value(name, lo, hi, &x) && Value(name, lo, hi, &y)) {
    *a = static_cast<int>(x);
    *b = static_cast<int>(y);
  }
  return true;
}

bool ArgReader::Seed(const char* name, uint64_t* out) {
  if (!Flag(name)) return false;
  const char* text = Take(name);
  if (text == nullptr) return true;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    Bad(name, "an integer in [0, 2^64 - 1]");
  } else {
    *out = v;
  }
  return true;
}

bool ArgReader::Number(const char* name, double lo, double hi, double* out) {
  if (!Flag(name)) return false;
  const char* text = Take(name);
  if (text == nullptr) return true;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
    char want[64];
    std::snprintf(want, sizeof(want), "a number in [%g, %g]", lo, hi);
    Bad(name, want);
  } else {
    *out = v;
  }
  return true;
}

bool ArgReader::Word(const char* name, std::initializer_list<const char*> choices,
                     const char** out) {
  if (!Flag(name)) return false;
  const char* text = Take(name);
  if (text == nullptr) return true;
  for (const char* c : choices) {
    if (std::strcmp(text, c) == 0) {
      *out = c;
      return true;
    }
  }
  char want[96] = "";
  size_t used = 0;
  for (const char* c : choices) {
    const char* sep = used == 0 ? "" : (c == *(choices.end() - 1) ? " or " : ", ");
    const int n = std::snprintf(want + used, sizeof(want) - used, "%s%s", sep, c);
    if (n < 0 || static_cast<size_t>(n) >= sizeof(want) - used) break;
    used += static_cast<size_t>(n);
  }
  Bad(name, want);
  return true;
}

bool ArgReader::Fail(const char* usage) {
  if (ok_ && i_ < argc_) std::fprintf(stderr, "error: unknown argument '%s'\n", argv_[i_]);
  std::fprintf(stderr, "%s\n", usage);
  ok_ = false;
  return false;
}

}  // namespace edgevae::micro
