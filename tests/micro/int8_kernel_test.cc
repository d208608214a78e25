// GemvI8 (its SMLAD/SXTB16 path) and GemvPackedI16 (its LDM/SMLAD assembly) on a microcontroller
// against plain int32 arithmetic, run under qemu-system-arm by the micro presets: odd row counts,
// input sizes that are and are not multiples of 4, every weight and input extreme, misaligned
// rows (GemvI8). The requantization is the same RequantizeI32 on both sides, so the int8 outputs
// must be equal.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/int8.h"
#include "kernels/packed_i16.h"

namespace {

uint32_t g_state = 12345;
uint32_t Next() {  // xorshift32: deterministic test data
  g_state ^= g_state << 13;
  g_state ^= g_state >> 17;
  g_state ^= g_state << 5;
  return g_state;
}

// The number of row alignments (of 3) at which GemvI8 differs for this shape.
int Check(size_t rows, size_t k) {
  std::vector<int8_t> w(rows * k + 3), x(k + 64);
  std::vector<int32_t> bias(rows), sums(rows);
  for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(Next() % 255) - 127);  // [-127, 127]
  for (int8_t& v : x) v = static_cast<int8_t>(Next());
  if (k > 0) {  // the extremes
    w[0] = 127;
    w[rows * k - 1] = -127;
    x[0] = -128;
    x[k - 1] = 127;
  }
  for (int32_t& b : bias) b = static_cast<int32_t>(Next() % 20001) - 10000;
  int bad = 0;
  for (size_t offset : {size_t{0}, size_t{1}, size_t{3}}) {  // rows at odd addresses
    const int8_t* wp = w.data() + offset;
    if (offset + rows * k > w.size()) continue;
    for (size_t r = 0; r < rows; ++r) {
      int32_t s = bias[r];
      for (size_t i = 0; i < k; ++i) s += int32_t{wp[r * k + i]} * x[i];
      sums[r] = s;
    }
    std::vector<float> scales(rows);  // one per row, as a per-row quantized layer has
    for (size_t r = 0; r < rows; ++r) scales[r] = 0.0037f * (1.0f + 0.25f * (r % 4));
    std::vector<int8_t> want(rows), got(rows);
    edgevae::simd::RequantizeI32(sums.data(), rows, scales.data(), 3, -128, 127, want.data());
    edgevae::simd::GemvI8(wp, rows, k, x.data(), bias.data(), scales.data(), 3, -128, 127,
                          got.data());
    for (size_t r = 0; r < rows; ++r) {
      if (got[r] != want[r]) {
        std::printf("rows %lu k %lu offset %lu: row %lu got %d want %d\n",
                    static_cast<unsigned long>(rows), static_cast<unsigned long>(k),
                    static_cast<unsigned long>(offset), static_cast<unsigned long>(r), got[r],
                    want[r]);
        ++bad;
        break;
      }
    }
  }
  return bad;
}

// Whether GemvPackedI16 on the packed weights of a random layer equals the plain sums,
// requantized; and whether unpacking gives the weights back.
int CheckPacked(size_t rows, size_t k) {
  namespace simd = edgevae::simd;
  std::vector<int8_t> w(rows * k), x(k), back(rows * k);
  std::vector<int32_t> bias(simd::PackedRows(rows)), sums(rows);
  for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(Next() % 255) - 127);
  for (int8_t& v : x) v = static_cast<int8_t>(Next());
  w[0] = 127;
  w[rows * k - 1] = -127;
  x[0] = -128;
  x[k - 1] = 127;
  for (int32_t& b : bias) b = static_cast<int32_t>(Next() % 20001) - 10000;
  std::vector<int16_t> packed(simd::PackedRows(rows) * simd::PackedCols(k));
  simd::PackI16(w.data(), rows, k, packed.data());
  size_t at = 0;
  if (!simd::UnpackI16(packed.data(), rows, k, back.data(), &at) || back != w) {
    std::printf("packed rows %lu k %lu: unpacking does not give the weights back\n",
                static_cast<unsigned long>(rows), static_cast<unsigned long>(k));
    return 1;
  }
  for (size_t r = 0; r < rows; ++r) {
    int32_t s = bias[r];
    for (size_t i = 0; i < k; ++i) s += int32_t{w[r * k + i]} * x[i];
    sums[r] = s;
  }
  std::vector<float> scales(rows);
  for (size_t r = 0; r < rows; ++r) scales[r] = 0.0037f * (1.0f + 0.25f * (r % 4));
  std::vector<int8_t> want(rows), got(rows);
  simd::RequantizeI32(sums.data(), rows, scales.data(), 3, -128, 127, want.data());
  const simd::PackedRequant rq{.row_scales = scales.data(), .zero_point = 3};
  simd::GemvPackedI16(packed.data(), rows, k, x.data(), bias.data(), rq, got.data());
  for (size_t r = 0; r < rows; ++r) {
    if (got[r] != want[r]) {
      std::printf("packed rows %lu k %lu: row %lu got %d want %d\n",
                  static_cast<unsigned long>(rows), static_cast<unsigned long>(k),
                  static_cast<unsigned long>(r), got[r], want[r]);
      return 1;
    }
  }
  return 0;
}

// GemvPackedI16Pixels on raw pixels (blank ones 0) against the plain sums: `lit` pixels in 8.
int CheckPackedPixels(size_t rows, size_t k, int lit) {
  namespace simd = edgevae::simd;
  std::vector<int8_t> w(rows * k);
  std::vector<uint8_t> pixels(k, 0);
  for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(Next() % 255) - 127);
  for (uint8_t& v : pixels) v = static_cast<int>(Next() % 8) < lit ? static_cast<uint8_t>(Next()) : 0;
  pixels[k - 1] = 255;
  std::vector<int32_t> bias(simd::PackedRows(rows)), sums(rows);
  for (size_t r = 0; r < rows; ++r) bias[r] = static_cast<int32_t>(Next() % 20001) - 10000;
  std::vector<int16_t> packed(simd::PackedRows(rows) * simd::PackedCols(k));
  simd::PackI16(w.data(), rows, k, packed.data());
  std::vector<float> scales(rows);
  for (size_t r = 0; r < rows; ++r) {
    scales[r] = 0.0021f * (1.0f + 0.25f * (r % 4));
    int32_t s = bias[r];
    for (size_t i = 0; i < k; ++i) s += int32_t{w[r * k + i]} * pixels[i];
    sums[r] = s;
  }
  std::vector<int8_t> want(rows), got(rows);
  simd::RequantizeI32(sums.data(), rows, scales.data(), -128, -128, 127, want.data());
  const simd::PackedRequant rq{.row_scales = scales.data(), .zero_point = -128};
  simd::GemvPackedI16Pixels(packed.data(), rows, k, pixels.data(), bias.data(), rq, got.data());
  if (got != want) {
    std::printf("packed pixels rows %lu k %lu lit %d/8 differ\n", static_cast<unsigned long>(rows),
                static_cast<unsigned long>(k), lit);
    return 1;
  }
  return 0;
}

// RequantizeI32 against plain arithmetic (std::nearbyint rounds half to even), including sums
// that land exactly on a half step, and both clamps.
int CheckRequantize() {
  constexpr size_t kN = 4096;
  std::vector<int32_t> acc(kN);
  std::vector<float> scales(kN);
  for (size_t i = 0; i < kN; ++i) {
    acc[i] = static_cast<int32_t>(Next() % 200001) - 100000;
    scales[i] = i % 4 == 0 ? 0.5f : 0.0001f * static_cast<float>(1 + Next() % 40000);
  }
  std::vector<int8_t> got(kN);
  edgevae::simd::RequantizeI32(acc.data(), kN, scales.data(), 5, -128, 127, got.data());
  for (size_t i = 0; i < kN; ++i) {
    float x = static_cast<float>(acc[i]) * scales[i];
    x = std::min(std::max(x, -133.0f), 122.0f);
    const int want = static_cast<int>(std::nearbyint(x)) + 5;
    if (got[i] != want) {
      std::printf("RequantizeI32: acc %ld scale %g got %d want %d\n", static_cast<long>(acc[i]),
                  static_cast<double>(scales[i]), got[i], want);
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main() {
  int bad = 0, cases = 0;
  for (size_t rows : {1, 2, 3, 7, 19, 23, 64, 65, 130}) {
    for (size_t k : {1, 3, 4, 7, 8, 20, 23, 64, 400, 784, 1030}) {
      bad += Check(rows, k);
      cases += 3;
    }
  }
  std::printf("GemvI8: %d of %d (shape, row alignment) cases differ from the plain sums\n", bad,
              cases);
  int bad_packed = 0, cases_packed = 0;
  for (size_t rows : {1, 2, 3, 4, 7, 47, 48, 49, 50, 130}) {
    for (size_t k : {1, 3, 4, 5, 20, 23, 400, 784, 1021, 1024}) {
      bad_packed += CheckPacked(rows, k);
      ++cases_packed;
    }
  }
  std::printf("GemvPackedI16 (%s): %d of %d shapes differ from the plain sums\n",
              edgevae::simd::PackedI16UsesDsp() ? "DSP assembly" : "plain C++", bad_packed,
              cases_packed);
  int bad_pixels = 0, cases_pixels = 0;
  for (size_t rows : {1, 3, 64, 400}) {
    for (size_t k : {1, 5, 28, 784, 1024}) {
      for (int lit : {0, 2, 8}) {
        bad_pixels += CheckPackedPixels(rows, k, lit);
        ++cases_pixels;
      }
    }
  }
  std::printf("GemvPackedI16Pixels: %d of %d cases differ from the plain sums\n", bad_pixels,
              cases_pixels);
  bad_packed += bad_pixels;
  const int bad_requantize = CheckRequantize();
  const bool ok = bad == 0 && bad_packed == 0 && bad_requantize == 0;
  if (ok) std::printf("int8 kernels ok\n");
  return ok ? 0 : 1;
}
