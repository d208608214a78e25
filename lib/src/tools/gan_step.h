// The GAN's two players' losses and gradients for one batch (../shared/generative-family.md),
// the generator and the discriminator each an MlpChain (tools/mlp.h) over their layers of the
// "gan" table. Every log D and log(1 - D) is written from the discriminator's logit l in the
// stable softplus form: -log D = softplus(-l), -log(1 - D) = softplus(l).
//
//   discriminator  L_D = sum_i softplus(-l(x_i)) + softplus(l(G(z_i)))
//   generator      L_G = sum_i softplus(-l(G(z_i))) + lambda ||G(z_i) - G_old(z_i)||^2
//
// G(z) is the generator's pixel probabilities (the sigmoid of its logits). Internal to the tools
// library: the adversarial trainer (adversarial_trainer.cc) steps on it, the gradient tests
// check it against finite differences.
#ifndef EDGEVAE_TOOLS_GAN_STEP_H_
#define EDGEVAE_TOOLS_GAN_STEP_H_

#include <cstddef>

#include "edgevae/buffer.h"
#include "edgevae/model.h"
#include "edgevae/status.h"
#include "tools/mlp.h"
#include "tools/players.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae {

class GanStep final : public Players {
 public:
  // For a model of a GAN shape and batches of up to `max_batch` rows per player; `lambda`: the
  // regulariser's weight in GeneratorStep.
  static StatusOr<GanStep> Create(const Model& model, size_t max_batch, double lambda = 0);

  // The generator's parameters are [0, generator_floats()) of the flat layout, the
  // discriminator's the rest.
  size_t generator_floats() const override { return g_floats_; }

  // Players: Discriminator on the batch's real rows and z; Generator on its z with `lambda`.
  StatusOr<double> DiscriminatorStep(const float* params, const PlayerBatch& b, float* grad,
                                     pthreadpool_t pool) override {
    return Discriminator(params, b.real, b.z, b.n, grad, pool);
  }
  StatusOr<double> GeneratorStep(const float* params, const float* old_params,
                                 const PlayerBatch& b, float* grad, pthreadpool_t pool) override {
    return Generator(params, old_params, lambda_, b.z, b.n, grad, pool);
  }

  // L_D over n real rows (n x input, in [0, 1]) and n generated from z (n x latent); its gradient
  // with respect to the discriminator's parameters into grad[generator_floats(), ...) unless
  // `grad` is null (a held-out loss). `real` and
  // `z` must be readable 16 bytes past their end (AlignedBuffers).
  StatusOr<double> Discriminator(const float* params, const float* real, const float* z, size_t n,
                                 float* grad, pthreadpool_t pool);
  // L_G over n rows generated from z; its gradient with respect to the generator's parameters into
  // grad[0, generator_floats()). `old_params` holds G_old's parameters at the generator's offsets
  // (at least generator_floats() floats); unused when lambda is 0.
  StatusOr<double> Generator(const float* params, const float* old_params, double lambda,
                             const float* z, size_t n, float* grad, pthreadpool_t pool);

 private:
  size_t in_ = 0, g_floats_ = 0, rows_ = 0;
  double lambda_ = 0;
  MlpChain gen_, disc_;
  AlignedBuffer<float> x_;       // the discriminator's input: real rows, then generated ones
  AlignedBuffer<float> old_;     // G_old(z)
  AlignedBuffer<float> dl_;      // the gradient of the discriminator's logits
  AlignedBuffer<float> dx_;      // the gradient of the generated images
};

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_GAN_STEP_H_
