// The VAE's parameters, their layout, provenance metadata and (optionally) the Adam state that a
// training checkpoint carries. All parameters live in one flat, 64-byte-aligned array so that the
// optimizer runs over a single span; each layer's tensor is a view into it.
#ifndef EDGEVAE_MODEL_H_
#define EDGEVAE_MODEL_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"

namespace edgevae {

// The library's version, recorded in every file it writes.
const char* Version();

// Offsets (in floats) of each tensor inside the flat parameter array. fc21 and fc22 weights are
// adjacent, as are their biases, so the encoder's two heads form one [2*latent x hidden] matrix
// and run as one GEMM.
struct ParamLayout {
  size_t w1, b1;    // fc1:  [hidden x input], [hidden]
  size_t w2, b2;    // fc21 then fc22: [2*latent x hidden], [2*latent]
  size_t w3, b3;    // fc3:  [hidden x latent], [hidden]
  size_t w4, b4;    // fc4:  [input x hidden], [input]
  size_t total;     // floats in the flat array, padding included

  static ParamLayout For(const ShapeInfo& shape);
};

// A named 1-D or 2-D view of one tensor in the flat array (PyTorch's state_dict naming and
// [out, in] weight layout).
struct TensorView {
  std::string name;  // "fc1.weight", "fc1.bias", ... "fc4.bias"
  int rows;          // out features
  int cols;          // in features; 0 for a bias (1-D)
  size_t offset;     // in floats, into the flat array
  size_t size() const { return static_cast<size_t>(rows) * (cols == 0 ? 1 : cols); }
};

// The encodings of one class's training images: mean and covariance of mu(x), for sampling "a 7"
// from an unconditional VAE (z ~ N(mean, cov), then decode).
struct ClassLatentStats {
  int label = 0;
  int count = 0;                // images the statistics were taken over
  std::vector<float> mean;      // latent
  std::vector<float> cov;       // latent x latent, row-major, symmetric
};

// An anomaly threshold calibrated on held-out normal images (edgevae calibrate): scores above
// `threshold` are anomalies; about `fpr` of normal images exceed it.
struct AnomalyThreshold {
  std::string method;  // "bce", "mse", "elbo", "iw", ...
  double fpr = 0;      // target false-positive rate
  int images = 0;      // normal images it was calibrated on
  int samples = 0;     // S (elbo) or K (iw) samples per image; 0 for bce/mse
  double threshold = 0;
};

struct ModelMetadata {
  std::string dataset = "mnist";
  int epochs = 0;  // epochs trained in total
  uint64_t seed = 0;
  int batch = 0;
  double lr = 0;
  double train_loss = std::numeric_limits<double>::quiet_NaN();  // nats/image, last epoch
  double test_loss = std::numeric_limits<double>::quiet_NaN();   // nats/image, last epoch
  std::string edgevae_version;  // of the program that wrote the file
  // Optional (absent from files that do not carry them):
  std::vector<int> classes;     // labels trained on (one-class training); empty: all
  std::string command;          // how the model was made, for provenance (shipped models)
  std::vector<ClassLatentStats> class_latents;  // per-class latent statistics, by label
  std::optional<AnomalyThreshold> anomaly;       // a calibrated anomaly threshold
};

// Adam's moment estimates, in the flat parameter layout, and its step count.
struct AdamState {
  AlignedBuffer<float> m, v;
  int64_t step = 0;
};

class Model {
 public:
  // A model of `shape` with all parameters zero.
  static StatusOr<Model> Create(const ShapeInfo& shape);

  // PyTorch's nn.Linear default: weights and biases U(-1/sqrt(in), 1/sqrt(in)), drawn from the
  // counter-based generator keyed by `seed` (so the same seed gives the same model anywhere).
  void InitializeLikeTorch(uint64_t seed);

  const ShapeInfo& shape() const { return shape_; }
  const ParamLayout& layout() const { return layout_; }
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  size_t param_floats() const { return layout_.total; }

  // The ten tensors in file order: fc1.weight, fc1.bias, fc21.weight, fc21.bias, fc22.weight,
  // fc22.bias, fc3.weight, fc3.bias, fc4.weight, fc4.bias.
  const std::vector<TensorView>& tensors() const { return tensors_; }

  ModelMetadata& metadata() { return metadata_; }
  const ModelMetadata& metadata() const { return metadata_; }

  // Present in training checkpoints only.
  bool has_optimizer() const { return !adam_.m.empty(); }
  AdamState& optimizer() { return adam_; }
  const AdamState& optimizer() const { return adam_; }
  void EnsureOptimizer();  // allocates zeroed moments if absent
  void DropOptimizer() { adam_ = AdamState(); }

  // First non-finite parameter as "fc4.weight[123]", or empty if all are finite.
  std::string FirstNonFinite() const;

  Model Clone() const;

 private:
  Model(const ShapeInfo& shape);
  ShapeInfo shape_;
  ParamLayout layout_;
  AlignedBuffer<float> params_;
  std::vector<TensorView> tensors_;
  ModelMetadata metadata_;
  AdamState adam_;
};

}  // namespace edgevae

#endif  // EDGEVAE_MODEL_H_
