// The optimizer's SIMD kernel (Highway, dispatched like elementwise.h), with a plain scalar
// reference in tests/kernels/optimizer_test.cc.
#ifndef EDGEVAE_KERNELS_OPTIMIZER_H_
#define EDGEVAE_KERNELS_OPTIMIZER_H_

#include <cstddef>
#include <cstdint>

namespace edgevae::simd {

// One Adam step (Kingma & Ba), in PyTorch's form:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   w -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps),
// with step_size = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t).
void AdamUpdate(float* w, float* m, float* v, const float* g, size_t n, float beta1, float beta2,
                float step_size, float inv_sqrt_bc2, float eps);

}  // namespace edgevae::simd

#endif  // EDGEVAE_KERNELS_OPTIMIZER_H_
