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

// Where a layer's tensors sit in the flat parameter array, in floats.
struct LayerParams {
  size_t weight;  // [out][in], PyTorch's layout
  size_t bias;    // [out]
};

// The flat parameter array's layout, derived from the shape's table: layers in table order, each
// weight and each bias starting on a 64-byte boundary, except that the mean and log-variance
// heads are laid out as one [2*latent x hidden] matrix followed by one bias of 2*latent, so that
// the encoder's two heads run as one product.
struct ParamLayout {
  std::vector<LayerParams> layers;  // one per layer of the shape's table
  size_t total = 0;                 // floats in the flat array, padding included

  static ParamLayout For(const ShapeInfo& shape);
};

// A named 1-D or 2-D view of one tensor in the flat array (PyTorch's state_dict naming and
// [out, in] weight layout).
struct TensorView {
  std::string name;  // "<layer>.weight" or "<layer>.bias"
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

// The largest ModelMetadata::class_temperature (a wider draw than 4x a class's spread is no
// longer that class).
inline constexpr double kMaxClassTemperature = 4;

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
  double lr_decay = 1;  // per epoch (TrainOptions::lr_decay); optional key, absent = 1
  double train_loss = std::numeric_limits<double>::quiet_NaN();  // nats/image, last epoch
  double test_loss = std::numeric_limits<double>::quiet_NaN();   // nats/image, last epoch
  std::string edgevae_version;  // of the program that wrote the file
  // Optional (absent from files that do not carry them):
  std::vector<int> classes;     // labels trained on (one-class training); empty: all
  std::string command;          // how the model was made, for provenance (shipped models)
  std::string precision;        // of the last training run's products: "fp32" or "bf16"
  // How the training images were binarized ("dynamic" or "static", edgevae/binarize.h); empty:
  // trained on grey values.
  std::string binarize;
  // The training objective when not the ELBO: "iwae", with iw_samples samples per image.
  std::string objective;
  int iw_samples = 0;
  std::vector<ClassLatentStats> class_latents;  // per-class latent statistics, by label
  // The sampling temperature T the class_latents' covariances were scaled by (T^2 times the
  // encodings' covariance: draws T times as far from their component's mean); optional key,
  // absent = 1.
  double class_temperature = 1;
  std::optional<AnomalyThreshold> anomaly;       // a calibrated anomaly threshold
  // An adversarial family's training settings (edgevae/train.h's AdversarialOptions); optional keys,
  // written when d_steps > 0.
  double gan_reg = 0;
  int d_steps = 0, g_steps = 0;
  std::string ali_loss;  // ALI's: "su" or "standard"; optional key, written when not empty
  double aae_lambda = 0;  // the AAE's reconstruction weight; optional key, written when > 0
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

  // PyTorch's nn.Linear default: weights and biases U(-1/sqrt(in), 1/sqrt(in)); or, for a shape
  // whose `init` is WeightInit::kKaiming, torch.nn.init.kaiming_uniform_ at each layer's
  // activation gain and zero biases. Drawn from the counter-based generator keyed by `seed` (so
  // the same seed gives the same model anywhere).
  void InitializeLikeTorch(uint64_t seed);

  const ShapeInfo& shape() const { return shape_; }
  const ParamLayout& layout() const { return layout_; }
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  size_t param_floats() const { return layout_.total; }

  // Every layer's weight and bias, in table order (the file's order).
  const std::vector<TensorView>& tensors() const { return tensors_; }

  ModelMetadata& metadata() { return metadata_; }
  const ModelMetadata& metadata() const { return metadata_; }

  // Present in training checkpoints only.
  bool has_optimizer() const { return !adam_.m.empty(); }
  AdamState& optimizer() { return adam_; }
  const AdamState& optimizer() const { return adam_; }
  void EnsureOptimizer();  // allocates zeroed moments if absent
  void DropOptimizer() { adam_ = AdamState(); }

  // First non-finite parameter as "<layer>.weight[123]", or empty if all are finite.
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

// The model a device runs: a copy of `model` without its optimizer state, or, for a shape with a
// `deploy` table (a GAN), the tensors of that table copied by name (the generator alone), with
// the same metadata.
StatusOr<Model> DeployableModel(const Model& model);

}  // namespace edgevae

#endif  // EDGEVAE_MODEL_H_
