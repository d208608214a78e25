// The output side of the GEMM tests (gemm_test.cc for XNNPACK's operators, gemm_bf16_test.cc for
// the bf16 kernel): C starts as a recognisable NaN in every float, gaps between rows and a guard
// tail included, and must come back matching the reference in its m x n results and untouched
// everywhere else. `P` is a test's problem: any type with m, n and ldc.
#ifndef EDGEVAE_TESTS_KERNELS_GEMM_OUTPUT_H_
#define EDGEVAE_TESTS_KERNELS_GEMM_OUTPUT_H_

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <vector>

#include "edgevae/buffer.h"
#include "gtest/gtest.h"

namespace edgevae::gemm_test {

constexpr size_t kTail = 37;  // guard floats after the last row of C

// A quiet NaN with a recognisable payload; compared bit for bit.
inline const float kSentinel = std::bit_cast<float>(0x7fc5a5a5u);
inline bool IsSentinel(float v) { return std::bit_cast<uint32_t>(v) == 0x7fc5a5a5u; }

// C as the product writes it: m rows ldc apart, then kTail guard floats, all sentinels at first.
template <class P>
AlignedBuffer<float> MakeOutput(const P& p) {
  AlignedBuffer<float> c(p.m * p.ldc + kTail);
  for (size_t i = 0; i < c.size(); ++i) c[i] = kSentinel;
  return c;
}

// Passes when C matches the reference within `tol` and nothing outside the m x n results was
// written.
template <class P>
::testing::AssertionResult CheckOutput(const P& p, const AlignedBuffer<float>& c,
                                       const std::vector<double>& ref,
                                       const std::vector<double>& tol) {
  size_t bad = 0;
  std::ostringstream msg;
  for (size_t idx = 0; idx < c.size(); ++idx) {
    const size_t i = idx / p.ldc, j = idx % p.ldc;
    if (i < p.m && j < p.n) {
      const double err = std::abs(static_cast<double>(c[idx]) - ref[i * p.n + j]);
      if (err <= tol[i * p.n + j]) continue;
      if (++bad <= 4) {
        msg << "\n  C[" << i << "][" << j << "] = " << c[idx] << ", want " << ref[i * p.n + j]
            << " (|error| " << err << " > " << tol[i * p.n + j] << ")";
      }
    } else if (!IsSentinel(c[idx])) {
      if (++bad <= 4) {
        msg << "\n  float " << idx << " outside the results (row " << i << ", column " << j
            << ") was written: " << c[idx];
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " wrong floats" << msg.str();
}

}  // namespace edgevae::gemm_test

#endif  // EDGEVAE_TESTS_KERNELS_GEMM_OUTPUT_H_
