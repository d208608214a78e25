// Per-target body of the optimizer kernel declared in optimizer.h.
// Included once per Highway target by optimizer.cc (foreach_target.h), hence the toggling include
// guard.
#if defined(EDGEVAE_KERNELS_OPTIMIZER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_OPTIMIZER_INL_H_
#undef EDGEVAE_KERNELS_OPTIMIZER_INL_H_
#else
#define EDGEVAE_KERNELS_OPTIMIZER_INL_H_
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

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
