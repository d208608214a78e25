// hello.elf: the first program of the bare-metal build, and the platform layer's own test
// (firmware/micro/CMakeLists.txt runs each mode under qemu).
//
//   hello.elf                         "edgevae micro: <core> ok", the stack and heap peaks
//   hello.elf --args A...             prints each argv entry between < and >
//   hello.elf --exit N                returns N from main
//   hello.elf --write-pattern PATH N  writes N pattern bytes to the host file PATH (fopen)
//   hello.elf --read-stdin fread|read reads stdin in 784-byte frames, checks the pattern
//   hello.elf --exhaust-heap          mallocs until NULL; the heap must stop at its limit
//   hello.elf --aligned-alloc         aligned_alloc, posix_memalign and aligned new
//   hello.elf --fault                 executes an undefined instruction
//   hello.elf --stack-overflow        recurses without end
// posix_memalign is POSIX, which newlib's headers hide under -std=c++20 unless asked for.
#define _POSIX_C_SOURCE 200112L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <new>

#include "micro_platform.h"

namespace {

// The anomaly program's frame: 28x28 grey bytes.
constexpr size_t kFrameBytes = 784;

// Byte i of the stdin test stream. 13 is odd, so every 256 bytes hold each value once, NUL,
// CR, LF and Ctrl-D/Ctrl-Z included: a text-mode translation anywhere would show.
uint8_t PatternByte(size_t i) { return static_cast<uint8_t>(i * 13 + 7); }

// Debian's newlib is built without C99's printf length modifiers (%zu prints "zu"); %lu with an
// unsigned long is exact, since size_t is 32 bits here.
unsigned long Ul(size_t value) { return static_cast<unsigned long>(value); }

int Hello() {
  printf("edgevae micro: %s ok\n", MicroCpuName());
  printf("stack peak %lu of %lu bytes, heap peak %lu of %lu bytes\n", Ul(MicroStackPeakBytes()),
         Ul(MicroStackSizeBytes()), Ul(MicroHeapPeakBytes()), Ul(MicroHeapLimitBytes()));
  return 0;
}

int PrintArguments(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) printf("argv[%d] = <%s>\n", i, argv[i]);
  return 0;
}

int WritePattern(const char* path, const char* count_text) {
  const size_t count = strtoul(count_text, nullptr, 10);
  FILE* file = fopen(path, "wb");
  if (file == nullptr) {
    fprintf(stderr, "hello: cannot create %s\n", path);
    return 1;
  }
  for (size_t i = 0; i < count; ++i) fputc(PatternByte(i), file);
  if (fclose(file) != 0) {
    fprintf(stderr, "hello: cannot write %s\n", path);
    return 1;
  }
  printf("wrote %lu bytes to %s\n", Ul(count), path);
  return 0;
}

// Reads one frame (or what is left before the end): through stdio, or straight through the
// read() system call, whose semihosting reads may return fewer bytes than asked from a pipe.
size_t ReadFrame(bool use_stdio, uint8_t* frame) {
  if (use_stdio) return fread(frame, 1, kFrameBytes, stdin);
  size_t filled = 0;
  while (filled < kFrameBytes) {
    const ssize_t got = read(0, frame + filled, kFrameBytes - filled);
    if (got <= 0) break;
    filled += static_cast<size_t>(got);
  }
  return filled;
}

int ReadStdin(const char* method) {
  const bool use_stdio = strcmp(method, "fread") == 0;
  if (!use_stdio && strcmp(method, "read") != 0) {
    fprintf(stderr, "hello: --read-stdin takes fread or read, not %s\n", method);
    return 2;
  }
  static uint8_t frame[kFrameBytes];
  size_t frames = 0;
  size_t total = 0;
  size_t mismatch = SIZE_MAX;
  for (;;) {
    const size_t got = ReadFrame(use_stdio, frame);
    for (size_t i = 0; i < got && mismatch == SIZE_MAX; ++i) {
      if (frame[i] != PatternByte(total + i)) mismatch = total + i;
    }
    total += got;
    if (got < kFrameBytes) break;
    ++frames;
  }
  printf("stdin (%s): %lu frames of %lu bytes and %lu bytes more, ", method, Ul(frames),
         Ul(kFrameBytes), Ul(total - frames * kFrameBytes));
  if (mismatch == SIZE_MAX) {
    printf("pattern ok\n");
    return 0;
  }
  printf("first wrong byte at %lu\n", Ul(mismatch));
  return 1;
}

int ExhaustHeap() {
  constexpr size_t kBlock = 64 * 1024;
  size_t allocated = 0;
  while (malloc(kBlock) != nullptr) allocated += kBlock;  // never freed: the program ends here
  const size_t peak = MicroHeapPeakBytes();
  const size_t limit = MicroHeapLimitBytes();
  printf("malloc returned NULL after %lu bytes; heap peak %lu of %lu bytes\n", Ul(allocated),
         Ul(peak), Ul(limit));
  // malloc asks for a block and some bookkeeping at a time: it must have come within two
  // blocks of the limit and never past it.
  if (peak > limit || peak + 2 * kBlock < limit) {
    printf("the heap did not stop at its limit\n");
    return 1;
  }
  printf("the heap stopped at its limit\n");
  return 0;
}

// Over-aligned allocations (SIMD buffers, cache-line aligned arenas) go through posix_memalign,
// which the platform supplies (syscalls.cc).
int AlignedAllocations() {
  bool ok = true;
  const size_t alignments[] = {8, 64, 256, 4096};
  for (const size_t alignment : alignments) {
    void* blocks[3] = {aligned_alloc(alignment, 3 * alignment), nullptr, nullptr};
    if (posix_memalign(&blocks[1], alignment, 1000) != 0) ok = false;
    char* const array = new (std::align_val_t(alignment)) char[1000];
    blocks[2] = array;
    for (const void* block : blocks) {
      if (block == nullptr || reinterpret_cast<uintptr_t>(block) % alignment != 0) ok = false;
    }
    free(blocks[0]);
    free(blocks[1]);
    operator delete[](array, std::align_val_t(alignment));
  }
  void* unused = nullptr;
  if (posix_memalign(&unused, 24, 100) == 0) ok = false;  // not a power of two
  printf("aligned allocations %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}

int Fault() {
  printf("executing an undefined instruction\n");
  fflush(stdout);  // the fault handler exits without flushing stdio
  __builtin_trap();
}

// Not a tail call (the sum uses the callee's result), and `pad` keeps every frame large.
int Recurse(int depth) {
  volatile char pad[256];
  pad[0] = static_cast<char>(depth);
  if (depth == 1 << 30) return 0;  // unreachable: bounds the recursion for the compiler
  return Recurse(depth + 1) + pad[0];
}

int StackOverflow() {
  printf("recursing until the stack ends\n");
  fflush(stdout);
  return Recurse(0);
}

int Usage() {
  fprintf(stderr,
          "usage: hello.elf [--args A... | --exit N | --write-pattern PATH N | "
          "--read-stdin fread|read | --exhaust-heap | --aligned-alloc | --fault | "
          "--stack-overflow]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Hello();
  const char* mode = argv[1];
  if (strcmp(mode, "--args") == 0) return PrintArguments(argc, argv);
  if (strcmp(mode, "--exit") == 0 && argc == 3) return atoi(argv[2]);
  if (strcmp(mode, "--write-pattern") == 0 && argc == 4) return WritePattern(argv[2], argv[3]);
  if (strcmp(mode, "--read-stdin") == 0 && argc == 3) return ReadStdin(argv[2]);
  if (strcmp(mode, "--exhaust-heap") == 0 && argc == 2) return ExhaustHeap();
  if (strcmp(mode, "--aligned-alloc") == 0 && argc == 2) return AlignedAllocations();
  if (strcmp(mode, "--fault") == 0 && argc == 2) return Fault();
  if (strcmp(mode, "--stack-overflow") == 0 && argc == 2) return StackOverflow();
  return Usage();
}
