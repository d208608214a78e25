// Command-line flags for the micro programs: a few integer flags parsed without exceptions,
// iostreams or allocation (CLI11, which the host programs use, needs all three).
#ifndef EDGEVAE_FIRMWARE_MICRO_MICRO_OPTIONS_H_
#define EDGEVAE_FIRMWARE_MICRO_MICRO_OPTIONS_H_

#include <cstdint>
#include <initializer_list>

namespace edgevae::micro {

// Walks argv once. Each matcher consumes its flag (and values) when the current argument is that
// flag; a bad value is reported on stderr as one line naming the flag and the range.
class ArgReader {
 public:
  ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}
  bool More() const { return ok_ && i_ < argc_; }
  bool ok() const { return ok_; }
  bool Flag(const char* name);
  bool Int(const char* name, int lo, int hi, int* out);
  bool Int2(const char* name, int lo, int hi, int* a, int* b);  // --flag A B
  bool Seed(const char* name, uint64_t* out);                   // 0 .. 2^64 - 1
  bool Number(const char* name, double lo, double hi, double* out);  // finite, in [lo, hi]
  // One of `choices` (string literals): *out points at the matching one.
  bool Word(const char* name, std::initializer_list<const char*> choices, const char** out);
  // Reports the current argument as unknown, with `usage`; returns false.
  bool Fail(const char* usage);

 private:
  // The next argument as `name`'s value, or null (reported) if there is none.
  const char* Take(const char* name);
  // Reports that `name` must be `want`; returns false.
  bool Bad(const char* name, const char* want);
  bool Value(const char* name, long long lo, long long hi, long long* out);
  int argc_;
  char** argv_;
  int i_ = 1;
  bool ok_ = true;
};

}  // namespace edgevae::micro

#endif  // EDGEVAE_FIRMWARE_MICRO_MICRO_OPTIONS_H_
