// Per-target bodies of the kernels declared in kernels.h. Included once per Highway target by
// kernels.cc (foreach_target.h), hence the toggling include guard.
#if defined(EDGEVAE_SIMD_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_SIMD_KERNELS_INL_H_
#undef EDGEVAE_SIMD_KERNELS_INL_H_
#else
#define EDGEVAE_SIMD_KERNELS_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace edgevae {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Visits [0, n) in whole vectors, then once more for the tail with a mask of the valid lanes.
// body(i, mask, full): `full` tells whether all lanes are valid (plain loads and stores).
template <class D, class Body>
HWY_INLINE void ForEachVector(D d, size_t n, const Body& body) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  const auto all = hn::FirstN(d, N);
  for (; i + N <= n; i += N) body(i, all, true);
  if (i < n) body(i, hn::FirstN(d, n - i), false);
}

// The tail goes through a stack buffer: Highway 1.0's MaskedLoad wants an aligned pointer and
// reads the whole vector (SSE4, NEON), and its NEON BlendedStore rewrites the lanes past n.
template <class D, class M>
HWY_INLINE hn::Vec<D> Load(D d, M m, bool full, const hn::TFromD<D>* p) {
  if (full) return hn::LoadU(d, p);
  HWY_ALIGN hn::TFromD<D> buf[hn::MaxLanes(d)] = {};
  std::memcpy(buf, p, hn::CountTrue(d, m) * sizeof(*p));
  return hn::Load(d, buf);
}
template <class D, class M>
HWY_INLINE void Store(D d, M m, bool full, hn::Vec<D> v, hn::TFromD<D>* p) {
  if (full) return hn::StoreU(v, d, p);
  HWY_ALIGN hn::TFromD<D> buf[hn::MaxLanes(d)];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, hn::CountTrue(d, m) * sizeof(*p));
}

// e = exp(-|l|); softplus(l) = max(l, 0) + log1p(e); sigmoid(l) = (l >= 0 ? 1 : e) / (1 + e).
template <class D, class V>
HWY_INLINE void SoftplusSigmoid(D d, V l, V& softplus, V& sigmoid) {
  const V zero = hn::Zero(d);
  const V one = hn::Set(d, 1.0f);
  const V e = hn::Exp(d, hn::Neg(hn::Abs(l)));
  softplus = hn::Add(hn::Max(l, zero), hn::Log1p(d, e));
  const V num = hn::IfThenElse(hn::Ge(l, zero), one, e);
  sigmoid = hn::Div(num, hn::Add(one, e));
}

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

HWY_NOINLINE float BceWithLogits(const float* HWY_RESTRICT logits, const float* HWY_RESTRICT x,
                                 size_t n) {
  const hn::ScalableTag<float> d;
  auto acc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto l = Load(d, m, full, logits + i);
    const auto xv = Load(d, m, full, x + i);
    hn::Vec<decltype(d)> sp, sg;
    SoftplusSigmoid(d, l, sp, sg);
    acc = hn::Add(acc, hn::IfThenElseZero(m, hn::NegMulAdd(xv, l, sp)));
  });
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

HWY_NOINLINE float BceWithLogitsGrad(float* HWY_RESTRICT logits, const float* HWY_RESTRICT x,
                                     float bias, size_t n, float* grad_sum) {
  const hn::ScalableTag<float> d;
  const auto b = hn::Set(d, bias);
  auto acc = hn::Zero(d);
  auto gacc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto l = hn::Add(Load(d, m, full, logits + i), b);
    const auto xv = Load(d, m, full, x + i);
    hn::Vec<decltype(d)> sp, sg;
    SoftplusSigmoid(d, l, sp, sg);
    const auto g = hn::Sub(sg, xv);
    acc = hn::Add(acc, hn::IfThenElseZero(m, hn::NegMulAdd(xv, l, sp)));
    gacc = hn::Add(gacc, hn::IfThenElseZero(m, g));
    Store(d, m, full, g, logits + i);
  });
  *grad_sum = hn::GetLane(hn::SumOfLanes(d, gacc));
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

HWY_NOINLINE float ReparamForward(const float* HWY_RESTRICT mu, const float* HWY_RESTRICT logvar,
                                  const float* HWY_RESTRICT eps, float* HWY_RESTRICT z,
                                  float* HWY_RESTRICT std_out, size_t n) {
  const hn::ScalableTag<float> d;
  const auto half = hn::Set(d, 0.5f);
  const auto one = hn::Set(d, 1.0f);
  auto acc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto mv = Load(d, m, full, mu + i);
    const auto lv = Load(d, m, full, logvar + i);
    const auto e = Load(d, m, full, eps + i);
    const auto s = hn::Exp(d, hn::Mul(half, lv));
    Store(d, m, full, hn::MulAdd(s, e, mv), z + i);
    Store(d, m, full, s, std_out + i);
    // 1 + logvar - mu^2 - exp(logvar), with exp(logvar) = s^2.
    const auto t = hn::Sub(hn::NegMulAdd(mv, mv, hn::Add(one, lv)), hn::Mul(s, s));
    acc = hn::Add(acc, hn::IfThenElseZero(m, t));
  });
  return -0.5f * hn::GetLane(hn::SumOfLanes(d, acc));
}

HWY_NOINLINE void ReparamBackward(const float* HWY_RESTRICT dz, const float* HWY_RESTRICT mu,
                                  const float* HWY_RESTRICT logvar, const float* HWY_RESTRICT eps,
                                  const float* HWY_RESTRICT std_in, float* HWY_RESTRICT dmu,
                                  float* HWY_RESTRICT dlogvar, size_t n, float* dmu_sum,
                                  float* dlogvar_sum) {
  const hn::ScalableTag<float> d;
  const auto half = hn::Set(d, 0.5f);
  const auto one = hn::Set(d, 1.0f);
  auto acc_mu = hn::Zero(d);
  auto acc_lv = hn::Zero(d);
  (void)logvar;  // exp(logvar) is std^2, which the forward pass kept
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto g = Load(d, m, full, dz + i);
    const auto s = Load(d, m, full, std_in + i);
    const auto dm = hn::Add(g, Load(d, m, full, mu + i));
    const auto dl =
        hn::Mul(half, hn::MulAdd(hn::Mul(g, Load(d, m, full, eps + i)), s, hn::MulSub(s, s, one)));
    Store(d, m, full, dm, dmu + i);
    Store(d, m, full, dl, dlogvar + i);
    acc_mu = hn::Add(acc_mu, hn::IfThenElseZero(m, dm));
    acc_lv = hn::Add(acc_lv, hn::IfThenElseZero(m, dl));
  });
  *dmu_sum = hn::GetLane(hn::SumOfLanes(d, acc_mu));
  *dlogvar_sum = hn::GetLane(hn::SumOfLanes(d, acc_lv));
}

HWY_NOINLINE float ReluBackward(float* HWY_RESTRICT dh, const float* HWY_RESTRICT h, size_t n) {
  const hn::ScalableTag<float> d;
  const auto zero = hn::Zero(d);
  auto acc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto g = hn::IfThenElseZero(hn::Gt(Load(d, m, full, h + i), zero),
                                      Load(d, m, full, dh + i));
    Store(d, m, full, g, dh + i);
    acc = hn::Add(acc, g);  // masked lanes loaded as zero
  });
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

HWY_NOINLINE void AdamUpdate(float* HWY_RESTRICT w, float* HWY_RESTRICT mom,
                             float* HWY_RESTRICT vel, const float* HWY_RESTRICT g, size_t n,
                             float beta1, float beta2, float step_size, float inv_sqrt_bc2,
                             float eps) {
  const hn::ScalableTag<float> d;
  const auto b1 = hn::Set(d, beta1), c1 = hn::Set(d, 1.0f - beta1);
  const auto b2 = hn::Set(d, beta2), c2 = hn::Set(d, 1.0f - beta2);
  const auto step = hn::Set(d, step_size), inv_bc2 = hn::Set(d, inv_sqrt_bc2);
  const auto epsv = hn::Set(d, eps);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto gv = Load(d, m, full, g + i);
    const auto mv = hn::MulAdd(b1, Load(d, m, full, mom + i), hn::Mul(c1, gv));
    const auto vv = hn::MulAdd(b2, Load(d, m, full, vel + i), hn::Mul(c2, hn::Mul(gv, gv)));
    const auto denom = hn::MulAdd(hn::Sqrt(vv), inv_bc2, epsv);
    const auto wv = hn::NegMulAdd(step, hn::Div(mv, denom), Load(d, m, full, w + i));
    Store(d, m, full, mv, mom + i);
    Store(d, m, full, vv, vel + i);
    Store(d, m, full, wv, w + i);
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

HWY_INLINE void RequantizeI32Impl(const int32_t* HWY_RESTRICT acc, size_t n, float scale,
                                  int32_t zero_point, int32_t lo, int32_t hi,
                                  int8_t* HWY_RESTRICT out) {
  // XNNPACK's fp32 requantization: clamp in the float domain (relative to the zero point), round
  // half to even, add the zero point.
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const auto vs = hn::Set(d, scale);
  const auto flo = hn::Set(d, static_cast<float>(lo - zero_point));
  const auto fhi = hn::Set(d, static_cast<float>(hi - zero_point));
  const auto zp = hn::Set(di, zero_point);
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto x = hn::Mul(hn::ConvertTo(d, hn::LoadU(di, acc + i)), vs);
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
    float x = static_cast<float>(acc[i]) * scale;
    x = std::min(std::max(x, static_cast<float>(lo - zero_point)),
                 static_cast<float>(hi - zero_point));
    out[i] = static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(x)) + zero_point);
  }
}

HWY_NOINLINE void RequantizeI32(const int32_t* HWY_RESTRICT acc, size_t n, float scale,
                                int32_t zero_point, int32_t lo, int32_t hi,
                                int8_t* HWY_RESTRICT out) {
  RequantizeI32Impl(acc, n, scale, zero_point, lo, hi, out);
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
// there; on aarch64 XNNPACK's hand-written 1x8c8 kernel is ahead (fc4 ~96k instructions, GemvI8
// ~107k, Cortex-A72 model), so it stays.
HWY_INLINE bool GemvI8PreferredImpl() { return HWY_ARCH_ARM_V7 != 0; }
#else
HWY_INLINE bool GemvI8PreferredImpl() { return false; }
#endif

HWY_NOINLINE bool GemvI8Preferred() { return GemvI8PreferredImpl(); }

HWY_NOINLINE void GemvI8(const int8_t* HWY_RESTRICT w, size_t rows, size_t ldk,
                         const int8_t* HWY_RESTRICT x, const int32_t* HWY_RESTRICT bias,
                         float scale, int32_t zero_point, int32_t lo, int32_t hi,
                         int8_t* HWY_RESTRICT out) {
  constexpr size_t kChunk = 64;  // rows summed into the stack, then requantized together
  HWY_ALIGN int32_t sums[kChunk];
  for (size_t r0 = 0; r0 < rows; r0 += kChunk) {
    const size_t m = std::min(kChunk, rows - r0);
    const int8_t* wr = w + r0 * ldk;
    size_t r = 0;
#if HWY_TARGET == HWY_NEON
    for (; r + kGemvRows <= m; r += kGemvRows) DotRowsI8<kGemvRows>(wr + r * ldk, ldk, x, sums + r);
    for (; r + 4 <= m; r += 4) DotRowsI8<4>(wr + r * ldk, ldk, x, sums + r);
#endif
    for (; r < m; ++r) {
      int32_t sum = 0;
      for (size_t k = 0; k < ldk; ++k) sum += int32_t{wr[r * ldk + k]} * x[k];
      sums[r] = sum;
    }
    for (size_t i = 0; i < m; ++i) sums[i] += bias[r0 + i];
    RequantizeI32Impl(sums, m, scale, zero_point, lo, hi, out + r0);
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
  const hn::ScalableTag<float> d;
  const auto zero = hn::Zero(d);
  auto acc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    acc = hn::MulAdd(Load(d, m, full, x + i), zero, acc);
  });
  return hn::GetLane(hn::SumOfLanes(d, acc)) == 0.0f;
}

HWY_NOINLINE int64_t Target() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
