// Subnormal floats flushed to zero while training. Training drives some activations and gradients
// into the subnormal range, and on Intel cores every arithmetic operation on one takes a
// microcode assist of about a hundred cycles: on the Intel Xeon VM an epoch of the 784-400-20
// model grew from 1.9 s to 2.5 s over six epochs, and stayed at 1.85 s with subnormals flushed
// (docs/performance.md). XNNPACK already runs its products so (pthreadpool's
// PTHREADPOOL_FLAG_DISABLE_DENORMALS); this extends it to the Highway kernels, Adam and the sparse
// and bf16 products of the trainer. The results stay deterministic: every thread that works on a
// step runs in the same mode (ParallelFlags in parallel.h hands the caller's mode to the pool).
#ifndef EDGEVAE_KERNELS_DENORMALS_H_
#define EDGEVAE_KERNELS_DENORMALS_H_

#include <cstdint>

namespace edgevae {

// While alive, this thread treats subnormal inputs as zero and flushes subnormal results to zero
// (x86: MXCSR's DAZ and FTZ; ARM: the FPU's FZ); the previous mode comes back at destruction.
// A no-op where the build knows no such mode.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  uint64_t saved_ = 0;
};

// Whether this thread flushes subnormals now.
bool FlushingDenormals();

}  // namespace edgevae

#endif  // EDGEVAE_KERNELS_DENORMALS_H_
