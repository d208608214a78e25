#include "tools/lit_pixels.h"

#include "kernels/sparse.h"

namespace edgevae {
namespace {
constexpr size_t kSlack = 64;  // floats: a vector of the widest target, and more
}  // namespace

void LitPixels::Index(const float* rows, size_t n, size_t width) {
  SparseRows& img = by_image_;
  SparseRows& pix = by_pixel_;
  img.start.assign(n + 1, 0);
  // One vector of slack: CompressNonZero may write that far past its last entry.
  img.index.resize(n * width + kSlack);
  img.value.resize(n * width + kSlack);
  pix.start.assign(width + 1, 0);
  uint32_t lit = 0;
  for (size_t i = 0; i < n; ++i) {
    lit += static_cast<uint32_t>(simd::CompressNonZero(rows + i * width, width, &img.index[lit],
                                                       &img.value[lit], &pix.start[1]));
    img.start[i + 1] = lit;
  }
  // By pixel: a counting sort of the same entries, images in increasing order within a pixel.
  for (size_t p = 0; p < width; ++p) pix.start[p + 1] += pix.start[p];
  pix.index.resize(lit);
  pix.value.resize(lit);
  next_.assign(pix.start.begin(), pix.start.end() - 1);
  for (size_t i = 0; i < n; ++i) {
    for (uint32_t j = img.start[i]; j < img.start[i + 1]; ++j) {
      const uint32_t slot = next_[img.index[j]]++;
      pix.index[slot] = static_cast<uint32_t>(i);
      pix.value[slot] = img.value[j];
    }
  }
  density_ = n * width == 0 ? 1.0 : static_cast<double>(lit) / static_cast<double>(n * width);
}

}  // namespace edgevae
