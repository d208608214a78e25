#include "embedded_models.h"

#include <cstdint>

// Defined in the generated mnist_q8_data.cc and mnist2d_q8_data.cc.
extern const uint8_t edgevae_mnist_q8[];
extern const size_t edgevae_mnist_q8_size;
extern const uint8_t edgevae_mnist2d_q8[];
extern const size_t edgevae_mnist2d_q8_size;

namespace edgevae::digits {

std::span<const uint8_t> EmbeddedMnistBytes() { return {edgevae_mnist_q8, edgevae_mnist_q8_size}; }
std::span<const uint8_t> EmbeddedMnist2dBytes() {
  return {edgevae_mnist2d_q8, edgevae_mnist2d_q8_size};
}

// Read in place (LoadEmbeddedModel): the layers point into the program's read-only data, which
// the kernel can drop and fault in again from the executable; nothing is copied.
StatusOr<AnyModel> LoadEmbeddedMnist() {
  return LoadEmbeddedModel(EmbeddedMnistBytes(), "embedded mnist.q8.evae");
}
StatusOr<AnyModel> LoadEmbeddedMnist2d() {
  return LoadEmbeddedModel(EmbeddedMnist2dBytes(), "embedded mnist2d.q8.evae");
}

}  // namespace edgevae::digits
