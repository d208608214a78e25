// Parallel loops over the Runtime's pthreadpool (nullptr runs inline). Work items are whole rows
// or chunks whose results land in their own slots, so results never depend on the thread count.
#ifndef EDGEVAE_KERNELS_PARALLEL_H_
#define EDGEVAE_KERNELS_PARALLEL_H_

#include <pthreadpool.h>

#include <algorithm>
#include <cstddef>

namespace edgevae {

// f(begin, end) over [0, n) in tiles of `tile`.
template <typename F>
void ParallelTiles(pthreadpool_t pool, size_t n, size_t tile, const F& f) {
  if (n == 0) return;
  if (pool == nullptr || n <= tile) {
    f(size_t{0}, n);
    return;
  }
  auto task = [&](size_t start, size_t count) { f(start, start + count); };
  pthreadpool_parallelize_1d_tile_1d(pool, task, n, tile, /*flags=*/0);
}

}  // namespace edgevae

#endif  // EDGEVAE_KERNELS_PARALLEL_H_
