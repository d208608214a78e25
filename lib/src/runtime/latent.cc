#include "edgevae/latent.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "edgevae/rng.h"

namespace edgevae {

const ClassLatentStats* FindClassLatents(const std::vector<ClassLatentStats>& stats, int label) {
  for (const ClassLatentStats& s : stats) {
    if (s.label == label) return &s;
  }
  return nullptr;
}

namespace {

// Lower-triangular L with L L^T = a + jitter I, in double; false if a pivot is not positive.
bool Cholesky(const std::vector<double>& a, int n, double jitter, std::vector<double>* l) {
  l->assign(static_cast<size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j) {
    double diag = a[static_cast<size_t>(j) * n + j] + jitter;
    for (int k = 0; k < j; ++k)
      diag -= (*l)[static_cast<size_t>(j) * n + k] * (*l)[static_cast<size_t>(j) * n + k];
    if (!(diag > 0)) return false;
    const double ljj = std::sqrt(diag);
    (*l)[static_cast<size_t>(j) * n + j] = ljj;
    for (int i = j + 1; i < n; ++i) {
      double v = a[static_cast<size_t>(i) * n + j];
      for (int k = 0; k < j; ++k)
        v -= (*l)[static_cast<size_t>(i) * n + k] * (*l)[static_cast<size_t>(j) * n + k];
      (*l)[static_cast<size_t>(i) * n + j] = v / ljj;
    }
  }
  return true;
}

}  // namespace

StatusOr<LatentGaussian> LatentGaussian::FromStats(const ClassLatentStats& stats) {
  const std::string where = "class_latents (label " + std::to_string(stats.label) + ")";
  const int n = static_cast<int>(stats.mean.size());
  if (n <= 0) return InvalidArgument(where + ": empty mean");
  if (stats.cov.size() != static_cast<size_t>(n) * n) {
    return InvalidArgument(where + ": cov has " + std::to_string(stats.cov.size()) +
                           " entries, expected " + std::to_string(n * n) + " (mean has " +
                           std::to_string(n) + ")");
  }
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(stats.mean[i])) {
      return InvalidArgument(where + ": mean[" + std::to_string(i) + "] is not finite");
    }
  }
  std::vector<double> a(stats.cov.begin(), stats.cov.end());
  double trace = 0;
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      const double v = a[static_cast<size_t>(r) * n + c];
      const double t = a[static_cast<size_t>(c) * n + r];
      if (!std::isfinite(v)) {
        return InvalidArgument(where + ": cov[" + std::to_string(r) + "][" + std::to_string(c) +
                               "] is not finite");
      }
      if (std::fabs(v - t) > 1e-5 * (std::fabs(v) + std::fabs(t)) + 1e-30) {
        return InvalidArgument(where + ": cov is not symmetric at [" + std::to_string(r) + "][" +
                               std::to_string(c) + "]");
      }
    }
    trace += a[static_cast<size_t>(r) * n + r];
  }
  const double base = std::max(1e-6 * trace / n, 1e-12);
  std::vector<double> l;
  double jitter = 0;
  bool ok = Cholesky(a, n, 0, &l);
  // 10^k, exact (std::pow gives the same; without it a microcontroller image is 3 KB smaller).
  constexpr double kPowersOfTen[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  for (size_t k = 0; !ok && k < std::size(kPowersOfTen); ++k) {
    jitter = base * kPowersOfTen[k];
    ok = Cholesky(a, n, jitter, &l);
  }
  if (!ok) return InvalidArgument(where + ": cov is not positive definite");
  LatentGaussian g;
  g.dim_ = n;
  g.label_ = stats.label;
  g.mean_ = stats.mean;
  g.chol_.assign(l.begin(), l.end());
  g.jitter_ = jitter;
  return g;
}

LatentGaussian LatentGaussian::StandardNormal(int dim) {
  LatentGaussian g;
  g.dim_ = dim;
  g.label_ = -1;
  g.mean_.assign(dim, 0.0f);
  g.chol_.assign(static_cast<size_t>(dim) * dim, 0.0f);
  for (int i = 0; i < dim; ++i) g.chol_[static_cast<size_t>(i) * dim + i] = 1.0f;
  return g;
}

void LatentGaussian::Transform(float* row) const {
  // In place, last coordinate first: z_i needs eps_0..eps_i, which are still unchanged.
  for (int i = dim_ - 1; i >= 0; --i) {
    const float* li = chol_.data() + static_cast<size_t>(i) * dim_;
    double v = mean_[i];
    for (int j = 0; j <= i; ++j) v += static_cast<double>(li[j]) * row[j];
    row[i] = static_cast<float>(v);
  }
}

void LatentGaussian::Sample(uint64_t seed, int n, float* z) const {
  if (n <= 0) return;
  const RngStream rng(seed, StreamId(RngPurpose::kLatentSample, static_cast<uint32_t>(label_)));
  FillNormal(rng, 0, z, static_cast<size_t>(n) * dim_);
  for (int s = 0; s < n; ++s) Transform(z + static_cast<size_t>(s) * dim_);
}

StatusOr<LatentMixture> LatentMixture::ForLabel(const std::vector<ClassLatentStats>& stats,
                                                int label) {
  LatentMixture m;
  m.label_ = label;
  for (const ClassLatentStats& s : stats) {
    if (s.label != label) continue;
    EVAE_ASSIGN_OR_RETURN(LatentGaussian g, LatentGaussian::FromStats(s));
    if (!m.components_.empty() && g.dim() != m.components_.front().dim()) {
      return InvalidArgument("class_latents (label " + std::to_string(label) + "): components of " +
                             std::to_string(m.components_.front().dim()) + " and " +
                             std::to_string(g.dim()) + " dimensions");
    }
    if (s.count < 1) {
      return InvalidArgument("class_latents (label " + std::to_string(label) + "): count " +
                             std::to_string(s.count) + " is not positive");
    }
    m.components_.push_back(std::move(g));
    m.counts_.push_back(s.count);
    m.total_ += s.count;
  }
  if (m.components_.empty()) {
    return InvalidArgument("class_latents: no statistics for label " + std::to_string(label));
  }
  // Total moments: mean = sum w m_k; var_j = sum w (C_k,jj + m_k,j^2) - mean_j^2.
  const int dim = m.dim();
  std::vector<double> mean(dim, 0.0), second(dim, 0.0);
  for (size_t k = 0; k < m.components_.size(); ++k) {
    const double w = static_cast<double>(m.counts_[k]) / m.total_;
    const LatentGaussian& g = m.components_[k];
    for (int j = 0; j < dim; ++j) {
      double cjj = 0;  // (L L^T)_jj
      for (int i = 0; i <= j; ++i) {
        const double l = g.cholesky()[static_cast<size_t>(j) * dim + i];
        cjj += l * l;
      }
      mean[j] += w * g.mean()[j];
      second[j] += w * (cjj + static_cast<double>(g.mean()[j]) * g.mean()[j]);
    }
  }
  for (int j = 0; j < dim; ++j) {
    m.mean_.push_back(static_cast<float>(mean[j]));
    m.stddev_.push_back(
        static_cast<float>(std::sqrt(std::max(0.0, second[j] - mean[j] * mean[j]))));
  }
  return m;
}

void LatentMixture::Sample(uint64_t seed, int n, float* z) const {
  if (n <= 0) return;
  const int dim = this->dim();
  const RngStream rng(seed, StreamId(RngPurpose::kLatentSample, static_cast<uint32_t>(label_)));
  FillNormal(rng, 0, z, static_cast<size_t>(n) * dim);
  const RngStream pick(seed, StreamId(RngPurpose::kLatentSample, static_cast<uint32_t>(label_), 1));
  for (int s = 0; s < n; ++s) {
    size_t k = 0;
    if (components_.size() > 1) {
      int64_t u = pick.Below(static_cast<uint64_t>(s), static_cast<uint32_t>(total_));
      while (u >= counts_[k]) u -= counts_[k++];
    }
    components_[k].Transform(z + static_cast<size_t>(s) * dim);
  }
}

void LerpLatent(const float* a, const float* b, float t, int dim, float* out) {
  for (int i = 0; i < dim; ++i) out[i] = (1.0f - t) * a[i] + t * b[i];
}

void SlerpLatent(const float* a, const float* b, float t, int dim, float* out) {
  double aa = 0, bb = 0, ab = 0;
  for (int i = 0; i < dim; ++i) {
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
    ab += static_cast<double>(a[i]) * b[i];
  }
  if (aa == 0 || bb == 0) return LerpLatent(a, b, t, dim, out);
  const double c = std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
  const double w = std::acos(c);
  const double s = std::sin(w);
  if (s < 1e-6) return LerpLatent(a, b, t, dim, out);
  const double ka = std::sin((1.0 - t) * w) / s;
  const double kb = std::sin(t * w) / s;
  for (int i = 0; i < dim; ++i) out[i] = static_cast<float>(ka * a[i] + kb * b[i]);
}

double InverseNormalCdf(double p) {
  if (std::isnan(p) || p < 0 || p > 1) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  // Acklam's coefficients (P. J. Acklam, "An algorithm for computing the inverse normal
  // cumulative distribution function", 2003).
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step on f(x) = Phi(x) - p, Phi(x) = erfc(-x / sqrt 2) / 2; in the upper tail on
  // the complement (1 - Phi(x) = erfc(x / sqrt 2) / 2) so that p's rounding near 1 is not lost
  // twice.
  const double e = p <= 0.5 ? 0.5 * std::erfc(-x / std::sqrt(2.0)) - p
                            : (1 - p) - 0.5 * std::erfc(x / std::sqrt(2.0));
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  x -= u / (1 + x * u / 2);
  return x;
}

}  // namespace edgevae
