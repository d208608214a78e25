// Per-target body of the product declared in matmul.h. Included once per Highway target by
// matmul.cc (foreach_target.h), hence the toggling include guard.
#if defined(EDGEVAE_KERNELS_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_MATMUL_INL_H_
#undef EDGEVAE_KERNELS_MATMUL_INL_H_
#else
#define EDGEVAE_KERNELS_MATMUL_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace edgevae {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The register tile: kRowsRowMajor or kRowsTransposed rows of C (by A's layout) by kTileVectors
// vectors of columns, all accumulators in registers while k runs, each k step loading
// kTileVectors vectors of a row of B and using each of them once per row.
#if HWY_ARCH_ARM_A64
// 32 registers of 4 lanes. A's values come as vectors and multiply by lane (FMLA by element):
// a row-major tile loads 4 values of k per row at once, 6 x 3 accumulators + 6 + 3 = 27
// registers; a transposed tile loads 4 rows' values of one k at once, 8 x 3 + 2 + 3 = 29. The
// vectors of one row come in one LD1 (LoadVectorsAndAdvance, common-inl.h).
constexpr size_t kRowsRowMajor = 6, kRowsTransposed = 8, kTileVectors = 3;
#elif HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// 32 registers: 8 x 2 accumulators, each A value broadcast from memory into the multiply-add.
constexpr size_t kRowsRowMajor = 8, kRowsTransposed = 8, kTileVectors = 2;
#elif HWY_ARCH_X86
// 16 registers (AVX2, SSE4): 6 x 2 accumulators, 2 of B and 1 broadcast.
constexpr size_t kRowsRowMajor = 6, kRowsTransposed = 6, kTileVectors = 2;
#else
// 16 registers (armv7 NEON) or no SIMD.
constexpr size_t kRowsRowMajor = 4, kRowsTransposed = 4, kTileVectors = 2;
#endif

// The operands, with A(i, k) = a[i * a_row + k * a_col].
struct MatMulArgs {
  size_t n, k;
  const float* a;
  size_t a_row, a_col, lda;
  bool transposed;
  const float* b;
  size_t ldb;
  float* c;
  size_t ldc;
};

// MR x NV vectors of C at row i, column j, every A value broadcast from memory. Also the column
// tail, with a one-lane `d`.
template <size_t MR, size_t NV, class D>
HWY_INLINE void TileBroadcast(D d, const MatMulArgs& p, size_t i, size_t j) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> acc[MR][NV];
  for (size_t r = 0; r < MR; ++r) {
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  }
  const float* HWY_RESTRICT a = p.a + i * p.a_row;
  const float* HWY_RESTRICT b = p.b + j;
  for (size_t kk = 0; kk < p.k; ++kk) {
    hn::Vec<D> bv[NV];
    for (size_t v = 0; v < NV; ++v) bv[v] = hn::LoadU(d, b + kk * p.ldb + v * N);
    const float* HWY_RESTRICT ak = a + kk * p.a_col;
    for (size_t r = 0; r < MR; ++r) {
      const auto s = hn::Set(d, ak[r * p.a_row]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(s, bv[v], acc[r][v]);
    }
  }
  float* HWY_RESTRICT c = p.c + i * p.ldc + j;
  for (size_t r = 0; r < MR; ++r) {
    for (size_t v = 0; v < NV; ++v) hn::StoreU(acc[r][v], d, c + r * p.ldc + v * N);
  }
}

#if HWY_ARCH_ARM_A64
// One lane L of `s` times each B vector into row R's accumulators (FMLA by element).
#define EDGEVAE_MATMUL_LANE(R, S, L)                                                        \
  do {                                                                                      \
    const auto s_lane = hn::Broadcast<L>(S);                                                \
    for (size_t v = 0; v < NV; ++v) acc[R][v] = hn::MulAdd(s_lane, bv[v], acc[R][v]);       \
  } while (0)

// Transposed A: the MR values of one k are MR / 4 vector loads of a row of the stored matrix.
template <size_t MR, size_t NV, class D>
HWY_INLINE void TileTransposedByLane(D d, const MatMulArgs& p, size_t i, size_t j) {
  static_assert(MR % 4 == 0, "whole vectors of A");
  constexpr size_t N = 4;
  hn::Vec<D> acc[MR][NV];
  for (size_t r = 0; r < MR; ++r) {
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  }
  const float* HWY_RESTRICT a = p.a + i;
  const float* HWY_RESTRICT b = p.b + j;
  for (size_t kk = 0; kk < p.k; ++kk) {
    hn::Vec<D> av[MR / 4], bv[NV];
    LoadVectorsAndAdvance<MR / 4>(d, a, p.lda, av);
    LoadVectorsAndAdvance<NV>(d, b, p.ldb, bv);
    for (size_t q = 0; q < MR / 4; ++q) {
      EDGEVAE_MATMUL_LANE(4 * q + 0, av[q], 0);
      EDGEVAE_MATMUL_LANE(4 * q + 1, av[q], 1);
      EDGEVAE_MATMUL_LANE(4 * q + 2, av[q], 2);
      EDGEVAE_MATMUL_LANE(4 * q + 3, av[q], 3);
    }
  }
  float* HWY_RESTRICT c = p.c + i * p.ldc + j;
  for (size_t r = 0; r < MR; ++r) {
    for (size_t v = 0; v < NV; ++v) hn::StoreU(acc[r][v], d, c + r * p.ldc + v * N);
  }
}

// Row-major A: one vector load per row brings 4 values of k; B's 4 rows follow one by one. The
// k % 4 values left are broadcast from memory, in the same order.
template <size_t MR, size_t NV, class D>
HWY_INLINE void TileRowMajorByLane(D d, const MatMulArgs& p, size_t i, size_t j) {
  constexpr size_t N = 4;
  hn::Vec<D> acc[MR][NV];
  for (size_t r = 0; r < MR; ++r) {
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  }
  const float* HWY_RESTRICT a = p.a + i * p.lda;
  const float* HWY_RESTRICT b = p.b + j;
  size_t kk = 0;
  const float* HWY_RESTRICT bk = b;
  for (; kk + 4 <= p.k; kk += 4) {
    hn::Vec<D> av[MR], bv[NV];
    for (size_t r = 0; r < MR; ++r) av[r] = hn::LoadU(d, a + r * p.lda + kk);
#define EDGEVAE_MATMUL_K(L)                                                                 \
  LoadVectorsAndAdvance<NV>(d, bk, p.ldb, bv);                                              \
  for (size_t r = 0; r < MR; ++r) EDGEVAE_MATMUL_LANE(r, av[r], L);
    EDGEVAE_MATMUL_K(0)
    EDGEVAE_MATMUL_K(1)
    EDGEVAE_MATMUL_K(2)
    EDGEVAE_MATMUL_K(3)
#undef EDGEVAE_MATMUL_K
  }
  for (; kk < p.k; ++kk) {
    hn::Vec<D> bv[NV];
    for (size_t v = 0; v < NV; ++v) bv[v] = hn::LoadU(d, b + kk * p.ldb + v * N);
    for (size_t r = 0; r < MR; ++r) {
      const auto s = hn::Set(d, a[r * p.lda + kk]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(s, bv[v], acc[r][v]);
    }
  }
  float* HWY_RESTRICT c = p.c + i * p.ldc + j;
  for (size_t r = 0; r < MR; ++r) {
    for (size_t v = 0; v < NV; ++v) hn::StoreU(acc[r][v], d, c + r * p.ldc + v * N);
  }
}
#undef EDGEVAE_MATMUL_LANE
#endif  // HWY_ARCH_ARM_A64

// A full-width tile: by lane where the target has it and the tile is the layout's full height.
template <size_t MR, size_t NV, class D>
HWY_INLINE void Tile(D d, const MatMulArgs& p, size_t i, size_t j) {
#if HWY_ARCH_ARM_A64
  if (p.transposed && MR == kRowsTransposed) {
    if constexpr (MR % 4 == 0) return TileTransposedByLane<MR, NV>(d, p, i, j);
  }
  if (!p.transposed && MR == kRowsRowMajor) return TileRowMajorByLane<MR, NV>(d, p, i, j);
#endif
  TileBroadcast<MR, NV>(d, p, i, j);
}

// MR rows of C from row i: whole tiles, then the vectors left, then the columns left one lane at
// a time.
template <size_t MR>
HWY_INLINE void RowBlock(const MatMulArgs& p, size_t i) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t j = 0;
  for (; j + kTileVectors * N <= p.n; j += kTileVectors * N) Tile<MR, kTileVectors>(d, p, i, j);
  const size_t vectors = (p.n - j) / N;
  if (vectors >= 2) {
    if constexpr (kTileVectors > 2) Tile<MR, 2>(d, p, i, j);
    j += 2 * N;
  } else if (vectors == 1) {
    Tile<MR, 1>(d, p, i, j);
    j += N;
  }
  const hn::CappedTag<float, 1> d1;
  for (; j < p.n; ++j) TileBroadcast<MR, 1>(d1, p, i, j);
}

// The rows left below the last whole tile, 1 to kMax - 1 of them.
template <size_t kMax>
HWY_INLINE void PartialRowBlock(const MatMulArgs& p, size_t i, size_t rows) {
  switch (rows) {
    case 1: return RowBlock<1>(p, i);
    case 2: return RowBlock<2>(p, i);
    case 3: return RowBlock<3>(p, i);
    case 4: if constexpr (kMax > 4) return RowBlock<4>(p, i); break;
    case 5: if constexpr (kMax > 5) return RowBlock<5>(p, i); break;
    case 6: if constexpr (kMax > 6) return RowBlock<6>(p, i); break;
    case 7: if constexpr (kMax > 7) return RowBlock<7>(p, i); break;
    default: break;
  }
}

template <size_t MR>
HWY_INLINE void Rows(const MatMulArgs& p, size_t row_begin, size_t row_end) {
  size_t i = row_begin;
  for (; i + MR <= row_end; i += MR) RowBlock<MR>(p, i);
  if (i < row_end) PartialRowBlock<MR>(p, i, row_end - i);
}

HWY_NOINLINE void MatMulRows(size_t row_begin, size_t row_end, size_t n, size_t k,
                             const float* HWY_RESTRICT a, size_t lda, bool transposed,
                             const float* HWY_RESTRICT b, size_t ldb, float* HWY_RESTRICT c,
                             size_t ldc) {
  const MatMulArgs p{n, k, a, transposed ? 1 : lda, transposed ? lda : 1, lda, transposed,
                     b, ldb, c, ldc};
  if (transposed) {
    Rows<kRowsTransposed>(p, row_begin, row_end);
  } else {
    Rows<kRowsRowMajor>(p, row_begin, row_end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
