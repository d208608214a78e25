// Dispatch for the kernels in loss-inl.h: compiled once per target in targets.h, the best one the
// CPU supports is chosen on first call.
#include "kernels/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/loss.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/loss-inl.h"

#if HWY_ONCE
#include "kernels/loss.h"

namespace edgevae {
HWY_EXPORT(BceWithLogits);
HWY_EXPORT(BceWithLogitsGrad);
HWY_EXPORT(ReparamForward);
HWY_EXPORT(ReparamBackward);
HWY_EXPORT(ReluBackward);
HWY_EXPORT(LeakyReluBackward);
HWY_EXPORT(BceWithLogitsGradColumns);
HWY_EXPORT(WeightColumns);
HWY_EXPORT(ReparamBackwardIw);

namespace simd {

float BceWithLogits(const float* logits, const float* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(BceWithLogits)(logits, x, n);
}
float BceWithLogitsGrad(float* logits, const float* x, float bias, size_t n, float* grad_sum) {
  return HWY_DYNAMIC_DISPATCH(BceWithLogitsGrad)(logits, x, bias, n, grad_sum);
}
float ReparamForward(const float* mu, const float* logvar, const float* eps, float* z, float* std,
                     size_t n) {
  return HWY_DYNAMIC_DISPATCH(ReparamForward)(mu, logvar, eps, z, std, n);
}
void ReparamBackward(const float* dz, const float* mu, const float* logvar, const float* eps,
                     const float* std, float* dmu, float* dlogvar, size_t n, float* dmu_sum,
                     float* dlogvar_sum) {
  HWY_DYNAMIC_DISPATCH(ReparamBackward)(dz, mu, logvar, eps, std, dmu, dlogvar, n, dmu_sum,
                                        dlogvar_sum);
}
float ReluBackward(float* dh, const float* h, size_t n) {
  return HWY_DYNAMIC_DISPATCH(ReluBackward)(dh, h, n);
}
void LeakyReluBackward(float* dh, const float* h, float slope, size_t n) {
  HWY_DYNAMIC_DISPATCH(LeakyReluBackward)(dh, h, slope, n);
}
void BceWithLogitsGradColumns(float* logits, const float* x, float bias, size_t n,
                              float* column_loss) {
  HWY_DYNAMIC_DISPATCH(BceWithLogitsGradColumns)(logits, x, bias, n, column_loss);
}
float WeightColumns(float* g, const float* w, size_t n) {
  return HWY_DYNAMIC_DISPATCH(WeightColumns)(g, w, n);
}
void ReparamBackwardIw(const float* dz, const float* z, const float* eps, const float* std,
                       const float* w, float* dmu, float* dlogvar, size_t n, float* dmu_sum,
                       float* dlogvar_sum) {
  HWY_DYNAMIC_DISPATCH(ReparamBackwardIw)(dz, z, eps, std, w, dmu, dlogvar, n, dmu_sum,
                                          dlogvar_sum);
}

}  // namespace simd
}  // namespace edgevae
#endif  // HWY_ONCE
