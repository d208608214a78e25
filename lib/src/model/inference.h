// f32 inference with weights packed once: the model's four layers as XNNPACK operators whose
// packed operand is the weight matrix (bias and ReLU fused by XNNPACK's clamp), batch-major
// activations. Used by evaluation, sampling and reconstruction. Shared by lib/src only.
#ifndef EDGEVAE_MODEL_INFERENCE_H_
#define EDGEVAE_MODEL_INFERENCE_H_

#include <cstddef>

#include "edgevae/buffer.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "gemm/gemm.h"

namespace edgevae {

class F32Inference {
 public:
  // Packs the model's weights; buffers hold up to max_rows rows.
  static StatusOr<F32Inference> Create(const Model& model, size_t max_rows);

  size_t max_rows() const { return max_rows_; }
  size_t input() const { return in_; }
  size_t latent() const { return lat_; }

  // x: n x input floats (AlignedBuffer-padded) -> mu/logvar rows: n x (2*latent), mu first.
  Status Encode(const float* x, size_t n, float* mv, pthreadpool_t pool);
  // The hidden layer of the last call (h1 after Encode, h3 after DecodeLogits), n x hidden.
  const float* hidden() const { return hidden_.data(); }

  // z: n x latent -> logits n x input.
  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool);

 private:
  size_t in_ = 0, hid_ = 0, lat_ = 0, max_rows_ = 0;
  gemm::PackedGemm fc1_, fc2_, fc3_, fc4_;
  AlignedBuffer<float> hidden_;
};

}  // namespace edgevae

#endif  // EDGEVAE_MODEL_INFERENCE_H_
