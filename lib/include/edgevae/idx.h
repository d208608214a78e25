// MNIST-style data: the IDX format (LeCun et al.) read and validated. A reader names the file and
// what is wrong (magic, type, dimensions, length) instead of guessing.
#ifndef EDGEVAE_IDX_H_
#define EDGEVAE_IDX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/status.h"

namespace edgevae {

// A u8 IDX array: dims (big-endian in the file) and the values.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> values;  // product(dims) bytes
};

// Reads an IDX file of unsigned bytes (type code 0x08). Errors name the path and say what was
// expected and found: bad magic, unsupported type, zero or too many dimensions, truncated data,
// trailing bytes.
StatusOr<IdxArray> ReadIdx(const std::string& path);
// The same on bytes already in memory; `name` is used in messages.
StatusOr<IdxArray> ParseIdx(const uint8_t* data, size_t size, const std::string& name);
// Writes an IDX u8 file (atomic: temp file, fsync, rename).
Status WriteIdx(const std::string& path, const IdxArray& array);

// Grey images, row-major, one byte per pixel, and optional labels (0..9).
struct ImageSet {
  int count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols
  std::vector<uint8_t> labels;  // count, or empty when there are no labels
  int pixels_per_image() const { return rows * cols; }
  const uint8_t* image(int i) const { return pixels.data() + static_cast<size_t>(i) * rows * cols; }
};

// Images (3-D IDX) and, if labels_path is non-empty, labels (1-D IDX of the same count).
StatusOr<ImageSet> LoadImageSet(const std::string& images_path, const std::string& labels_path);

struct MnistData {
  ImageSet train;  // 60,000 images
  ImageSet test;   // 10,000 images
};
// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte from `dir`; a missing file's error says to run tools/fetch-mnist.sh.
StatusOr<MnistData> LoadMnist(const std::string& dir);

// A 3-D IDX image file (gzip or not) that may be damaged: a file cut short keeps its complete
// images. *damage receives what was wrong (ok if nothing) and *declared_count the image count
// the header promised. Errors only when no image can be recovered (bad header, cannot open).
StatusOr<ImageSet> LoadImagesSalvaging(const std::string& path, Status* damage,
                                       int* declared_count);

// The images whose label is in `labels`, in order (none if the set has no labels).
ImageSet SelectLabels(const ImageSet& set, const std::vector<int>& labels);

// The first `n` images of `set` (n larger than count keeps all).
ImageSet Head(const ImageSet& set, int n);

}  // namespace edgevae

#endif  // EDGEVAE_IDX_H_
