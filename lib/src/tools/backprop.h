// The loss and gradient of one training batch, for any shape's table: the forward pass, the
// negative ELBO (Bernoulli decoder, one reparameterised sample per image) or the importance-
// weighted bound (k samples per image, Burda et al. 2015) and the backward pass. Internal to the
// tools library (edgevae/train.h runs it).
//
// Activations are feature-major ([features][batch], written "^T"), and in fp32 every product is
// one call of the unpacked kernel (kernels/matmul.h), which reads the weight [out][in] as stored
// or transposed and the activations in place:
//
//   forward      Y^T = W . X^T
//   input grads  dX^T = W^T . dY^T       (W read transposed, not copied)
//   weight grads dW = dY^T . X           (X batch-major: the pixels' rows as given, a hidden
//                                         input transposed once)
//
// so that no operand is packed or copied for a product (XNNPACK's operator packs one operand at
// every create, and in training every operand changes every step: a fifth of an epoch).
// The first layer, whose input is pixels, has a second way (FirstLayer below): MNIST batches are
// about 19 % lit, so its forward product and its weight gradient can sum over the lit pixels only
// (kernels/sparse.h, with the batch indexed by image and by pixel in tools/lit_pixels.h):
//
//   forward      Y = relu(b + X . W^T)   row by row: the rows of W^T of the image's lit pixels
//   weight grads dW^T = X^T . dY          row by row: the rows of dY of the images where lit
//
// with W^T made at the start of the step, and dW^T transposed into place. The choice is made per
// batch from its share of lit pixels.
// With bf16 (TrainOptions::precision), every dense product runs instead on the bf16 kernel of
// kernels/gemm_bf16.h, which packs (rounds and interleaves) one operand per product: the smaller
// one, chosen once per shape (Plan, in backprop_plan.h), with batch-major products getting cheap
// transposes of their activations around them, and packings that do not depend on each other
// run concurrently. The sparse products stay fp32.
// Biases, ReLU, the loss and the reparameterisation are per-row Highway kernels over contiguous
// batch rows.
#ifndef EDGEVAE_TOOLS_BACKPROP_H_
#define EDGEVAE_TOOLS_BACKPROP_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"
#include "edgevae/train.h"

namespace edgevae {

// How the first layer (a hidden layer whose input is pixels) runs its forward product and its
// weight gradient: over the lit pixels only when at most kSparseMaxDensity (backprop.cc) of the
// batch's pixels are non-zero (kAuto), or always one way (tests compare the two).
enum class FirstLayer { kAuto, kDense, kSparse };

class Backprop {
 public:
  // Buffers for batches of up to `max_batch` images of `model`'s shape; noise keyed by `seed`.
  // A classifier's shape gets the softmax cross-entropy step (classifier_backprop.cc), which
  // takes labels and has no noise, sparse first layer, bf16 or importance weights.
  // `iw_samples` > 0: the importance-weighted objective with that many samples per image (each
  // image's row is repeated that many times through the network); 0: the ELBO with its analytic
  // KL term.
  static StatusOr<std::unique_ptr<Backprop>> Create(const Model& model, Runtime* runtime,
                                                    size_t max_batch, uint64_t seed,
                                                    FirstLayer first_layer = FirstLayer::kAuto,
                                                    bool bf16 = false, size_t iw_samples = 0);
  virtual ~Backprop() = default;

  // Rows of the batch (n x input floats in [0, 1]) that the next Run reads (and, for the
  // importance-weighted objective, spreads over n * iw_samples rows in place).
  virtual float* input_rows() = 0;
  // A classifier's: the n labels the next Run reads, one per row; nullptr for a VAE.
  virtual uint8_t* label_rows() { return nullptr; }
  // The summed loss over the n images of input_rows() and its gradient (flat parameter layout)
  // into grad(), with the parameters `params` of `model`'s layout; noise keyed by (epoch, step).
  // With `profile`, adds the step's time by kind.
  virtual StatusOr<double> Run(const float* params, size_t n, int epoch, int step,
                               StepProfile* profile) = 0;
  virtual const float* grad() const = 0;
  // Whether every entry of the last Run's gradient is finite (checked as each piece of it was
  // produced, while in cache).
  virtual bool gradient_finite() const = 0;
};

// The classifier's step (Backprop::Create calls it for a classifier's shape); `vae_options`: bf16
// or importance weights were asked for, which a classifier refuses.
StatusOr<std::unique_ptr<Backprop>> CreateClassifierBackprop(const Model& model, Runtime* runtime,
                                                             size_t max_batch, bool vae_options);

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_BACKPROP_H_
