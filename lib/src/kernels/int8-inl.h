// Per-target bodies of the int8 kernels declared in int8.h.
// Included once per Highway target by int8.cc (foreach_target.h), hence the toggling include
// guard.
#if defined(EDGEVAE_KERNELS_INT8_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_INT8_INL_H_
#undef EDGEVAE_KERNELS_INT8_INL_H_
#else
#define EDGEVAE_KERNELS_INT8_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/common-inl.h"

#if defined(__ARM_FEATURE_SIMD32) && !defined(__aarch64__)
#include <arm_acle.h>  // SMLAD, SXTB16 (Cortex-M DSP)
#endif

HWY_BEFORE_NAMESPACE();
namespace edgevae {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

HWY_NOINLINE void U8ToI8Centered(const uint8_t* HWY_RESTRICT in, int8_t* HWY_RESTRICT out,
                                 size_t n) {
  // q = pixel - 128 is exactly pixel / 255 at scale 1/255, zero point -128: flipping the top bit.
  const hn::ScalableTag<uint8_t> d;
  const auto top = hn::Set(d, 0x80);
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::BitCast(hn::RebindToSigned<decltype(d)>(), hn::Xor(hn::LoadU(d, in + i), top)),
               hn::RebindToSigned<decltype(d)>(), out + i);
  }
  for (; i < n; ++i) out[i] = static_cast<int8_t>(in[i] ^ 0x80);
}

#if HWY_TARGET == HWY_NEON
// NEON: smlal by element (int16 weight x int16 value, added to int32) does in one instruction
// what Mul + PromoteTo + Add take three for. Highway 1.0.3 has no lane-wise widening
// multiply-accumulate (ReorderWidenMulAccumulate leaves the lane order to the target), so this
// kernel's NEON body is intrinsics. kVecs x 16 outputs per pass, their int32 sums in registers
// while the loop runs over the nonzero inputs: aarch64 (32 registers) 64 outputs per pass in 35
// instructions per input, armv7 (16 quad registers) 32 outputs in 22; the last 16-output passes
// cover what is left of ldw.
template <int kVecs>
HWY_INLINE void SparseI8Pass(const int8_t* HWY_RESTRICT wt, const uint32_t* HWY_RESTRICT offs,
                             const int16_t* HWY_RESTRICT vals, size_t nnz,
                             int32_t* HWY_RESTRICT acc) {
  int32x4_t c[4 * kVecs];
  for (int k = 0; k < 4 * kVecs; ++k) c[k] = vld1q_s32(acc + 4 * k);
  for (size_t t = 0; t < nnz; ++t) {
    const int8_t* w = wt + offs[t];
#if HWY_ARCH_ARM_A64
    const int16x8_t v = vdupq_n_s16(vals[t]);
#else
    const int16x4_t v = vdup_n_s16(vals[t]);
#endif
    for (int k = 0; k < kVecs; ++k) {
      const int8x16_t q = vld1q_s8(w + 16 * k);
      const int16x8_t lo = vmovl_s8(vget_low_s8(q));
#if HWY_ARCH_ARM_A64
      const int16x8_t hi = vmovl_high_s8(q);
      c[4 * k] = vmlal_laneq_s16(c[4 * k], vget_low_s16(lo), v, 0);
      c[4 * k + 1] = vmlal_high_laneq_s16(c[4 * k + 1], lo, v, 0);
      c[4 * k + 2] = vmlal_laneq_s16(c[4 * k + 2], vget_low_s16(hi), v, 0);
      c[4 * k + 3] = vmlal_high_laneq_s16(c[4 * k + 3], hi, v, 0);
#else
      const int16x8_t hi = vmovl_s8(vget_high_s8(q));
      c[4 * k] = vmlal_lane_s16(c[4 * k], vget_low_s16(lo), v, 0);
      c[4 * k + 1] = vmlal_lane_s16(c[4 * k + 1], vget_high_s16(lo), v, 0);
      c[4 * k + 2] = vmlal_lane_s16(c[4 * k + 2], vget_low_s16(hi), v, 0);
      c[4 * k + 3] = vmlal_lane_s16(c[4 * k + 3], vget_high_s16(hi), v, 0);
#endif
    }
  }
  for (int k = 0; k < 4 * kVecs; ++k) vst1q_s32(acc + 4 * k, c[k]);
}
HWY_INLINE size_t SparseI8BlockImpl() { return 16; }
#elif HWY_TARGET == HWY_SCALAR
HWY_INLINE size_t SparseI8BlockImpl() { return 1; }
#else
// Four int16 vectors of output per pass: eight int32 accumulators stay in registers while the
// loop runs over the nonzero inputs.
HWY_INLINE size_t SparseI8BlockImpl() { return 4 * hn::Lanes(hn::ScalableTag<int16_t>()); }
#endif

HWY_NOINLINE size_t SparseI8Block() { return SparseI8BlockImpl(); }

HWY_NOINLINE void SparseI8Columns(const int8_t* HWY_RESTRICT wt, size_t ldw,
                                  const uint32_t* HWY_RESTRICT offs,
                                  const int16_t* HWY_RESTRICT vals, size_t nnz,
                                  int32_t* HWY_RESTRICT acc) {
#if HWY_TARGET == HWY_NEON
  constexpr size_t kMain = HWY_ARCH_ARM_A64 ? 64 : 32;
  size_t i = 0;
  for (; i + kMain <= ldw; i += kMain) {
    SparseI8Pass<static_cast<int>(kMain / 16)>(wt + i, offs, vals, nnz, acc + i);
  }
  for (; i < ldw; i += 16) SparseI8Pass<1>(wt + i, offs, vals, nnz, acc + i);
#elif HWY_TARGET == HWY_SCALAR  // no half vectors: the plain loop
  for (size_t t = 0; t < nnz; ++t) {
    const int8_t* w = wt + offs[t];
    for (size_t i = 0; i < ldw; ++i) acc[i] += int32_t{w[i]} * vals[t];
  }
#else
  const hn::ScalableTag<int16_t> d16;
  const hn::Half<decltype(d16)> d16h;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const hn::Rebind<int32_t, decltype(d16h)> d32;
  const size_t N16 = hn::Lanes(d16), N32 = hn::Lanes(d32);
  const size_t block = SparseI8BlockImpl();
  for (size_t i = 0; i < ldw; i += block) {
    int32_t* a = acc + i;
    auto a0 = hn::LoadU(d32, a), a1 = hn::LoadU(d32, a + N32);
    auto a2 = hn::LoadU(d32, a + 2 * N32), a3 = hn::LoadU(d32, a + 3 * N32);
    auto a4 = hn::LoadU(d32, a + 4 * N32), a5 = hn::LoadU(d32, a + 5 * N32);
    auto a6 = hn::LoadU(d32, a + 6 * N32), a7 = hn::LoadU(d32, a + 7 * N32);
    for (size_t t = 0; t < nnz; ++t) {
      const int8_t* w = wt + offs[t] + i;
      const auto v = hn::Set(d16, vals[t]);
      const auto p0 = hn::Mul(hn::PromoteTo(d16, hn::LoadU(d8, w)), v);
      const auto p1 = hn::Mul(hn::PromoteTo(d16, hn::LoadU(d8, w + N16)), v);
      const auto p2 = hn::Mul(hn::PromoteTo(d16, hn::LoadU(d8, w + 2 * N16)), v);
      const auto p3 = hn::Mul(hn::PromoteTo(d16, hn::LoadU(d8, w + 3 * N16)), v);
      a0 = hn::Add(a0, hn::PromoteTo(d32, hn::LowerHalf(d16h, p0)));
      a1 = hn::Add(a1, hn::PromoteTo(d32, hn::UpperHalf(d16h, p0)));
      a2 = hn::Add(a2, hn::PromoteTo(d32, hn::LowerHalf(d16h, p1)));
      a3 = hn::Add(a3, hn::PromoteTo(d32, hn::UpperHalf(d16h, p1)));
      a4 = hn::Add(a4, hn::PromoteTo(d32, hn::LowerHalf(d16h, p2)));
      a5 = hn::Add(a5, hn::PromoteTo(d32, hn::UpperHalf(d16h, p2)));
      a6 = hn::Add(a6, hn::PromoteTo(d32, hn::LowerHalf(d16h, p3)));
      a7 = hn::Add(a7, hn::PromoteTo(d32, hn::UpperHalf(d16h, p3)));
    }
    hn::StoreU(a0, d32, a);
    hn::StoreU(a1, d32, a + N32);
    hn::StoreU(a2, d32, a + 2 * N32);
    hn::StoreU(a3, d32, a + 3 * N32);
    hn::StoreU(a4, d32, a + 4 * N32);
    hn::StoreU(a5, d32, a + 5 * N32);
    hn::StoreU(a6, d32, a + 6 * N32);
    hn::StoreU(a7, d32, a + 7 * N32);
  }
#endif
}

HWY_INLINE void RequantizeI32Impl(const int32_t* HWY_RESTRICT acc, size_t n,
                                  const float* HWY_RESTRICT scales, int32_t zero_point, int32_t lo,
                                  int32_t hi, int8_t* HWY_RESTRICT out) {
  // XNNPACK's fp32 requantization: clamp in the float domain (relative to the zero point), round
  // half to even, add the zero point.
#if HWY_TARGET == HWY_SCALAR
  // One value at a time (a microcontroller): Highway's scalar NearestInt costs about 40
  // instructions a value on Cortex-M. After the clamp |x| <= 255, so adding and subtracting
  // 1.5 * 2^23 rounds it half to even in the default rounding mode, and the conversion is exact.
  const float flo = static_cast<float>(lo - zero_point), fhi = static_cast<float>(hi - zero_point);
  for (size_t i = 0; i < n; ++i) {
    float x = static_cast<float>(acc[i]) * scales[i];
#if defined(__ARM_ARCH) && __ARM_ARCH >= 8 && defined(__ARM_FP)
    x = std::fminf(std::fmaxf(x, flo), fhi);  // VMAXNM, VMINNM (Armv8-M's FPU); x is never NaN
#else
    x = x < flo ? flo : x;
    x = x > fhi ? fhi : x;
#endif
    x = (x + 12582912.0f) - 12582912.0f;
    out[i] = static_cast<int8_t>(static_cast<int32_t>(x) + zero_point);
  }
#else
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const auto flo = hn::Set(d, static_cast<float>(lo - zero_point));
  const auto fhi = hn::Set(d, static_cast<float>(hi - zero_point));
  const auto zp = hn::Set(di, zero_point);
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto x = hn::Mul(hn::ConvertTo(d, hn::LoadU(di, acc + i)), hn::LoadU(d, scales + i));
    x = hn::Min(hn::Max(x, flo), fhi);
#if HWY_TARGET == HWY_NEON && HWY_ARCH_ARM_V7
    // armv7 has no round-to-nearest conversion, and Highway 1.0.3's NearestInt there compares
    // lane by lane in VFP (~13 instructions per value). |x| <= 255 after the clamp, so adding and
    // subtracting 1.5 * 2^23 rounds it to an integer, half to even (NEON's fixed rounding mode),
    // and the truncating conversion is then exact.
    const auto magic = hn::Set(d, 12582912.0f);
    const auto rounded = hn::ConvertTo(di, hn::Sub(hn::Add(x, magic), magic));
#else
    const auto rounded = hn::NearestInt(x);
#endif
    hn::StoreU(hn::DemoteTo(d8, hn::Add(rounded, zp)), d8, out + i);
  }
  for (; i < n; ++i) {
    float x = static_cast<float>(acc[i]) * scales[i];
    x = std::min(std::max(x, static_cast<float>(lo - zero_point)),
                 static_cast<float>(hi - zero_point));
    out[i] = static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(x)) + zero_point);
  }
#endif
}

HWY_NOINLINE void RequantizeI32(const int32_t* HWY_RESTRICT acc, size_t n,
                                const float* HWY_RESTRICT scales, int32_t zero_point, int32_t lo,
                                int32_t hi, int8_t* HWY_RESTRICT out) {
  RequantizeI32Impl(acc, n, scales, zero_point, lo, hi, out);
}

#if HWY_TARGET == HWY_NEON
// The four lane sums of a0..a3, in order.
HWY_INLINE int32x4_t SumLanes4(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3) {
#if HWY_ARCH_ARM_A64
  return vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
#else
  const int32x2_t s0 = vadd_s32(vget_low_s32(a0), vget_high_s32(a0));
  const int32x2_t s1 = vadd_s32(vget_low_s32(a1), vget_high_s32(a1));
  const int32x2_t s2 = vadd_s32(vget_low_s32(a2), vget_high_s32(a2));
  const int32x2_t s3 = vadd_s32(vget_low_s32(a3), vget_high_s32(a3));
  return vcombine_s32(vpadd_s32(s0, s1), vpadd_s32(s2, s3));
#endif
}

// sums[r] = sum_k w[r * ldk + k] * x[k] for r < kRows (a multiple of 4), ldk a multiple of 16.
// Per 16 k and row: smull + smlal (two int8 products per int16 lane: |w| <= 127 keeps their sum
// within 32,512) and sadalp into int32; x is loaded once for all kRows rows, and each row has its
// own pointer (armv7 loads have no register offset, only post-increment). 36-37 instructions per
// 16 k and 8 rows in the loop (3.5 multiply-adds per instruction); with the reductions and the
// requantization a 400 -> 784 layer takes 2.9.
template <int kRows>
HWY_INLINE void DotRowsI8(const int8_t* HWY_RESTRICT w, size_t ldk, const int8_t* HWY_RESTRICT x,
                          int32_t* HWY_RESTRICT sums) {
  int32x4_t acc[kRows];
  const int8_t* wp[kRows];
  for (int r = 0; r < kRows; ++r) {
    acc[r] = vdupq_n_s32(0);
    wp[r] = w + r * ldk;
  }
  for (const int8_t* const end = x + ldk; x != end; x += 16) {
    const int8x16_t xv = vld1q_s8(x);
    for (int r = 0; r < kRows; ++r) {
      const int8x16_t wv = vld1q_s8(wp[r]);
      wp[r] += 16;
      int16x8_t p = vmull_s8(vget_low_s8(wv), vget_low_s8(xv));
#if HWY_ARCH_ARM_A64
      p = vmlal_high_s8(p, wv, xv);
#else
      p = vmlal_s8(p, vget_high_s8(wv), vget_high_s8(xv));
#endif
      acc[r] = vpadalq_s16(acc[r], p);
    }
  }
  for (int r = 0; r < kRows; r += 4) {
    vst1q_s32(sums + r, SumLanes4(acc[r], acc[r + 1], acc[r + 2], acc[r + 3]));
  }
}
// Rows per pass: 8 (armv7: 4 spends a third more instructions per multiply-add, loading x twice as
// often; 8 spills one accumulator, which costs less).
constexpr int kGemvRows = 8;
// On armv7 GemvI8 does about twice the multiply-adds per instruction of XNNPACK's qs8 kernels
// there; on aarch64 XNNPACK's hand-written 1x8c8 kernel is ahead (docs/performance.md, "ARM
// instruction counts"), so it stays.
HWY_INLINE bool GemvI8PreferredImpl() { return HWY_ARCH_ARM_V7 != 0; }
#else
HWY_INLINE bool GemvI8PreferredImpl() { return false; }
#endif

#if HWY_TARGET != HWY_NEON && defined(__ARM_FEATURE_SIMD32) && !HWY_ARCH_ARM_A64
// Cortex-M (Armv7E-M, Armv8-M with the DSP extension): SMLAD does two 16-bit multiply-adds into
// an int32, and SXTB16 widens the even (or, rotated, the odd) bytes of a word into two
// halfwords. x is widened once per call into `xs`, the pairs (x[4b], x[4b+2]) and
// (x[4b+1], x[4b+3]) of each 4 k, so that per 4 weights of a row there is one load, two SXTB16
// and two SMLAD. Two rows share each x load. The int32 sums are exact, as in the plain loop.
#define EDGEVAE_GEMV_DSP 1
HWY_INLINE uint32_t PackHalves(int32_t lo, int32_t hi) {
  return (static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16);
}
// The odd bytes of v, widened: SXTB16 with its operand rotated by 8 (GCC 12 emits a separate
// rotate for __sxtb16 of a rotated value, one instruction more per four weights).
HWY_INLINE uint32_t Sxtb16Ror8(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
HWY_INLINE uint32_t LoadWord(const int8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}
// sums[r] = sum_{k < k4} w[r * ldk + k] * x[k] for r < rows, k4 a multiple of 4. Two rows per
// pass: with four, GCC 12 spills the accumulators and the pass costs half again as many
// instructions (measured on the Cortex-M33 model, docs/micro.md).
HWY_INLINE void DotRowsDsp(const int8_t* HWY_RESTRICT w, size_t rows, size_t ldk, size_t k4,
                           const uint32_t* HWY_RESTRICT xs, int32_t* HWY_RESTRICT sums) {
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const int8_t* w0 = w + r * ldk;
    const int8_t* w1 = w0 + ldk;
    int32_t a0 = 0, a1 = 0;
#pragma GCC unroll 4
    for (size_t b = 0; b < k4 / 4; ++b) {
      const uint32_t xe = xs[2 * b], xo = xs[2 * b + 1];
      const uint32_t v0 = LoadWord(w0 + 4 * b), v1 = LoadWord(w1 + 4 * b);
      a0 = __smlad(__sxtb16(v0), xe, a0);
      a0 = __smlad(Sxtb16Ror8(v0), xo, a0);
      a1 = __smlad(__sxtb16(v1), xe, a1);
      a1 = __smlad(Sxtb16Ror8(v1), xo, a1);
    }
    sums[r] = a0;
    sums[r + 1] = a1;
  }
  for (; r < rows; ++r) {
    const int8_t* w0 = w + r * ldk;
    int32_t a0 = 0;
    for (size_t b = 0; b < k4 / 4; ++b) {
      const uint32_t v0 = LoadWord(w0 + 4 * b);
      a0 = __smlad(__sxtb16(v0), xs[2 * b], a0);
      a0 = __smlad(Sxtb16Ror8(v0), xs[2 * b + 1], a0);
    }
    sums[r] = a0;
  }
}
#endif

HWY_NOINLINE bool GemvI8Preferred() { return GemvI8PreferredImpl(); }

HWY_NOINLINE size_t GemvI8RowMultiple() { return HWY_TARGET == HWY_NEON ? 16 : 1; }

HWY_NOINLINE void GemvI8(const int8_t* HWY_RESTRICT w, size_t rows, size_t ldk,
                         const int8_t* HWY_RESTRICT x, const int32_t* HWY_RESTRICT bias,
                         const float* HWY_RESTRICT scales, int32_t zero_point, int32_t lo,
                         int32_t hi, int8_t* HWY_RESTRICT out) {
  constexpr size_t kChunk = 64;  // rows summed into the stack, then requantized together
  HWY_ALIGN int32_t sums[kChunk];
#if defined(EDGEVAE_GEMV_DSP)
  // The widened x of up to kMaxDspK inputs (a 784-pixel layer), on the stack; a wider layer's
  // rest runs in the plain loop.
  constexpr size_t kMaxDspK = 1024;
  uint32_t xs[kMaxDspK / 2];
  const size_t k4 = std::min(ldk, kMaxDspK) / 4 * 4;
  for (size_t b = 0; b < k4 / 4; ++b) {
    xs[2 * b] = PackHalves(x[4 * b], x[4 * b + 2]);
    xs[2 * b + 1] = PackHalves(x[4 * b + 1], x[4 * b + 3]);
  }
#endif
  for (size_t r0 = 0; r0 < rows; r0 += kChunk) {
    const size_t m = std::min(kChunk, rows - r0);
    const int8_t* wr = w + r0 * ldk;
    size_t r = 0;
    size_t k0 = 0;  // where the plain loop starts
#if HWY_TARGET == HWY_NEON
    for (; r + kGemvRows <= m; r += kGemvRows) DotRowsI8<kGemvRows>(wr + r * ldk, ldk, x, sums + r);
    for (; r + 4 <= m; r += 4) DotRowsI8<4>(wr + r * ldk, ldk, x, sums + r);
#elif defined(EDGEVAE_GEMV_DSP)
    DotRowsDsp(wr, m, ldk, k4, xs, sums);
    r = m;
    k0 = k4;
    for (size_t i = 0; i < m && k0 < ldk; ++i) {
      for (size_t k = k0; k < ldk; ++k) sums[i] += int32_t{wr[i * ldk + k]} * x[k];
    }
#endif
    for (; r < m; ++r) {
      int32_t sum = 0;
      for (size_t k = k0; k < ldk; ++k) sum += int32_t{wr[r * ldk + k]} * x[k];
      sums[r] = sum;
    }
    for (size_t i = 0; i < m; ++i) sums[i] += bias[r0 + i];
    RequantizeI32Impl(sums, m, scales + r0, zero_point, lo, hi, out + r0);
  }
}

HWY_NOINLINE void QuantizeI8(const float* HWY_RESTRICT in, float scale, int32_t zero_point,
                             int8_t* HWY_RESTRICT out, size_t n) {
  // q = clamp(round(x / scale) + zp, -128, 127), round half to even (as XNNPACK's own convert).
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const auto inv = hn::Set(d, 1.0f / scale);
  const auto zp = hn::Set(di, zero_point);
  const auto lo = hn::Set(di, -128), hi = hn::Set(di, 127);
  const auto flo = hn::Set(d, -512.0f), fhi = hn::Set(d, 512.0f);
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    // Clamped before the conversion, which is undefined outside the int32 range.
    const auto x = hn::Min(hn::Max(hn::Mul(hn::LoadU(d, in + i), inv), flo), fhi);
    auto q = hn::Add(hn::NearestInt(x), zp);
    q = hn::Min(hn::Max(q, lo), hi);
    hn::StoreU(hn::DemoteTo(d8, q), d8, out + i);
  }
  for (; i < n; ++i) {
    const float x = std::min(512.0f, std::max(-512.0f, in[i] * (1.0f / scale)));
    const float r = std::nearbyint(x) + static_cast<float>(zero_point);
    out[i] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, r)));
  }
}

HWY_NOINLINE void DequantizeI8(const int8_t* HWY_RESTRICT in, float scale, int32_t zero_point,
                               float* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const auto s = hn::Set(d, scale);
  const auto zp = hn::Set(di, zero_point);
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto q = hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, in + i)), zp);
    hn::StoreU(hn::Mul(hn::ConvertTo(d, q), s), d, out + i);
  }
  for (; i < n; ++i) out[i] = scale * static_cast<float>(in[i] - zero_point);
}

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
