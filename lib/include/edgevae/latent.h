// Working in the latent space of a trained VAE: draws from a class's Gaussian (mixture) of the
// per-class statistics a model carries (so that an unconditional model can be asked for "a 7";
// computing them is host tooling, edgevae/class_latents.h), interpolation between two codes, and
// the inverse standard normal CDF (for the latent-manifold picture of the AEVB paper, figure 4: a
// grid of equally spaced probabilities mapped through Phi^-1).
//
// Nothing here allocates on the heap after construction, so a device program can draw and
// interpolate per request.
#ifndef EDGEVAE_LATENT_H_
#define EDGEVAE_LATENT_H_

#include <cstdint>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/status.h"

namespace edgevae {

// The first statistics of `label` in `stats`, or null.
const ClassLatentStats* FindClassLatents(const std::vector<ClassLatentStats>& stats, int label);

// A Gaussian N(mean, L L^T) over the latent space, ready to sample from. The factor is the
// Cholesky factor of the covariance; a covariance that is not numerically positive definite
// (a singular class, rounding) gets the smallest diagonal jitter eps * 10^k (eps = 1e-6 x the
// mean variance, k = 0..6) that makes it so, and the jitter used is reported.
class LatentGaussian {
 public:
  // Errors name the field: mean/cov sizes that disagree, non-finite entries, an asymmetric
  // covariance, or one that stays indefinite with the largest jitter.
  static StatusOr<LatentGaussian> FromStats(const ClassLatentStats& stats);
  // The prior N(0, I) of `dim` dimensions.
  static LatentGaussian StandardNormal(int dim);

  int dim() const { return dim_; }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& cholesky() const { return chol_; }  // lower triangular, row-major
  double jitter() const { return jitter_; }

  // z[i] = mean + L eps[i] for i in [0, n), n x dim floats, where eps is the standard normal
  // stream of FillNormal keyed by (seed, RngPurpose::kLatentSample, label): the same seed and
  // label give the same draws, and draw i does not depend on n. No heap allocation.
  void Sample(uint64_t seed, int n, float* z) const;
  // z = mean + L z in place (z holds dim standard normal draws on entry).
  void Transform(float* z) const;

 private:
  LatentGaussian() = default;
  int dim_ = 0;
  int label_ = 0;
  std::vector<float> mean_;
  std::vector<float> chol_;
  double jitter_ = 0;
};

// The latent distribution of one class: every ClassLatentStats entry with its label, as a
// Gaussian mixture weighted by the entries' counts (one entry: that Gaussian).
class LatentMixture {
 public:
  // Errors: no entry for `label`, entries of different dimensions, or an entry FromStats rejects.
  static StatusOr<LatentMixture> ForLabel(const std::vector<ClassLatentStats>& stats, int label);

  int dim() const { return components_.front().dim(); }
  int label() const { return label_; }
  const std::vector<LatentGaussian>& components() const { return components_; }
  const std::vector<int>& counts() const { return counts_; }
  // The mixture's mean and the per-dimension standard deviation of its total covariance
  // (sum_k w_k (C_k + m_k m_k^T) - m m^T), for perturbing around the class.
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& stddev() const { return stddev_; }

  // n draws (n x dim): the normals are those of LatentGaussian::Sample for this label; draw i
  // takes component k with probability count_k / total, chosen by word i of the stream
  // (seed, kLatentSample, label, 1). With one component this is LatentGaussian::Sample.
  // Deterministic for (seed, label), draw i independent of n, no heap allocation.
  void Sample(uint64_t seed, int n, float* z) const;

 private:
  LatentMixture() = default;
  int label_ = 0;
  std::vector<LatentGaussian> components_;
  std::vector<int> counts_;
  int64_t total_ = 0;
  std::vector<float> mean_, stddev_;
};

// out = (1 - t) a + t b, over dim floats.
void LerpLatent(const float* a, const float* b, float t, int dim, float* out);
// Spherical interpolation (Shoemake's slerp, as White, "Sampling Generative Networks", 2016
// recommends for Gaussian latents): along the great circle between the directions of a and b,
//   out = sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b,  cos(w) = a.b / (|a| |b|),
// which keeps the norm near that of typical prior draws where a straight line would pass
// through the low-probability centre. Falls back to LerpLatent when a or b is zero or they are
// (anti)parallel within 1e-6, where the great circle is undefined.
void SlerpLatent(const float* a, const float* b, float t, int dim, float* out);

// Phi^-1(p): the standard normal quantile, for p in (0, 1); -inf at 0, +inf at 1, NaN outside
// [0, 1] or for NaN. Acklam's rational approximation (relative error < 1.15e-9) refined by one
// Halley step on erfc, giving max |error| < 1e-15 (measured 2.7e-16; absolute for |x| < 1,
// relative beyond) over p in [1e-300, 1 - 1e-16] (tests/runtime/latent_test.cc checks it against
// a bisection of erfc in long double).
double InverseNormalCdf(double p);

}  // namespace edgevae

#endif  // EDGEVAE_LATENT_H_
