// Evaluation of a trained model (inference for applications: edgevae/engine.h).
//  - test loss: summed negative ELBO over a set / number of images, with z sampled once per image
//    (the PyTorch example's definition);
//  - importance-weighted negative log-likelihood (Burda et al. 2015) with K samples per image:
//    -log p(x) ~ -(logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K).
// A classifier (edgevae/classifier.h) is evaluated by its mean cross-entropy and accuracy. A GAN
// by its discriminator's loss on test images and as many samples. A deterministic encoder (an
// AAE's; its posterior is a point mass, whose KL to the prior is not finite) by the
// reconstruction BCE alone, with z = E(x); it has no importance-weighted estimate (kUnsupported).
// All noise is keyed by the seed, so results are reproducible.
#ifndef EDGEVAE_EVAL_H_
#define EDGEVAE_EVAL_H_

#include <cstdint>
#include <functional>
#include <limits>

#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"

namespace edgevae {

struct EvalOptions {
  int iw_samples = 0;  // K; 0 skips the importance-weighted estimate
  uint64_t seed = 1;
};

struct EvalResult {
  double test_loss = 0;                                     // nats per image
  double iw_nll = std::numeric_limits<double>::quiet_NaN();  // nats per image, if asked
  // A classifier's (whose test_loss is its mean cross-entropy): the share classified right.
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  // A model that encodes: how far its codes (z = mu, or an AAE's E(x)) are as a whole from the
  // prior, KL(N(m, S) || N(0, I)) in nats for the Gaussian N(m, S) fitted to the set's codes
  // (mean and covariance). The adversarial autoencoder trains its aggregate codes towards the
  // prior; a VAE its posteriors one by one.
  double code_kl = std::numeric_limits<double>::quiet_NaN();
  int images = 0;
  double seconds = 0;
};

// `progress(done, total)` (may be empty) is called as images are finished.
StatusOr<EvalResult> Evaluate(const Model& model, Runtime* runtime, const ImageSet& data,
                              const EvalOptions& options,
                              const std::function<void(int, int)>& progress = {});

// The same through an inference engine of any dtype (the int8 and f16 files are measured as they
// run), with the same noise; the engine's max_batch must be at least 256. The importance samples
// of each image are decoded in batches of the engine's max_batch.
StatusOr<EvalResult> EvaluateEngine(Engine& engine, const ImageSet& data,
                                    const EvalOptions& options,
                                    const std::function<void(int, int)>& progress = {});

}  // namespace edgevae

#endif  // EDGEVAE_EVAL_H_
