// The entry-by-entry gradient check the adversarial families' tests (gan_test, ali_test, aae_test)
// share: an analytic gradient against central differences of a double-precision reference loss.
#ifndef EDGEVAE_TESTS_COMMON_FINITE_DIFFERENCES_H_
#define EDGEVAE_TESTS_COMMON_FINITE_DIFFERENCES_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "tools/players.h"
#include "gtest/gtest.h"

namespace edgevae::testutil {

// Per tensor of [first, end) of `m`: its 3 largest |grad| entries and `random` pseudo-random ones
// (keyed by `pick_seed` and the tensor) against the central difference of `loss(params)`, each
// entry of `params` moved by 1e-5 (relative above 1) and restored. Expects a relative error
// below 1e-4; returns the worst and adds the entries checked to *checked. (The step is 1e-5, not
// 1e-4: through aae-deep's 3-unit code layer the loss curves enough that the difference's own
// error at 1e-4 reached 9.7e-5; at 1e-5 the worst is 1.9e-6, and the double reference's
// rounding is still far below it.)
template <typename Loss>
double CheckTensorGradients(const Model& m, const std::vector<float>& grad,
                            std::vector<double>& params, size_t first, size_t end,
                            uint32_t pick_seed, int random, const Loss& loss, int* checked) {
  constexpr size_t kLargest = 3;
  double worst = 0;
  for (size_t t = first; t < end; ++t) {
    const TensorView& tv = m.tensors()[t];
    std::vector<size_t> idx(tv.size());
    std::iota(idx.begin(), idx.end(), size_t{0});
    const size_t largest = std::min(kLargest, idx.size());  // a logit's bias has one entry
    std::partial_sort(idx.begin(), idx.begin() + largest, idx.end(), [&](size_t a, size_t b) {
      return std::fabs(grad[tv.offset + a]) > std::fabs(grad[tv.offset + b]);
    });
    std::vector<size_t> entries(idx.begin(), idx.begin() + largest);
    const RngStream pick(pick_seed, static_cast<uint32_t>(tv.offset));
    for (int j = 0; j < random; ++j) {
      entries.push_back(pick.Below(static_cast<uint64_t>(j), static_cast<uint32_t>(tv.size())));
    }
    for (size_t e : entries) {
      const size_t at = tv.offset + e;
      const double w = params[at];
      const double h = 1e-5 * std::max(1.0, std::fabs(w));
      params[at] = w + h;
      const double up = loss(params);
      params[at] = w - h;
      const double down = loss(params);
      params[at] = w;
      const double fd = (up - down) / (2 * h);
      const double err = std::fabs(grad[at] - fd) / std::max(1.0, std::fabs(fd));
      worst = std::max(worst, err);
      EXPECT_LT(err, 1e-4) << tv.name << "[" << e << "]: analytic " << grad[at] << ", fd " << fd;
      ++*checked;
    }
  }
  return worst;
}

// Both players of `step` on `batch` (ALI, the AAE): each step's loss against `reference(params,
// discriminator)`, its own tensors against central differences (the discriminator's from tensor
// `critic_tensor` on, the other side's before it; `random` pseudo-random entries per tensor beside
// the largest), and its gradient written into its own range only; `old_params`, the generator
// side one step earlier (a regulariser's G_old). Returns the worst relative errors
// {discriminator, encoder and generator}.
template <typename Reference>
std::array<double, 2> CheckBothPlayers(Players& step, const Model& m, const PlayerBatch& batch,
                                       pthreadpool_t pool, std::vector<double>& params,
                                       size_t critic_tensor, uint32_t pick_seed,
                                       const Reference& reference, int* checked,
                                       int random = 4, const float* old_params = nullptr) {
  std::array<double, 2> worst = {0, 0};
  for (const bool d : {true, false}) {
    std::vector<float> grad(m.param_floats(), 0.0f);
    StatusOr<double> loss = d ? step.DiscriminatorStep(m.params(), batch, grad.data(), pool)
                              : step.GeneratorStep(m.params(), old_params, batch, grad.data(), pool);
    EXPECT_TRUE(loss.ok()) << loss.status().message();
    if (!loss.ok()) return worst;
    const double ref = reference(params, d);
    EXPECT_NEAR(*loss, ref, 1e-5 * std::max(1.0, ref)) << (d ? "discriminator" : "E and G");
    const size_t first = d ? critic_tensor : 0, end = d ? m.tensors().size() : critic_tensor;
    worst[d ? 0 : 1] = CheckTensorGradients(
        m, grad, params, first, end, pick_seed, random,
        [&](const std::vector<double>& p) { return reference(p, d); }, checked);
    const auto g_floats = static_cast<std::ptrdiff_t>(step.generator_floats());
    const auto zero = [](float g) { return g == 0; };
    if (d) {
      EXPECT_TRUE(std::all_of(grad.begin(), grad.begin() + g_floats, zero));
    } else {
      EXPECT_TRUE(std::all_of(grad.begin() + g_floats, grad.end(), zero));
    }
  }
  return worst;
}

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_FINITE_DIFFERENCES_H_
