// One Adam step over a run of parameters, for every trainer (a VAE's or a classifier's whole
// parameter array; each adversarial player's own range, with its own step count).
#ifndef EDGEVAE_TOOLS_ADAM_H_
#define EDGEVAE_TOOLS_ADAM_H_

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "edgevae/train.h"
#include "kernels/optimizer.h"
#include "kernels/parallel.h"

namespace edgevae {

// The t-th step (t >= 1) of an Adam optimizer with `options`' betas and eps at learning rate
// `lr`, over n entries of parameters w, moments m and v and gradient g, in tiles over the pool.
inline void AdamStep(const TrainOptions& options, double lr, int64_t t, float* w, float* m,
                     float* v, const float* g, size_t n, pthreadpool_t pool) {
  const double td = static_cast<double>(t);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(options.beta1, td)));
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options.beta2, td)));
  ParallelTiles(pool, n, 16384, [&](size_t begin, size_t end) {
    simd::AdamUpdate(w + begin, m + begin, v + begin, g + begin, end - begin, options.beta1,
                     options.beta2, step_size, inv_sqrt_bc2, options.eps);
  });
}

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_ADAM_H_
