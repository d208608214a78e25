// The mse3x3 score's sum (edgevae/score.h) by its definition, for the tests of the runtime's
// separable, integer and float versions (runtime/patch_error.h): for each pixel of a side x side
// image, the residual summed over the pixels of its 3 x 3 patch that lie in the image, squared,
// summed over the pixels.
#ifndef EDGEVAE_TESTS_COMMON_PATCH_MSE_H_
#define EDGEVAE_TESTS_COMMON_PATCH_MSE_H_

#include <cmath>
#include <vector>

namespace edgevae::testutil {

struct PatchMse {
  double sum = 0;        // sum over pixels of (patch sum)^2
  double abs_patches = 0;  // sum over pixels of |patch sum|: bounds how far rounding moves `sum`
};

inline PatchMse PlainPatchMse(const std::vector<double>& residual, int side) {
  PatchMse r;
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      double patch = 0;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < side && xx >= 0 && xx < side) patch += residual[yy * side + xx];
        }
      }
      r.sum += patch * patch;
      r.abs_patches += std::fabs(patch);
    }
  }
  return r;
}

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_PATCH_MSE_H_
