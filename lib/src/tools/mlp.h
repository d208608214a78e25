// A run of consecutive dense layers of a shape's table (a classifier, a generator, a
// discriminator), trained batch-major ([rows][features]) with every product on the unpacked
// kernel (kernels/matmul.h), which reads each weight [out][in] as stored:
//
//   forward      H_l^T = act(W_l . H_{l-1}^T + b_l)  (feature-major inside: the input transposed
//                                                    once, each output transposed back to rows)
//   input grads  dH_{l-1} = dY_l . W_l
//   weight grads dW_l = dY_l^T . H_{l-1}             (dY_l read transposed)
//
// These networks are small beside the VAEs' products per step and this is the plain way, without
// the VAE's per-shape product plan or sparse first layer (tools/backprop.h). Internal to the tools
// library.
#ifndef EDGEVAE_TOOLS_MLP_H_
#define EDGEVAE_TOOLS_MLP_H_

#include <cstddef>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae {

class MlpChain {
 public:
  // Layers [first, end) of `shape`'s table, each feeding the next, for up to `max_rows` rows. A
  // VAE's mean and log-variance heads run as one layer of 2 x latent outputs, mu then logvar.
  static StatusOr<MlpChain> Create(const ShapeInfo& shape, const ParamLayout& layout, size_t first,
                                   size_t end, size_t max_rows);

  size_t in() const { return in_; }
  size_t out() const { return out_; }

  // Runs the chain on n rows of x (n x in()) with the parameters `params` (the model's flat
  // layout); keeps every layer's output for Backward.
  Status Forward(const float* params, const float* x, size_t n, pthreadpool_t pool);
  // The last layer's output (n x out()), its activation applied; writable, for a caller that
  // applies a loss in place.
  float* output() { return h_.back().data(); }

  // The backward pass of the last Forward (same params, x and n). `dy` (n x out(), overwritten)
  // is the loss's gradient with respect to output(). With `grad` (the model's flat layout), the
  // chain's weight and bias gradients are written there (not added); with `dx` (n x in()), the
  // gradient with respect to x.
  Status Backward(const float* params, const float* x, size_t n, float* dy, float* grad,
                  float* dx, pthreadpool_t pool);

 private:
  struct Layer {
    size_t in, out;
    size_t w, b;  // parameter offsets
    Activation activation;
  };
  std::vector<Layer> layers_;
  size_t in_ = 0, out_ = 0, rows_ = 0;
  std::vector<AlignedBuffer<float>> h_;  // each layer's output, batch-major
  AlignedBuffer<float> xt_, ht_[2];      // the forward pass's feature-major input and outputs
  AlignedBuffer<float> dy_, dx_;         // gradients of one layer's output and input
};

// The three chains of a table that runs encoder, decoder and critic layers in that order (ALI,
// the AAE): E for up to `max_batch` rows, G for as many, and D for twice as many (both sides'
// rows at once).
struct EncoderGeneratorCritic {
  static StatusOr<EncoderGeneratorCritic> Create(const ShapeInfo& shape, const ParamLayout& layout,
                                                 size_t max_batch);
  MlpChain enc, gen, disc;
  size_t eg_floats = 0;  // E's and G's parameters are [0, eg_floats), D's the rest
};

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_MLP_H_
