// The unpacked fp32 product (kernels/matmul.h) against a plain triple loop, once per compiled
// Highway target:
//  - both layouts of A, over row counts around every target's tile heights (4, 6, 8), column
//    counts around its vector and tile widths, k = 0 and odd k, with padded strides: every element
//    within a float rounding bound of the double-precision sum, and the strides' gaps untouched;
//  - every element bit-identical to one multiply-add per k in order (the kernel's stated order):
//    fused where the target's multiply-add is (asked of the kernel), rounded twice elsewhere;
//  - any split of the rows (single rows, uneven tiles, a two-thread pool) gives the same bits;
//  - exact-size operands, so that ASan catches any read past them.
// clang-format off
#include "kernels/targets.h"  // before any Highway header: the same HWY_TARGETS as the library
// clang-format on

#include "kernels/matmul.h"
#include "kernels/for_each_target.h"

#include <pthreadpool.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace edgevae {
namespace {

using simd::ALayout;
using simd_test::ForEachTarget;

struct Case {
  size_t m, n, k;
  ALayout layout;
  size_t lda, ldb, ldc;
  std::vector<float> a, b;
};

Case MakeCase(size_t m, size_t n, size_t k, ALayout layout, size_t pad, std::mt19937* gen) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Case c{m, n, k, layout, 0, n + pad, n + pad, {}, {}};
  c.lda = (layout == ALayout::kRowMajor ? k : m) + pad;
  const size_t a_rows = layout == ALayout::kRowMajor ? m : k;
  const size_t a_cols = layout == ALayout::kRowMajor ? k : m;
  // Exact sizes: the last row ends at its last element, not at the stride.
  c.a.resize(a_rows == 0 ? 0 : (a_rows - 1) * c.lda + a_cols);
  c.b.resize(k == 0 ? 0 : (k - 1) * c.ldb + n);
  for (float& x : c.a) x = u(*gen);
  for (float& x : c.b) x = u(*gen);
  return c;
}

float A(const Case& c, size_t i, size_t kk) {
  return c.layout == ALayout::kRowMajor ? c.a[i * c.lda + kk] : c.a[kk * c.lda + i];
}

// The stated order: one multiply-add per k, k ascending, from zero; fused (one rounding) on
// targets with FMA, a rounded product then a rounded sum elsewhere.
std::vector<float> OrderedReference(const Case& c, bool fused) {
  std::vector<float> out(c.m * c.n);
  for (size_t i = 0; i < c.m; ++i) {
    for (size_t j = 0; j < c.n; ++j) {
      float acc = 0;
      for (size_t kk = 0; kk < c.k; ++kk) {
        const float a = A(c, i, kk), b = c.b[kk * c.ldb + j];
        if (fused) {
          acc = std::fma(a, b, acc);
        } else {
          volatile float product = a * b;  // rounded: the compiler may not contract it
          acc = product + acc;
        }
      }
      out[i * c.n + j] = acc;
    }
  }
  return out;
}

constexpr float kSentinel = 12345.0f;

// C with its stride gaps and rows filled with a sentinel, then the product over rows split at
// `splits` (each split's rows computed by one call).
std::vector<float> Product(const Case& c, const std::vector<size_t>& splits) {
  std::vector<float> out(c.m == 0 ? 0 : (c.m - 1) * c.ldc + c.n, kSentinel);
  size_t begin = 0;
  for (size_t end : splits) {
    simd::MatMulRows(begin, end, c.n, c.k, c.a.data(), c.lda, c.layout, c.b.data(), c.ldb,
                     out.data(), c.ldc);
    begin = end;
  }
  return out;
}

// Whether the dispatched target's multiply-add is fused, asked of the kernel itself: -(1 + 2^-11)
// plus (1 + 2^-12)^2 is 2^-24 with one rounding and 0 with two. (Highway's armv7 NEON MulAdd
// multiplies and adds separately; SSE4 has no FMA.)
bool KernelIsFused() {
  const float a[2] = {-1.0f - 0x1p-11f, 1.0f + 0x1p-12f};
  const float b[2] = {1.0f, 1.0f + 0x1p-12f};
  float c = -1;
  simd::MatMulRows(0, 1, 1, 2, a, 2, ALayout::kRowMajor, b, 1, &c, 1);
  EXPECT_TRUE(c == 0x1p-24f || c == 0.0f) << c;
  return c != 0.0f;
}

TEST(MatMul, MatchesPlainSumsForEveryShapeAndLayout) {
  ForEachTarget([] {
    std::mt19937 gen(11);
    const bool fused = KernelIsFused();
    const std::string target = simd::TargetName();
    if (HWY_ARCH_ARM_A64 || target == "AVX2" || target == "AVX3") {
      EXPECT_TRUE(fused) << target << " has FMA, and the kernel should use it";
    }
    size_t cases = 0;
    for (ALayout layout : {ALayout::kRowMajor, ALayout::kTransposed}) {
      for (size_t m : {1u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 13u, 16u, 50u}) {
        for (size_t n : {1u, 3u, 4u, 5u, 8u, 12u, 15u, 16u, 17u, 20u, 24u, 31u, 32u, 33u, 48u,
                         100u}) {
          for (size_t k : {0u, 1u, 3u, 4u, 5u, 9u, 40u}) {
            const size_t pad = (m + n + k) % 3;
            const Case c = MakeCase(m, n, k, layout, pad, &gen);
            const std::vector<float> got = Product(c, {m});
            const std::vector<float> ordered = OrderedReference(c, fused);
            ++cases;
            for (size_t i = 0; i < m; ++i) {
              for (size_t j = 0; j < c.ldc && (i + 1 < m || j < n); ++j) {
                const float g = got[i * c.ldc + j];
                if (j >= n) {  // a gap of the stride
                  ASSERT_EQ(g, kSentinel) << "gap written at " << i << "," << j;
                  continue;
                }
                double sum = 0, mag = 0;
                for (size_t kk = 0; kk < k; ++kk) {
                  const double t = double(A(c, i, kk)) * c.b[kk * c.ldb + j];
                  sum += t;
                  mag += std::fabs(t);
                }
                ASSERT_NEAR(g, sum, 1e-6 * (1 + k) * mag + 1e-30)
                    << "m " << m << " n " << n << " k " << k << " at " << i << "," << j
                    << (layout == ALayout::kRowMajor ? " row-major" : " transposed");
                ASSERT_EQ(g, ordered[i * n + j])
                    << "not the sum in k order: m " << m << " n " << n << " k " << k << " at "
                    << i << "," << j;
              }
            }
          }
        }
      }
    }
    EXPECT_EQ(cases, 2u * 11 * 16 * 7);
  });
}

TEST(MatMul, AnySplitOfTheRowsGivesTheSameBits) {
  ForEachTarget([] {
    std::mt19937 gen(12);
    for (ALayout layout : {ALayout::kRowMajor, ALayout::kTransposed}) {
      const Case c = MakeCase(101, 133, 77, layout, 1, &gen);
      const std::vector<float> whole = Product(c, {101});
      std::vector<size_t> ones;
      for (size_t i = 1; i <= 101; ++i) ones.push_back(i);
      EXPECT_EQ(Product(c, ones), whole);
      EXPECT_EQ(Product(c, {5, 11, 12, 30, 59, 100, 101}), whole);
      // The pooled entry point, one and two threads.
      std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> pool(pthreadpool_create(2),
                                                                        pthreadpool_destroy);
      ASSERT_NE(pool, nullptr);
      for (pthreadpool_t p : {static_cast<pthreadpool_t>(nullptr), pool.get()}) {
        std::vector<float> out(100 * c.ldc + c.n, kSentinel);
        simd::MatMul(c.m, c.n, c.k, c.a.data(), c.lda, layout, c.b.data(), c.ldb, out.data(),
                     c.ldc, p);
        EXPECT_EQ(out, whole);
      }
    }
  });
}

// The trainer's shapes (batch 128, the 784-400-20 network), each against the sums in order.
TEST(MatMul, TheTrainersProducts) {
  ForEachTarget([] {
    const bool fused = KernelIsFused();
    std::mt19937 gen(13);
    struct Shape {
      size_t m, n, k;
      ALayout layout;
    };
    for (const Shape& s : {Shape{784, 128, 400, ALayout::kRowMajor},    // forward, logits
                           Shape{400, 128, 784, ALayout::kTransposed},  // input gradient
                           Shape{784, 400, 128, ALayout::kRowMajor},    // weight gradient
                           Shape{40, 128, 400, ALayout::kRowMajor},     // the heads
                           Shape{20, 128, 400, ALayout::kTransposed},   // z's gradient
                           Shape{400, 20, 128, ALayout::kRowMajor}}) {  // fc3's weight gradient
      const Case c = MakeCase(s.m, s.n, s.k, s.layout, 0, &gen);
      EXPECT_EQ(Product(c, {s.m}), OrderedReference(c, fused)) << s.m << "x" << s.n << "x" << s.k;
    }
  });
}

}  // namespace
}  // namespace edgevae
