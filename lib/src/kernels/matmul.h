// The trainer's fp32 matrix product, with neither operand packed: C = op(A) . B with B read in
// place as k rows of n floats. In training every operand changes every step, and XNNPACK's
// fully-connected operator packs one of them into its micro-kernel layout at every create (a
// fifth of an epoch, docs/performance.md); here the activations' feature-major layout already is
// the streaming layout the register tiles want, and op(A) reads a weight as stored ([out][in]) or
// transposed, so no product of a step copies an operand first.
//
// Every element of C is one sequential sum over k, in order, of fused multiply-adds (separate
// multiply and add on targets without FMA), in one lane: the result does not depend on how the
// rows are split between threads or tiles. Highway, dispatched like elementwise.h; a plain
// reference is in tests/kernels/matmul_test.cc.
#ifndef EDGEVAE_KERNELS_MATMUL_H_
#define EDGEVAE_KERNELS_MATMUL_H_

#include <cstddef>

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae::simd {

// How op(A) (m x k) is stored.
enum class ALayout {
  kRowMajor,    // A[i][k] at a[i * lda + k]: a weight [out][in] times a feature-major input
  kTransposed,  // A[i][k] at a[k * lda + i]: a weight [out][in] read as its transpose
};

// Rows [row_begin, row_end) of C[m][n] = op(A) . B, with B[k][j] at b[k * ldb + j] and C[i][j] at
// c[i * ldc + j]; overwrites them (k == 0: zeros). Nothing is read or written outside the
// operands' m x k, k x n and m x n elements.
void MatMulRows(size_t row_begin, size_t row_end, size_t n, size_t k, const float* a, size_t lda,
                ALayout layout, const float* b, size_t ldb, float* c, size_t ldc);

// All m rows, split into tiles over `pool`'s threads (nullptr: the caller's); the same bits for
// any thread count.
void MatMul(size_t m, size_t n, size_t k, const float* a, size_t lda, ALayout layout,
            const float* b, size_t ldb, float* c, size_t ldc, pthreadpool_t pool);

}  // namespace edgevae::simd

#endif  // EDGEVAE_KERNELS_MATMUL_H_
