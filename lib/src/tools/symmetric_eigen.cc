#include "tools/symmetric_eigen.h"

#include <algorithm>
#include <cmath>

namespace edgevae {
namespace {

// Householder reduction of the symmetric matrix in v (n x n, row-major) to tridiagonal form, the
// first half of the EISPACK tred2 procedure in the form of the public-domain JAMA library: on
// return e[1..n) holds the subdiagonal, v's diagonal the tridiagonal matrix's diagonal, and the
// rest of v and d what AccumulateTransformations needs.
void HouseholderReduce(std::vector<double>& v, size_t n, std::vector<double>& d,
                       std::vector<double>& e) {
  auto V = [&](size_t r, size_t c) -> double& { return v[r * n + c]; };
  for (size_t j = 0; j < n; ++j) d[j] = V(n - 1, j);
  for (size_t i = n - 1; i > 0; --i) {
    double scale = 0, h = 0;
    for (size_t k = 0; k < i; ++k) scale += std::fabs(d[k]);
    if (scale == 0) {
      e[i] = d[i - 1];
      for (size_t j = 0; j < i; ++j) {
        d[j] = V(i - 1, j);
        V(i, j) = 0;
        V(j, i) = 0;
      }
    } else {
      for (size_t k = 0; k < i; ++k) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = std::sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (size_t j = 0; j < i; ++j) e[j] = 0;
      for (size_t j = 0; j < i; ++j) {
        f = d[j];
        V(j, i) = f;
        g = e[j] + V(j, j) * f;
        for (size_t k = j + 1; k + 1 <= i; ++k) {
          g += V(k, j) * d[k];
          e[k] += V(k, j) * f;
        }
        e[j] = g;
      }
      f = 0;
      for (size_t j = 0; j < i; ++j) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (size_t j = 0; j < i; ++j) e[j] -= hh * d[j];
      for (size_t j = 0; j < i; ++j) {
        f = d[j];
        g = e[j];
        for (size_t k = j; k + 1 <= i; ++k) V(k, j) -= f * e[k] + g * d[k];
        d[j] = V(i - 1, j);
        V(i, j) = 0;
      }
    }
    d[i] = h;
  }
}

// The second half of tred2: v becomes the orthogonal transformation, d the diagonal, e[0] = 0.
void AccumulateTransformations(std::vector<double>& v, size_t n, std::vector<double>& d,
                               std::vector<double>& e) {
  auto V = [&](size_t r, size_t c) -> double& { return v[r * n + c]; };
  for (size_t i = 0; i + 1 < n; ++i) {
    V(n - 1, i) = V(i, i);
    V(i, i) = 1;
    const double h = d[i + 1];
    if (h != 0) {
      for (size_t k = 0; k <= i; ++k) d[k] = V(k, i + 1) / h;
      for (size_t j = 0; j <= i; ++j) {
        double g = 0;
        for (size_t k = 0; k <= i; ++k) g += V(k, i + 1) * V(k, j);
        for (size_t k = 0; k <= i; ++k) V(k, j) -= g * d[k];
      }
    }
    for (size_t k = 0; k <= i; ++k) V(k, i + 1) = 0;
  }
  for (size_t j = 0; j < n; ++j) {
    d[j] = V(n - 1, j);
    V(n - 1, j) = 0;
  }
  V(n - 1, n - 1) = 1;
  e[0] = 0;
}

// The implicit QL algorithm with shifts on the tridiagonal matrix (d, e), accumulating its
// rotations into v unless v is null (EISPACK tql2, as in JAMA; without v it does the O(n^2) part
// only). Returns the QL iterations taken.
int QlImplicit(std::vector<double>* v, size_t n, std::vector<double>& d, std::vector<double>& e) {
  auto V = [&](size_t r, size_t c) -> double& { return (*v)[r * n + c]; };
  for (size_t i = 1; i < n; ++i) e[i - 1] = e[i];
  e[n - 1] = 0;
  double f = 0, tst1 = 0;
  const double eps = std::ldexp(1.0, -52);
  int iterations = 0;
  for (size_t l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
    size_t m = l;
    while (m < n && std::fabs(e[m]) > eps * tst1) ++m;  // e[n-1] is 0: m stops at n - 1
    if (m > l) {
      do {
        ++iterations;
        double g = d[l];
        double p = (d[l + 1] - g) / (2 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (size_t i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1, c2 = c, c3 = c;
        const double el1 = e[l + 1];
        double s = 0, s2 = 0;
        for (size_t i = m; i-- > l;) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (size_t k = 0; v != nullptr && k < n; ++k) {
            h = V(k, i + 1);
            V(k, i + 1) = s * V(k, i) + c * h;
            V(k, i) = c * V(k, i) - s * h;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (std::fabs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  return iterations;
}

// a's upper triangle, mirrored into a full n x n matrix.
std::vector<double> Symmetrized(const std::vector<double>& a, size_t n) {
  std::vector<double> v(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i; j < n; ++j) v[i * n + j] = v[j * n + i] = a[i * n + j];
  }
  return v;
}

}  // namespace

SymmetricEigen EigenSymmetric(const std::vector<double>& a, size_t n) {
  SymmetricEigen s;
  s.vectors = Symmetrized(a, n);
  s.values.assign(n, 0.0);
  if (n == 0) return s;
  std::vector<double> e(n, 0.0);
  HouseholderReduce(s.vectors, n, s.values, e);
  AccumulateTransformations(s.vectors, n, s.values, e);
  s.iterations = QlImplicit(&s.vectors, n, s.values, e);
  return s;
}

std::vector<double> EigenvaluesSymmetric(const std::vector<double>& a, size_t n) {
  std::vector<double> v = Symmetrized(a, n), d(n, 0.0), e(n, 0.0);
  if (n == 0) return d;
  HouseholderReduce(v, n, d, e);
  for (size_t j = 0; j < n; ++j) d[j] = v[j * n + j];
  e[0] = 0;
  QlImplicit(nullptr, n, d, e);
  return d;
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
