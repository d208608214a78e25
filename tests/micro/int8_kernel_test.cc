// GemvI8 on a microcontroller (its SMLAD/SXTB16 path) against plain int32 arithmetic, run under
// qemu-system-arm by the micro presets: odd row counts, input sizes that are and are not
// multiples of 4, every weight and input extreme, misaligned rows. The requantization is the
// same RequantizeI32 on both sides, so the int8 outputs must be equal.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/int8.h"

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
  if (bad == 0) std::printf("int8 kernels ok\n");
  return bad == 0 ? 0 : 1;
}
