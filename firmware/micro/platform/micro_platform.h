// The bare-metal platform of firmware/micro: what a program can ask about its memory and core.
//
// A program built with edgevae_micro_executable() (firmware/micro/platform/CMakeLists.txt) starts
// as an ordinary `int main(int argc, char** argv)`: the startup code has zeroed .bss, painted the
// stack, opened stdin/stdout/stderr over semihosting and run the static constructors; main's
// return value becomes the exit status of qemu (toolchains/qemu-micro.sh). printf, fopen (host
// files), fread(stdin) and malloc are newlib's.
//
// Memory: one RAM region holds the image, then the heap (from the end of .bss up to a fixed
// limit), then the stack at the top. The functions are C functions so that C code and the
// platform's own C-linkage symbols share one declaration.
#ifndef EDGEVAE_FIRMWARE_MICRO_PLATFORM_MICRO_PLATFORM_H_
#define EDGEVAE_FIRMWARE_MICRO_PLATFORM_MICRO_PLATFORM_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// The deepest the stack has reached since reset, in bytes below its top: the reset handler
// fills the stack with a pattern and this finds the lowest word that no longer holds it. If the
// stack ran past its end (possible on a Cortex-M4; a Cortex-M33 faults at once) it returns
// MicroStackSizeBytes().
size_t MicroStackPeakBytes(void);
// The size of the stack region (STACK_BYTES of edgevae_micro_executable, 64 KiB by default).
size_t MicroStackSizeBytes(void);

// The highest the heap's break (_sbrk) has been since reset, in bytes above the heap's start:
// the memory malloc has taken from the system, which it never gives back. This is the figure to
// compare with a board's RAM, not the bytes allocated at any one time.
size_t MicroHeapPeakBytes(void);
// How far the heap may grow (HEAP_BYTES of edgevae_micro_executable; by default all RAM between
// the image and the stack). malloc returns NULL beyond it.
size_t MicroHeapLimitBytes(void);

// The core qemu (or the board) runs, read from the CPUID register: "cortex-m33", "cortex-m4",
// "cortex-m55", ... or "unknown". It tells which board model a test really ran on.
const char* MicroCpuName(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEVAE_FIRMWARE_MICRO_PLATFORM_MICRO_PLATFORM_H_
