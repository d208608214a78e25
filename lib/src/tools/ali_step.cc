#include "tools/ali_step.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "kernels/elementwise.h"
#include "tools/generator_penalty.h"
#include "tools/logistic.h"

namespace edgevae {

StatusOr<AliStep> AliStep::Create(const Model& model, size_t max_batch, AliLoss loss,
                                  double lambda) {
  const ShapeInfo& s = model.shape();
  if (s.family != Family::kAli || !s.has_critic()) {
    return Internal("AliStep: shape '" + std::string(s.name) + "' is not ALI with its "
                    "discriminator");
  }
  if (!(lambda >= 0) || !std::isfinite(lambda)) {
    return InvalidArgument("the generator regulariser's lambda must be a finite number >= 0, "
                           "got " + std::to_string(lambda));
  }
  AliStep a;
  a.lambda_ = lambda;
  a.in_ = static_cast<size_t>(s.input);
  a.lat_ = static_cast<size_t>(s.latent);
  a.rows_ = max_batch;
  a.loss_ = loss;
  EVAE_ASSIGN_OR_RETURN(a.net_, EncoderGeneratorCritic::Create(s, model.layout(), max_batch));
  const size_t width = a.in_ + a.lat_;
  a.pairs_.Resize(2 * max_batch * width);
  a.std_.Resize(max_batch * a.lat_);
  a.dl_.Resize(2 * max_batch);
  a.dpairs_.Resize(2 * max_batch * width);
  a.dmv_.Resize(max_batch * 2 * a.lat_);
  a.dlogits_.Resize(max_batch * a.in_);
  if (lambda > 0) a.old_.Resize(max_batch * a.in_);
  if (a.pairs_.empty() || a.std_.empty() || a.dl_.empty() || a.dpairs_.empty() ||
      a.dmv_.empty() || a.dlogits_.empty() || (lambda > 0 && a.old_.empty())) {
    return Internal("out of memory allocating training buffers");
  }
  return a;
}

Status AliStep::Forward(const float* params, const PlayerBatch& b, pthreadpool_t pool) {
  const size_t n = b.n, width = in_ + lat_;
  if (n == 0 || n > rows_) return Internal("AliStep: batch of " + std::to_string(n));
  EVAE_RETURN_IF_ERROR(net_.enc.Forward(params, b.real, n, pool));
  EVAE_RETURN_IF_ERROR(net_.gen.Forward(params, b.z, n, pool));
  const float* mv = net_.enc.output();
  const float* logits = net_.gen.output();
  for (size_t i = 0; i < n; ++i) {
    // Encoder pair: (x, mu + sigma eps).
    float* e = pairs_.data() + i * width;
    std::copy(b.real + i * in_, b.real + (i + 1) * in_, e);
    for (size_t j = 0; j < lat_; ++j) {
      const float sd = std::exp(0.5f * mv[i * 2 * lat_ + lat_ + j]);
      std_[i * lat_ + j] = sd;
      e[in_ + j] = mv[i * 2 * lat_ + j] + sd * b.eps[i * lat_ + j];
    }
    // Generator pair: (G(z), z).
    float* g = pairs_.data() + (n + i) * width;
    simd::Sigmoid(logits + i * in_, g, in_);
    std::copy(b.z + i * lat_, b.z + (i + 1) * lat_, g + in_);
  }
  return net_.disc.Forward(params, pairs_.data(), 2 * n, pool);
}

StatusOr<double> AliStep::DiscriminatorStep(const float* params, const PlayerBatch& b,
                                            float* grad, pthreadpool_t pool) {
  EVAE_RETURN_IF_ERROR(Forward(params, b, pool));
  const size_t n = b.n;
  const float* l = net_.disc.output();
  double loss = 0;
  for (size_t i = 0; i < 2 * n; ++i) {
    const bool encoder_pair = i < n;  // label 1
    loss += Softplus(encoder_pair ? -l[i] : l[i]);
    dl_[i] = static_cast<float>(Sigmoid(l[i]) - (encoder_pair ? 1.0 : 0.0));
  }
  if (grad == nullptr) return loss;
  EVAE_RETURN_IF_ERROR(net_.disc.Backward(params, pairs_.data(), 2 * n, dl_.data(), grad, nullptr, pool));
  return loss;
}

StatusOr<double> AliStep::GeneratorStep(const float* params, const float* old_params,
                                        const PlayerBatch& b, float* grad, pthreadpool_t pool) {
  const size_t n = b.n, width = in_ + lat_;
  if (lambda_ > 0) {  // G_old(z) first: the chain keeps the activations of its last forward pass
    if (n == 0 || n > rows_) return Internal("AliStep: batch of " + std::to_string(n));
    EVAE_RETURN_IF_ERROR(net_.gen.Forward(old_params, b.z, n, pool));
    simd::Sigmoid(net_.gen.output(), old_.data(), n * in_);
  }
  EVAE_RETURN_IF_ERROR(Forward(params, b, pool));
  const float* l = net_.disc.output();
  double loss = 0;
  for (size_t i = 0; i < 2 * n; ++i) {
    // Which way each side pushes D: towards 1 (-log D) unless the standard loss's encoder pairs
    // (towards 0, -log(1 - D)).
    const bool towards_one = i >= n || loss_ == AliLoss::kSu;
    loss += Softplus(towards_one ? -l[i] : l[i]);
    dl_[i] = static_cast<float>(Sigmoid(l[i]) - (towards_one ? 1.0 : 0.0));
  }
  // Through D to its input (its own parameters stay), then each side's part of it.
  EVAE_RETURN_IF_ERROR(
      net_.disc.Backward(params, pairs_.data(), 2 * n, dl_.data(), nullptr, dpairs_.data(), pool));
  for (size_t i = 0; i < n; ++i) {
    // Encoder pairs: z_e = mu + sigma eps, so dmu = dz and dlogvar = dz eps sigma / 2.
    const float* dz = dpairs_.data() + i * width + in_;
    for (size_t j = 0; j < lat_; ++j) {
      dmv_[i * 2 * lat_ + j] = dz[j];
      dmv_[i * 2 * lat_ + lat_ + j] = 0.5f * dz[j] * b.eps[i * lat_ + j] * std_[i * lat_ + j];
    }
    // Generator pairs: x = sigmoid(logits), so dlogits = dx x (1 - x); the regulariser adds
    // 2 lambda (x - x_old) to dx.
    float* dx = dpairs_.data() + (n + i) * width;
    const float* x = pairs_.data() + (n + i) * width;
    if (lambda_ > 0) loss += AddGeneratorPenalty(x, old_.data() + i * in_, in_, lambda_, dx);
    for (size_t j = 0; j < in_; ++j) dlogits_[i * in_ + j] = dx[j] * x[j] * (1.0f - x[j]);
  }
  EVAE_RETURN_IF_ERROR(net_.enc.Backward(params, b.real, n, dmv_.data(), grad, nullptr, pool));
  EVAE_RETURN_IF_ERROR(net_.gen.Backward(params, b.z, n, dlogits_.data(), grad, nullptr, pool));
  return loss;
}

}  // namespace edgevae
