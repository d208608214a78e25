// A deterministic encoder (an AAE's: z = E(x), no log-variance head) in the backends' [mu | logvar]
// rows: its posterior is a point mass at z, whose log-variance is -infinity. Internal to the
// runtime.
#ifndef EDGEVAE_RUNTIME_DETERMINISTIC_ENCODER_H_
#define EDGEVAE_RUNTIME_DETERMINISTIC_ENCODER_H_

#include <algorithm>
#include <cstddef>
#include <limits>

namespace edgevae {

// codes (n x lat) -> mv (n x 2 lat): each row's codes, then lat times -infinity. `codes` and `mv`
// must not overlap.
inline void SpreadDeterministic(const float* codes, size_t n, size_t lat, float* mv) {
  for (size_t i = 0; i < n; ++i) {
    std::copy(codes + i * lat, codes + (i + 1) * lat, mv + i * 2 * lat);
    std::fill(mv + i * 2 * lat + lat, mv + (i + 1) * 2 * lat,
              -std::numeric_limits<float>::infinity());
  }
}

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_DETERMINISTIC_ENCODER_H_
