#include "edgevae/runtime.h"

#include <cpuinfo.h>
#include <pthreadpool.h>
#include <unistd.h>
#include <xnnpack.h>

#include <mutex>
#include <thread>

#include "simd/kernels.h"

namespace edgevae {
namespace {

Status InitializeXnnpackOnce() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(/*allocator=*/nullptr); });
  if (status != xnn_status_success) {
    return Internal("XNNPACK initialisation failed (status " + std::to_string(status) +
                    "): this CPU may lack the instructions XNNPACK needs");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Runtime>> Runtime::Create(int threads) {
  EVAE_RETURN_IF_ERROR(InitializeXnnpackOnce());
  if (threads <= 0) {
    const unsigned hw = std::thread::hardware_concurrency();
    threads = hw == 0 ? 1 : static_cast<int>(hw);
  }
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->threads_ = threads;
  if (threads > 1) {
    rt->pool_ = pthreadpool_create(static_cast<size_t>(threads));
    if (rt->pool_ == nullptr) {
      return Internal("could not create a pool of " + std::to_string(threads) + " threads");
    }
  }
  return rt;
}

Runtime::~Runtime() {
  if (pool_ != nullptr) pthreadpool_destroy(pool_);
}

CpuReport DetectCpu() {
  CpuReport report;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  report.logical_cores = cores > 0 ? static_cast<int>(cores) : 0;
  if (!cpuinfo_initialize()) {
    report.name = "unknown";
    report.features = "(cpuinfo could not read this system's CPU description)";
    return report;
  }
  report.detected = true;
  const cpuinfo_package* package = cpuinfo_get_package(0);
  report.name = package != nullptr && package->name[0] != '\0' ? package->name : "unknown";
  if (report.name == "unknown" && cpuinfo_get_cores_count() > 0) {
    // ARM boards often have no package name; name the core's microarchitecture instead.
    switch (cpuinfo_get_core(0)->uarch) {
      case cpuinfo_uarch_cortex_a53: report.name = "Cortex-A53"; break;
      case cpuinfo_uarch_cortex_a72: report.name = "Cortex-A72"; break;
      case cpuinfo_uarch_cortex_a76: report.name = "Cortex-A76"; break;
      case cpuinfo_uarch_cortex_a7: report.name = "Cortex-A7"; break;
      default: break;
    }
  }
  report.logical_cores = static_cast<int>(cpuinfo_get_processors_count());
  std::string f;
  auto add = [&f](bool has, const char* name) {
    if (!has) return;
    if (!f.empty()) f += ' ';
    f += name;
  };
#if CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
  add(cpuinfo_has_x86_sse4_1(), "sse4.1");
  add(cpuinfo_has_x86_avx(), "avx");
  add(cpuinfo_has_x86_fma3(), "fma");
  add(cpuinfo_has_x86_avx2(), "avx2");
  add(cpuinfo_has_x86_f16c(), "f16c");
  add(cpuinfo_has_x86_avx512f(), "avx512f");
  add(cpuinfo_has_x86_avx512bw(), "avx512bw");
  add(cpuinfo_has_x86_avx512vl(), "avx512vl");
  add(cpuinfo_has_x86_avx512vnni(), "avx512vnni");
#elif CPUINFO_ARCH_ARM64
  add(cpuinfo_has_arm_neon(), "asimd");
  add(cpuinfo_has_arm_neon_fp16_arith(), "fp16arith");
  add(cpuinfo_has_arm_neon_dot(), "dotprod");
  add(cpuinfo_has_arm_aes(), "aes");
#elif CPUINFO_ARCH_ARM
  add(cpuinfo_has_arm_neon(), "neon");
  add(cpuinfo_has_arm_neon_fma(), "vfpv4");
  add(cpuinfo_has_arm_neon_fp16(), "fp16");
#endif
  report.features = f.empty() ? "(none)" : f;
  return report;
}

const char* SimdTargetName() { return simd::TargetName(); }

}  // namespace edgevae
