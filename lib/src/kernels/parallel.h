// Parallel loops over the Runtime's pthreadpool (nullptr runs inline). Work items are whole rows
// or chunks whose results land in their own slots, so results never depend on the thread count.
#ifndef EDGEVAE_KERNELS_PARALLEL_H_
#define EDGEVAE_KERNELS_PARALLEL_H_

#if defined(EDGEVAE_BARE_METAL)
typedef struct pthreadpool* pthreadpool_t;  // always null there: one core, no thread library
#else
#include <pthreadpool.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/denormals.h"

#if defined(__SANITIZE_THREAD__)
#define EDGEVAE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EDGEVAE_TSAN 1
#endif
#endif
#if defined(EDGEVAE_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace edgevae {

// A pthreadpool task that tells ThreadSanitizer about the fork and the join of its parallel
// region (nothing more than the task in other builds). Debian's pthreadpool is not instrumented:
// TSan sees neither the hand-over of tasks to the pool's threads nor the caller's wait for them
// (pthreadpool's own atomics and futexes), and reported every task's access to the caller's data
// as a race. This states what pthreadpool guarantees -- the caller's work before the call
// happens before every task, every task happens before Joined() -- and nothing between tasks, so
// two tasks that touch the same data are still reported. The sync addresses are this object's
// own: a task acquires before its first read of the caller's memory.
// docs/reliability-sanitizers.md
template <typename F>
class ForkJoinTask {
 public:
  explicit ForkJoinTask(const F& f) : f_(f) {
#if defined(EDGEVAE_TSAN)
    __tsan_release(Fork());
#endif
  }
  template <typename... Args>
  void operator()(Args... args) const {
#if defined(EDGEVAE_TSAN)
    __tsan_acquire(Fork());
#endif
    f_(args...);
#if defined(EDGEVAE_TSAN)
    __tsan_release(Join());
#endif
  }
  void Joined() const {
#if defined(EDGEVAE_TSAN)
    __tsan_acquire(Join());
#endif
  }

 private:
  void* Fork() const { return const_cast<ForkJoinTask*>(this); }
  void* Join() const { return reinterpret_cast<char*>(Fork()) + 1; }
  F f_;
};

#if !defined(EDGEVAE_BARE_METAL)
// The pthreadpool flags that run a parallel region's tasks in the caller's subnormal mode
// (denormals.h): the pool's threads flush them too while the caller does, so a result does not
// depend on which thread computed it.
inline uint32_t ParallelFlags() {
  return FlushingDenormals() ? PTHREADPOOL_FLAG_DISABLE_DENORMALS : 0;
}
#endif

// f(begin, end) over [0, n) in tiles of `tile`.
template <typename F>
void ParallelTiles(pthreadpool_t pool, size_t n, size_t tile, const F& f) {
  if (n == 0) return;
#if defined(EDGEVAE_BARE_METAL)
  (void)pool;  // one core, no thread library: always null there
  (void)tile;
  f(size_t{0}, n);
#else
  if (pool == nullptr || n <= tile) {
    f(size_t{0}, n);
    return;
  }
  const ForkJoinTask task([&](size_t start, size_t count) { f(start, start + count); });
  pthreadpool_parallelize_1d_tile_1d(pool, task, n, tile, ParallelFlags());
  task.Joined();
#endif
}

}  // namespace edgevae

#endif  // EDGEVAE_KERNELS_PARALLEL_H_
