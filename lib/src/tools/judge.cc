#include "edgevae/judge.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "edgevae/rng.h"
#include "tools/symmetric_eigen.h"

namespace edgevae {

StatusOr<FeatureStats> ComputeFeatureStats(const float* features, int count, size_t dim) {
  if (count < 2 || dim == 0) {
    return InvalidArgument("feature statistics need at least 2 rows, got " +
                           std::to_string(count));
  }
  FeatureStats s;
  s.dim = dim;
  s.count = count;
  s.mean.assign(dim, 0.0);
  for (int i = 0; i < count; ++i) {
    const float* row = features + static_cast<size_t>(i) * dim;
    for (size_t d = 0; d < dim; ++d) s.mean[d] += row[d];
  }
  for (double& m : s.mean) m /= count;
  s.cov.assign(dim * dim, 0.0);
  std::vector<double> c(dim);
  for (int i = 0; i < count; ++i) {
    const float* row = features + static_cast<size_t>(i) * dim;
    for (size_t d = 0; d < dim; ++d) c[d] = row[d] - s.mean[d];
    for (size_t r = 0; r < dim; ++r) {
      if (c[r] == 0) continue;  // ReLU features are often exactly zero
      double* cov_row = s.cov.data() + r * dim;
      for (size_t k = r; k < dim; ++k) cov_row[k] += c[r] * c[k];
    }
  }
  for (size_t r = 0; r < dim; ++r) {
    for (size_t k = r; k < dim; ++k) {
      const double v = s.cov[r * dim + k] / (count - 1);
      s.cov[r * dim + k] = s.cov[k * dim + r] = v;
    }
  }
  for (double v : s.cov) {
    if (!std::isfinite(v)) return DataError("feature statistics are not finite");
  }
  return s;
}

double KlToStandardNormal(const FeatureStats& s) {
  const size_t n = s.dim;
  double kl = -static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) kl += s.mean[i] * s.mean[i];
  const std::vector<double> values = EigenvaluesSymmetric(s.cov, n);
  double largest = 0;
  for (double v : values) largest = std::max(largest, v);
  for (double v : values) {
    // Singular to the solver's rounding: the codes span fewer than n directions.
    if (!(v > 1e-12 * largest)) return std::numeric_limits<double>::infinity();
    kl += v - std::log(v);
  }
  return kl / 2;
}

StatusOr<double> FrechetDistance(const FeatureStats& a, const FeatureStats& b) {
  if (a.dim != b.dim || a.dim == 0 || a.mean.size() != a.dim || b.mean.size() != b.dim ||
      a.cov.size() != a.dim * a.dim || b.cov.size() != b.dim * b.dim ||
      (!b.cov_root.empty() && b.cov_root.size() != b.dim * b.dim)) {
    return InvalidArgument("Fréchet distance: statistics of " + std::to_string(a.dim) + " and " +
                           std::to_string(b.dim) + " features");
  }
  const size_t n = a.dim;
  double d2 = 0, trace = 0;
  for (size_t i = 0; i < n; ++i) {
    d2 += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]);
    trace += a.cov[i * n + i] + b.cov[i * n + i];
  }
  // tr (C_a C_b)^1/2 = tr (S C_a S)^1/2 with S = C_b^1/2: the eigenvalues of a symmetric matrix
  // (C_a C_b and C_b C_a have the same ones).
  const std::vector<double> root = b.cov_root.empty() ? SqrtSymmetric(b.cov, n) : b.cov_root;
  std::vector<double> t(n * n, 0.0), m(n * n, 0.0);
  for (size_t r = 0; r < n; ++r) {  // t = S C_a
    for (size_t k = 0; k < n; ++k) {
      const double s = root[r * n + k];
      if (s == 0) continue;
      for (size_t c = 0; c < n; ++c) t[r * n + c] += s * a.cov[k * n + c];
    }
  }
  for (size_t r = 0; r < n; ++r) {  // m = t S
    for (size_t k = 0; k < n; ++k) {
      const double v = t[r * n + k];
      if (v == 0) continue;
      for (size_t c = 0; c < n; ++c) m[r * n + c] += v * root[k * n + c];
    }
  }
  double trace_root = 0;
  for (double v : EigenvaluesSymmetric(m, n)) trace_root += std::sqrt(std::max(v, 0.0));
  return std::max(d2 + trace - 2 * trace_root, 0.0);
}

StatusOr<FeatureStats> ReferenceFeatures(Classifier& judge, const ImageSet& images) {
  const size_t dim = static_cast<size_t>(judge.features());
  std::vector<float> probs(static_cast<size_t>(images.count) * judge.classes());
  std::vector<float> features(static_cast<size_t>(images.count) * dim);
  EVAE_RETURN_IF_ERROR(judge.RunImages(images, probs.data(), features.data()));
  EVAE_ASSIGN_OR_RETURN(FeatureStats s, ComputeFeatureStats(features.data(), images.count, dim));
  s.cov_root = SqrtSymmetric(s.cov, dim);
  return s;
}

StatusOr<JudgeReport> JudgeImages(Classifier& judge, const float* images, int n,
                                  const FeatureStats& reference) {
  if (n < 2) return InvalidArgument("judging needs at least 2 images, got " + std::to_string(n));
  const size_t classes = static_cast<size_t>(judge.classes());
  const size_t dim = static_cast<size_t>(judge.features());
  std::vector<float> probs(static_cast<size_t>(n) * classes);
  std::vector<float> features(static_cast<size_t>(n) * dim);
  EVAE_RETURN_IF_ERROR(judge.Run(images, static_cast<size_t>(n), probs.data(), features.data()));
  JudgeReport r;
  r.samples = n;
  r.histogram.assign(classes, 0);
  int confident = 0;
  for (int i = 0; i < n; ++i) {
    const float* p = probs.data() + static_cast<size_t>(i) * classes;
    const float* top = std::max_element(p, p + classes);
    r.histogram[static_cast<size_t>(top - p)] += 1;
    confident += *top >= kJudgeConfidence;
  }
  r.recognised = static_cast<double>(confident) / n;
  for (int count : r.histogram) {
    if (count == 0) continue;
    const double q = static_cast<double>(count) / n;
    r.coverage_kl += q * std::log(q * static_cast<double>(classes));
  }
  EVAE_ASSIGN_OR_RETURN(FeatureStats s, ComputeFeatureStats(features.data(), n, dim));
  EVAE_ASSIGN_OR_RETURN(r.frechet, FrechetDistance(s, reference));
  return r;
}

StatusOr<std::vector<float>> DrawSamples(Engine& engine, int n, uint64_t seed) {
  if (n < 0) return InvalidArgument("samples must be >= 0, got " + std::to_string(n));
  const size_t lat = static_cast<size_t>(engine.shape().latent);
  const size_t in = static_cast<size_t>(engine.shape().input);
  std::vector<float> z(static_cast<size_t>(n) * lat);
  FillNormal(RngStream(seed, StreamId(RngPurpose::kSample)), 0, z.data(), z.size());
  std::vector<float> images(static_cast<size_t>(n) * in);
  for (int first = 0; first < n; first += engine.max_batch()) {
    const int m = std::min(engine.max_batch(), n - first);
    EVAE_RETURN_IF_ERROR(engine.Decode(z.data() + static_cast<size_t>(first) * lat, m,
                                       images.data() + static_cast<size_t>(first) * in));
  }
  return images;
}

}  // namespace edgevae
