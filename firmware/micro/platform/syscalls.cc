// What newlib needs beyond librdimon's semihosting system calls, and what the C runtime files
// left out by -nostartfiles (crt0, crti/crtn, crtbegin) would have defined.
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "micro_platform.h"
#include "startup.h"

namespace {

// The break: the heap's end as handed to malloc so far. It only grows (newlib's malloc gives
// memory back through _sbrk only when trimming the top, which is rare), so the peak is tracked
// apart from it anyway.
char* heap_break = __heap_start;
char* heap_peak = __heap_start;

}  // namespace

extern "C" {

// Replaces librdimon's weak _sbrk, which stops only at the stack pointer: this one stops at the
// linker script's __heap_limit, as a board's fixed RAM would, and remembers the high-water mark.
void* _sbrk(ptrdiff_t increment) {
  const intptr_t room_above = __heap_limit - heap_break;
  const intptr_t room_below = heap_break - __heap_start;
  if (increment > room_above || -increment > room_below) {
    errno = ENOMEM;
    return reinterpret_cast<void*>(-1);
  }
  char* const previous = heap_break;
  heap_break += increment;
  if (heap_break > heap_peak) heap_peak = heap_break;
  return previous;
}

// newlib's aligned_alloc, which libstdc++'s aligned operator new calls, is a wrapper of
// posix_memalign, which newlib declares but does not build for arm-none-eabi: without this any
// over-aligned allocation fails to link. memalign's blocks are ordinary free() blocks.
int posix_memalign(void** result, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* const block = memalign(alignment, size);
  if (block == nullptr) return ENOMEM;
  *result = block;
  return 0;
}

// Called by __libc_init_array and at exit; the crti/crtn that would hold their bodies are not
// linked, and the .init_array/.fini_array sections do all the work.
void _init(void) {}
void _fini(void) {}

// crtbegin's: the handle under which static objects register their destructors.
void* __dso_handle = nullptr;

size_t MicroHeapPeakBytes(void) { return static_cast<size_t>(heap_peak - __heap_start); }

size_t MicroHeapLimitBytes(void) { return static_cast<size_t>(__heap_limit - __heap_start); }

}  // extern "C"
