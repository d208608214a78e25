// An engine backend: the shape's layers in one dtype (f32, f16, int8), created once per model load
// with every buffer it needs, then run without heap allocation. engine.cc owns the rest of the
// engine (validation, noise, reparameterisation). Internal to the runtime.
#ifndef EDGEVAE_RUNTIME_BACKEND_H_
#define EDGEVAE_RUNTIME_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "edgevae/engine.h"
#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/status.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* dtype() const = 0;
  // Rows [mu | logvar] of n images into mv (n x 2*latent); without `logvar` a backend may leave
  // that half unwritten (a reconstruction with z = mu needs only mu).
  virtual Status EncodePixels(const uint8_t* pixels, size_t n, bool logvar, float* mv,
                              pthreadpool_t pool) = 0;
  // Decoder logits (n x input) of n latent vectors. z must be readable XNNPACK's slack past its
  // end (an AlignedBuffer).
  virtual Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) = 0;
  // Pixel probabilities, sigmoid(logits).
  virtual Status DecodeProbs(const float* z, size_t n, float* out, pthreadpool_t pool);
  // Engine::ReconstructionError: the int8 backend's exact sums; the others return Unsupported
  // (the Scorer computes theirs from DecodeLogits). `mv` and `z` are the engine's buffers (n x
  // 2*latent and n x latent), for mu and the decoder's input.
  virtual Status ReconstructionError(const uint8_t* pixels, size_t n, ReconstructionLoss loss,
                                     float* mv, float* z, double* out, pthreadpool_t pool);

 protected:
  size_t in_ = 0;  // pixels per image
};

StatusOr<std::unique_ptr<Backend>> CreateF32Backend(const Model& model, size_t max_batch);
// XNNPACK's f16 operators, weights rounded to half precision at load.
StatusOr<std::unique_ptr<Backend>> CreateF16Backend(const Model& model, size_t max_batch);
// `sparse_encode`: batch-1 encodes run the first layer by the lit pixels (EngineOptions).
StatusOr<std::unique_ptr<Backend>> CreateInt8Backend(const Int8Model& model, size_t max_batch,
                                                     bool sparse_encode);

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_BACKEND_H_
