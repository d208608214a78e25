// A naive double-precision reference of the VAE (plain loops, no SIMD, no XNNPACK) for any
// shape's table: the test oracle for the trainer's loss and gradient and for evaluation, encoding
// and decoding.
//
//   h = x; h = act(W h + b) per encoder layer;  mu = W_mu h + b_mu;  logvar = W_lv h + b_lv;
//   z = mu + exp(logvar / 2) * eps;  h = z; h = act(W h + b) per decoder layer;  l = W_out h + b;
//   loss(x) = sum_pixels softplus(l) - x * l  -  1/2 sum(1 + logvar - mu^2 - exp(logvar)).
//
// Parameters are a double copy of Model::params() (same ParamLayout offsets), so a test perturbs
// one entry by writing to it. The noise is passed in per image (latent contiguous); helpers below
// gather it from the trainer's feature-major layout or evaluation's image-major one.
#ifndef EDGEVAE_TESTS_COMMON_REFERENCE_H_
#define EDGEVAE_TESTS_COMMON_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "edgevae/model_writer.h"
#include "edgevae/idx.h"
#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"

namespace edgevae::reference {

// Normals [0, n) of RNG stream (seed, stream), as the trainer and evaluation draw them.
inline std::vector<float> Normals(uint64_t seed, uint64_t stream, size_t n) {
  std::vector<float> out(n);
  FillNormal(RngStream(seed, stream), 0, out.data(), n);
  return out;
}

// The trainer's noise for (seed, epoch, step) and a batch of n: eps[j * n + b].
inline std::vector<float> TrainNoise(uint64_t seed, int epoch, int step, size_t n, size_t latent) {
  return Normals(seed,
                 StreamId(RngPurpose::kTrainNoise, static_cast<uint32_t>(epoch),
                          static_cast<uint32_t>(step)),
                 latent * n);
}

// Feature-major [latent][n] -> image-major [n][latent].
inline std::vector<float> FeatureToImageMajor(const std::vector<float>& eps, size_t n,
                                              size_t latent) {
  std::vector<float> out(n * latent);
  for (size_t j = 0; j < latent; ++j) {
    for (size_t b = 0; b < n; ++b) out[b * latent + j] = eps[j * n + b];
  }
  return out;
}

inline std::vector<double> ToDouble(const Model& model) {
  return std::vector<double>(model.params(), model.params() + model.param_floats());
}

inline double Softplus(double l) { return std::max(l, 0.0) + std::log1p(std::exp(-std::fabs(l))); }
inline double Sigmoid(double l) { return 1.0 / (1.0 + std::exp(-l)); }

class Net {
 public:
  Net(const ShapeInfo& shape, const double* w)
      : shape_(shape), in_(shape.input), lat_(shape.latent), p_(ParamLayout::For(shape)), w_(w) {}

  size_t input() const { return in_; }
  size_t latent() const { return lat_; }

  // mu, logvar (latent each) of one image x (input floats in [0, 1]). If relu_on is given, the
  // hidden units' on/off pattern is appended to it (for detecting ReLU kinks).
  void Encode(const float* x, double* mu, double* logvar, std::vector<uint8_t>* relu_on) const {
    std::vector<double> h(x, x + in_);
    const size_t mean = shape_.Find(LayerRole::kMean);
    for (size_t i = 0; i < mean; ++i) h = Dense(i, h, relu_on);
    const std::vector<double> m = Dense(mean, h, nullptr), lv = Dense(mean + 1, h, nullptr);
    std::copy(m.begin(), m.end(), mu);
    std::copy(lv.begin(), lv.end(), logvar);
  }

  // Logits (input) of a latent vector z.
  void DecodeLogits(const double* z, double* logits, std::vector<uint8_t>* relu_on) const {
    std::vector<double> h(z, z + lat_);
    for (size_t i = shape_.Find(LayerRole::kDecoder); i < shape_.layers.size(); ++i) {
      h = Dense(i, h, relu_on);
    }
    std::copy(h.begin(), h.end(), logits);
  }

  // -log p(x | z) for Bernoulli logits.
  double Bce(const double* logits, const float* x) const {
    double s = 0;
    for (size_t i = 0; i < in_; ++i) s += Softplus(logits[i]) - x[i] * logits[i];
    return s;
  }

  // The negative ELBO of one image with noise eps (latent values).
  double ImageLoss(const float* x, const float* eps, std::vector<uint8_t>* relu_on) const {
    std::vector<double> mu(lat_), logvar(lat_), z(lat_), logits(in_);
    Encode(x, mu.data(), logvar.data(), relu_on);
    double kl = 0;
    for (size_t j = 0; j < lat_; ++j) {
      z[j] = mu[j] + std::exp(logvar[j] / 2) * eps[j];
      kl += -0.5 * (1 + logvar[j] - mu[j] * mu[j] - std::exp(logvar[j]));
    }
    DecodeLogits(z.data(), logits.data(), relu_on);
    return Bce(logits.data(), x) + kl;
  }

  // Summed negative ELBO of n images (n x input) with image-major noise eps[i * latent + j].
  double BatchLoss(const float* x, size_t n, const float* eps,
                   std::vector<uint8_t>* relu_on = nullptr) const {
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += ImageLoss(x + i * in_, eps + i * lat_, relu_on);
    return total;
  }

  // The importance-weighted training loss: summed IwNll of n images, image i's K noise vectors at
  // eps[(i * K + k) * latent + j].
  double IwBatchLoss(const float* x, size_t n, const float* eps, size_t k_total,
                     std::vector<uint8_t>* relu_on = nullptr) const {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += IwNll(x + i * in_, eps + i * k_total * lat_, k_total, relu_on);
    }
    return total;
  }

  // Importance-weighted -log p(x) of one image from K noise vectors eps[k * latent + j]:
  // -(logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K).
  double IwNll(const float* x, const float* eps, size_t k_total,
               std::vector<uint8_t>* relu_on = nullptr) const {
    std::vector<double> mu(lat_), logvar(lat_), z(lat_), logits(in_), log_w(k_total);
    Encode(x, mu.data(), logvar.data(), relu_on);
    for (size_t k = 0; k < k_total; ++k) {
      const float* e = eps + k * lat_;
      double log_pz_minus_log_q = 0;
      for (size_t j = 0; j < lat_; ++j) {
        z[j] = mu[j] + std::exp(logvar[j] / 2) * e[j];
        // log N(z; 0, 1) - log N(z; mu, exp(logvar)); the 2 pi terms cancel.
        log_pz_minus_log_q += -0.5 * z[j] * z[j] + 0.5 * e[j] * e[j] + 0.5 * logvar[j];
      }
      DecodeLogits(z.data(), logits.data(), relu_on);
      log_w[k] = log_pz_minus_log_q - Bce(logits.data(), x);
    }
    const double m = *std::max_element(log_w.begin(), log_w.end());
    double s = 0;
    for (double lw : log_w) s += std::exp(lw - m);
    return -(m + std::log(s) - std::log(static_cast<double>(k_total)));
  }

 private:
  // Layer i of the table on x: W x + b, then its activation (the ReLU's on/off pattern appended
  // to relu_on if given).
  std::vector<double> Dense(size_t i, const std::vector<double>& x,
                            std::vector<uint8_t>* relu_on) const {
    const LayerInfo& l = shape_.layers[i];
    std::vector<double> y(l.out);
    for (int r = 0; r < l.out; ++r) {
      const double* row = w_ + p_.layers[i].weight + static_cast<size_t>(r) * l.in;
      double s = w_[p_.layers[i].bias + r];
      for (int c = 0; c < l.in; ++c) s += row[c] * x[c];
      if (l.activation == Activation::kRelu) {
        if (relu_on != nullptr) relu_on->push_back(s > 0);
        s = s > 0 ? s : 0;
      }
      y[r] = s;
    }
    return y;
  }

  ShapeInfo shape_;
  size_t in_, lat_;
  ParamLayout p_;
  const double* w_;
};

// Bytes -> floats in [0, 1], as the library converts them.
inline std::vector<float> BytesToFloats(const uint8_t* pixels, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
  return out;
}

// MNIST from EDGEVAE_MNIST_DIR, loaded once per test program. Returns nullptr and sets *error
// (telling the user to run tools/fetch-mnist.sh) when the files are missing or unreadable; the
// tests that need real data then FAIL rather than skip, so a missing download is never silent.
inline const MnistData* CachedMnist(std::string* error) {
  static const StatusOr<MnistData>* loaded = new StatusOr<MnistData>(LoadMnist(EDGEVAE_MNIST_DIR));
  if (loaded->ok()) return &loaded->value();
  *error = std::string("this test trains on MNIST, expected in " EDGEVAE_MNIST_DIR
                       " (CMake cache variable EDGEVAE_MNIST_DIR): run `tools/fetch-mnist.sh " EDGEVAE_MNIST_DIR
                       "` from the source tree to download it. The loader said: ") +
           loaded->status().message();
  return nullptr;
}

#ifdef EDGEVAE_TEST_FIXTURE_DIR
// The mnist model initialized like PyTorch with `seed` and trained `epochs` epochs on the first
// `images` images of `train`, cached as EDGEVAE_TEST_FIXTURE_DIR/<name>-<images>x<epochs>.evae:
// gtest_discover_tests runs every test in its own process, and under qemu-user training runs at
// 25-100 images/s, so the tests of a suite share one trained model (tests/CMakeLists.txt runs a
// suite's first test as a ctest fixture, so the others only load it). The save is atomic.
inline StatusOr<Model> CachedTrainedModel(const std::string& name, const ImageSet& train, int images,
                                         int epochs, uint64_t seed, Runtime* runtime) {
  const std::string path = std::string(EDGEVAE_TEST_FIXTURE_DIR) + "/" + name + "-" +
                           std::to_string(images) + "x" + std::to_string(epochs) + ".evae";
  if (StatusOr<Model> cached = LoadModel(path);
      cached.ok() && cached->metadata().epochs == epochs && cached->metadata().seed == seed) {
    return cached;
  }
  EVAE_ASSIGN_OR_RETURN(Model model, Model::Create(MnistShape::kInfo));
  model.InitializeLikeTorch(seed);
  TrainOptions options;
  options.seed = seed;
  EVAE_ASSIGN_OR_RETURN(auto trainer, CreateTrainer(&model, runtime, options));
  const ImageSet subset = Head(train, images);
  for (int e = 0; e < epochs; ++e) {
    EVAE_ASSIGN_OR_RETURN(EpochResult r, trainer->TrainEpoch(subset, {}));
    (void)r;
  }
  std::error_code ec;
  std::filesystem::create_directories(EDGEVAE_TEST_FIXTURE_DIR, ec);
  if (Status s = SaveModel(path, model); !s.ok()) {
    std::fprintf(stderr, "note: could not cache the trained model: %s\n", s.message().c_str());
  }
  return model;
}
#endif  // EDGEVAE_TEST_FIXTURE_DIR

}  // namespace edgevae::reference

#endif  // EDGEVAE_TESTS_COMMON_REFERENCE_H_
