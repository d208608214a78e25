// The sum that the "mse3x3" anomaly score (edgevae/score.h) takes of a reconstruction's residual:
// over the pixels of a square image, the square of the residual's sum over the 3 x 3 patch around
// the pixel (zero outside the image). A digit drawn a pixel to one side of its reconstruction leaves
// a residual of +/- pairs side by side, which a patch's sum cancels; a stroke that is missing or
// extra leaves a patch of one sign, which it adds up. Internal to the runtime.
#ifndef EDGEVAE_RUNTIME_PATCH_ERROR_H_
#define EDGEVAE_RUNTIME_PATCH_ERROR_H_

#include <cstddef>

namespace edgevae {

// The widest image the patch sum takes (its rows live on the stack); MNIST's is 28.
inline constexpr size_t kPatchMaxSide = 64;

// Sum over the side x side pixels of (sum of residual(j) over the 3 x 3 patch around the pixel)^2,
// residual(j) the j-th pixel's residual in row-major order, `Acc` the accumulator's type. With
// integer residuals and `Acc` int64_t the sum is exact, so every platform gets the same bits;
// |residual| <= 2^16 and side <= kPatchMaxSide keep it far from overflow (9 * 2^16 squared,
// times 2^12 pixels, < 2^57). Separable: each row's sums of three neighbours, then three rows.
template <typename Acc, typename Residual>
Acc SquaredPatchSums(size_t side, const Residual& residual) {
  Acc rows[3][kPatchMaxSide] = {};  // horizontal sums of rows y - 1, y, y + 1 (by y % 3)
  auto row_sums = [&](size_t y, Acc* out) {
    for (size_t x = 0; x < side; ++x) {
      Acc s = static_cast<Acc>(residual(y * side + x));
      if (x > 0) s += static_cast<Acc>(residual(y * side + x - 1));
      if (x + 1 < side) s += static_cast<Acc>(residual(y * side + x + 1));
      out[x] = s;
    }
  };
  if (side > 0) row_sums(0, rows[0]);
  Acc total = 0;
  for (size_t y = 0; y < side; ++y) {
    Acc* below = rows[(y + 1) % 3];
    if (y + 1 < side) {
      row_sums(y + 1, below);
    } else {
      for (size_t x = 0; x < side; ++x) below[x] = 0;
    }
    const Acc* above = rows[(y + 2) % 3];  // row y - 1, or zeros at the top
    const Acc* here = rows[y % 3];
    for (size_t x = 0; x < side; ++x) {
      const Acc v = (y > 0 ? above[x] : Acc{0}) + here[x] + below[x];
      total += v * v;
    }
  }
  return total;
}

// The side of a square image of `pixels` pixels, or 0 when it is not square or wider than
// kPatchMaxSide.
inline size_t PatchSide(size_t pixels) {
  for (size_t side = 1; side <= kPatchMaxSide; ++side) {
    if (side * side == pixels) return side;
  }
  return 0;
}

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_PATCH_ERROR_H_
