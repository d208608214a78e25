// The loss and gradient of one training batch, for any shape's table: the forward pass, the
// negative ELBO (Bernoulli decoder, one reparameterised sample per image) or the importance-
// weighted bound (k samples per image, Burda et al. 2015) and the backward pass,
// with every product through XNNPACK. Internal to the tools library (edgevae/train.h runs it).
//
// XNNPACK's fully-connected operator packs its "weights" operand when it is created, and in
// training every operand changes every step, so each product of a step creates an operator.
// Packing costs a pass over the packed operand, so each product packs the smaller of its two
// operands. Keeping activations feature-major ([features][batch], written "^T") lets the
// batch's activations be that operand for most products:
//
//   forward      Y^T = W . X^T        (packs X; or, for a layer whose weight is smaller than the
//                                      batch's input, Y = X . W^T batch-major on the packed W)
//   input grads  dX^T = W^T . dY^T    (packs dY and streams a transposed copy of W; or, for a
//                                      small weight, dX = dY . W batch-major on the packed W)
//   weight grads dW = dY^T . X        (packs X; or dW^T = X^T . dY, packing the much smaller dY,
//                                      and a transpose of the result into place)
//
// The left factor is XNNPACK's streamed input (row-major), the right one the packed operand;
// outputs land feature-major or, for weight gradients, in PyTorch's [out][in] layout inside the
// flat gradient array. Batch-major products get cheap transposes of their activations around
// them. Packings that do not depend on each other run concurrently (XNNPACK packs on one thread).
// The first layer, whose input is pixels, has a second way (FirstLayer below): MNIST batches are
// about 19 % lit, so its forward product and its weight gradient can sum over the lit pixels only
// (kernels/sparse.h, with the batch indexed by image and by pixel in tools/lit_pixels.h):
//
//   forward      Y = relu(b + X . W^T)   row by row: the rows of W^T of the image's lit pixels
//   weight grads dW^T = X^T . dY          row by row: the rows of dY of the images where lit
//
// with W^T made beside the step's other packings, and dW^T transposed into place. Neither packs
// the pixels. The choice is made per batch from its share of lit pixels.
// With bf16 (TrainOptions::precision), every XNNPACK product above runs instead on the bf16
// kernel of kernels/gemm_bf16.h, with the same operands packed; the sparse products stay fp32.
// Biases, ReLU, the loss and the reparameterisation are per-row Highway kernels over contiguous
// batch rows. For the 784-400-20 network this is the layout measured fastest in
// docs/performance.md; the choice per product is made once per shape (Plan, in backprop_plan.h).
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
