// Binarized MNIST, the protocol of the likelihood literature (Burda et al. 2015, "dynamic"
// binarization): each pixel is drawn 1 with probability grey / 255. The draws come from the
// counter-based generator keyed by (seed, pass, image index), so they do not depend on batch
// order or thread count: training draws pass = epoch (dynamic, a new draw every epoch) or pass 0
// (static, one fixed draw), and the test set is drawn once, with kBinarizeTestPass.
#ifndef EDGEVAE_BINARIZE_H_
#define EDGEVAE_BINARIZE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "edgevae/idx.h"
#include "edgevae/status.h"

namespace edgevae {

enum class Binarization { kNone, kDynamic, kStatic };
const char* BinarizationName(Binarization b);  // "none", "dynamic", "static"
// From its name; errors name the value and the choices.
StatusOr<Binarization> ParseBinarization(std::string_view name);

// The pass of the test set's one draw (the largest pass a stream id holds).
inline constexpr uint32_t kBinarizeTestPass = 0xFFFFFF;
// The pass a training epoch (1-based) draws: the epoch (dynamic) or 0 (static).
inline uint32_t TrainingPass(Binarization b, int epoch) {
  return b == Binarization::kDynamic ? static_cast<uint32_t>(epoch) : 0;
}

// The n pixels of image `index` of draw `pass`, each 255 with probability grey / 255, else 0.
void BinarizeImage(const uint8_t* grey, size_t n, uint64_t seed, uint32_t pass, uint32_t index,
                   uint8_t* out);
// Every image of `images` (labels kept).
ImageSet BinarizeImages(const ImageSet& images, uint64_t seed, uint32_t pass);

}  // namespace edgevae

#endif  // EDGEVAE_BINARIZE_H_
