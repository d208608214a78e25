// softplus(l) = log(1 + e^l) and sigmoid(l) of one logit in double, without overflow: the
// adversarial players' per-row losses on a discriminator's logit (-log D = softplus(-l),
// -log(1 - D) = softplus(l)) and their gradients. The SIMD kernels' forms over whole rows are in
// kernels/common-inl.h. Internal to the tools library.
#ifndef EDGEVAE_TOOLS_LOGISTIC_H_
#define EDGEVAE_TOOLS_LOGISTIC_H_

#include <algorithm>
#include <cmath>

namespace edgevae {

inline double Softplus(double l) { return std::max(l, 0.0) + std::log1p(std::exp(-std::fabs(l))); }

inline double Sigmoid(double l) {
  const double e = std::exp(-std::fabs(l));
  return (l >= 0 ? 1.0 : e) / (1.0 + e);
}

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_LOGISTIC_H_
