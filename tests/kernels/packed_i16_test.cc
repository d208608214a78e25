// The Cortex-M weight layout (kernels/packed_i16.h): where each weight goes, the round trip and
// the refusals of UnpackI16, and GemvPackedI16 against the plain int32 dot product and
// RequantizeI32's formula, the arithmetic every other int8 path has. On a host this runs the
// plain C++ product; the DSP assembly is tested on the microcontroller
// (tests/micro/int8_kernel_test.cc, the micro presets).
#include "kernels/packed_i16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/int8.h"

namespace edgevae::simd {
namespace {

std::vector<int8_t> RandomWeights(size_t n, std::mt19937* rng) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> w(n);
  for (int8_t& v : w) v = static_cast<int8_t>(d(*rng));
  return w;
}

TEST(PackedI16, LayoutIsBlocksOfThreeRowsByGroupsOfFourInputs) {
  // 4 x 5: two blocks of rows (the second padded with two zero rows), two groups of inputs
  // (the second padded with three zero columns).
  EXPECT_EQ(PackedRows(4), 6u);
  EXPECT_EQ(PackedCols(5), 8u);
  std::vector<int8_t> w(20);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(i + 1);  // W[r][k] = 5r+k+1
  std::vector<int16_t> p(PackedRows(4) * PackedCols(5), -1);
  PackI16(w.data(), 4, 5, p.data());
  const std::vector<int16_t> want = {
      // block 0, group 0: rows 0, 1, 2, inputs 0..3
      1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14,
      // block 0, group 1: input 4, then padding
      5, 0, 0, 0, 10, 0, 0, 0, 15, 0, 0, 0,
      // block 1, group 0: row 3, then two padding rows
      16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0,
      // block 1, group 1
      20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(p, want);
  EXPECT_EQ(PackedIndex(3, 4, 5), 36u);
  EXPECT_EQ(PackedIndex(1, 2, 5), 6u);
}

TEST(PackedI16, UnpackGivesTheWeightsBackAndRowSums) {
  std::mt19937 rng(7);
  for (const auto& [rows, cols] : {std::pair<size_t, size_t>{1, 1}, {3, 4}, {400, 20},
                                   {784, 400}, {7, 23}}) {
    const std::vector<int8_t> w = RandomWeights(rows * cols, &rng);
    std::vector<int16_t> p(PackedRows(rows) * PackedCols(cols));
    PackI16(w.data(), rows, cols, p.data());
    std::vector<int8_t> back(rows * cols);
    size_t bad = 99;
    ASSERT_TRUE(UnpackI16(p.data(), rows, cols, back.data(), &bad));
    EXPECT_EQ(back, w);
    EXPECT_TRUE(UnpackI16(p.data(), rows, cols, nullptr, nullptr));  // a check alone
    std::vector<int32_t> sums(rows);
    PackedI16RowSums(p.data(), rows, cols, sums.data());
    for (size_t r = 0; r < rows; ++r) {
      int32_t s = 0;
      for (size_t k = 0; k < cols; ++k) s += w[r * cols + k];
      ASSERT_EQ(sums[r], s) << "row " << r;
    }
  }
}

TEST(PackedI16, UnpackRefusesWhatTheKernelCannotTakeAndSaysWhere) {
  std::mt19937 rng(3);
  const size_t rows = 4, cols = 5;
  const std::vector<int8_t> w = RandomWeights(rows * cols, &rng);
  std::vector<int16_t> p(PackedRows(rows) * PackedCols(cols));
  PackI16(w.data(), rows, cols, p.data());
  struct Case {
    size_t at;
    int16_t value;
  };
  // A weight outside [-127, 127] (the int8 quantizer's range, which keeps SMLAD's sums exact),
  // and a nonzero padding value: a padding column, then a padding row.
  for (const Case c : {Case{PackedIndex(2, 3, cols), 128}, Case{PackedIndex(0, 0, cols), -128},
                       Case{PackedIndex(3, 3, cols), 300}, Case{PackedIndex(1, 6, cols), 1},
                       Case{PackedIndex(5, 0, cols), -1}}) {
    std::vector<int16_t> bad = p;
    bad[c.at] = c.value;
    size_t where = 0;
    EXPECT_FALSE(UnpackI16(bad.data(), rows, cols, nullptr, &where)) << "at " << c.at;
    EXPECT_EQ(where, c.at);
  }
}

// GemvPackedI16 against the plain sums of the unpacked weights, requantized as RequantizeI32
// does, with per-row scales and one per layer, a ReLU's clamp, and row and input counts around
// the layout's blocks and groups and the kernel's chunks (63 rows; 128 groups a call).
TEST(PackedI16, GemvEqualsThePlainSumsRequantized) {
  std::mt19937 rng(11);
  for (size_t rows : {1, 2, 3, 4, 62, 63, 64, 65, 400, 784}) {
    for (size_t cols : {1, 3, 4, 5, 20, 400, 511, 512, 513, 784, 1024}) {
      for (const bool per_row : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "rows " << rows << " cols " << cols << " per_row "
                                          << per_row);
        const std::vector<int8_t> w = RandomWeights(rows * cols, &rng);
        std::vector<int8_t> x(cols);
        std::uniform_int_distribution<int> dx(-128, 127);
        for (int8_t& v : x) v = static_cast<int8_t>(dx(rng));
        x[0] = -128;
        x[cols - 1] = 127;
        std::vector<int32_t> bias(PackedRows(rows));
        std::uniform_int_distribution<int> db(-200000, 200000);
        for (size_t r = 0; r < rows; ++r) bias[r] = db(rng);
        std::vector<float> row_scales(rows);
        for (size_t r = 0; r < rows; ++r) row_scales[r] = 0.0021f * (1.0f + 0.37f * (r % 5));
        PackedRequant rq;
        rq.input_scale = 0.0325750894844532f;
        rq.output_scale = 0.029953207820653915f;
        rq.row_scales = per_row ? row_scales.data() : nullptr;
        rq.weight_scale = 0.0043f;
        rq.zero_point = per_row ? -128 : 7;
        rq.lo = per_row ? -128 : 7;  // the second: a ReLU layer's clamp at its zero point
        std::vector<int16_t> p(PackedRows(rows) * PackedCols(cols));
        PackI16(w.data(), rows, cols, p.data());
        std::vector<int8_t> out(rows);
        GemvPackedI16(p.data(), rows, cols, x.data(), bias.data(), rq, out.data());

        std::vector<int32_t> sums(rows);
        std::vector<float> scales(rows);
        for (size_t r = 0; r < rows; ++r) {
          int64_t acc = bias[r];
          for (size_t k = 0; k < cols; ++k) acc += int64_t{w[r * cols + k]} * x[k];
          sums[r] = static_cast<int32_t>(acc);
          scales[r] = rq.input_scale * (per_row ? row_scales[r] : rq.weight_scale) /
                      rq.output_scale;
        }
        std::vector<int8_t> want(rows);
        RequantizeI32(sums.data(), rows, scales.data(), rq.zero_point, rq.lo, rq.hi, want.data());
        ASSERT_EQ(out, want);
        for (size_t r = 0; r < rows; ++r) {  // and the formula itself
          const float v = std::clamp(static_cast<float>(sums[r]) * scales[r],
                                     static_cast<float>(rq.lo - rq.zero_point),
                                     static_cast<float>(rq.hi - rq.zero_point));
          ASSERT_EQ(out[r], static_cast<int>(std::nearbyint(v)) + rq.zero_point) << "row " << r;
        }
      }
    }
  }
}

// GemvPackedI16Pixels against the plain sums over raw pixels (a blank pixel is 0): blank,
// digit-like (runs of lit pixels) and fully lit images, widths around the groups of four.
TEST(PackedI16, PixelsSkipBlankGroupsAndEqualThePlainSums) {
  std::mt19937 rng(5);
  for (size_t rows : {1, 3, 64, 400}) {
    for (size_t cols : {1, 5, 28, 784, 1024}) {
      for (int kind = 0; kind < 3; ++kind) {  // blank, digit-like, every pixel lit
        SCOPED_TRACE(::testing::Message() << "rows " << rows << " cols " << cols << " kind "
                                          << kind);
        const std::vector<int8_t> w = RandomWeights(rows * cols, &rng);
        std::vector<uint8_t> pixels(cols, 0);
        std::uniform_int_distribution<int> dp(1, 255);
        for (size_t k = 0; k < cols; ++k) {
          const bool lit = kind == 2 || (kind == 1 && (k / 3) % 5 == 0 && k % 7 != 0);
          if (lit) pixels[k] = static_cast<uint8_t>(dp(rng));
        }
        if (kind > 0) pixels[cols - 1] = 255;
        std::vector<int32_t> bias(PackedRows(rows));
        std::uniform_int_distribution<int> db(-200000, 200000);
        for (size_t r = 0; r < rows; ++r) bias[r] = db(rng);
        std::vector<float> row_scales(rows);
        for (size_t r = 0; r < rows; ++r) row_scales[r] = 0.0017f * (1.0f + 0.29f * (r % 7));
        PackedRequant rq;
        rq.input_scale = 1.0f / 255.0f;
        rq.output_scale = 0.0312f;
        rq.row_scales = row_scales.data();
        rq.zero_point = -128;
        rq.lo = -128;
        std::vector<int16_t> p(PackedRows(rows) * PackedCols(cols));
        PackI16(w.data(), rows, cols, p.data());
        std::vector<int8_t> out(rows);
        GemvPackedI16Pixels(p.data(), rows, cols, pixels.data(), bias.data(), rq, out.data());
        std::vector<int32_t> sums(rows);
        std::vector<float> scales(rows);
        for (size_t r = 0; r < rows; ++r) {
          int64_t acc = bias[r];
          for (size_t k = 0; k < cols; ++k) acc += int64_t{w[r * cols + k]} * pixels[k];
          sums[r] = static_cast<int32_t>(acc);
          scales[r] = rq.input_scale * row_scales[r] / rq.output_scale;
        }
        std::vector<int8_t> want(rows);
        RequantizeI32(sums.data(), rows, scales.data(), rq.zero_point, rq.lo, rq.hi, want.data());
        ASSERT_EQ(out, want);
      }
    }
  }
}

}  // namespace
}  // namespace edgevae::simd
