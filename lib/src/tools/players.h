// An adversarial family's two players, as its trainer (tools/adversarial_trainer.cc) steps them:
// the discriminator, and the generator side (a GAN's generator; ALI's encoder and generator
// together). Internal to the tools library.
#ifndef EDGEVAE_TOOLS_PLAYERS_H_
#define EDGEVAE_TOOLS_PLAYERS_H_

#include <cstddef>

#include "edgevae/status.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae {

// One step's inputs, n rows each: real images (n x input, in [0, 1]), prior draws z and
// reparameterisation noise eps (n x latent, N(0, I)). Readable 16 bytes past their ends.
struct PlayerBatch {
  const float* real;
  const float* z;
  const float* eps;
  size_t n;
};

class Players {
 public:
  virtual ~Players() = default;
  // The generator side's parameters are [0, generator_floats()) of the flat layout, the
  // discriminator's the rest.
  virtual size_t generator_floats() const = 0;
  // The discriminator's summed loss over the batch, and its gradient into the discriminator's
  // range of grad.
  virtual StatusOr<double> DiscriminatorStep(const float* params, const PlayerBatch& b,
                                             float* grad, pthreadpool_t pool) = 0;
  // The generator side's summed loss and its gradient into [0, generator_floats()) of grad;
  // `old_params`: the generator side one step earlier (a GAN's regulariser).
  virtual StatusOr<double> GeneratorStep(const float* params, const float* old_params,
                                         const PlayerBatch& b, float* grad,
                                         pthreadpool_t pool) = 0;
};

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_PLAYERS_H_
