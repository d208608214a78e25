// f32 inference with weights packed once: the shape's layers as XNNPACK operators (bias and ReLU
// fused by XNNPACK's output clamp, the encoder's two heads as one operator), batch-major
// activations. Used by the f32 engine backend, evaluation, calibration and sampling. A GAN's
// discriminator is left out, and a generator has no encoder (Encode: kUnsupported). Internal to
// the libraries.
#ifndef EDGEVAE_RUNTIME_F32_INFERENCE_H_
#define EDGEVAE_RUNTIME_F32_INFERENCE_H_

#include <cstddef>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "kernels/gemm.h"

namespace edgevae {

class F32Inference {
 public:
  // Packs the model's weights; buffers hold up to max_rows rows.
  static StatusOr<F32Inference> Create(const Model& model, size_t max_rows);

  size_t max_rows() const { return max_rows_; }
  size_t input() const { return in_; }
  size_t latent() const { return lat_; }

  // x: n x input floats (AlignedBuffer-padded) -> mu/logvar rows: n x (2*latent), mu first; a
  // deterministic encoder's logvar is -infinity (runtime/deterministic_encoder.h).
  Status Encode(const float* x, size_t n, float* mv, pthreadpool_t pool);
  // z: n x latent -> logits n x input.
  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool);
  // The output of hidden layer `layer` (an index into the shape's table: an encoder or decoder
  // layer) in the last Encode or DecodeLogits, n x its width, after the ReLU.
  const float* activation(size_t layer) const { return act_[layer].data(); }

 private:
  struct Op {
    gemm::PackedGemm gemm;
    size_t layer;  // index of its (first) layer in the table
  };
  // Runs `ops` in turn from `in`; the last one writes `out`, the others their activation buffer.
  Status Run(std::vector<Op>& ops, const float* in, size_t n, float* out, pthreadpool_t pool);

  size_t in_ = 0, lat_ = 0, max_rows_ = 0;
  bool stochastic_ = true;                 // a log-variance head (not an AAE's encoder)
  std::vector<Op> encoder_;                // hidden layers, then the two heads as one operator
  std::vector<Op> decoder_;                // hidden layers, then the logits
  // Per layer of the table: hidden layers, and a deterministic encoder's mean head.
  std::vector<AlignedBuffer<float>> act_;
};

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_F32_INFERENCE_H_
