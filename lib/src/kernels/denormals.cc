#include "kernels/denormals.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace edgevae {
namespace {

#if defined(__x86_64__) || defined(__i386__)
constexpr uint64_t kFlushBits = 0x8040;  // MXCSR: FTZ (bit 15) and DAZ (bit 6)
uint64_t ReadMode() { return _mm_getcsr(); }
void WriteMode(uint64_t mode) { _mm_setcsr(static_cast<unsigned>(mode)); }
#elif defined(__aarch64__)
constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPCR.FZ
uint64_t ReadMode() {
  uint64_t fpcr;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
}
void WriteMode(uint64_t mode) { __asm__ volatile("msr fpcr, %0" : : "r"(mode)); }
#elif defined(__arm__) && defined(__ARM_FP)
constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPSCR.FZ
uint64_t ReadMode() {
  uint32_t fpscr;
  __asm__ volatile("vmrs %0, fpscr" : "=r"(fpscr));
  return fpscr;
}
void WriteMode(uint64_t mode) {
  __asm__ volatile("vmsr fpscr, %0" : : "r"(static_cast<uint32_t>(mode)));
}
#else
constexpr uint64_t kFlushBits = 0;
uint64_t ReadMode() { return 0; }
void WriteMode(uint64_t) {}
#endif

}  // namespace

ScopedFlushDenormals::ScopedFlushDenormals() : saved_(ReadMode()) {
  if (kFlushBits != 0) WriteMode(saved_ | kFlushBits);
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
  if (kFlushBits != 0) WriteMode(saved_);
}

bool FlushingDenormals() { return kFlushBits != 0 && (ReadMode() & kFlushBits) == kFlushBits; }

}  // namespace edgevae
