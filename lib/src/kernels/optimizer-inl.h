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
  const auto update = [&](auto gv, auto m0, auto v0, auto w0, auto& m1, auto& v1,
                          auto& w1) HWY_ATTR {
    m1 = hn::MulAdd(b1, m0, hn::Mul(c1, gv));
    v1 = hn::MulAdd(b2, v0, hn::Mul(c2, hn::Mul(gv, gv)));
    const auto denom = hn::MulAdd(hn::Sqrt(v1), inv_bc2, epsv);
    w1 = hn::NegMulAdd(step, hn::Div(m1, denom), w0);
  };
  // Whole vectors with plain loads and stores, then the tail: the per-vector tail logic was a
  // fifth of the instructions on a Cortex-A72.
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  // Two vectors an iteration: the loop's own instructions were a fifth of a vector's on a
  // Cortex-A72.
  for (; i + 2 * N <= n; i += 2 * N) {
    hn::Vec<decltype(d)> mv0, vv0, wv0, mv1, vv1, wv1;
    update(hn::LoadU(d, g + i), hn::LoadU(d, mom + i), hn::LoadU(d, vel + i), hn::LoadU(d, w + i),
           mv0, vv0, wv0);
    update(hn::LoadU(d, g + i + N), hn::LoadU(d, mom + i + N), hn::LoadU(d, vel + i + N),
           hn::LoadU(d, w + i + N), mv1, vv1, wv1);
    hn::StoreU(mv0, d, mom + i);
    hn::StoreU(vv0, d, vel + i);
    hn::StoreU(wv0, d, w + i);
    hn::StoreU(mv1, d, mom + i + N);
    hn::StoreU(vv1, d, vel + i + N);
    hn::StoreU(wv1, d, w + i + N);
  }
  for (; i + N <= n; i += N) {
    hn::Vec<decltype(d)> mv, vv, wv;
    update(hn::LoadU(d, g + i), hn::LoadU(d, mom + i), hn::LoadU(d, vel + i), hn::LoadU(d, w + i),
           mv, vv, wv);
    hn::StoreU(mv, d, mom + i);
    hn::StoreU(vv, d, vel + i);
    hn::StoreU(wv, d, w + i);
  }
  if (i < n) {
    const auto m = hn::FirstN(d, n - i);
    hn::Vec<decltype(d)> mv, vv, wv;
    update(Load(d, m, false, g + i), Load(d, m, false, mom + i), Load(d, m, false, vel + i),
           Load(d, m, false, w + i), mv, vv, wv);
    Store(d, m, false, mv, mom + i);
    Store(d, m, false, vv, vel + i);
    Store(d, m, false, wv, w + i);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
