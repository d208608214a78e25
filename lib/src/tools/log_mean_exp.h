// log (1/n) sum_i exp(v_i), taken stably around the largest v_i, and optionally the normalised
// weights exp(v_i) / sum_j exp(v_j): the importance-weighted bound's reduction (tools/eval.cc,
// tools/backprop.cc) and a classifier's softmax (tools/classifier.cc, classifier_backprop.cc).
#ifndef EDGEVAE_TOOLS_LOG_MEAN_EXP_H_
#define EDGEVAE_TOOLS_LOG_MEAN_EXP_H_

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace edgevae {

// n >= 1. With `weights`, writes the n normalised weights there.
inline double LogMeanExp(const double* v, size_t n, float* weights = nullptr) {
  const double m = *std::max_element(v, v + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(v[i] - m);
  if (weights != nullptr) {
    for (size_t i = 0; i < n; ++i) weights[i] = static_cast<float>(std::exp(v[i] - m) / sum);
  }
  return m + std::log(sum) - std::log(static_cast<double>(n));
}

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_LOG_MEAN_EXP_H_
