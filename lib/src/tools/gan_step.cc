#include "tools/gan_step.h"

#include <cmath>
#include <string>
#include <utility>

#include "kernels/elementwise.h"
#include "tools/generator_penalty.h"
#include "tools/logistic.h"

namespace edgevae {

StatusOr<GanStep> GanStep::Create(const Model& model, size_t max_batch, double lambda) {
  const ShapeInfo& s = model.shape();
  if (s.family != Family::kGan) {
    return Internal("GanStep: shape '" + std::string(s.name) + "' is not a GAN");
  }
  const size_t critic = static_cast<size_t>(s.Find(LayerRole::kCritic));
  GanStep g;
  g.in_ = static_cast<size_t>(s.input);
  g.rows_ = max_batch;
  g.lambda_ = lambda;
  g.g_floats_ = model.layout().layers[critic].weight;
  EVAE_ASSIGN_OR_RETURN(g.gen_, MlpChain::Create(s, model.layout(), 0, critic, max_batch));
  EVAE_ASSIGN_OR_RETURN(g.disc_,
                        MlpChain::Create(s, model.layout(), critic, s.layers.size(), 2 * max_batch));
  g.x_.Resize(2 * max_batch * g.in_);
  g.old_.Resize(max_batch * g.in_);
  g.dl_.Resize(2 * max_batch);
  g.dx_.Resize(max_batch * g.in_);
  if (g.x_.empty() || g.old_.empty() || g.dl_.empty() || g.dx_.empty()) {
    return Internal("out of memory allocating training buffers");
  }
  return g;
}

StatusOr<double> GanStep::Discriminator(const float* params, const float* real, const float* z,
                                        size_t n, float* grad, pthreadpool_t pool) {
  if (n == 0 || n > rows_) return Internal("GanStep: batch of " + std::to_string(n));
  // Rows [0, n) real, [n, 2n) generated: one pass of the discriminator over both.
  std::copy(real, real + n * in_, x_.data());
  EVAE_RETURN_IF_ERROR(gen_.Forward(params, z, n, pool));
  simd::Sigmoid(gen_.output(), x_.data() + n * in_, n * in_);
  EVAE_RETURN_IF_ERROR(disc_.Forward(params, x_.data(), 2 * n, pool));
  const float* l = disc_.output();
  double loss = 0;
  for (size_t i = 0; i < 2 * n; ++i) {
    const bool is_real = i < n;  // label 1 for data, 0 for generated
    loss += Softplus(is_real ? -l[i] : l[i]);
    dl_[i] = static_cast<float>(Sigmoid(l[i]) - (is_real ? 1.0 : 0.0));
  }
  if (grad == nullptr) return loss;
  EVAE_RETURN_IF_ERROR(disc_.Backward(params, x_.data(), 2 * n, dl_.data(), grad, nullptr, pool));
  return loss;
}

StatusOr<double> GanStep::Generator(const float* params, const float* old_params, double lambda,
                                    const float* z, size_t n, float* grad, pthreadpool_t pool) {
  if (n == 0 || n > rows_) return Internal("GanStep: batch of " + std::to_string(n));
  const size_t count = n * in_;
  if (lambda > 0) {  // G_old(z) first: the chain keeps the activations of its last forward pass
    EVAE_RETURN_IF_ERROR(gen_.Forward(old_params, z, n, pool));
    simd::Sigmoid(gen_.output(), old_.data(), count);
  }
  EVAE_RETURN_IF_ERROR(gen_.Forward(params, z, n, pool));
  float* x = x_.data();
  simd::Sigmoid(gen_.output(), x, count);
  EVAE_RETURN_IF_ERROR(disc_.Forward(params, x, n, pool));
  const float* l = disc_.output();
  double loss = 0;
  for (size_t i = 0; i < n; ++i) {
    loss += Softplus(-l[i]);
    dl_[i] = static_cast<float>(Sigmoid(l[i]) - 1.0);
  }
  // Through the discriminator to its input (its own parameters stay as they are), then the
  // penalty's 2 lambda (x - x_old), then the sigmoid's x (1 - x) into the generator's logits.
  EVAE_RETURN_IF_ERROR(disc_.Backward(params, x, n, dl_.data(), nullptr, dx_.data(), pool));
  float* d = dx_.data();
  if (lambda > 0) loss += AddGeneratorPenalty(x, old_.data(), count, lambda, d);
  for (size_t i = 0; i < count; ++i) d[i] *= x[i] * (1.0f - x[i]);
  EVAE_RETURN_IF_ERROR(gen_.Backward(params, z, n, d, grad, nullptr, pool));
  return loss;
}

}  // namespace edgevae
