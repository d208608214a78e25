#include "tools/aae_step.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "kernels/elementwise.h"
#include "tools/logistic.h"

namespace edgevae {

StatusOr<AaeStep> AaeStep::Create(const Model& model, size_t max_batch, double lambda) {
  const ShapeInfo& s = model.shape();
  if (s.family != Family::kAae || !s.has_critic()) {
    return Internal("AaeStep: shape '" + std::string(s.name) + "' is not an AAE with its "
                    "discriminator");
  }
  if (!(lambda > 0) || !std::isfinite(lambda)) {
    return InvalidArgument("the AAE's reconstruction weight lambda must be a finite number > 0, "
                           "got " + std::to_string(lambda));
  }
  AaeStep a;
  a.in_ = static_cast<size_t>(s.input);
  a.lat_ = static_cast<size_t>(s.latent);
  a.rows_ = max_batch;
  a.lambda_ = lambda;
  EVAE_ASSIGN_OR_RETURN(a.net_, EncoderGeneratorCritic::Create(s, model.layout(), max_batch));
  a.codes_.Resize(2 * max_batch * a.lat_);
  a.dl_.Resize(2 * max_batch);
  a.dcode_.Resize(max_batch * a.lat_);
  a.drec_.Resize(max_batch * a.lat_);
  a.dlogits_.Resize(max_batch * a.in_);
  if (a.codes_.empty() || a.dl_.empty() || a.dcode_.empty() || a.drec_.empty() ||
      a.dlogits_.empty()) {
    return Internal("out of memory allocating training buffers");
  }
  return a;
}

StatusOr<double> AaeStep::DiscriminatorStep(const float* params, const PlayerBatch& b,
                                            float* grad, pthreadpool_t pool) {
  const size_t n = b.n;
  if (n == 0 || n > rows_) return Internal("AaeStep: batch of " + std::to_string(n));
  // Rows [0, n) the codes E(x) (label 0), [n, 2n) prior draws (label 1): one pass over both.
  EVAE_RETURN_IF_ERROR(net_.enc.Forward(params, b.real, n, pool));
  std::copy(net_.enc.output(), net_.enc.output() + n * lat_, codes_.data());
  std::copy(b.z, b.z + n * lat_, codes_.data() + n * lat_);
  EVAE_RETURN_IF_ERROR(net_.disc.Forward(params, codes_.data(), 2 * n, pool));
  const float* l = net_.disc.output();
  double loss = 0;
  for (size_t i = 0; i < 2 * n; ++i) {
    const bool prior = i >= n;
    loss += Softplus(prior ? -l[i] : l[i]);
    dl_[i] = static_cast<float>(Sigmoid(l[i]) - (prior ? 1.0 : 0.0));
  }
  if (grad == nullptr) return loss;
  EVAE_RETURN_IF_ERROR(
      net_.disc.Backward(params, codes_.data(), 2 * n, dl_.data(), grad, nullptr, pool));
  return loss;
}

StatusOr<double> AaeStep::GeneratorStep(const float* params, const float* /*old_params*/,
                                        const PlayerBatch& b, float* grad, pthreadpool_t pool) {
  const size_t n = b.n;
  if (n == 0 || n > rows_) return Internal("AaeStep: batch of " + std::to_string(n));
  EVAE_RETURN_IF_ERROR(net_.enc.Forward(params, b.real, n, pool));
  float* codes = codes_.data();
  std::copy(net_.enc.output(), net_.enc.output() + n * lat_, codes);
  EVAE_RETURN_IF_ERROR(net_.disc.Forward(params, codes, n, pool));
  EVAE_RETURN_IF_ERROR(net_.gen.Forward(params, codes, n, pool));
  // The encoder fools D: -log D(E(x)).
  const float* l = net_.disc.output();
  double loss = 0;
  for (size_t i = 0; i < n; ++i) {
    loss += Softplus(-l[i]);
    dl_[i] = static_cast<float>(Sigmoid(l[i]) - 1.0);
  }
  // The reconstruction: lambda (x_hat - x)^2 per pixel, x_hat = sigmoid(logits), so its gradient
  // into the logits is 2 lambda (x_hat - x) x_hat (1 - x_hat).
  const float* logits = net_.gen.output();
  const float two_lambda = static_cast<float>(2 * lambda_);
  double squares = 0;
  for (size_t i = 0; i < n * in_; ++i) {
    const float x_hat = 1.0f / (1.0f + std::exp(-logits[i]));
    const float diff = x_hat - b.real[i];
    squares += static_cast<double>(diff) * diff;
    dlogits_[i] = two_lambda * diff * x_hat * (1.0f - x_hat);
  }
  loss += lambda_ * squares;
  // Through D (its parameters stay) and through G (whose gradient is written) into the codes,
  // then through E.
  EVAE_RETURN_IF_ERROR(net_.disc.Backward(params, codes, n, dl_.data(), nullptr, dcode_.data(), pool));
  EVAE_RETURN_IF_ERROR(
      net_.gen.Backward(params, codes, n, dlogits_.data(), grad, drec_.data(), pool));
  for (size_t i = 0; i < n * lat_; ++i) dcode_[i] += drec_[i];
  EVAE_RETURN_IF_ERROR(net_.enc.Backward(params, b.real, n, dcode_.data(), grad, nullptr, pool));
  return loss;
}

}  // namespace edgevae
