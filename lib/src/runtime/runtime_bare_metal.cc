// The execution context of a bare-metal build (cmake/BareMetal.cmake): one core, no thread
// pool, no XNNPACK to initialise, and a CPU known at compile time rather than detected. The
// hosted build's counterpart is runtime.cc.
#include <string>

#include "edgevae/runtime.h"
#include "kernels/elementwise.h"

namespace edgevae {

StatusOr<std::unique_ptr<Runtime>> Runtime::Create(int threads) {
  if (threads > 1) {
    return InvalidArgument("threads must be 1 on a bare-metal target (it has one core and no "
                           "thread library), got " + std::to_string(threads));
  }
  return std::unique_ptr<Runtime>(new Runtime());
}

Runtime::~Runtime() = default;

CpuReport DetectCpu() {
  CpuReport report;
  report.logical_cores = 1;
#if defined(__ARM_ARCH_8M_MAIN__)
  report.name = "Cortex-M33 class (Armv8-M Mainline)";
#elif defined(__ARM_ARCH_7EM__)
  report.name = "Cortex-M4/M7 class (Armv7E-M)";
#else
  report.name = "unknown";
#endif
  std::string f;
#if defined(__ARM_FEATURE_DSP)
  f += "dsp";
#endif
#if defined(__ARM_FP)
  f += f.empty() ? "fpu" : " fpu";
#endif
  report.features = f.empty() ? "(none)" : f;
  return report;
}

const char* SimdTargetName() { return simd::TargetName(); }

}  // namespace edgevae
