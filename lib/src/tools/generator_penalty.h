// The seed paper's generator regulariser, lambda ||G(z) - G_old(z)||^2 over a generator's pixel
// probabilities (../shared/generative-family.md): one definition for the players that take it
// (GanStep, and AliStep's generator pairs). Internal to the tools library.
#ifndef EDGEVAE_TOOLS_GENERATOR_PENALTY_H_
#define EDGEVAE_TOOLS_GENERATOR_PENALTY_H_

#include <cstddef>

namespace edgevae {

// Adds the penalty's gradient 2 lambda (x - x_old) to dx (count entries) and returns the penalty
// lambda sum (x - x_old)^2.
inline double AddGeneratorPenalty(const float* x, const float* x_old, size_t count, double lambda,
                                  float* dx) {
  const float two_lambda = static_cast<float>(2 * lambda);
  double squares = 0;
  for (size_t i = 0; i < count; ++i) {
    const float diff = x[i] - x_old[i];
    squares += static_cast<double>(diff) * diff;
    dx[i] += two_lambda * diff;
  }
  return lambda * squares;
}

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_GENERATOR_PENALTY_H_
