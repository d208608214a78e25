// The adversarial autoencoder's two players' losses and gradients for one batch
// (../shared/generative-family.md): a deterministic encoder E (z = E(x), the table's mean head
// alone), a decoder G and a discriminator D of codes, each an MlpChain (tools/mlp.h). D(z) is the
// probability that z came from the prior N(0, I). With l = D's logit, the stable softplus form
// (-log D = softplus(-l), -log(1 - D) = softplus(l)) and x_hat = sigmoid(G's logits):
//
//   discriminator  L_D    = sum softplus(l(E(x))) + softplus(-l(z)),   z ~ N(0, I)
//   E and G        L_E,G  = sum softplus(-l(E(x))) + lambda ||x - x_hat(E(x))||^2
//
// G learns from the reconstruction term alone; E from both. Internal to the tools library: the
// adversarial trainer steps on it, the gradient tests check it.
#ifndef EDGEVAE_TOOLS_AAE_STEP_H_
#define EDGEVAE_TOOLS_AAE_STEP_H_

#include <cstddef>

#include "edgevae/buffer.h"
#include "edgevae/model.h"
#include "edgevae/status.h"
#include "tools/mlp.h"
#include "tools/players.h"

namespace edgevae {

class AaeStep final : public Players {
 public:
  // For a model of an AAE shape and batches of up to `max_batch` rows; `lambda` > 0 weighs the
  // reconstruction term.
  static StatusOr<AaeStep> Create(const Model& model, size_t max_batch, double lambda);

  // The encoder's and decoder's parameters are [0, generator_floats()), the discriminator's
  // the rest.
  size_t generator_floats() const override { return net_.eg_floats; }
  StatusOr<double> DiscriminatorStep(const float* params, const PlayerBatch& b, float* grad,
                                     pthreadpool_t pool) override;
  StatusOr<double> GeneratorStep(const float* params, const float* old_params,
                                 const PlayerBatch& b, float* grad, pthreadpool_t pool) override;

 private:
  size_t in_ = 0, lat_ = 0, rows_ = 0;
  double lambda_ = 1;
  EncoderGeneratorCritic net_;  // E, G and D
  AlignedBuffer<float> codes_;    // 2n x latent: E(x) rows, then prior draws
  AlignedBuffer<float> dl_;       // 2n: the gradient of D's logits
  AlignedBuffer<float> dcode_;    // n x latent: the gradient of E(x) through D
  AlignedBuffer<float> drec_;     // n x latent: the gradient of E(x) through G
  AlignedBuffer<float> dlogits_;  // n x input: the gradient of G's logits
};

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_AAE_STEP_H_
