// One dense layer of a model's table in double precision, y = act(W x + b), and softplus: the
// plain references the adversarial families' gradient tests build their losses from
// (gan_test, ali_test, aae_test).
#ifndef EDGEVAE_TESTS_COMMON_DENSE_REFERENCE_H_
#define EDGEVAE_TESTS_COMMON_DENSE_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/shape.h"

namespace edgevae::testutil {

inline double Softplus(double l) { return std::max(l, 0.0) + std::log1p(std::exp(-std::fabs(l))); }

// Layer `layer` of m's table with the parameters p (m's flat layout) on x.
inline std::vector<double> Dense(const Model& m, const std::vector<double>& p, size_t layer,
                                 const std::vector<double>& x) {
  const LayerInfo& l = m.shape().layers[layer];
  const LayerParams& at = m.layout().layers[layer];
  std::vector<double> y(l.out);
  for (int o = 0; o < l.out; ++o) {
    double acc = p[at.bias + o];
    for (int k = 0; k < l.in; ++k) acc += p[at.weight + o * l.in + k] * x[k];
    if (l.activation == Activation::kRelu) acc = std::max(acc, 0.0);
    if (l.activation == Activation::kLeakyRelu && acc < 0) acc *= kLeakySlope;
    y[o] = acc;
  }
  return y;
}

// Layers [first, end) of m's table, in order, on x.
inline std::vector<double> DenseChain(const Model& m, const std::vector<double>& p, size_t first,
                                      size_t end, std::vector<double> x) {
  for (size_t l = first; l < end; ++l) x = Dense(m, p, l, x);
  return x;
}

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_DENSE_REFERENCE_H_
