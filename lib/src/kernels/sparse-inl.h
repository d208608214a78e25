// Per-target body of the sparse kernel declared in sparse.h. Included once per Highway target by
// sparse.cc (foreach_target.h), hence the toggling include guard.
#if defined(EDGEVAE_KERNELS_SPARSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_SPARSE_INL_H_
#undef EDGEVAE_KERNELS_SPARSE_INL_H_
#else
#define EDGEVAE_KERNELS_SPARSE_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace edgevae {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

HWY_NOINLINE size_t CompressNonZero(const float* HWY_RESTRICT x, size_t width,
                                    uint32_t* HWY_RESTRICT index, float* HWY_RESTRICT value,
                                    uint32_t* HWY_RESTRICT counts) {
  const hn::ScalableTag<float> d;
  const hn::RebindToUnsigned<decltype(d)> du;
  const auto zero = hn::Zero(d);
  // Iota once: Highway 1.0's Iota goes through the stack, and reloading it every vector stalls
  // on store forwarding.
  const auto lanes = hn::Iota(du, 0);
  size_t lit = 0;
  ForEachVector(d, width, [&](size_t p, auto valid, bool full) HWY_ATTR {
    const auto v = Load(d, valid, full, x + p);
    // Not(Eq), not Ne: x86's Ne is ordered (false for NaN), and a NaN pixel must reach the sums.
    const auto on = hn::AndNot(hn::Eq(v, zero), valid);
    if (hn::AllFalse(d, on)) return;  // most vectors of a digit's border: nothing to write
    const auto on_u = hn::RebindMask(du, on);
    // Compress in registers, then a plain store: AMD Zen 4's compressing store to memory
    // (vcompressps m512) is microcoded and several times slower.
    hn::StoreU(hn::Compress(hn::Add(lanes, hn::Set(du, static_cast<uint32_t>(p))), on_u), du, index + lit);
    hn::StoreU(hn::Compress(v, on), d, value + lit);
    lit += hn::CountTrue(d, on);
    // A true lane is all ones: subtracting it adds one.
    const auto c = hn::Sub(Load(du, hn::RebindMask(du, valid), full, counts + p),
                           hn::VecFromMask(du, on_u));
    Store(du, hn::RebindMask(du, valid), full, c, counts + p);
  });
  return lit;
}

HWY_NOINLINE size_t SparseStride(size_t width) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  return (width + lanes - 1) / lanes * lanes;
}

// `kVectors` accumulators stay in registers over every entry of the row: each entry costs one
// broadcast and, per accumulator, one load and one multiply-add.
template <size_t kVectors, class D>
HWY_INLINE void SparseRowBlock(D d, const uint32_t* HWY_RESTRICT index,
                               const float* HWY_RESTRICT value, size_t entries,
                               const float* HWY_RESTRICT dense, size_t stride,
                               const float* HWY_RESTRICT bias, bool relu, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> acc[kVectors];
  for (size_t v = 0; v < kVectors; ++v) {
    acc[v] = bias != nullptr ? hn::LoadU(d, bias + v * N) : hn::Zero(d);
  }
  for (size_t j = 0; j < entries; ++j) {
    const auto x = hn::Set(d, value[j]);
    const float* HWY_RESTRICT row = dense + static_cast<size_t>(index[j]) * stride;
#if HWY_ARCH_ARM_A64
    // Four vectors per instruction, which also advances `row` (common-inl.h).
    size_t v = 0;
    for (; v + 4 <= kVectors; v += 4) {
      hn::Vec<D> r[4];
      LoadVectorsAndAdvance<4>(d, row, 4 * N, r);
      for (size_t i = 0; i < 4; ++i) acc[v + i] = hn::MulAdd(x, r[i], acc[v + i]);
    }
    if constexpr (kVectors % 4 != 0) {
      hn::Vec<D> r[kVectors % 4];
      LoadVectorsAndAdvance<kVectors % 4>(d, row, 0, r);
      for (size_t i = 0; i < kVectors % 4; ++i) acc[v + i] = hn::MulAdd(x, r[i], acc[v + i]);
    }
#else
    for (size_t v = 0; v < kVectors; ++v) acc[v] = hn::MulAdd(x, hn::LoadU(d, row + v * N), acc[v]);
#endif
  }
  // x < 0 ? 0 : x, as BiasRelu: a NaN passes through.
  const auto zero = hn::Zero(d);
  for (size_t v = 0; v < kVectors; ++v) {
    hn::StoreU(relu ? hn::IfThenElse(hn::Lt(acc[v], zero), zero, acc[v]) : acc[v], d,
               out + v * N);
  }
}

template <size_t kVectors, class D>
HWY_INLINE void SparseColumnBlock(D d, const uint32_t* HWY_RESTRICT start,
                                  const uint32_t* HWY_RESTRICT index,
                                  const float* HWY_RESTRICT value, size_t begin, size_t end,
                                  const float* HWY_RESTRICT dense, size_t stride,
                                  const float* HWY_RESTRICT bias, bool relu,
                                  float* HWY_RESTRICT out) {
  for (size_t r = begin; r < end; ++r) {
    SparseRowBlock<kVectors>(d, index + start[r], value + start[r], start[r + 1] - start[r],
                             dense, stride, bias, relu, out + r * stride);
  }
}

HWY_NOINLINE void SparseTimesDense(const uint32_t* HWY_RESTRICT start,
                                   const uint32_t* HWY_RESTRICT index,
                                   const float* HWY_RESTRICT value, size_t begin, size_t end,
                                   const float* HWY_RESTRICT dense, size_t stride,
                                   const float* HWY_RESTRICT bias, bool relu,
                                   float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  // The columns go in blocks of at most kMaxVectors vectors (enough independent multiply-adds to
  // hide their latency, within the register file), split evenly so that no block is left with one latency-bound accumulator.
  // Blocks are the outer loop: a block's columns of `dense` (784 x 128 floats for the first
  // layer) stay in L2 while every row sums them, where the whole of it would not.
#if HWY_ARCH_ARM_A64
  constexpr size_t kMaxVectors = 16;  // 32 vector registers: fewer broadcasts per multiply-add
#else
  constexpr size_t kMaxVectors = 8;  // 16 registers on SSE4/AVX2/armv7; 8 keep AVX-512 busy
#endif
  const size_t vectors = stride / N;
  const size_t blocks = (vectors + kMaxVectors - 1) / kMaxVectors;
  size_t c = 0;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t width = vectors / blocks + (b < vectors % blocks ? 1 : 0);
    const float* bias_c = bias != nullptr ? bias + c : nullptr;
#define EDGEVAE_SPARSE_BLOCK(K)                                                              \
  case K:                                                                                    \
    SparseColumnBlock<K>(d, start, index, value, begin, end, dense + c, stride, bias_c, relu, \
                         out + c);                                                           \
    break;
    switch (width) {
      EDGEVAE_SPARSE_BLOCK(1)
      EDGEVAE_SPARSE_BLOCK(2)
      EDGEVAE_SPARSE_BLOCK(3)
      EDGEVAE_SPARSE_BLOCK(4)
      EDGEVAE_SPARSE_BLOCK(5)
      EDGEVAE_SPARSE_BLOCK(6)
      EDGEVAE_SPARSE_BLOCK(7)
      EDGEVAE_SPARSE_BLOCK(8)
#if HWY_ARCH_ARM_A64
      EDGEVAE_SPARSE_BLOCK(9)
      EDGEVAE_SPARSE_BLOCK(10)
      EDGEVAE_SPARSE_BLOCK(11)
      EDGEVAE_SPARSE_BLOCK(12)
      EDGEVAE_SPARSE_BLOCK(13)
      EDGEVAE_SPARSE_BLOCK(14)
      EDGEVAE_SPARSE_BLOCK(15)
      EDGEVAE_SPARSE_BLOCK(16)
#endif
      default:
        break;
    }
#undef EDGEVAE_SPARSE_BLOCK
    c += width * N;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
