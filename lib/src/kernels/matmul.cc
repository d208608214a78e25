// Dispatch for the product in matmul-inl.h: compiled once per target in targets.h, the best one
// the CPU supports is chosen on first call.
#include "kernels/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/matmul-inl.h"

#if HWY_ONCE
#include "kernels/matmul.h"
#include "kernels/parallel.h"

namespace edgevae {
HWY_EXPORT(MatMulRows);

namespace simd {

void MatMulRows(size_t row_begin, size_t row_end, size_t n, size_t k, const float* a, size_t lda,
                ALayout layout, const float* b, size_t ldb, float* c, size_t ldc) {
  if (row_begin >= row_end || n == 0) return;
  HWY_DYNAMIC_DISPATCH(MatMulRows)(row_begin, row_end, n, k, a, lda,
                                   layout == ALayout::kTransposed, b, ldb, c, ldc);
}

void MatMul(size_t m, size_t n, size_t k, const float* a, size_t lda, ALayout layout,
            const float* b, size_t ldb, float* c, size_t ldc, pthreadpool_t pool) {
  // 48 rows a task: whole register tiles of every target (4, 6 or 8 rows), and enough tasks for
  // two threads to share the 400 or 784 rows of the trainer's large products evenly.
  ParallelTiles(pool, m, 48, [&](size_t begin, size_t end) {
    MatMulRows(begin, end, n, k, a, lda, layout, b, ldb, c, ldc);
  });
}

}  // namespace simd
}  // namespace edgevae
#endif  // HWY_ONCE
