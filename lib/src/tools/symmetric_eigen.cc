#include "tools/symmetric_eigen.h"

#include <algorithm>
#include <cmath>

namespace edgevae {

SymmetricEigen EigenSymmetric(const std::vector<double>& a_in, size_t n) {
  std::vector<double> a(n * n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i; j < n; ++j) a[i * n + j] = a[j * n + i] = a_in[i * n + j];
  }
  SymmetricEigen e;
  e.vectors.assign(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) e.vectors[i * n + i] = 1.0;
  double scale = 0;
  for (double v : a) scale = std::max(scale, std::fabs(v));
  constexpr int kMaxSweeps = 60;
  for (e.sweeps = 0; e.sweeps < kMaxSweeps; ++e.sweeps) {
    double off = 0;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    }
    if (off <= 1e-30 * scale * scale * static_cast<double>(n * n) || off == 0) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan, the symmetric Schur step).
        const double tau = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t = (tau >= 0 ? 1.0 : -1.0) / (std::fabs(tau) + std::sqrt(1 + tau * tau));
        const double c = 1 / std::sqrt(1 + t * t), s = t * c;
        for (size_t k = 0; k < n; ++k) {  // columns p and q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rows p and q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {
          const double vkp = e.vectors[k * n + p], vkq = e.vectors[k * n + q];
          e.vectors[k * n + p] = c * vkp - s * vkq;
          e.vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  e.values.resize(n);
  for (size_t i = 0; i < n; ++i) e.values[i] = a[i * n + i];
  return e;
}

std::vector<double> SqrtSymmetric(const std::vector<double>& a, size_t n) {
  const SymmetricEigen e = EigenSymmetric(a, n);
  std::vector<double> root(n * n, 0.0);
  for (size_t j = 0; j < n; ++j) {
    const double s = std::sqrt(std::max(e.values[j], 0.0));
    if (s == 0) continue;
    for (size_t r = 0; r < n; ++r) {
      const double vr = e.vectors[r * n + j] * s;
      if (vr == 0) continue;
      for (size_t c = 0; c < n; ++c) root[r * n + c] += vr * e.vectors[c * n + j];
    }
  }
  return root;
}

}  // namespace edgevae
