// The lit (non-zero) pixels of a training batch, indexed both ways for the sparse first layer
// (kernels/sparse.h): by image, for the forward product (each image sums the weight rows of its
// lit pixels), and by pixel, for the weight gradient (each pixel's gradient row sums the output
// gradients of the images where it is lit). Internal to the tools library.
#ifndef EDGEVAE_TOOLS_LIT_PIXELS_H_
#define EDGEVAE_TOOLS_LIT_PIXELS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgevae {

// Compressed rows: row r's entries are [start[r], start[r + 1]).
struct SparseRows {
  std::vector<uint32_t> start, index;
  std::vector<float> value;
};

class LitPixels {
 public:
  // Indexes n batch-major rows of `width` pixels; entries in increasing pixel (by_image) and
  // image (by_pixel) order, so sums over them have a fixed order.
  void Index(const float* rows, size_t n, size_t width);
  // Lit pixels / (n * width) of the last Index.
  double density() const { return density_; }
  const SparseRows& by_image() const { return by_image_; }
  const SparseRows& by_pixel() const { return by_pixel_; }

 private:
  SparseRows by_image_, by_pixel_;
  std::vector<uint32_t> next_;  // the counting sort's cursors
  double density_ = 1;
};

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_LIT_PIXELS_H_
