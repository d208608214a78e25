// Every kernel of lib/src/kernels against a plain scalar reference in double, once per compiled
// Highway target: sizes 0..131 (0..2N+3 for N up to 64 lanes) plus 255, 256, 257, 784 and 1000,
// each array at its own misalignment of 0..3 floats from a 64-byte boundary. Outputs start as NaN
// so that an unwritten lane fails, and a guard region either side of every array must come back
// untouched; the guards hold NaN, so a lane past n that leaked into a sum would show too.
//
// Tolerances, with u = 2^-24 (half an ulp of 1):
//  - sums: a float sum of n terms has |error| <= depth * u * sum|terms| for a summation tree of the
//    given depth; every target has >= 4 float lanes and <= 16, so the depth is at most
//    ceil(n / 4) + 4 (per-lane running sums, then SumOfLanes). kSumSlack adds a few roundings.
//  - Exp/Log1p-based values (sigmoid, softplus): the max errors measured over every float in
//    [-90, 90], rounded up (kSoftplusRel and friends below).
//  - plain arithmetic: the rounding of each operation, stated per kernel.
// clang-format off
#include "kernels/targets.h"  // before any Highway header: the same HWY_TARGETS as the library
// clang-format on

#include "kernels/denormals.h"
#include "kernels/elementwise.h"
#include "kernels/int8.h"
#include "kernels/loss.h"
#include "kernels/optimizer.h"
#include "kernels/for_each_target.h"
#include "kernels/parallel.h"
#include "edgevae/runtime.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <tuple>
#include <vector>

#include "edgevae/buffer.h"
#include "gtest/gtest.h"
#include "hwy/targets.h"

namespace edgevae::simd {
namespace {

constexpr double kU = 0x1p-24;
constexpr double kSumSlack = 4;

// Measured over every float in [-90, 90] (SoftplusSigmoidSweep with EDGEVAE_EXHAUSTIVE=1; AVX3,
// AVX2, SSE4 and SCALAR targets on this AVX-512 host; 16 minutes): softplus max relative error 2.28e-7 where
// the result is a normal float and 1.05e-45 absolute where it is subnormal (x < -87.3), largest
// absolute error 4.77e-7 (the final rounding near x = 8); sigmoid max absolute error 8.93e-8 and
// relative 1.78e-7 (normal results), as kernels.h documents. The tolerances here round the
// measurements up:
// |softplus error| <= kSoftplusRel |ref| + kSoftplusAbs, |sigmoid error| <= kSigmoidAbs (and
// kSigmoidRel |ref| where the result is normal).
#if HWY_ARCH_ARM_V7
// armv7 NEON flushes subnormal results to zero and has no division instruction (Highway refines
// a reciprocal estimate, one or two roundings more; Log1p divides too). Measured under qemu-arm
// (Cortex-A15) over every 41st float in [-90, 90]: softplus 2.85e-7 relative, sigmoid 1.48e-7
// absolute / 2.46e-7 relative; kernels.h documents the same.
constexpr double kSoftplusRel = 4e-7;
constexpr double kSoftplusAbs = 0x1p-126;  // FLT_MIN: a subnormal result becomes 0
constexpr double kSigmoidAbs = 2e-7, kSigmoidRel = 3.5e-7;
#else
constexpr double kSoftplusRel = 2.5e-7;
constexpr double kSoftplusAbs = 0x1p-149;  // one subnormal ulp
constexpr double kSigmoidAbs = 1e-7, kSigmoidRel = 2e-7;
#endif

double SumRel(size_t n) { return ((n + 3) / 4 + 4 + kSumSlack) * kU; }

std::vector<size_t> Sizes() {
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 131; ++n) sizes.push_back(n);
  for (size_t n : {255, 256, 257, 784, 1000}) sizes.push_back(n);
  return sizes;
}
constexpr size_t kMaxMisalign = 3;

// An array of n elements at `misalign` elements past a 64-byte boundary, with kGuard elements of
// sentinel either side. The array itself starts as the sentinel too (a NaN for floats).
template <typename T>
class Guarded {
 public:
  // A whole number of 64-byte lines for every T, so that data() is `misalign` elements past one.
  static constexpr size_t kGuard = 64;
  Guarded(size_t n, size_t misalign) : n_(n), start_(kGuard + misalign), buf_(start_ + n + kGuard) {
    for (size_t i = 0; i < buf_.size(); ++i) buf_[i] = Sentinel();
  }
  T* data() { return buf_.data() + start_; }
  const T* data() const { return buf_.data() + start_; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  size_t size() const { return n_; }

  // Passes when nothing outside [data(), data() + n) has changed.
  ::testing::AssertionResult GuardsIntact() const {
    const T s = Sentinel();
    for (size_t i = 0; i < buf_.size(); ++i) {
      if (i >= start_ && i < start_ + n_) continue;
      if (std::memcmp(&buf_[i], &s, sizeof(T)) != 0) {
        const long offset = static_cast<long>(i) - static_cast<long>(start_);
        return ::testing::AssertionFailure()
               << "element " << offset << " outside the array (n = " << n_ << ") was written";
      }
    }
    return ::testing::AssertionSuccess();
  }

  static T Sentinel() {
    if constexpr (std::is_same_v<T, float>) {
      return std::bit_cast<float>(0x7fc5a5a5u);  // a quiet NaN with a recognisable payload
    } else {
      return static_cast<T>(0xa5a5a5a5u);
    }
  }

 private:
  size_t n_, start_;
  AlignedBuffer<T> buf_;
};

// Passes when |got[i] - ref[i]| <= tol[i] for every i, where a NaN passes only against a NaN
// reference; names the first few misses.
::testing::AssertionResult AllNear(const char* what, const float* got,
                                   const std::vector<double>& ref, const std::vector<double>& tol) {
  size_t bad = 0;
  std::ostringstream msg;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - ref[i]);
    if (err <= tol[i] || (std::isnan(ref[i]) && std::isnan(got[i]))) continue;
    if (++bad <= 4) {
      msg << "\n  [" << i << "] got " << got[i] << " want " << ref[i] << " (|error| " << err
          << " > " << tol[i] << ")";
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": " << bad << " of " << ref.size() << " elements off" << msg.str();
}

// A reproducible source of test data (std::mt19937 is specified bit for bit; the uniform
// mapping is our own because std::uniform_real_distribution is not).
class Data {
 public:
  explicit Data(uint32_t seed) : gen_(seed) {}
  uint32_t Bits() { return static_cast<uint32_t>(gen_()); }
  float Uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(Bits() >> 8) * 0x1p-24f;
  }

 private:
  std::mt19937 gen_;
};

// Failures recorded so far in the running test.
int FailureCount() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

// Runs body(n, misalign) for every size and misalignment, once per compiled Highway target that
// this CPU supports; stops a target's sweep at its first failing case.
template <class Body>
void ForEachTargetSizeAndMisalign(const Body& body) {
  simd_test::ForEachTarget([&] {
    const int failures = FailureCount();
    for (size_t n : Sizes()) {
      for (size_t mis = 0; mis <= kMaxMisalign && FailureCount() == failures; ++mis) {
        SCOPED_TRACE(::testing::Message() << "n " << n << " misalign " << mis);
        body(n, mis);
      }
    }
  });
}

using simd_test::ForEachTarget;

// Array j of a case sits at misalignment (mis + j) % 4, so arrays are misaligned relative to each
// other as well.
size_t Mis(size_t mis, size_t j) { return (mis + j) % (kMaxMisalign + 1); }

// Logits over [-90, 90]: a mix of wide and moderate values, with exact zeros, tiny values, and
// the extremes at fixed positions so that they land in every lane position across sizes.
float Logit(Data& data, size_t i) {
  static constexpr float kSpecial[] = {0.0f,   -0.0f, 1e-30f, -1e-30f, 90.0f,  -90.0f, 88.5f,
                                       -88.5f, 17.0f, -17.0f, 1e-4f,   -1e-4f, 0.5f,   -0.5f};
  if (i % 5 == 2) return kSpecial[(i / 5) % std::size(kSpecial)];
  return i % 2 == 0 ? data.Uniform(-90.0f, 90.0f) : data.Uniform(-8.0f, 8.0f);
}
// Pixel targets in [0, 1] with exact 0 and 1.
float PixelTarget(Data& data, size_t i) {
  if (i % 3 == 0) return 0.0f;
  if (i % 7 == 1) return 1.0f;
  return data.Uniform(0.0f, 1.0f);
}

double SoftplusRef(double l) { return std::max(l, 0.0) + std::log1p(std::exp(-std::abs(l))); }
double SigmoidRef(double l) {
  return l >= 0 ? 1 / (1 + std::exp(-l)) : std::exp(l) / (1 + std::exp(l));
}

// ---------------------------------------------------------------------------------------------

// Exact: i * float(1/255) in float is within 1 ulp of i/255; we allow 2^-23 relative.
TEST(Kernels, U8ToF32) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Guarded<uint8_t> in(n, Mis(mis, 0));
    Guarded<float> out(n, Mis(mis, 1));
    std::vector<double> ref(n), tol(n);
    for (size_t i = 0; i < n; ++i) {
      in[i] = static_cast<uint8_t>(i * 37 + n);  // 37 is odd: every byte value once per 256
      ref[i] = in[i] / 255.0;
      tol[i] = 2 * kU * ref[i];
    }
    U8ToF32(in.data(), out.data(), n);
    EXPECT_TRUE(AllNear("U8ToF32", out.data(), ref, tol));
    EXPECT_TRUE(in.GuardsIntact());
    EXPECT_TRUE(out.GuardsIntact());
  });
}

// int8 activations: exact, on every target.
TEST(Kernels, U8ToI8Centered) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Guarded<uint8_t> in(n, Mis(mis, 0));
    Guarded<int8_t> out(n, Mis(mis, 1));
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<uint8_t>(i * 37 + n);
    U8ToI8Centered(in.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(static_cast<int>(out[i]), static_cast<int>(in[i]) - 128) << "i " << i;
    }
    EXPECT_TRUE(in.GuardsIntact());
    EXPECT_TRUE(out.GuardsIntact());
  });
}

// Round half to even of x / scale (computed as x * (1 / scale) in float), plus the zero point,
// clamped; huge values clamp instead of overflowing the conversion. Exact, on every target.
TEST(Kernels, QuantizeI8) {
  for (const auto& [scale, zp] : {std::pair{0.05f, 3}, std::pair{1.0f / 255.0f, -128},
                                  std::pair{0.3f, 127}}) {
    ForEachTargetSizeAndMisalign([scale = scale, zp = zp](size_t n, size_t mis) {
      Data data(static_cast<uint32_t>(n * 7 + mis));
      Guarded<float> in(n, Mis(mis, 0));
      Guarded<int8_t> out(n, Mis(mis, 1));
      static constexpr float kSpecial[] = {0.0f, -0.0f, 1e30f, -1e30f, 2.5f, -2.5f, 0.025f};
      for (size_t i = 0; i < n; ++i) {
        in[i] = i % 4 == 1 ? kSpecial[(i / 4) % std::size(kSpecial)]
                           : data.Uniform(-8.0f, 8.0f) * (i % 3 == 0 ? 10.0f : 1.0f);
      }
      QuantizeI8(in.data(), scale, zp, out.data(), n);
      const float inv = 1.0f / scale;
      for (size_t i = 0; i < n; ++i) {
        const float x = std::clamp(in[i] * inv, -512.0f, 512.0f);
        const float want = std::clamp(std::nearbyint(x) + static_cast<float>(zp), -128.0f, 127.0f);
        ASSERT_EQ(static_cast<float>(out[i]), want) << "x " << in[i] << " scale " << scale;
      }
      EXPECT_TRUE(in.GuardsIntact());
      EXPECT_TRUE(out.GuardsIntact());
    });
  }
}

// Sparse columns: ldw of 1..9 blocks and of 25 (NEON: 16..144 and 400 outputs, so every mix of
// its 64- or 32-output passes and 16-output remainders), 0..40 nonzeros with repeated columns,
// extreme weights and values (|127 * 255| is the largest int16 product), against the plain int32
// loop. Exact.
TEST(Kernels, SparseI8Columns) {
  ForEachTarget([] {
    const size_t block = SparseI8Block();
    ASSERT_GT(block, 0u);
    for (size_t blocks : {1, 2, 3, 4, 5, 6, 7, 8, 9, 25}) {
      const size_t ldw = blocks * block, k = 23;
      for (size_t nnz : {0, 1, 3, 7, 19, 40}) {
        SCOPED_TRACE(::testing::Message() << "ldw " << ldw << " nnz " << nnz);
        Data data(static_cast<uint32_t>(ldw * 31 + nnz));
        Guarded<int8_t> wt(k * ldw, 1);
        for (size_t i = 0; i < wt.size(); ++i) {
          wt[i] = i % 11 == 0 ? int8_t{-127} : i % 13 == 0 ? int8_t{127}
                                             : static_cast<int8_t>(data.Uniform(-127.0f, 127.0f));
        }
        std::vector<size_t> cols(nnz);
        std::vector<uint32_t> offs(nnz);
        std::vector<int16_t> vals(nnz);
        for (size_t t = 0; t < nnz; ++t) {
          cols[t] = t % 5 == 4 ? cols[t - 1] : (t * 7) % k;  // repeats too
          offs[t] = static_cast<uint32_t>(cols[t] * ldw);
          vals[t] = static_cast<int16_t>(t % 3 == 0 ? 255 : 1 + static_cast<int>(data.Uniform(0, 254)));
        }
        Guarded<int32_t> acc(ldw, 2);
        std::vector<int64_t> want(ldw);
        for (size_t i = 0; i < ldw; ++i) {
          acc[i] = static_cast<int32_t>(i * 1000) - 70000;  // accumulates onto what is there
          want[i] = acc[i];
        }
        for (size_t t = 0; t < nnz; ++t) {
          for (size_t i = 0; i < ldw; ++i) want[i] += int64_t{wt[cols[t] * ldw + i]} * vals[t];
        }
        SparseI8Columns(wt.data(), ldw, offs.data(), vals.data(), nnz, acc.data());
        for (size_t i = 0; i < ldw; ++i) ASSERT_EQ(acc[i], want[i]) << "i " << i;
        EXPECT_TRUE(wt.GuardsIntact());
        EXPECT_TRUE(acc.GuardsIntact());
      }
    }
  });
}

// GemvI8 against the plain int32 dot product and the requantization formula of RequantizeI32:
// row counts around its 8- and 4-row passes and 64-row chunks, ldk 16..400, weights at +-127 and
// inputs at -128 / 127 (the largest int16 pair sums), several scales (a different one per row)
// and zero points. Exact.
TEST(Kernels, GemvI8) {
  ForEachTarget([] {
    for (size_t rows : {1, 3, 4, 7, 8, 9, 23, 64, 65, 130, 784}) {
      for (size_t ldk : {16, 32, 400}) {
        for (const auto& [scale, zp] : {std::pair{0.0123f, -3}, std::pair{2e-4f, 17}}) {
          SCOPED_TRACE(::testing::Message() << "rows " << rows << " ldk " << ldk << " scale "
                                            << scale);
          Data data(static_cast<uint32_t>(rows * 7 + ldk));
          Guarded<int8_t> w(rows * ldk, 1), x(ldk, 2), out(rows, 3);
          Guarded<int32_t> bias(rows, 0);
          Guarded<float> scales(rows, 0);
          for (size_t r = 0; r < rows; ++r) scales[r] = scale * (1.0f + 0.37f * (r % 5));
          for (size_t i = 0; i < w.size(); ++i) {
            w[i] = i % 7 == 0 ? int8_t{127} : i % 11 == 0 ? int8_t{-127}
                                              : static_cast<int8_t>(data.Uniform(-127.0f, 127.0f));
          }
          for (size_t k = 0; k < ldk; ++k) {
            x[k] = k % 5 == 0 ? int8_t{-128} : k % 9 == 0 ? int8_t{127}
                                             : static_cast<int8_t>(data.Uniform(-128.0f, 127.0f));
          }
          for (size_t r = 0; r < rows; ++r) {
            bias[r] = static_cast<int32_t>(data.Uniform(-2e5f, 2e5f));
          }
          GemvI8(w.data(), rows, ldk, x.data(), bias.data(), scales.data(), zp, -128, 127,
                 out.data());
          for (size_t r = 0; r < rows; ++r) {
            int64_t acc = bias[r];
            for (size_t k = 0; k < ldk; ++k) acc += int64_t{w[r * ldk + k]} * x[k];
            const float v = std::clamp(static_cast<float>(acc) * scales[r],
                                       static_cast<float>(-128 - zp), static_cast<float>(127 - zp));
            ASSERT_EQ(out[r], static_cast<int>(std::nearbyint(v)) + zp) << "row " << r;
          }
          EXPECT_TRUE(w.GuardsIntact());
          EXPECT_TRUE(x.GuardsIntact());
          EXPECT_TRUE(out.GuardsIntact());
          EXPECT_TRUE(scales.GuardsIntact());
        }
      }
    }
  });
}

// XNNPACK's fp32 requantization: clamp relative to the zero point in float, round half to even,
// with one scale per element (every third the base scale, so that exact halves occur).
TEST(Kernels, RequantizeI32) {
  for (const auto& [scale, zp, lo] : {std::tuple{0.0123f, -128, -128}, std::tuple{0.5f, 3, -128},
                                      std::tuple{1.0f / 3.0f, 10, 10}}) {
    ForEachTargetSizeAndMisalign([scale = scale, zp = zp, lo = lo](size_t n, size_t mis) {
      Data data(static_cast<uint32_t>(n * 5 + mis));
      Guarded<int32_t> acc(n, Mis(mis, 0));
      Guarded<int8_t> out(n, Mis(mis, 1));
      Guarded<float> scales(n, Mis(mis, 2));
      for (size_t i = 0; i < n; ++i) scales[i] = i % 3 == 0 ? scale : scale * (1.0f + 0.1f * (i % 7));
      static constexpr int32_t kSpecial[] = {0, 1, -1, 3, -3, 2147483647, -2147483647 - 1, 25000000};
      for (size_t i = 0; i < n; ++i) {
        acc[i] = i % 4 == 1 ? kSpecial[(i / 4) % std::size(kSpecial)]
                            : static_cast<int32_t>(data.Uniform(-3e4f, 3e4f));
      }
      RequantizeI32(acc.data(), n, scales.data(), zp, lo, 127, out.data());
      for (size_t i = 0; i < n; ++i) {
        const float x = std::clamp(static_cast<float>(acc[i]) * scales[i],
                                   static_cast<float>(lo - zp), static_cast<float>(127 - zp));
        const int want = static_cast<int>(std::nearbyint(x)) + zp;
        ASSERT_EQ(out[i], want) << "acc " << acc[i] << " scale " << scales[i];
      }
      EXPECT_TRUE(acc.GuardsIntact());
      EXPECT_TRUE(out.GuardsIntact());
      EXPECT_TRUE(scales.GuardsIntact());
    });
  }
}

TEST(Kernels, DequantizeI8) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Guarded<int8_t> in(n, Mis(mis, 0));
    Guarded<float> out(n, Mis(mis, 1));
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<int8_t>(i * 37 + n);
    const float scale = 0.0371f;
    const int32_t zp = -17;
    DequantizeI8(in.data(), scale, zp, out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], scale * static_cast<float>(in[i] - zp)) << "i " << i;
    }
    EXPECT_TRUE(in.GuardsIntact());
    EXPECT_TRUE(out.GuardsIntact());
  });
}

// IEEE binary16, decoded exactly in double: the reference for the f16 conversions.
double HalfValue(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, frac = h & 1023;
  double v = exp == 0 ? std::ldexp(frac, -24) : std::ldexp(1024 + frac, exp - 25);
  if (exp == 31) v = frac == 0 ? std::numeric_limits<double>::infinity() : std::nan("");
  return sign ? -v : v;
}

// Every one of the 65,536 half values converts to f32 exactly; every finite one converts back to
// itself (so conversion of representable values is exact, on every target).
TEST(Kernels, F16ToF32AllValuesAndBack) {
  ForEachTarget([] {
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
    std::vector<float> f(all.size());
    F16ToF32(all.data(), f.data(), all.size());
    std::vector<uint16_t> back(all.size());
    F32ToF16(f.data(), back.data(), f.size());
    for (size_t i = 0; i < all.size(); ++i) {
      const double want = HalfValue(all[i]);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(f[i])) << i;
        continue;
      }
      ASSERT_EQ(static_cast<double>(f[i]), want) << "half 0x" << std::hex << i;
      ASSERT_EQ(back[i], all[i]) << "half 0x" << std::hex << i;
    }
  });
}

// Rounding to nearest where the conversion is native (a closest half), within one step toward
// zero where Highway emulates it; beyond the range, infinity with the sign of x; sizes and
// misalignments as for every kernel, guards intact.
TEST(Kernels, F32ToF16RoundsToNearest) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n + 31 * mis));
    Guarded<float> in(n, Mis(mis, 0));
    Guarded<uint16_t> out(n, Mis(mis, 1));
    for (size_t i = 0; i < n; ++i) {
      in[i] = data.Uniform(-1.0f, 1.0f) * std::ldexp(1.0f, static_cast<int>(i % 30) - 20);
    }
    static constexpr float kSpecial[] = {65504.0f, 65519.0f, 65520.0f, 1e30f, -1e30f,
                                         std::numeric_limits<float>::infinity(), 6e-8f, 2e-8f};
    for (size_t i = 3; i < n; i += 7) in[i] = kSpecial[(i / 7) % std::size(kSpecial)];
    F32ToF16(in.data(), out.data(), n);
    const std::string target = TargetName();
    const bool emulated = target == "SSE4" || target == "SSSE3" || target == "SCALAR" ||
                          target == "EMU128";
    for (size_t i = 0; i < n; ++i) {
      const double x = in[i], got = HalfValue(out[i]);
      if (std::fabs(x) >= 65520.0) {  // beyond the largest half (65504) by half a step or more
        ASSERT_TRUE(std::isinf(got) && (got > 0) == (x > 0)) << "x " << x;
        continue;
      }
      if (emulated) {
        // Highway's emulated conversion (no F16C) rounds toward zero: within one step of x (the
        // half spacing at x's exponent, 2^-24 for subnormals), with the sign of x.
        const double step =
            x == 0 ? 0x1p-24 : std::max(0x1p-24, std::ldexp(1.0, std::ilogb(x) - 10));
        ASSERT_LT(std::fabs(got - x), step) << "x " << x;
        ASSERT_EQ(std::signbit(got), std::signbit(x)) << "x " << x;
        continue;
      }
      for (int step : {-1, 1}) {
        const uint16_t other = static_cast<uint16_t>(out[i] + step);
        const double alt = HalfValue(other);
        if (std::isnan(alt) || std::isinf(alt) || (other ^ out[i]) >> 15) continue;
        ASSERT_LE(std::fabs(got - x), std::fabs(alt - x)) << "x " << x;
      }
    }
    EXPECT_TRUE(in.GuardsIntact());
    EXPECT_TRUE(out.GuardsIntact());
  });
}

TEST(Kernels, U8ToF32AllByteValues) {
  ForEachTarget([] {
    for (size_t mis = 0; mis <= kMaxMisalign; ++mis) {
      Guarded<uint8_t> in(256, mis);
      Guarded<float> out(256, Mis(mis, 1));
      for (size_t i = 0; i < 256; ++i) in[i] = static_cast<uint8_t>(i);
      U8ToF32(in.data(), out.data(), 256);
      EXPECT_EQ(out[0], 0.0f);
      EXPECT_EQ(out[255], 1.0f);
      for (size_t i = 0; i < 256; ++i) {
        ASSERT_NEAR(out[i], i / 255.0, 2 * kU * (i / 255.0)) << "byte " << i;
        if (i > 0) {
          ASSERT_GT(out[i], out[i - 1]);
        }
      }
      EXPECT_TRUE(out.GuardsIntact());
    }
  });
}

// One float add (then max with 0): the result is the correctly rounded value, |error| <= u |ref|.
// A NaN input stays NaN through both (BiasRelu must not hide it as a 0).
TEST(Kernels, BiasReluAndAddBias) {
  for (float bias : {0.0f, 0.375f, -1.5f, 1e-3f}) {
    SCOPED_TRACE(bias);
    ForEachTargetSizeAndMisalign([bias](size_t n, size_t mis) {
      Data data(static_cast<uint32_t>(n * 4 + mis));
      Guarded<float> relu(n, mis), add(n, Mis(mis, 1));
      std::vector<double> relu_ref(n), add_ref(n), relu_tol(n), add_tol(n);
      for (size_t i = 0; i < n; ++i) {
        // Every 4th value cancels the bias exactly, so that max(0, 0) is exercised.
        const float x = i % 4 == 3    ? -bias
                        : i % 13 == 6 ? std::numeric_limits<float>::quiet_NaN()
                                      : data.Uniform(-3.0f, 3.0f);
        relu[i] = add[i] = x;
        add_ref[i] = static_cast<double>(x) + bias;
        relu_ref[i] = std::isnan(x) ? x : std::max(add_ref[i], 0.0);
        add_tol[i] = kU * std::abs(add_ref[i]);
        relu_tol[i] = kU * relu_ref[i];
      }
      BiasRelu(relu.data(), bias, n);
      AddBias(add.data(), bias, n);
      EXPECT_TRUE(AllNear("BiasRelu", relu.data(), relu_ref, relu_tol));
      EXPECT_TRUE(AllNear("AddBias", add.data(), add_ref, add_tol));
      for (size_t i = 0; i < n; ++i) {
        if (!std::isnan(relu_ref[i])) {
          ASSERT_GE(relu[i], 0.0f) << "at " << i;
        }
      }
      EXPECT_TRUE(relu.GuardsIntact());
      EXPECT_TRUE(add.GuardsIntact());
    });
  }
}

// kSigmoidAbs absolute (measured, above).
TEST(Kernels, Sigmoid) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 1));
    Guarded<float> in(n, Mis(mis, 0)), out(n, Mis(mis, 1));
    std::vector<double> ref(n), tol(n, kSigmoidAbs);
    for (size_t i = 0; i < n; ++i) {
      in[i] = Logit(data, i);
      ref[i] = SigmoidRef(in[i]);
    }
    Sigmoid(in.data(), out.data(), n);
    EXPECT_TRUE(AllNear("Sigmoid", out.data(), ref, tol));
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(out[i] >= 0.0f && out[i] <= 1.0f) << "at " << i << ": " << out[i];
    }
    EXPECT_TRUE(in.GuardsIntact());
    EXPECT_TRUE(out.GuardsIntact());
  });
}

// Per term t = softplus(l) - x l: the softplus error plus the rounding of x l and of the
// difference, i.e. kSoftplusRel sp + kSoftplusAbs + 2u (|sp| + |x l|); the sum adds SumRel over
// sum(|sp| + |x l|) (which bounds sum |t|).
struct BceRef {
  double loss = 0, loss_tol = 0;
};
BceRef BceReference(const float* l, const float* x, size_t n) {
  BceRef r;
  double scale = 0, per_term = 0;
  for (size_t i = 0; i < n; ++i) {
    const double sp = SoftplusRef(l[i]);
    const double xl = static_cast<double>(x[i]) * l[i];
    r.loss += sp - xl;
    scale += sp + std::abs(xl);
    per_term += kSoftplusRel * sp + kSoftplusAbs;
  }
  r.loss_tol = per_term + (SumRel(n) + 2 * kU) * scale;
  return r;
}

TEST(Kernels, BceWithLogits) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 2));
    Guarded<float> l(n, Mis(mis, 0)), x(n, Mis(mis, 1));
    for (size_t i = 0; i < n; ++i) {
      l[i] = Logit(data, i);
      x[i] = PixelTarget(data, i);
    }
    const BceRef ref = BceReference(l.data(), x.data(), n);
    const float loss = BceWithLogits(l.data(), x.data(), n);
    EXPECT_TRUE(std::isfinite(loss));
    EXPECT_NEAR(loss, ref.loss, ref.loss_tol);
    if (n == 0) {
      EXPECT_EQ(loss, 0.0f);
    }
    EXPECT_TRUE(l.GuardsIntact());
    EXPECT_TRUE(x.GuardsIntact());
  });
}

// In place: l <- sigmoid(l + bias) - x, where l + bias is one float add (we form it in float, as
// the kernel must, and take the reference from there). Per element: kSigmoidAbs plus the rounding
// of the difference, u |g|. The gradient sum: SumRel over sum |g| plus n kSigmoidAbs.
TEST(Kernels, BceWithLogitsGrad) {
  for (float bias : {0.0f, 0.75f, -3.0f}) {
    SCOPED_TRACE(bias);
    ForEachTargetSizeAndMisalign([bias](size_t n, size_t mis) {
      Data data(static_cast<uint32_t>(n * 4 + mis + 3));
      Guarded<float> l(n, Mis(mis, 0)), x(n, Mis(mis, 1));
      std::vector<float> biased(n);
      std::vector<double> grad(n), tol(n);
      double grad_sum = 0, grad_abs = 0;
      for (size_t i = 0; i < n; ++i) {
        l[i] = Logit(data, i);
        x[i] = PixelTarget(data, i);
        biased[i] = l[i] + bias;
        grad[i] = SigmoidRef(biased[i]) - x[i];
        tol[i] = kSigmoidAbs + kU * std::abs(grad[i]);
        grad_sum += grad[i];
        grad_abs += std::abs(grad[i]);
      }
      const BceRef ref = BceReference(biased.data(), x.data(), n);
      float got_grad_sum = std::numeric_limits<float>::quiet_NaN();
      const float loss = BceWithLogitsGrad(l.data(), x.data(), bias, n, &got_grad_sum);
      EXPECT_TRUE(std::isfinite(loss));
      EXPECT_NEAR(loss, ref.loss, ref.loss_tol);
      EXPECT_NEAR(got_grad_sum, grad_sum, SumRel(n) * grad_abs + n * kSigmoidAbs);
      EXPECT_TRUE(AllNear("gradient", l.data(), grad, tol));
      EXPECT_TRUE(l.GuardsIntact());
      EXPECT_TRUE(x.GuardsIntact());
    });
  }
}

// Softplus through BceWithLogits with n = 1 and x = 0, sigmoid through Sigmoid, on a grid of
// 2^18 + 1 points over [-90, 90] plus the special values, against the measured bounds above.
// Prints the observed maxima (the exhaustive measurement: SoftplusSigmoidSweep, EDGEVAE_EXHAUSTIVE=1).
struct ErrorStats {
  // Relative errors only where the result is a normal float; sp_ratio: error / (kSoftplusRel |ref|
  // + kSoftplusAbs), which must stay <= 1.
  double sp_abs = 0, sp_rel = 0, sp_ratio = 0;
  double sg_abs = 0, sg_rel_normal = 0;
  float sp_abs_at = 0, sp_rel_at = 0, sg_abs_at = 0, sg_rel_at = 0;
  void Add(float l, float sp, float sg) {
    const double sp_ref = SoftplusRef(l), sg_ref = SigmoidRef(l);
    const double sp_err = std::abs(sp - sp_ref), sg_err = std::abs(sg - sg_ref);
    if (!(sp_err <= sp_abs)) sp_abs = sp_err, sp_abs_at = l;  // NaN propagates into the max
    if (sp_ref >= std::numeric_limits<float>::min() && !(sp_err / sp_ref <= sp_rel)) {
      sp_rel = sp_err / sp_ref, sp_rel_at = l;
    }
    sp_ratio = std::max(sp_ratio, sp_err / (kSoftplusRel * sp_ref + kSoftplusAbs));
    if (!(sg_err <= sg_abs)) sg_abs = sg_err, sg_abs_at = l;
    if (sg_ref >= std::numeric_limits<float>::min() && !(sg_err / sg_ref <= sg_rel_normal)) {
      sg_rel_normal = sg_err / sg_ref, sg_rel_at = l;
    }
  }
  void Merge(const ErrorStats& o) {
    if (o.sp_abs > sp_abs) sp_abs = o.sp_abs, sp_abs_at = o.sp_abs_at;
    if (o.sp_rel > sp_rel) sp_rel = o.sp_rel, sp_rel_at = o.sp_rel_at;
    sp_ratio = std::max(sp_ratio, o.sp_ratio);
    if (o.sg_abs > sg_abs) sg_abs = o.sg_abs, sg_abs_at = o.sg_abs_at;
    if (o.sg_rel_normal > sg_rel_normal) sg_rel_normal = o.sg_rel_normal, sg_rel_at = o.sg_rel_at;
  }
  void Print(const char* what) const {
    std::printf(
        "[ %s ] %s: softplus max |err| %.3g (at %.9g), max rel %.3g (at %.9g), max err/bound %.3g;"
        " sigmoid max |err| %.3g (at %.9g), max rel %.3g (at %.9g)\n",
        TargetName(), what, sp_abs, sp_abs_at, sp_rel, sp_rel_at, sp_ratio, sg_abs, sg_abs_at,
        sg_rel_normal, sg_rel_at);
  }
};

void MeasureRange(const std::vector<float>& xs, ErrorStats& stats) {
  std::vector<float> sg(xs.size());
  Sigmoid(xs.data(), sg.data(), xs.size());
  const float zero = 0.0f;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float sp = BceWithLogits(&xs[i], &zero, 1);
    ASSERT_TRUE(std::isfinite(sp) && std::isfinite(sg[i])) << "at " << xs[i];
    stats.Add(xs[i], sp, sg[i]);
  }
}

TEST(Kernels, SoftplusSigmoidWithinMeasuredError) {
  std::vector<float> xs;
  constexpr int kSteps = 1 << 18;
  for (int i = 0; i <= kSteps; ++i) xs.push_back(static_cast<float>(-90.0 + 180.0 * i / kSteps));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::min(), -std::numeric_limits<float>::min(),
                  std::nextafter(90.0f, 0.0f), std::nextafter(-90.0f, 0.0f), 87.33f, -87.33f,
                  103.0f, -103.0f}) {
    xs.push_back(v);
  }
  ForEachTarget([&] {
    ErrorStats stats;
    MeasureRange(xs, stats);
    stats.Print("grid");
    EXPECT_LE(stats.sp_ratio, 1.0) << "softplus beyond kSoftplusRel |y| + kSoftplusAbs";
    EXPECT_LE(stats.sg_abs, kSigmoidAbs);
    EXPECT_LE(stats.sg_rel_normal, kSigmoidRel);
  });
}

// Floats in [-90, 90] by bit pattern: every 4099th (about 540,000 per target, a second or so), or
// every one of the 2.2e9 (about four minutes per target) with EDGEVAE_EXHAUSTIVE=1, which
// reproduces kernels.h's numbers.
TEST(Kernels, SoftplusSigmoidSweep) {
  const char* env = std::getenv("EDGEVAE_EXHAUSTIVE");
  const uint64_t stride = env != nullptr && std::string(env) == "1" ? 1 : 4099;
  ForEachTarget([stride] {
    ErrorStats stats;
    std::vector<float> xs;
    xs.reserve(1 << 20);
    // Non-negative floats in [0, 90] by bit pattern, then their negations.
    const uint32_t last = std::bit_cast<uint32_t>(90.0f);
    for (int sign = 0; sign < 2; ++sign) {
      // The last step is shortened so that 90 itself is always measured.
      for (uint64_t bits = 0;; bits = std::min<uint64_t>(bits + stride, last)) {
        const float v = std::bit_cast<float>(static_cast<uint32_t>(bits));
        xs.push_back(sign ? -v : v);
        if (xs.size() == xs.capacity() || bits == last) {
          MeasureRange(xs, stats);
          xs.clear();
        }
        if (bits == last) break;
      }
    }
    stats.Print(stride == 1 ? "every float in [-90, 90]" : "every 4099th float in [-90, 90]");
    EXPECT_LE(stats.sp_ratio, 1.0);
    EXPECT_LE(stats.sg_abs, kSigmoidAbs);
    EXPECT_LE(stats.sg_rel_normal, kSigmoidRel);
  });
}

// Large |logit| (up to 90 each way) with the worst targets: loss and gradient stay finite, the
// loss of a confident wrong answer is |l| (softplus(90) = 90), and of a confident right one ~0.
TEST(Kernels, BceExtremeLogitsStayFinite) {
  ForEachTarget([] {
    const float l[] = {90.0f, -90.0f, 90.0f, -90.0f, 0.0f, 0.0f};
    const float x[] = {0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f};
    for (size_t i = 0; i < 6; ++i) {
      SCOPED_TRACE(i);
      const float loss = BceWithLogits(&l[i], &x[i], 1);
      const double want = SoftplusRef(l[i]) - static_cast<double>(x[i]) * l[i];
      EXPECT_NEAR(loss, want, kSoftplusRel * SoftplusRef(l[i]) + kSoftplusAbs + kU * 90);
      float g = l[i], gsum = 0;
      const float loss2 = BceWithLogitsGrad(&g, &x[i], 0.0f, 1, &gsum);
      EXPECT_EQ(loss2, loss);
      EXPECT_TRUE(std::isfinite(g));
      EXPECT_EQ(g, gsum);
      EXPECT_NEAR(g, SigmoidRef(l[i]) - x[i], kSigmoidAbs);
    }
    EXPECT_NEAR(BceWithLogits(&l[4], &x[4], 1), std::numbers::ln2, kSoftplusRel + kSoftplusAbs);
  });
}

// s = exp(logvar / 2) within 2 ulp (Highway's Exp is documented at 1 ulp; 0.5 logvar is exact):
// 4u relative. z = mu + s eps: the s error scaled by |eps| plus two roundings (2u (|s eps| + |z|)).
// KL = -1/2 sum(1 + lv - mu^2 - s^2): per term the s^2 error (8u s^2 + u s^2) plus five roundings
// each bounded by the term's parts (1 + |lv| + mu^2 + s^2), and SumRel over the parts for the sum.
TEST(Kernels, ReparamForward) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 4));
    Guarded<float> mu(n, Mis(mis, 0)), lv(n, Mis(mis, 1)), eps(n, Mis(mis, 2)), z(n, Mis(mis, 3)),
        sd(n, Mis(mis, 4));
    std::vector<double> z_ref(n), z_tol(n), s_ref(n), s_tol(n);
    double kl = 0, kl_scale = 0, kl_per_term = 0;
    for (size_t i = 0; i < n; ++i) {
      mu[i] = data.Uniform(-3.0f, 3.0f);
      lv[i] = i % 9 == 4 ? 0.0f : i % 13 == 6 ? -30.0f : data.Uniform(-12.0f, 6.0f);
      eps[i] = i % 11 == 5 ? 0.0f : data.Uniform(-4.0f, 4.0f);
      s_ref[i] = std::exp(0.5 * lv[i]);
      s_tol[i] = 4 * kU * s_ref[i];
      const double se = s_ref[i] * eps[i];
      z_ref[i] = mu[i] + se;
      z_tol[i] = 4 * kU * std::abs(se) + 2 * kU * (std::abs(se) + std::abs(z_ref[i]));
      const double s2 = s_ref[i] * s_ref[i];
      kl += 1 + lv[i] - static_cast<double>(mu[i]) * mu[i] - s2;
      const double parts = 1 + std::abs(lv[i]) + static_cast<double>(mu[i]) * mu[i] + s2;
      kl_scale += parts;
      kl_per_term += 9 * kU * s2 + 5 * kU * parts;
    }
    kl *= -0.5;
    const double kl_tol = 0.5 * (kl_per_term + SumRel(n) * kl_scale);
    const float got = ReparamForward(mu.data(), lv.data(), eps.data(), z.data(), sd.data(), n);
    EXPECT_NEAR(got, kl, kl_tol);
    EXPECT_TRUE(AllNear("std", sd.data(), s_ref, s_tol));
    EXPECT_TRUE(AllNear("z", z.data(), z_ref, z_tol));
    for (auto* g : {&mu, &lv, &eps, &z, &sd}) EXPECT_TRUE(g->GuardsIntact());
  });
}

// dmu = dz + mu: one rounding (u |dmu|). dlogvar = (dz eps std + std^2 - 1) / 2 from the given
// std: four roundings of the parts (the products may or may not be fused), 2u (|dz eps std| +
// std^2 + 1) after halving. Sums: SumRel over the sums of |dmu| and |dlogvar| plus the
// per-element errors.
TEST(Kernels, ReparamBackward) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 5));
    Guarded<float> dz(n, Mis(mis, 0)), mu(n, Mis(mis, 1)), lv(n, Mis(mis, 2)), eps(n, Mis(mis, 3)),
        sd(n, Mis(mis, 4)), dmu(n, Mis(mis, 5)), dlv(n, Mis(mis, 6));
    std::vector<double> dmu_ref(n), dmu_tol(n), dlv_ref(n), dlv_tol(n);
    double dmu_sum = 0, dlv_sum = 0, dmu_abs = 0, dlv_abs = 0, dmu_err = 0, dlv_err = 0;
    for (size_t i = 0; i < n; ++i) {
      dz[i] = i % 10 == 7 ? 0.0f : data.Uniform(-2.0f, 2.0f);
      mu[i] = data.Uniform(-3.0f, 3.0f);
      lv[i] = i % 9 == 4 ? 0.0f : data.Uniform(-12.0f, 6.0f);
      eps[i] = data.Uniform(-4.0f, 4.0f);
      sd[i] = static_cast<float>(std::exp(0.5 * lv[i]));
      dmu_ref[i] = static_cast<double>(dz[i]) + mu[i];
      dmu_tol[i] = kU * std::abs(dmu_ref[i]);
      const double ges = static_cast<double>(dz[i]) * eps[i] * sd[i];
      const double s2 = static_cast<double>(sd[i]) * sd[i];
      dlv_ref[i] = 0.5 * (ges + s2 - 1);
      dlv_tol[i] = 2 * kU * (std::abs(ges) + s2 + 1);
      dmu_sum += dmu_ref[i];
      dlv_sum += dlv_ref[i];
      dmu_abs += std::abs(dmu_ref[i]);
      dlv_abs += std::abs(dlv_ref[i]);
      dmu_err += dmu_tol[i];
      dlv_err += dlv_tol[i];
    }
    float got_dmu_sum = std::numeric_limits<float>::quiet_NaN(), got_dlv_sum = got_dmu_sum;
    ReparamBackward(dz.data(), mu.data(), lv.data(), eps.data(), sd.data(), dmu.data(), dlv.data(),
                    n, &got_dmu_sum, &got_dlv_sum);
    EXPECT_TRUE(AllNear("dmu", dmu.data(), dmu_ref, dmu_tol));
    EXPECT_TRUE(AllNear("dlogvar", dlv.data(), dlv_ref, dlv_tol));
    EXPECT_NEAR(got_dmu_sum, dmu_sum, dmu_err + SumRel(n) * dmu_abs);
    EXPECT_NEAR(got_dlv_sum, dlv_sum, dlv_err + SumRel(n) * dlv_abs);
    for (auto* g : {&dz, &mu, &lv, &eps, &sd, &dmu, &dlv}) EXPECT_TRUE(g->GuardsIntact());
  });
}

// Exact per element (a select); the sum within SumRel of sum |dh|. h exactly +0 and -0 must give
// a zero gradient, the smallest positive normal must pass the gradient through.
TEST(Kernels, ReluBackward) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 6));
    Guarded<float> dh(n, Mis(mis, 0)), h(n, Mis(mis, 1));
    std::vector<double> ref(n), tol(n, 0.0);
    double sum = 0, sum_abs = 0;
    for (size_t i = 0; i < n; ++i) {
      dh[i] = data.Uniform(-2.0f, 2.0f);
      const float negative = data.Uniform(-1.0f, 0.0f), positive = data.Uniform(0.0f, 3.0f);
      const float kinds[] = {0.0f,     -0.0f,   negative, std::numeric_limits<float>::min(),
                             positive, positive};
      h[i] = kinds[i % 6];
      ref[i] = h[i] > 0 ? dh[i] : 0.0;
      sum += ref[i];
      sum_abs += std::abs(ref[i]);
    }
    const float got = ReluBackward(dh.data(), h.data(), n);
    EXPECT_TRUE(AllNear("dh", dh.data(), ref, tol));
    EXPECT_NEAR(got, sum, SumRel(n) * sum_abs);
    EXPECT_TRUE(dh.GuardsIntact());
    EXPECT_TRUE(h.GuardsIntact());
  });
}

// Both directions of LeakyReLU against the plain formulas: exact (one product or none per value).
TEST(Kernels, LeakyReluAndItsBackward) {
  for (float slope : {0.2f, 0.01f}) {
    SCOPED_TRACE(slope);
    ForEachTargetSizeAndMisalign([slope](size_t n, size_t mis) {
      Data data(static_cast<uint32_t>(n * 4 + mis + 9));
      Guarded<float> x(n, Mis(mis, 0)), dh(n, Mis(mis, 1));
      std::vector<double> ref(n), dref(n), tol(n, 0.0);
      for (size_t i = 0; i < n; ++i) {
        const float kinds[] = {0.0f, -0.0f, data.Uniform(-3.0f, 0.0f), data.Uniform(0.0f, 3.0f),
                               std::numeric_limits<float>::quiet_NaN()};
        x[i] = kinds[i % 5];
        dh[i] = data.Uniform(-2.0f, 2.0f);
        ref[i] = x[i] < 0 ? static_cast<double>(x[i] * slope) : static_cast<double>(x[i]);
      }
      LeakyRelu(x.data(), slope, n);
      for (size_t i = 0; i < n; ++i) {
        if (std::isnan(ref[i])) {
          ASSERT_TRUE(std::isnan(x[i])) << "NaN hidden at " << i;
          x[i] = 1.0f;  // for the backward pass below
          ref[i] = 1.0;
        }
        dref[i] = x[i] > 0 ? dh[i] : static_cast<double>(dh[i] * slope);
      }
      EXPECT_TRUE(AllNear("LeakyRelu", x.data(), ref, tol));
      LeakyReluBackward(dh.data(), x.data(), slope, n);
      EXPECT_TRUE(AllNear("LeakyReluBackward", dh.data(), dref, tol));
      EXPECT_TRUE(x.GuardsIntact());
      EXPECT_TRUE(dh.GuardsIntact());
    });
  }
}

// Adam, six steps, each checked against the formula of kernels.h in double from the float state
// the kernel started the step with (so that errors do not compound across steps):
//   m: two products and an add, 3u (b1 |m| + (1 - b1) |g|);
//   v: g^2, two products and an add, 4u (b2 v + (1 - b2) g^2);
//   w: q = m / (sqrt(v) inv_sqrt_bc2 + eps). v has no cancellation, so the denominator is within
//      8u relative (v's 4u halved by the sqrt, the sqrt, product and sum roundings); the
//      division and the product step * q add 2u; then m's own error divided by the denominator;
//      finally the subtraction rounds to u |w|.
TEST(Kernels, AdamUpdate) {
  struct Hyper {
    float lr, beta1, beta2, eps;
  };
  for (const Hyper& hp : {Hyper{1e-3f, 0.9f, 0.999f, 1e-8f}, Hyper{0.1f, 0.5f, 0.75f, 1e-3f}}) {
    SCOPED_TRACE(::testing::Message() << "lr " << hp.lr << " beta1 " << hp.beta1);
    ForEachTargetSizeAndMisalign([&hp](size_t n, size_t mis) {
      Data data(static_cast<uint32_t>(n * 4 + mis + 7));
      Guarded<float> w(n, Mis(mis, 0)), m(n, Mis(mis, 1)), v(n, Mis(mis, 2)), g(n, Mis(mis, 3));
      for (size_t i = 0; i < n; ++i) {
        w[i] = data.Uniform(-1.0f, 1.0f);
        m[i] = v[i] = 0.0f;
      }
      const double b1 = hp.beta1, b2 = hp.beta2;
      for (int t = 1; t <= 6; ++t) {
        SCOPED_TRACE(::testing::Message() << "step " << t);
        const float step_size = static_cast<float>(hp.lr / (1 - std::pow(b1, t)));
        const float inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(1 - std::pow(b2, t)));
        std::vector<double> w_ref(n), m_ref(n), v_ref(n), w_tol(n), m_tol(n), v_tol(n);
        for (size_t i = 0; i < n; ++i) {
          // Gradients over six decades, with exact zeros (a first step of g = 0 leaves w alone).
          const float scale = std::pow(10.0f, data.Uniform(-5.0f, 1.0f));
          g[i] = (i + t) % 7 == 0 ? 0.0f : scale * data.Uniform(-1.0f, 1.0f);
          const double gd = g[i];
          m_ref[i] = b1 * m[i] + (1 - b1) * gd;
          m_tol[i] = 3 * kU * (b1 * std::abs(m[i]) + (1 - b1) * std::abs(gd));
          v_ref[i] = b2 * v[i] + (1 - b2) * gd * gd;
          v_tol[i] = 4 * kU * v_ref[i];
          const double denom = std::sqrt(v_ref[i]) * inv_sqrt_bc2 + hp.eps;
          const double update = step_size * m_ref[i] / denom;
          w_ref[i] = w[i] - update;
          w_tol[i] =
              kU * (std::abs(w_ref[i]) + 11 * std::abs(update)) + step_size * m_tol[i] / denom;
        }
        AdamUpdate(w.data(), m.data(), v.data(), g.data(), n, hp.beta1, hp.beta2, step_size,
                   inv_sqrt_bc2, hp.eps);
        ASSERT_TRUE(AllNear("m", m.data(), m_ref, m_tol));
        ASSERT_TRUE(AllNear("v", v.data(), v_ref, v_tol));
        ASSERT_TRUE(AllNear("w", w.data(), w_ref, w_tol));
      }
      for (auto* b : {&w, &m, &v, &g}) EXPECT_TRUE(b->GuardsIntact());
    });
  }
}

// Box-Muller against the pairing of edgevae/rng.h in double: u1 = ((w >> 8) + 1) 2^-24,
// u2 = (w >> 8) 2^-24, r = sqrt(-2 ln u1), out[j] = r cos(2 pi u2), out[j + 16] = r sin(2 pi u2).
// Tolerance: theta = 2 pi u2 is formed in float (2 pi rounded, then the product: |error| <=
// 2u 2 pi = 7.5e-7 rad) and Sin/Cos add a few ulp of 1 (3e-7), both scaled by r; the radius is
// within 1e-6 relative (Log's few ulp near u1 = 1 where ln u1 ~ u1 - 1 is tiny). So
// |out - ref| <= r (1.1e-6 + 1e-6) + 1e-7 .
TEST(Kernels, BoxMuller) {
  ForEachTarget([] {
    for (size_t chunks : {0, 1, 2, 3, 5, 8, 37}) {
      for (size_t mis = 0; mis <= kMaxMisalign; ++mis) {
        SCOPED_TRACE(::testing::Message() << "chunks " << chunks << " misalign " << mis);
        const size_t n = 32 * chunks;
        Data data(static_cast<uint32_t>(chunks * 4 + mis));
        Guarded<uint32_t> bits(n, mis);
        Guarded<float> out(n, Mis(mis, 1));
        static constexpr uint32_t kSpecial[] = {0u,          0xffffffffu, 0xffu,     0x100u,
                                                0xffffff00u, 0x80000000u, 0x400000u, 0xc0000000u};
        for (size_t i = 0; i < n; ++i) {
          bits[i] = i % 5 == 3 ? kSpecial[(i / 5) % std::size(kSpecial)] : data.Bits();
        }
        std::vector<double> ref(n), tol(n);
        for (size_t c = 0; c < chunks; ++c) {
          for (size_t j = 0; j < 16; ++j) {
            const double u1 = (static_cast<double>(bits[32 * c + j] >> 8) + 1) * 0x1p-24;
            const double u2 = static_cast<double>(bits[32 * c + j + 16] >> 8) * 0x1p-24;
            const double r = std::sqrt(-2 * std::log(u1));
            const double theta = 2 * std::numbers::pi * u2;
            ref[32 * c + j] = r * std::cos(theta);
            ref[32 * c + j + 16] = r * std::sin(theta);
            tol[32 * c + j] = tol[32 * c + j + 16] = r * 2.1e-6 + 1e-7;
          }
        }
        BoxMuller(bits.data(), out.data(), chunks);
        ASSERT_TRUE(AllNear("BoxMuller", out.data(), ref, tol));
        EXPECT_TRUE(bits.GuardsIntact());
        EXPECT_TRUE(out.GuardsIntact());
      }
    }
  });
}

// Each square rounds once (u x^2), then SumRel over sum x^2 for the sum.
TEST(Kernels, SumSquares) {
  ForEachTargetSizeAndMisalign([](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 8));
    Guarded<float> x(n, mis);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      x[i] = i % 8 == 1 ? 0.0f : data.Uniform(-3.0f, 3.0f) * (i % 8 == 5 ? 1e3f : 1.0f);
      sum += static_cast<double>(x[i]) * x[i];
    }
    const float got = SumSquares(x.data(), n);
    EXPECT_NEAR(got, sum, (SumRel(n) + kU) * sum);
    if (n == 0) {
      EXPECT_EQ(got, 0.0f);
    }
    EXPECT_TRUE(x.GuardsIntact());
  });
}

// Exact. The guards either side hold NaN, so a kernel that let a lane past n into its answer
// would report false; every non-finite kind at the first, a middle and the last position must be
// found, and the largest finite values must not be mistaken for infinities.
TEST(Kernels, AllFinite) {
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  constexpr float kBad[] = {std::numeric_limits<float>::quiet_NaN(), kInfinity, -kInfinity};
  ForEachTargetSizeAndMisalign([&](size_t n, size_t mis) {
    Data data(static_cast<uint32_t>(n * 4 + mis + 9));
    Guarded<float> x(n, mis);
    constexpr float kFinite[] = {std::numeric_limits<float>::max(),
                                 -std::numeric_limits<float>::max(), -0.0f,
                                 std::numeric_limits<float>::denorm_min()};
    for (size_t i = 0; i < n; ++i) {
      x[i] = i % 3 == 1 ? kFinite[(i / 3) % std::size(kFinite)] : data.Uniform(-1e6f, 1e6f);
    }
    EXPECT_TRUE(AllFinite(x.data(), n));
    for (size_t pos : {size_t{0}, n / 2, n - 1}) {
      if (pos >= n) continue;
      const float keep = x[pos];
      for (float bad : kBad) {
        x[pos] = bad;
        EXPECT_FALSE(AllFinite(x.data(), n)) << bad << " at " << pos;
      }
      x[pos] = keep;
    }
    EXPECT_TRUE(x.GuardsIntact());
  });
}

// Transpose against the obvious loop, bit for bit, on every target: odd sizes (ragged 4 x 4
// blocks and 16 x 16 tiles), padded leading dimensions whose source padding holds NaN, and
// destination padding and a tail that must stay untouched.
TEST(Kernels, TransposeMatchesNaiveLoop) {
  constexpr size_t kDims[] = {0, 1, 3, 4, 7, 15, 16, 17, 19, 23, 33, 64, 129};
  constexpr uint32_t kGuard = 0x7fc5a5a5u;  // a NaN payload no kernel produces
  ForEachTarget([&] {
    uint32_t state = 77;
    for (size_t rows : kDims) {
      for (size_t cols : kDims) {
        for (size_t pad_in : {0, 3}) {
          for (size_t pad_out : {0, 5}) {
            const size_t ld_in = cols + pad_in, ld_out = rows + pad_out;
            SCOPED_TRACE(::testing::Message() << rows << " x " << cols << " ld_in " << ld_in
                                              << " ld_out " << ld_out);
            std::vector<float> in(rows * ld_in + 1, std::numeric_limits<float>::quiet_NaN());
            for (size_t r = 0; r < rows; ++r) {
              for (size_t c = 0; c < cols; ++c) {
                state = state * 1664525u + 1013904223u;
                in[r * ld_in + c] = static_cast<float>(state >> 8) * 0x1p-24f - 0.5f;
              }
            }
            std::vector<float> out(cols * ld_out + 7, std::bit_cast<float>(kGuard));
            Transpose(in.data(), rows, cols, ld_in, out.data(), ld_out);
            for (size_t idx = 0; idx < out.size(); ++idx) {
              const size_t c = ld_out == 0 ? cols : idx / ld_out;
              const size_t r = ld_out == 0 ? 0 : idx % ld_out;
              if (c < cols && r < rows) {
                ASSERT_EQ(std::bit_cast<uint32_t>(out[idx]),
                          std::bit_cast<uint32_t>(in[r * ld_in + c]))
                    << "out[" << c << "][" << r << "]";
              } else {
                ASSERT_EQ(std::bit_cast<uint32_t>(out[idx]), kGuard) << "padding written at " << idx;
              }
            }
          }
        }
      }
    }
  });
}

TEST(Kernels, TargetNameIsTheBestSupportedTarget) {
  const std::vector<int64_t> targets = simd_test::TargetsUnderTest();
  ASSERT_FALSE(targets.empty());
  // SupportedAndGeneratedTargets lists the lowest bit first, and lower bits are better targets.
  EXPECT_STREQ(TargetName(), hwy::TargetName(targets.front()));
  std::printf("dispatching to %s; compiled and supported:", TargetName());
  for (int64_t t : targets) std::printf(" %s", hwy::TargetName(t));
  std::printf("\n");
}

// ScopedFlushDenormals: subnormal inputs read as zero and subnormal results become zero while it
// lives, on this thread and (through ParallelFlags) on the pool's threads; the caller's mode
// comes back after it, and outside it subnormals are kept.
TEST(Denormals, FlushedInsideTheScopeOnEveryThreadAndRestoredAfter) {
  volatile float tiny = 1e-39f;  // subnormal (the smallest normal float is 1.2e-38)
  ASSERT_TRUE(std::fpclassify(tiny) == FP_SUBNORMAL);
  const bool before = FlushingDenormals();
  ASSERT_FALSE(before) << "the test process starts with subnormals kept";
  EXPECT_NE(tiny * 1.0f, 0.0f);
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(2);
  ASSERT_TRUE(rt.ok()) << rt.status().message();
  {
    const ScopedFlushDenormals flush;
#if defined(__x86_64__) || defined(__aarch64__) || (defined(__arm__) && defined(__ARM_FP))
    EXPECT_TRUE(FlushingDenormals());
    EXPECT_EQ(tiny * 1.0f, 0.0f);               // the input read as zero (DAZ / FZ)
    EXPECT_EQ(tiny * 1.0f + 1e-39f * 0.5f, 0.0f);
    // Every tile of a parallel loop, on whichever thread, computes in the caller's mode.
    std::vector<float> out(64, -1.0f);
    ParallelTiles((*rt)->pool(), out.size(), 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) out[i] = tiny * 1.0f;
    });
    for (float v : out) EXPECT_EQ(v, 0.0f);
#endif
  }
  EXPECT_EQ(FlushingDenormals(), before);
  EXPECT_NE(tiny * 1.0f, 0.0f);
}

}  // namespace
}  // namespace edgevae::simd
