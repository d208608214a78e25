#include "edgevae/binarize.h"

#include <string>

#include "edgevae/rng.h"

namespace edgevae {

const char* BinarizationName(Binarization b) {
  switch (b) {
    case Binarization::kNone:
      return "none";
    case Binarization::kDynamic:
      return "dynamic";
    case Binarization::kStatic:
      return "static";
  }
  return "?";
}

StatusOr<Binarization> ParseBinarization(std::string_view name) {
  for (Binarization b : {Binarization::kNone, Binarization::kDynamic, Binarization::kStatic}) {
    if (name == BinarizationName(b)) return b;
  }
  return InvalidArgument("binarization '" + std::string(name.substr(0, 40)) +
                         "': expected none, dynamic or static");
}

void BinarizeImage(const uint8_t* grey, size_t n, uint64_t seed, uint32_t pass, uint32_t index,
                   uint8_t* out) {
  const RngStream rng(seed, StreamId(RngPurpose::kBinarize, pass, index));
  constexpr size_t kChunk = 64;
  uint32_t bits[kChunk];
  for (size_t j0 = 0; j0 < n; j0 += kChunk) {
    const size_t m = n - j0 < kChunk ? n - j0 : kChunk;
    rng.FillBits(j0, bits, m);
    for (size_t j = 0; j < m; ++j) {
      // u uniform in [0, 2^24): lit iff u / 2^24 < grey / 255, in exact integers.
      const uint64_t u = bits[j] >> 8;
      out[j0 + j] = u * 255 < uint64_t{grey[j0 + j]} << 24 ? 255 : 0;
    }
  }
}

ImageSet BinarizeImages(const ImageSet& images, uint64_t seed, uint32_t pass) {
  ImageSet out = images;
  const size_t n = static_cast<size_t>(images.pixels_per_image());
  for (int i = 0; i < images.count; ++i) {
    BinarizeImage(images.image(i), n, seed, pass, static_cast<uint32_t>(i),
                  out.pixels.data() + static_cast<size_t>(i) * n);
  }
  return out;
}

}  // namespace edgevae
