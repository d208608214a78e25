// The sparse kernels (kernels/sparse.h) and the batch index built on them (tools/lit_pixels.h)
// against plain loops, once per compiled Highway target.
//  - SparseTimesDense: out = act(bias + sum value * dense row) against a double loop over the same
//    entries, for widths around the vector and block sizes, with and without bias and ReLU; every
//    split of the rows gives the same bits; the padding columns past `width` are computed from the
//    padding of `dense` and `bias` (here zero, so zero).
//  - CompressNonZero and LitPixels: the positions, values and per-pixel counts of the non-zero
//    entries, in order, against a scalar scan, with NaN, -0 and tiny values among the pixels.
// clang-format off
#include "kernels/targets.h"  // before any Highway header: the same HWY_TARGETS as the library
// clang-format on

#include "kernels/sparse.h"
#include "kernels/for_each_target.h"
#include "tools/lit_pixels.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "edgevae/buffer.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using simd_test::ForEachTarget;

// Compressed rows with about `density` of `width` columns set, values in (0, 1] (pixel-like) or
// signed (gradient-like).
SparseRows RandomRows(size_t rows, size_t width, double density, bool signed_values,
                      std::mt19937* gen) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  SparseRows s;
  s.start.push_back(0);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < width; ++c) {
      if (u(*gen) >= density) continue;
      s.index.push_back(static_cast<uint32_t>(c));
      const float v = u(*gen);
      s.value.push_back(signed_values ? 2 * v - 1 : std::max(v, 1e-3f));
    }
    s.start.push_back(static_cast<uint32_t>(s.index.size()));
  }
  return s;
}

TEST(SparseKernels, SparseTimesDenseMatchesPlainSums) {
  ForEachTarget([] {
    std::mt19937 gen(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (size_t width : {1u, 3u, 15u, 16u, 17u, 33u, 100u, 128u, 129u, 400u, 784u}) {
      const size_t stride = simd::SparseStride(width);
      ASSERT_GE(stride, width);
      const size_t dense_rows = 50, rows = 37;
      AlignedBuffer<float> dense(dense_rows * stride), bias(stride), out(rows * stride);
      for (size_t r = 0; r < dense_rows; ++r) {
        for (size_t c = 0; c < width; ++c) dense[r * stride + c] = u(gen);
      }
      for (size_t c = 0; c < width; ++c) bias[c] = u(gen);
      for (double density : {0.0, 0.05, 0.3, 1.0}) {
        const SparseRows s = RandomRows(rows, dense_rows, density, true, &gen);
        for (bool with_bias : {false, true}) {
          for (bool relu : {false, true}) {
            SCOPED_TRACE(::testing::Message() << "width " << width << " density " << density
                                              << " bias " << with_bias << " relu " << relu);
            std::fill(out.data(), out.data() + out.size(), std::nanf(""));
            const float* b = with_bias ? bias.data() : nullptr;
            simd::SparseTimesDense(s.start.data(), s.index.data(), s.value.data(), 0, rows,
                                   dense.data(), stride, b, relu, out.data());
            for (size_t r = 0; r < rows; ++r) {
              for (size_t c = 0; c < stride; ++c) {
                double want = with_bias ? bias[c] : 0.0, abs_sum = std::fabs(want);
                for (uint32_t j = s.start[r]; j < s.start[r + 1]; ++j) {
                  const double t = double{s.value[j]} * dense[s.index[j] * stride + c];
                  want += t;
                  abs_sum += std::fabs(t);
                }
                if (relu && want < 0) want = 0;
                // Fused multiply-adds in entry order: one rounding per entry at most.
                const double tol = (s.start[r + 1] - s.start[r] + 1) * 0x1p-24 * abs_sum;
                ASSERT_NEAR(out[r * stride + c], want, tol) << "row " << r << " column " << c;
                if (c >= width) ASSERT_EQ(out[r * stride + c], 0.0f) << "padding column " << c;
              }
            }
            // Any split of the rows: the same bits.
            AlignedBuffer<float> split(rows * stride);
            for (size_t begin = 0; begin < rows;) {
              const size_t end = std::min(rows, begin + 1 + begin % 5);
              simd::SparseTimesDense(s.start.data(), s.index.data(), s.value.data(), begin, end,
                                     dense.data(), stride, b, relu, split.data());
              begin = end;
            }
            ASSERT_EQ(std::memcmp(split.data(), out.data(), rows * stride * sizeof(float)), 0);
          }
        }
      }
    }
  });
}

TEST(SparseKernels, ReluPassesNaN) {
  ForEachTarget([] {
    const size_t stride = simd::SparseStride(4);
    AlignedBuffer<float> dense(stride), out(stride);
    dense[0] = std::nanf("");
    dense[1] = -1;
    dense[2] = 2;
    const uint32_t start[] = {0, 1}, index[] = {0};
    const float value[] = {1};
    simd::SparseTimesDense(start, index, value, 0, 1, dense.data(), stride, nullptr, true,
                           out.data());
    EXPECT_TRUE(std::isnan(out[0]));
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_EQ(out[2], 2.0f);
  });
}

// Pixels with the awkward cases: exact zeros (both signs), NaN, denormals, ones.
std::vector<float> AwkwardPixels(size_t n, std::mt19937* gen) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) {
    const float r = u(*gen);
    v = r < 0.6f   ? 0.0f
        : r < 0.65f ? -0.0f
        : r < 0.67f ? std::numeric_limits<float>::quiet_NaN()
        : r < 0.69f ? std::numeric_limits<float>::min()  // the smallest normal: armv7 NEON flushes denormals
        : r < 0.75f ? 1.0f
                    : u(*gen);
  }
  return x;
}

TEST(SparseKernels, CompressNonZeroMatchesScalarScan) {
  ForEachTarget([] {
    std::mt19937 gen(3);
    for (size_t width : {0u, 1u, 7u, 16u, 17u, 63u, 64u, 65u, 784u}) {
      SCOPED_TRACE(::testing::Message() << "width " << width);
      const std::vector<float> x = AwkwardPixels(width, &gen);
      std::vector<uint32_t> index(width + 64, 0xdeadbeef), counts(width, 5);
      std::vector<float> value(width + 64);
      const size_t lit = simd::CompressNonZero(x.data(), width, index.data(), value.data(),
                                               counts.data());
      size_t want = 0;
      for (size_t p = 0; p < width; ++p) {
        const bool on = x[p] != 0.0f;  // NaN is lit: it must reach the sums
        ASSERT_EQ(counts[p], on ? 6u : 5u) << "pixel " << p;
        if (!on) continue;
        ASSERT_LT(want, lit);
        ASSERT_EQ(index[want], p);
        ASSERT_EQ(std::memcmp(&value[want], &x[p], sizeof(float)), 0) << "pixel " << p;
        ++want;
      }
      EXPECT_EQ(lit, want);
    }
  });
}

TEST(SparseKernels, LitPixelsIndexesBothWays) {
  ForEachTarget([] {
    std::mt19937 gen(5);
    const size_t n = 19, width = 784;
    const std::vector<float> x = AwkwardPixels(n * width, &gen);
    LitPixels lit;
    for (int round = 0; round < 2; ++round) {  // a second Index must not keep the first's entries
      lit.Index(x.data(), n, width);
      const SparseRows& by_image = lit.by_image();
      const SparseRows& by_pixel = lit.by_pixel();
      size_t total = 0;
      ASSERT_EQ(by_image.start.size(), n + 1);
      ASSERT_EQ(by_pixel.start.size(), width + 1);
      for (size_t i = 0; i < n; ++i) {
        uint32_t j = by_image.start[i];
        for (size_t p = 0; p < width; ++p) {
          if (x[i * width + p] == 0.0f) continue;
          ASSERT_LT(j, by_image.start[i + 1]);
          ASSERT_EQ(by_image.index[j], p);
          ASSERT_EQ(std::memcmp(&by_image.value[j], &x[i * width + p], 4), 0);
          ++j;
          ++total;
        }
        ASSERT_EQ(j, by_image.start[i + 1]) << "image " << i;
      }
      for (size_t p = 0; p < width; ++p) {
        uint32_t j = by_pixel.start[p];
        for (size_t i = 0; i < n; ++i) {
          if (x[i * width + p] == 0.0f) continue;
          ASSERT_LT(j, by_pixel.start[p + 1]);
          ASSERT_EQ(by_pixel.index[j], i);
          ASSERT_EQ(std::memcmp(&by_pixel.value[j], &x[i * width + p], 4), 0);
          ++j;
        }
        ASSERT_EQ(j, by_pixel.start[p + 1]) << "pixel " << p;
      }
      EXPECT_DOUBLE_EQ(lit.density(), static_cast<double>(total) / (n * width));
    }
  });
}

}  // namespace
}  // namespace edgevae
