// Per-target bodies of the loss and activation-gradient kernels declared in loss.h.
// Included once per Highway target by loss.cc (foreach_target.h), hence the toggling include
// guard.
#if defined(EDGEVAE_KERNELS_LOSS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_LOSS_INL_H_
#undef EDGEVAE_KERNELS_LOSS_INL_H_
#else
#define EDGEVAE_KERNELS_LOSS_INL_H_
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

HWY_NOINLINE void BceWithLogitsGradColumns(float* HWY_RESTRICT logits,
                                           const float* HWY_RESTRICT x, float bias, size_t n,
                                           float* HWY_RESTRICT column_loss) {
  const hn::ScalableTag<float> d;
  const auto b = hn::Set(d, bias);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto l = hn::Add(Load(d, m, full, logits + i), b);
    const auto xv = Load(d, m, full, x + i);
    hn::Vec<decltype(d)> sp, sg;
    SoftplusSigmoid(d, l, sp, sg);
    Store(d, m, full, hn::Add(Load(d, m, full, column_loss + i), hn::NegMulAdd(xv, l, sp)),
          column_loss + i);
    Store(d, m, full, hn::Sub(sg, xv), logits + i);
  });
}

HWY_NOINLINE float WeightColumns(float* HWY_RESTRICT g, const float* HWY_RESTRICT w, size_t n) {
  const hn::ScalableTag<float> d;
  auto acc = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto v = hn::Mul(Load(d, m, full, g + i), Load(d, m, full, w + i));
    Store(d, m, full, v, g + i);
    acc = hn::Add(acc, v);  // masked lanes loaded as zero
  });
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

HWY_NOINLINE void ReparamBackwardIw(const float* HWY_RESTRICT dz, const float* HWY_RESTRICT z,
                                    const float* HWY_RESTRICT eps, const float* HWY_RESTRICT std_in,
                                    const float* HWY_RESTRICT w, float* HWY_RESTRICT dmu,
                                    float* HWY_RESTRICT dlogvar, size_t n, float* dmu_sum,
                                    float* dlogvar_sum) {
  const hn::ScalableTag<float> d;
  const auto half = hn::Set(d, 0.5f);
  auto acc_mu = hn::Zero(d);
  auto acc_lv = hn::Zero(d);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto wv = Load(d, m, full, w + i);
    const auto t = hn::MulAdd(wv, Load(d, m, full, z + i), Load(d, m, full, dz + i));
    const auto te = hn::Mul(t, Load(d, m, full, eps + i));
    const auto dl = hn::Mul(half, hn::MulSub(te, Load(d, m, full, std_in + i), wv));
    Store(d, m, full, t, dmu + i);
    Store(d, m, full, dl, dlogvar + i);
    acc_mu = hn::Add(acc_mu, hn::IfThenElseZero(m, t));
    acc_lv = hn::Add(acc_lv, hn::IfThenElseZero(m, dl));
  });
  *dmu_sum = hn::GetLane(hn::SumOfLanes(d, acc_mu));
  *dlogvar_sum = hn::GetLane(hn::SumOfLanes(d, acc_lv));
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

// LeakyReLU's backward pass from its output h (same sign as its input, slope > 0).
HWY_NOINLINE void LeakyReluBackward(float* HWY_RESTRICT dh, const float* HWY_RESTRICT h,
                                    float slope, size_t n) {
  const hn::ScalableTag<float> d;
  const auto zero = hn::Zero(d);
  const auto s = hn::Set(d, slope);
  ForEachVector(d, n, [&](size_t i, auto m, bool full) HWY_ATTR {
    const auto g = Load(d, m, full, dh + i);
    Store(d, m, full, hn::IfThenElse(hn::Gt(Load(d, m, full, h + i), zero), g, hn::Mul(g, s)),
          dh + i);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
