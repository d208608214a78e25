// Philox4x32-10 and the draws built on it: the Random123 known-answer vectors through our
// (seed, stream, block) -> (key, counter) mapping, FillBits against Bits at every alignment,
// Below/Uniform ranges, and FillNormal's determinism, independence of how a range is split,
// statistics, and agreement with the pairing formula of edgevae/rng.h computed in double (once per
// compiled Highway target, since FillNormal runs on the SIMD kernels).
// clang-format off
#include "kernels/targets.h"  // before any Highway header: the same HWY_TARGETS as the library
// clang-format on

#include "edgevae/rng.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numbers>
#include <vector>

#include "gtest/gtest.h"
#include "hwy/targets.h"
#include "kernels/elementwise.h"
#include "kernels/for_each_target.h"

namespace edgevae {
namespace {

using Block = std::array<uint32_t, 4>;

// Our Philox4x32(seed, stream, block) in terms of Random123's philox4x32(counter, key):
// counter = {block lo, block hi, stream lo, stream hi}, key = {seed lo, seed hi}.
Block FromRandom123(const Block& ctr, const std::array<uint32_t, 2>& key) {
  const uint64_t block = (static_cast<uint64_t>(ctr[1]) << 32) | ctr[0];
  const uint64_t stream = (static_cast<uint64_t>(ctr[3]) << 32) | ctr[2];
  const uint64_t seed = (static_cast<uint64_t>(key[1]) << 32) | key[0];
  return Philox4x32(seed, stream, block);
}

// Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(Philox, Random123KnownAnswers) {
  EXPECT_EQ(FromRandom123({0, 0, 0, 0}, {0, 0}),
            (Block{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(FromRandom123({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            (Block{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(FromRandom123({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            (Block{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

// Each of the 64-bit inputs reaches the output through both of its halves, and in its own place
// (a swapped mapping would make some of these pairs collide).
TEST(Philox, EveryInputWordMatters) {
  const Block base = Philox4x32(0, 0, 0);
  const uint64_t kLo = 1, kHi = uint64_t{1} << 32;
  for (uint64_t delta : {kLo, kHi}) {
    EXPECT_NE(Philox4x32(delta, 0, 0), base);
    EXPECT_NE(Philox4x32(0, delta, 0), base);
    EXPECT_NE(Philox4x32(0, 0, delta), base);
    EXPECT_NE(Philox4x32(delta, 0, 0), Philox4x32(0, delta, 0));
    EXPECT_NE(Philox4x32(0, delta, 0), Philox4x32(0, 0, delta));
    EXPECT_NE(Philox4x32(delta, 0, 0), Philox4x32(0, 0, delta));
  }
}

TEST(RngStream, BitsIsTheBlockWord) {
  const RngStream rng(0x0123456789abcdefULL, StreamId(RngPurpose::kTrainNoise, 7, 11));
  const std::vector<uint64_t> indices = {
      0, 1, 2, 3, 4, uint64_t{4} * 0xffffffffu + 2, std::numeric_limits<uint64_t>::max()};
  for (uint64_t index : indices) {
    SCOPED_TRACE(index);
    EXPECT_EQ(rng.Bits(index), Philox4x32(rng.seed(), rng.stream(), index / 4)[index % 4]);
  }
}

TEST(RngStream, StreamIdPacking) {
  static_assert(StreamId(RngPurpose::kInit) == uint64_t{1} << 56);
  static_assert(StreamId(RngPurpose::kTrainNoise, 5, 9) ==
                ((uint64_t{3} << 56) | (uint64_t{5} << 32) | 9));
  // `a` keeps 24 bits so that it never reaches the purpose byte.
  static_assert(StreamId(RngPurpose::kShuffle, 0xff000001u) ==
                ((uint64_t{2} << 56) | (1ULL << 32)));
  EXPECT_NE(StreamId(RngPurpose::kEvalNoise, 1, 0), StreamId(RngPurpose::kEvalNoise, 0, 1));
}

// FillBits at every alignment of `first` against Bits(first + i), with nothing written past n.
TEST(RngStream, FillBitsMatchesBitsAtAnyOffset) {
  const RngStream rng(42, StreamId(RngPurpose::kShuffle, 3));
  constexpr uint32_t kSentinel = 0xdeadbeefu;
  constexpr size_t kGuard = 8;
  const std::vector<uint64_t> bases = {0,
                                       4,
                                       1000,
                                       uint64_t{4} << 32,
                                       (uint64_t{1} << 34) - 8,
                                       std::numeric_limits<uint64_t>::max() - 80};
  for (uint64_t base : bases) {
    for (uint64_t shift = 0; shift < 8; ++shift) {
      const uint64_t first = base + shift;
      for (size_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 32, 33, 64, 67}) {
        SCOPED_TRACE(::testing::Message() << "first " << first << " n " << n);
        std::vector<uint32_t> out(kGuard + n + kGuard, kSentinel);
        rng.FillBits(first, out.data() + kGuard, n);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(out[kGuard + i], rng.Bits(first + i)) << "i " << i;
        }
        for (size_t i = 0; i < kGuard; ++i) {
          ASSERT_EQ(out[i], kSentinel) << "written before the start";
          ASSERT_EQ(out[kGuard + n + i], kSentinel) << "written past n";
        }
      }
    }
  }
}

TEST(RngStream, UniformAndBelowRanges) {
  const RngStream rng(7, StreamId(RngPurpose::kInit, 1));
  constexpr size_t kDraws = 100000;
  double sum = 0;
  float lo = 1, hi = 0;
  for (uint64_t i = 0; i < kDraws; ++i) {
    const float u = rng.Uniform(i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_EQ(u, static_cast<float>(rng.Bits(i) >> 8) * 0x1p-24f);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  // Mean of 1e5 uniforms: standard deviation 0.29 / sqrt(1e5) = 9e-4.
  EXPECT_NEAR(sum / kDraws, 0.5, 0.005);
  EXPECT_LT(lo, 1e-3f);
  EXPECT_GT(hi, 1 - 1e-3f);

  for (uint32_t bound : {1u, 2u, 3u, 7u, 10u, 1000u, 0x80000001u, 0xffffffffu}) {
    SCOPED_TRACE(bound);
    for (uint64_t i = 0; i < 20000; ++i) {
      const uint32_t b = rng.Below(i, bound);
      ASSERT_LT(b, bound);
      ASSERT_EQ(b, static_cast<uint32_t>((static_cast<uint64_t>(rng.Bits(i)) * bound) >> 32));
    }
  }
  // Bucket counts for bound 10: each expects 1e4 with standard deviation ~95.
  std::array<int, 10> counts{};
  for (uint64_t i = 0; i < kDraws; ++i) ++counts[rng.Below(i, 10)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

// The documented pairing, in double. u1 = U'(w) = ((w >> 8) + 1) 2^-24, u2 = U(w) = (w >> 8) 2^-24.
double NormalReference(const RngStream& rng, uint64_t index) {
  const uint64_t chunk = index / 32, j = index % 32;
  const uint64_t j1 = 32 * chunk + j % 16, j2 = j1 + 16;
  const double u1 = (static_cast<double>(rng.Bits(j1) >> 8) + 1) * 0x1p-24;
  const double u2 = static_cast<double>(rng.Bits(j2) >> 8) * 0x1p-24;
  const double r = std::sqrt(-2 * std::log(u1));
  const double theta = 2 * std::numbers::pi * u2;
  return j < 16 ? r * std::cos(theta) : r * std::sin(theta);
}

using simd_test::ForEachTarget;  // once per compiled Highway target this CPU supports

// FillNormal against the formula in double, within 1e-5. Error budget: theta = 2 pi u2 is formed
// in float (|error| <= ~2 ulp(2 pi) = 1e-6 rad), Highway's Sin/Cos/Log are within a few ulp, and
// the radius r <= sqrt(-2 ln 2^-24) = 5.77 scales the angle error: a few 1e-6 at worst.
TEST(FillNormal, MatchesPairingFormulaInDouble) {
  const RngStream rng(2024, StreamId(RngPurpose::kEvalNoise, 3, 4));
  constexpr size_t kCount = 1 << 17;
  std::vector<double> ref(kCount);
  for (size_t i = 0; i < kCount; ++i) ref[i] = NormalReference(rng, i);
  ForEachTarget([&] {
    std::vector<float> out(kCount, std::numeric_limits<float>::quiet_NaN());
    FillNormal(rng, 0, out.data(), kCount);
    double max_err = 0;
    size_t bad = 0;
    for (size_t i = 0; i < kCount; ++i) {
      const double err = std::abs(out[i] - ref[i]);
      max_err = std::max(max_err, err);
      if (!(err <= 1e-5) && ++bad <= 5) {
        ADD_FAILURE() << "index " << i << ": got " << out[i] << " want " << ref[i];
      }
    }
    EXPECT_EQ(bad, 0u);
    std::printf("[ %s ] FillNormal max |error| vs double: %.3g\n", simd::TargetName(), max_err);
  });
}

// Every draw is finite and within the largest radius, sqrt(-2 ln 2^-24) = 5.768 (the extreme words
// themselves are fed to BoxMuller directly in tests/kernels/kernels_test.cc).
TEST(FillNormal, ExtremeRadiiAreFinite) {
  const RngStream rng(1, 2);
  std::vector<float> out(1 << 16);
  FillNormal(rng, 0, out.data(), out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(std::isfinite(out[i])) << i;
    ASSERT_LE(std::abs(out[i]), 5.77f) << i;
  }
}

TEST(FillNormal, DeterministicAndIndependentOfSplitting) {
  const RngStream rng(99, StreamId(RngPurpose::kTrainNoise, 2, 5));
  ForEachTarget([&] {
    std::vector<float> whole(96), again(96), split(96);
    FillNormal(rng, 0, whole.data(), 96);
    FillNormal(rng, 0, again.data(), 96);
    FillNormal(rng, 0, split.data(), 64);
    FillNormal(rng, 64, split.data() + 64, 32);
    EXPECT_EQ(0, std::memcmp(whole.data(), again.data(), sizeof(float) * 96));
    EXPECT_EQ(0, std::memcmp(whole.data(), split.data(), sizeof(float) * 96));

    // Longer than one internal pass (8 chunks), split at several multiples of 32, and with
    // lengths that are not multiples of 32 (a prefix of the longer fill, nothing written past n).
    constexpr size_t kLong = 1000;
    std::vector<float> big(kLong);
    FillNormal(rng, 0, big.data(), kLong);
    for (size_t cut : {32, 224, 256, 288, 512, 992}) {
      SCOPED_TRACE(cut);
      std::vector<float> parts(kLong);
      FillNormal(rng, 0, parts.data(), cut);
      FillNormal(rng, cut, parts.data() + cut, kLong - cut);
      EXPECT_EQ(0, std::memcmp(big.data(), parts.data(), sizeof(float) * kLong));
    }
    for (size_t n : {0, 1, 5, 31, 33, 63, 255, 257, 300, 999}) {
      SCOPED_TRACE(n);
      constexpr float kSentinel = -12345.0f;
      std::vector<float> out(n + 40, kSentinel);
      FillNormal(rng, 0, out.data(), n);
      EXPECT_EQ(0, std::memcmp(big.data(), out.data(), sizeof(float) * n));
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], kSentinel) << "written at " << i;
    }
    // A different stream or seed gives different values.
    std::vector<float> other(96);
    FillNormal(RngStream(99, StreamId(RngPurpose::kTrainNoise, 2, 6)), 0, other.data(), 96);
    EXPECT_NE(0, std::memcmp(whole.data(), other.data(), sizeof(float) * 96));
    FillNormal(RngStream(100, StreamId(RngPurpose::kTrainNoise, 2, 5)), 0, other.data(), 96);
    EXPECT_NE(0, std::memcmp(whole.data(), other.data(), sizeof(float) * 96));
  });
}

// 1e6 draws: the mean has standard deviation 1e-3, the variance estimate 1.4e-3 and the fraction
// beyond 3 sigma (expected 0.0027) 5.2e-5, so these bounds are 5, 7 and 10 standard deviations.
TEST(FillNormal, StatisticsOfAMillionDraws) {
  const RngStream rng(12345, StreamId(RngPurpose::kSample));
  constexpr size_t kCount = 1000000;
  std::vector<float> out(kCount);
  FillNormal(rng, 0, out.data(), kCount);
  double sum = 0, sum_sq = 0;
  size_t beyond3 = 0;
  for (float v : out) {
    sum += v;
    sum_sq += static_cast<double>(v) * v;
    beyond3 += std::abs(v) > 3.0f;
  }
  const double mean = sum / kCount;
  const double var = sum_sq / kCount - mean * mean;
  const double tail = static_cast<double>(beyond3) / kCount;
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(var, 1.0, 0.01);
  EXPECT_NEAR(tail, 0.0027, 0.0005);
  std::printf("mean %.5f variance %.5f beyond 3 sigma %.5f\n", mean, var, tail);
}

}  // namespace
}  // namespace edgevae
