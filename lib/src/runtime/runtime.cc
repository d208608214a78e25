#include "edgevae/runtime.h"

#include <cpuinfo.h>
#include <pthreadpool.h>
#include <unistd.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "kernels/elementwise.h"

namespace edgevae {
namespace {

// XNNPACK allocates an aligned block for each operator's packed operand when it is created and
// frees it when the operator is deleted. Training creates 11 operators per step with the same
// sizes every step, and with glibc each of these blocks (0.1-1.3 MB) is a fresh mmap whose pages
// fault in again: measured here, that doubled the cost of packing. This cache keeps freed
// blocks by exact size and hands them back, up to kMaxCachedBytes.
class BlockCache {
 public:
  static constexpr size_t kAlign = 64;
  static constexpr size_t kMaxCachedBytes = size_t{64} << 20;

  void* Allocate(size_t alignment, size_t size) {
    if (alignment > kAlign) return std::aligned_alloc(alignment, RoundUp(size, alignment));
    const size_t bytes = RoundUp(size, kAlign);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_bytes_ -= bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlign, bytes);
    if (p != nullptr) {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = bytes;
    }
    return p;
  }

  void Free(void* p) {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) {  // over-aligned: never cached
      std::free(p);
      return;
    }
    if (cached_bytes_ + it->second > kMaxCachedBytes) {
      sizes_.erase(it);
      std::free(p);
      return;
    }
    cached_bytes_ += it->second;
    free_.emplace(it->second, p);
  }

 private:
  static size_t RoundUp(size_t n, size_t a) { return (n + a - 1) / a * a; }
  std::mutex mu_;
  std::unordered_map<void*, size_t> sizes_;      // every block this cache allocated
  std::unordered_multimap<size_t, void*> free_;  // blocks ready for reuse, by size
  size_t cached_bytes_ = 0;
};

xnn_allocator MakeAllocator() {
  static BlockCache* cache = new BlockCache();  // lives as long as XNNPACK (the process)
  xnn_allocator a{};
  a.context = cache;
  a.allocate = [](void*, size_t size) { return std::malloc(size); };
  a.reallocate = [](void*, void* p, size_t size) { return std::realloc(p, size); };
  a.deallocate = [](void*, void* p) { std::free(p); };
  a.aligned_allocate = [](void* ctx, size_t alignment, size_t size) {
    return static_cast<BlockCache*>(ctx)->Allocate(alignment, size);
  };
  a.aligned_deallocate = [](void* ctx, void* p) { static_cast<BlockCache*>(ctx)->Free(p); };
  return a;
}

Status InitializeXnnpackOnce() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  static const xnn_allocator allocator = MakeAllocator();
  std::call_once(once, [] { status = xnn_initialize(&allocator); });
  if (status != xnn_status_success) {
    return Internal("XNNPACK initialisation failed (status " + std::to_string(status) +
                    "): this CPU may lack the instructions XNNPACK needs");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Runtime>> Runtime::Create(int threads) {
  if (threads > kMaxThreads) {
    return InvalidArgument("threads must be at most " + std::to_string(kMaxThreads) + ", got " +
                           std::to_string(threads));
  }
  EVAE_RETURN_IF_ERROR(InitializeXnnpackOnce());
  if (threads <= 0) {
    const unsigned hw = std::thread::hardware_concurrency();
    threads = hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, kMaxThreads));
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
      case cpuinfo_uarch_cortex_a53:
        report.name = "Cortex-A53";
        break;
      case cpuinfo_uarch_cortex_a72:
        report.name = "Cortex-A72";
        break;
      case cpuinfo_uarch_cortex_a76:
        report.name = "Cortex-A76";
        break;
      case cpuinfo_uarch_cortex_a7:
        report.name = "Cortex-A7";
        break;
      default:
        break;
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
  add(cpuinfo_has_x86_avx512bf16(), "avx512bf16");
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
