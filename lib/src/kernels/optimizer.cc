// Dispatch for the kernels in optimizer-inl.h: compiled once per target in targets.h, the best one the
// CPU supports is chosen on first call.
#include "kernels/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/optimizer.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/optimizer-inl.h"

#if HWY_ONCE
#include "kernels/optimizer.h"

namespace edgevae {
HWY_EXPORT(AdamUpdate);

namespace simd {

void AdamUpdate(float* w, float* m, float* v, const float* g, size_t n, float beta1, float beta2,
                float step_size, float inv_sqrt_bc2, float eps) {
  HWY_DYNAMIC_DISPATCH(AdamUpdate)(w, m, v, g, n, beta1, beta2, step_size, inv_sqrt_bc2, eps);
}

}  // namespace simd
}  // namespace edgevae
#endif  // HWY_ONCE
