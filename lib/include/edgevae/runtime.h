// The execution context: one pthreadpool shared by the XNNPACK operators and the SIMD kernels,
// and what was detected about the CPU.
#ifndef EDGEVAE_RUNTIME_H_
#define EDGEVAE_RUNTIME_H_

#include <memory>
#include <string>

#include "edgevae/status.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae {

// The most threads any engine, trainer or scorer runs (and what every program's --threads allows).
// Beyond the cores a thread only adds switching, and ParallelScorer builds one engine per thread
// (about 5.5 MB each with an f32 mnist model), so 64 keeps its memory near 370 MB at worst.
inline constexpr int kMaxThreads = 64;

class Runtime {
 public:
  // threads <= 0 means one per logical core, at most kMaxThreads; more than kMaxThreads is an
  // InvalidArgument. Initialises XNNPACK (once per process).
  static StatusOr<std::unique_ptr<Runtime>> Create(int threads);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int threads() const { return threads_; }
  // nullptr when single-threaded (XNNPACK and pthreadpool then run inline).
  pthreadpool_t pool() const { return pool_; }

 private:
  Runtime() = default;
  int threads_ = 1;
  pthreadpool_t pool_ = nullptr;
};

struct CpuReport {
  bool detected = false;  // cpuinfo_initialize() succeeded
  std::string name;       // "Intel Xeon ...", "Cortex-A72", or "unknown"
  std::string features;   // "avx2 avx512f fma ..." / "neon asimd fp16 ..."
  int logical_cores = 0;
};
CpuReport DetectCpu();

// The Highway target the SIMD kernels dispatch to on this CPU ("AVX3", "AVX2", "NEON", ...).
const char* SimdTargetName();

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_H_
