// The inference engine: a model loaded once, its layers created as XNNPACK operators with the
// weights packed at load, buffers for up to `max_batch` images allocated at load, and then
// encode / decode / sample / reconstruct calls that allocate nothing on the heap (tested with an
// allocation counter). One pthreadpool serves XNNPACK and the SIMD kernels.
//
// Backends by dtype: f32, f16 (an f32 model run in half precision, EngineOptions::f16), and int8
// (XNNPACK qc8 operators from an Int8Model, edgevae/int8_model.h).
#ifndef EDGEVAE_ENGINE_H_
#define EDGEVAE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "edgevae/int8_model.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"

namespace edgevae {

// The reconstruction errors Engine::ReconstructionError computes, x_i = pixel_i / 255 and l_i the
// decoder's logits with z = mu: bce = sum_i softplus(l_i) - x_i l_i (nats), mse = sum_i
// (x_i - sigmoid(l_i))^2, mse3x3 = sum_i (sum over the 3 x 3 patch P_i around pixel i of
// x_j - sigmoid(l_j))^2 (a square image; edgevae/score.h says why).
enum class ReconstructionLoss { kBce, kMse, kMse3x3 };

struct EngineOptions {
  int max_batch = 1;  // largest n any call may pass
  int threads = 1;    // <= 0: one per logical core
  // For an f32 model: run it in IEEE half precision (weights rounded at load), on cores with
  // fp16 arithmetic (ARMv8.2, e.g. the Pi 5); elsewhere XNNPACK refuses or emulates it slowly.
  bool f16 = false;
  // int8 models: batch-1 encodes of sparse images (an MNIST digit lights ~19 % of its pixels) run
  // fc1 by the lit pixels, from a transposed copy of fc1's weights made at load (~0.3-0.4 MB).
  // Programs that never encode (a decoder-only server) can save that memory.
  bool sparse_encode = true;
};

class Engine {
 public:
  // Loads and validates a model file (see LoadModel), then as Create.
  static StatusOr<std::unique_ptr<Engine>> Load(const std::string& path,
                                                const EngineOptions& options);
  // From a model in memory (copied: the engine does not keep a reference).
  static StatusOr<std::unique_ptr<Engine>> Create(const Model& model, const EngineOptions& options);
  static StatusOr<std::unique_ptr<Engine>> Create(const Int8Model& model,
                                                  const EngineOptions& options);
  // Whichever a file held (LoadAnyModel).
  static StatusOr<std::unique_ptr<Engine>> Create(const AnyModel& model,
                                                  const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ShapeInfo& shape() const;
  const char* dtype() const;  // "f32", "f16" or "int8"
  int max_batch() const;
  int threads() const;
  const ModelMetadata& metadata() const;

  // mu and logvar (n x latent each) of n images given as bytes (n x input, 0..255). A
  // deterministic encoder's (an AAE's, ShapeInfo::has_logvar) codes are mu and its logvar is
  // -infinity: the posterior is a point mass.
  Status Encode(const uint8_t* pixels, int n, float* mu, float* logvar);
  // Pixel probabilities (n x input) decoded from n latent vectors (n x latent).
  Status Decode(const float* z, int n, float* out);
  // Decoder logits (n x input) of n latent vectors: for likelihoods, without the sigmoid.
  Status DecodeLogits(const float* z, int n, float* logits);
  // The reconstruction error of each of n images (z = mu) into out[0..n), for int8 engines: the
  // int8 logits index tables of their 256 values in fixed point (softplus and sigmoid to 2^-16),
  // so every sum is an exact integer and the result is the same on every platform -- a Pi, a PC
  // or a microcontroller (docs/micro.md). The tables' rounding moves a bce score by under 0.01
  // nats and an mse score by under 784 * 2^-15 * |error|. f32 and f16 engines return Unsupported
  // (edgevae/score.h computes theirs in floating point).
  Status ReconstructionError(const uint8_t* pixels, int n, ReconstructionLoss loss, double* out);
  // n images decoded from z ~ N(0, I), the draws keyed by seed (same seed, same images).
  Status Sample(int n, uint64_t seed, float* out);
  // Reconstructions (n x input) of n images, with z = mu, or with z sampled from q(z|x) (keyed by
  // seed) when `sample_z` is set (z = mu for a deterministic encoder).
  Status Reconstruct(const uint8_t* pixels, int n, bool sample_z, uint64_t seed, float* out);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Re-runs golden vectors on an engine: the largest and mean |reconstruction - stored| and
// whether both are within the stored thresholds.
struct GoldenCheck {
  int count = 0;
  double max_abs_error = 0;
  double mean_abs_error = 0;
  bool pass = false;
};
StatusOr<GoldenCheck> CheckGoldenVectors(Engine& engine, const GoldenVectors& golden);

}  // namespace edgevae

#endif  // EDGEVAE_ENGINE_H_
