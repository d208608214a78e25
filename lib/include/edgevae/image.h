// Image output: grids of grey images as PNG (libpng), to a file or to memory.
#ifndef EDGEVAE_IMAGE_H_
#define EDGEVAE_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/status.h"

namespace edgevae {

// A grid of `count` images (each rows x cols floats in [0, 1], row-major, consecutive) with
// `grid_cols` images per row, `pad` pixels of black between and around them, as 8-bit grey.
// Values outside [0, 1] are clamped; NaN is an error naming the image and pixel.
struct GreyImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height * width
};
StatusOr<GreyImage> MakeGrid(const float* images, int count, int rows, int cols, int grid_cols,
                             int pad);

// The image as the bytes of an 8-bit grey PNG file, encoded in memory (for a web server or a
// caller that stores it elsewhere). Rejects a non-positive or oversized image and a pixel count
// that does not match width x height.
StatusOr<std::vector<uint8_t>> EncodePng(const GreyImage& image);

// Writes an 8-bit grey PNG (EncodePng) atomically (temp file, fsync, rename).
Status WritePng(const std::string& path, const GreyImage& image);

}  // namespace edgevae

#endif  // EDGEVAE_IMAGE_H_
