// Grids of grey images and 8-bit grey PNG output.
//
// The PNG is encoded in memory with libpng's simplified API (png_image_write_to_memory), which
// handles libpng's longjmp error path internally: no setjmp frame sits above C++ objects here, so
// nothing is skipped by a longjmp. EncodePng returns the bytes (the web demo serves them);
// WritePng puts them on disk atomically (io::WriteFileAtomic).
#include "edgevae/image.h"

#include <png.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/file_util.h"

namespace edgevae {
namespace {

// Far beyond any grid we draw, small enough that width * height cannot overflow anything and
// within PNG's 2^31 - 1 limit per side.
constexpr int64_t kMaxSide = int64_t{1} << 20;
constexpr int64_t kMaxPixels = int64_t{1} << 30;

// Maps [0, 1] to 0..255 by rounding to nearest (0.5/255 steps land on the upper value). Values
// outside are clamped, +inf to 255 and -inf to 0; the caller has rejected NaN.
uint8_t ToByte(float v) {
  if (!(v > 0.0f)) return 0;
  if (!(v < 1.0f)) return 255;
  return static_cast<uint8_t>(v * 255.0f + 0.5f);
}

}  // namespace

StatusOr<GreyImage> MakeGrid(const float* images, int count, int rows, int cols, int grid_cols,
                             int pad) {
  if (count < 0)
    return InvalidArgument("MakeGrid: count must be >= 0, got " + std::to_string(count));
  if (rows <= 0 || cols <= 0) {
    return InvalidArgument("MakeGrid: image size must be positive, got " + std::to_string(rows) +
                           " x " + std::to_string(cols));
  }
  if (grid_cols <= 0) {
    return InvalidArgument("MakeGrid: grid_cols must be positive, got " +
                           std::to_string(grid_cols));
  }
  if (pad < 0) return InvalidArgument("MakeGrid: pad must be >= 0, got " + std::to_string(pad));
  if (count > 0 && images == nullptr) return InvalidArgument("MakeGrid: images is null");

  const int64_t grid_rows = (int64_t{count} + grid_cols - 1) / grid_cols;
  const int64_t width = pad + int64_t{grid_cols} * (cols + int64_t{pad});
  const int64_t height = pad + grid_rows * (rows + int64_t{pad});
  if (width > kMaxSide || height > kMaxSide || width * height > kMaxPixels) {
    return InvalidArgument("MakeGrid: a grid of " + std::to_string(count) + " images of " +
                           std::to_string(rows) + " x " + std::to_string(cols) + " with " +
                           std::to_string(grid_cols) + " per row and pad " + std::to_string(pad) +
                           " would be " + std::to_string(width) + " x " + std::to_string(height) +
                           " pixels, more than this function makes");
  }

  GreyImage grid;
  grid.width = static_cast<int>(width);
  grid.height = static_cast<int>(height);
  grid.pixels.assign(static_cast<size_t>(width * height), 0);
  const size_t per_image = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  for (int i = 0; i < count; ++i) {
    const float* src = images + static_cast<size_t>(i) * per_image;
    const int64_t top = pad + (i / grid_cols) * int64_t{rows + pad};
    const int64_t left = pad + (i % grid_cols) * int64_t{cols + pad};
    for (int r = 0; r < rows; ++r) {
      uint8_t* dst = grid.pixels.data() + (top + r) * width + left;
      for (int c = 0; c < cols; ++c) {
        const float v = src[static_cast<size_t>(r) * cols + c];
        if (std::isnan(v)) {
          return DataError("MakeGrid: image " + std::to_string(i) + " pixel " +
                           std::to_string(static_cast<size_t>(r) * cols + c) + " (row " +
                           std::to_string(r) + ", col " + std::to_string(c) + ") is NaN");
        }
        dst[c] = ToByte(v);
      }
    }
  }
  return grid;
}

StatusOr<std::vector<uint8_t>> EncodePng(const GreyImage& image) {
  if (image.width <= 0 || image.height <= 0) {
    return InvalidArgument("EncodePng: image size must be positive, got " +
                           std::to_string(image.width) + " x " + std::to_string(image.height));
  }
  if (image.width > kMaxSide || image.height > kMaxSide ||
      int64_t{image.width} * image.height > kMaxPixels) {
    return InvalidArgument("EncodePng: image of " + std::to_string(image.width) + " x " +
                           std::to_string(image.height) + " is too large");
  }
  const size_t expected = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  if (image.pixels.size() != expected) {
    return InvalidArgument("EncodePng: expected " + std::to_string(expected) + " pixels for " +
                           std::to_string(image.width) + " x " + std::to_string(image.height) +
                           ", found " + std::to_string(image.pixels.size()));
  }

  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_GRAY;
  // One pass: libpng's own bound on the encoded size (zlib's worst case plus the chunks), so the
  // image is compressed once rather than measured and then compressed again.
  png_alloc_size_t encoded_size = PNG_IMAGE_PNG_SIZE_MAX(png);
  std::vector<uint8_t> encoded(encoded_size);
  if (!png_image_write_to_memory(&png, encoded.data(), &encoded_size, 0, image.pixels.data(),
                                 image.width, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    return Internal("EncodePng: libpng failed to encode a " + std::to_string(image.width) + " x " +
                    std::to_string(image.height) + " image: " + message);
  }
  png_image_free(&png);
  encoded.resize(encoded_size);
  return encoded;
}

Status WritePng(const std::string& path, const GreyImage& image) {
  if (path.empty()) return InvalidArgument("WritePng: empty path");
  // Encode first: a failure here touches no file.
  StatusOr<std::vector<uint8_t>> encoded = EncodePng(image);
  if (!encoded.ok()) {
    return Status(encoded.status().code(),
                  "WritePng: '" + path + "': " + encoded.status().message());
  }
  return io::WriteFileAtomic(path, *encoded);
}

}  // namespace edgevae
