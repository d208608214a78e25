// ALI's two players' losses and gradients for one batch (../shared/generative-family.md): an
// encoder E (the VAE's Gaussian encoder, reparameterised), a generator G (the VAE's decoder) and
// a discriminator D of (x, z) pairs, each an MlpChain (tools/mlp.h). Encoder pairs are (x, z_e)
// with z_e = mu(x) + sigma(x) eps; generator pairs (G(z), z) with z ~ N(0, I). With l = D's logit
// and the stable softplus form (-log D = softplus(-l), -log(1 - D) = softplus(l)):
//
//   discriminator       L_D = sum softplus(-l(encoder pairs)) + softplus(l(generator pairs))
//   E and G, kSu        L = sum softplus(-l(encoder pairs)) + softplus(-l(generator pairs))
//   E and G, kStandard  L = sum softplus(l(encoder pairs)) + softplus(-l(generator pairs))
//
// kSu is the seed paper's loss (both sides push D towards 1); kStandard the usual
// non-saturating one. G(z) is the generator's pixel probabilities. With lambda > 0 the E-and-G
// loss also carries the GAN's regulariser on the generator, lambda sum ||G(z) - G_old(z)||^2
// (GanStep's; G_old from `old_params`). Internal to the tools
// library: the adversarial trainer steps on it, the gradient tests check it.
#ifndef EDGEVAE_TOOLS_ALI_STEP_H_
#define EDGEVAE_TOOLS_ALI_STEP_H_

#include <cstddef>

#include "edgevae/buffer.h"
#include "edgevae/model.h"
#include "edgevae/status.h"
#include "edgevae/train.h"
#include "tools/mlp.h"
#include "tools/players.h"

namespace edgevae {

class AliStep final : public Players {
 public:
  // For a model of an ALI shape and batches of up to `max_batch` rows per side.
  static StatusOr<AliStep> Create(const Model& model, size_t max_batch, AliLoss loss,
                                  double lambda = 0);

  // The encoder's and generator's parameters are [0, generator_floats()), the discriminator's
  // the rest.
  size_t generator_floats() const override { return net_.eg_floats; }
  StatusOr<double> DiscriminatorStep(const float* params, const PlayerBatch& b, float* grad,
                                     pthreadpool_t pool) override;
  StatusOr<double> GeneratorStep(const float* params, const float* old_params,
                                 const PlayerBatch& b, float* grad, pthreadpool_t pool) override;

 private:
  // Both sides' pairs into pairs_ (rows [0, n) encoder pairs, [n, 2n) generator pairs), then D's
  // logits over them.
  Status Forward(const float* params, const PlayerBatch& b, pthreadpool_t pool);

  size_t in_ = 0, lat_ = 0, rows_ = 0;
  AliLoss loss_ = AliLoss::kSu;
  double lambda_ = 0;
  EncoderGeneratorCritic net_;  // E, G and D
  AlignedBuffer<float> pairs_;  // 2n x (input + latent): [x, z] per row
  AlignedBuffer<float> std_;    // n x latent: sigma of the encoder pairs
  AlignedBuffer<float> dl_;     // 2n: the gradient of D's logits
  AlignedBuffer<float> dpairs_; // 2n x (input + latent): the gradient of D's input
  AlignedBuffer<float> dmv_;    // n x 2 latent: the gradient of [mu, logvar]
  AlignedBuffer<float> dlogits_;  // n x input: the gradient of G's logits
  AlignedBuffer<float> old_;      // n x input: G_old(z), when lambda > 0
};

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_ALI_STEP_H_
