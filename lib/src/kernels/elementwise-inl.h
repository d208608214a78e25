// Per-target bodies of the element-wise kernels declared in elementwise.h.
// Included once per Highway target by elementwise.cc (foreach_target.h), hence the toggling include
// guard.
#if defined(EDGEVAE_KERNELS_ELEMENTWISE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_ELEMENTWISE_INL_H_
#undef EDGEVAE_KERNELS_ELEMENTWISE_INL_H_
#else
#define EDGEVAE_KERNELS_ELEMENTWISE_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace edgevae {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

HWY_NOINLINE void U8ToF32(const uint8_t* HWY_RESTRICT in, float* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<int32_t, decltype(d)> di;
  const hn::Rebind<uint8_t, decltype(d)> du8;
  const auto scale = hn::Set(d, 1.0f / 255.0f);
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(du8, in + i)));
    hn::StoreU(hn::Mul(v, scale), d, out + i);
  }
  for (; i < n; ++i) out[i] = static_cast<float>(in[i]) * (1.0f / 255.0f);
}

HWY_NOINLINE void BiasRelu(float* HWY_RESTRICT x, float bias, size_t n) {
  const hn::ScalableTag<float> d;
  const auto b = hn::Set(d, bias);
  const auto zero = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    // x < 0 ? 0 : x rather than Max(x, 0): a NaN passes through (as in PyTorch), so a NaN
    // parameter shows in the loss instead of being masked here and spreading in the backward pass.
    const auto v = hn::Add(Load(d, m, full, x + i), b);
    Store(d, m, full, hn::IfThenElse(hn::Lt(v, zero), zero, v), x + i);
  });
}

// x < 0 ? slope x : x; NaN passes through like BiasRelu's.
HWY_NOINLINE void LeakyRelu(float* HWY_RESTRICT x, float slope, size_t n) {
  const hn::ScalableTag<float> d;
  const auto s = hn::Set(d, slope);
  const auto zero = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto v = Load(d, m, full, x + i);
    Store(d, m, full, hn::IfThenElse(hn::Lt(v, zero), hn::Mul(v, s), v), x + i);
  });
}

HWY_NOINLINE void AddBias(float* HWY_RESTRICT x, float bias, size_t n) {
  const hn::ScalableTag<float> d;
  const auto b = hn::Set(d, bias);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    Store(d, m, full, hn::Add(Load(d, m, full, x + i), b), x + i);
  });
}

HWY_NOINLINE void Sigmoid(const float* HWY_RESTRICT in, float* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<float> d;
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    hn::Vec<decltype(d)> sp, sg;
    SoftplusSigmoid(d, Load(d, m, full, in + i), sp, sg);
    Store(d, m, full, sg, out + i);
  });
}

HWY_NOINLINE void BoxMuller(const uint32_t* HWY_RESTRICT bits, float* HWY_RESTRICT out,
                            size_t chunks) {
  // At most 16 lanes, so that the fixed pairing (j with j + 16) is whole vectors at any width.
  const hn::CappedTag<float, 16> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::RebindToUnsigned<decltype(d)> du;
  const size_t N = hn::Lanes(d);
  const auto scale = hn::Set(d, 0x1p-24f);
  const auto one = hn::Set(d, 1.0f);
  const auto minus_two = hn::Set(d, -2.0f);
  const auto two_pi = hn::Set(d, 6.283185307179586f);
  for (size_t c = 0; c < chunks; ++c) {
    const uint32_t* b = bits + 32 * c;
    float* o = out + 32 * c;
    for (size_t j = 0; j < 16; j += N) {
      // u1 in (0, 1]: (top 24 bits + 1) / 2^24; u2 in [0, 1).
      const auto w1 = hn::BitCast(di, hn::ShiftRight<8>(hn::LoadU(du, b + j)));
      const auto w2 = hn::BitCast(di, hn::ShiftRight<8>(hn::LoadU(du, b + j + 16)));
      const auto u1 = hn::MulAdd(hn::ConvertTo(d, w1), scale, hn::Mul(one, scale));
      const auto u2 = hn::Mul(hn::ConvertTo(d, w2), scale);
      const auto r = hn::Sqrt(hn::Mul(minus_two, hn::Log(d, u1)));
      const auto theta = hn::Mul(two_pi, u2);
      hn::StoreU(hn::Mul(r, hn::Cos(d, theta)), d, o + j);
      hn::StoreU(hn::Mul(r, hn::Sin(d, theta)), d, o + j + 16);
    }
  }
}

HWY_NOINLINE float SumSquares(const float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<float> d;
  auto acc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto v = Load(d, m, full, x + i);
    acc = hn::MulAdd(v, v, acc);
  });
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

// The emulated float -> half demotion of Highway 1.0.3 (targets without F16C) saturates instead
// of overflowing to infinity, loses NaN and the sign of zero; those lanes get their IEEE bits
// here: |x| >= 65520 (which rounds past the largest half, 65504) becomes +-inf, NaN a quiet NaN.
template <class D>
HWY_INLINE void DemoteHalf(D d, hn::Vec<D> x, uint16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::float16_t, D> dh;
  const hn::Rebind<uint16_t, D> du16;
  const hn::RebindToUnsigned<D> du;
  const hn::RebindToSigned<D> di;
  // The fix-up works in 32-bit lanes (masks keep their lane size), then narrows i32 -> u16.
  const auto demoted = hn::PromoteTo(di, hn::BitCast(du16, hn::DemoteTo(dh, x)));
  const auto sign = hn::BitCast(di, hn::ShiftRight<16>(hn::And(hn::BitCast(du, x),
                                                               hn::Set(du, 0x80000000u))));
  const auto over = hn::RebindMask(di, hn::Ge(hn::Abs(x), hn::Set(d, 65520.0f)));
  const auto nan = hn::RebindMask(di, hn::Ne(x, x));
  // The sign always comes from x (the emulation also turns -0 into +0).
  auto bits = hn::Or(hn::And(demoted, hn::Set(di, 0x7FFF)), sign);
  bits = hn::IfThenElse(over, hn::Or(sign, hn::Set(di, 0x7C00)), bits);
  bits = hn::IfThenElse(nan, hn::Or(sign, hn::Set(di, 0x7E00)), bits);
  hn::StoreU(hn::DemoteTo(du16, bits), du16, p);
}

HWY_NOINLINE void F32ToF16(const float* HWY_RESTRICT in, uint16_t* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) DemoteHalf(d, hn::LoadU(d, in + i), out + i);
  if (i < n) {  // the tail through a whole vector on the stack
    HWY_ALIGN float buf[hn::MaxLanes(d)] = {};
    HWY_ALIGN uint16_t hbuf[hn::MaxLanes(d)];
    std::memcpy(buf, in + i, (n - i) * sizeof(float));
    DemoteHalf(d, hn::Load(d, buf), hbuf);
    std::memcpy(out + i, hbuf, (n - i) * sizeof(uint16_t));
  }
}

// Highway 1.0.3 emulates the half -> float promotion on targets without F16C (SSE4, scalar)
// and there maps exponent 31 (inf, NaN) to 65536 and beyond; those lanes are rebuilt from the bits.
template <class D>
HWY_INLINE hn::Vec<D> PromoteHalf(D d, const uint16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::float16_t, D> dh;
  const hn::Rebind<uint16_t, D> du16;
  const hn::RebindToUnsigned<D> du;
  const auto f = hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
  const auto bits = hn::PromoteTo(du, hn::LoadU(du16, p));
  const auto exp_mask = hn::Set(du, 0x7C00u);
  const auto special = hn::Eq(hn::And(bits, exp_mask), exp_mask);
  const auto rebuilt = hn::Or(hn::Or(hn::ShiftLeft<16>(hn::And(bits, hn::Set(du, 0x8000u))),
                                     hn::Set(du, 0x7F800000u)),
                              hn::ShiftLeft<13>(hn::And(bits, hn::Set(du, 0x3FFu))));
  return hn::IfThenElse(hn::RebindMask(d, special), hn::BitCast(d, rebuilt), f);
}

HWY_NOINLINE void F16ToF32(const uint16_t* HWY_RESTRICT in, float* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(PromoteHalf(d, in + i), d, out + i);
  if (i < n) {
    HWY_ALIGN uint16_t hbuf[hn::MaxLanes(d)] = {};
    HWY_ALIGN float buf[hn::MaxLanes(d)];
    std::memcpy(hbuf, in + i, (n - i) * sizeof(uint16_t));
    hn::Store(PromoteHalf(d, hbuf), d, buf);
    std::memcpy(out + i, buf, (n - i) * sizeof(float));
  }
}

HWY_NOINLINE void Transpose(const float* HWY_RESTRICT in, size_t rows, size_t cols, size_t ld_in,
                            float* HWY_RESTRICT out, size_t ld_out) {
  // 16 x 16 tiles (source and destination rows of a tile stay in L1), each made of 4 x 4 blocks
  // transposed in registers; the ragged edges of a tile are copied one element at a time.
  constexpr size_t kTile = 16;
  for (size_t r0 = 0; r0 < rows; r0 += kTile) {
    const size_t r1 = std::min(rows, r0 + kTile);
    for (size_t c0 = 0; c0 < cols; c0 += kTile) {
      const size_t c1 = std::min(cols, c0 + kTile);
      size_t rb = r0, cb = c0;  // ends of the part covered by whole 4 x 4 blocks
#if HWY_TARGET != HWY_SCALAR
      const hn::Full128<float> d;
      rb = r0 + (r1 - r0) / 4 * 4;
      cb = c0 + (c1 - c0) / 4 * 4;
      for (size_t r = r0; r < rb; r += 4) {
        for (size_t c = c0; c < cb; c += 4) {
          const float* src = in + r * ld_in + c;
          const auto a = hn::LoadU(d, src), b = hn::LoadU(d, src + ld_in);
          const auto e = hn::LoadU(d, src + 2 * ld_in), f = hn::LoadU(d, src + 3 * ld_in);
          const auto ab_lo = hn::InterleaveLower(d, a, b), ab_hi = hn::InterleaveUpper(d, a, b);
          const auto ef_lo = hn::InterleaveLower(d, e, f), ef_hi = hn::InterleaveUpper(d, e, f);
          float* dst = out + c * ld_out + r;
          hn::StoreU(hn::ConcatLowerLower(d, ef_lo, ab_lo), d, dst);
          hn::StoreU(hn::ConcatUpperUpper(d, ef_lo, ab_lo), d, dst + ld_out);
          hn::StoreU(hn::ConcatLowerLower(d, ef_hi, ab_hi), d, dst + 2 * ld_out);
          hn::StoreU(hn::ConcatUpperUpper(d, ef_hi, ab_hi), d, dst + 3 * ld_out);
        }
      }
#endif
      for (size_t r = r0; r < r1; ++r) {
        // Rows below the blocks: every column; rows beside them: the columns right of them.
        for (size_t c = r < rb ? cb : c0; c < c1; ++c) out[c * ld_out + r] = in[r * ld_in + c];
      }
    }
  }
}

HWY_NOINLINE bool AllFinite(const float* HWY_RESTRICT x, size_t n) {
  // x * 0 is 0 for finite x and NaN for inf or NaN; one NaN makes the sum NaN.
  // Four accumulators over whole vectors first: the check runs over every gradient of every
  // training step, and one loop iteration per vector was most of its cost on a Cortex-A72.
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto zero = hn::Zero(d);
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    acc0 = hn::MulAdd(hn::LoadU(d, x + i), zero, acc0);
    acc1 = hn::MulAdd(hn::LoadU(d, x + i + N), zero, acc1);
    acc2 = hn::MulAdd(hn::LoadU(d, x + i + 2 * N), zero, acc2);
    acc3 = hn::MulAdd(hn::LoadU(d, x + i + 3 * N), zero, acc3);
  }
  ForEachVector(d, n - i, [&](size_t j, auto m, bool full) HWY_ATTR {
    acc0 = hn::MulAdd(Load(d, m, full, x + i + j), zero, acc0);
  });
  const auto acc = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, acc)) == 0.0f;
}

HWY_NOINLINE int64_t Target() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
