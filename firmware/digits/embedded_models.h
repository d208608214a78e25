// The shipped int8 models (models/mnist.q8.evae, models/mnist2d.q8.evae), compiled into the
// program by cmake/EmbedModel.cmake so that edgevae-digits runs with no files at all.
#ifndef EDGEVAE_FIRMWARE_DIGITS_EMBEDDED_MODELS_H_
#define EDGEVAE_FIRMWARE_DIGITS_EMBEDDED_MODELS_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae::digits {

// The file bytes of the embedded models.
std::span<const uint8_t> EmbeddedMnistBytes();    // 784-400-20, int8
std::span<const uint8_t> EmbeddedMnist2dBytes();  // 784-400-2, int8

// The embedded models, loaded and validated like files (checksum, shapes, metadata).
StatusOr<AnyModel> LoadEmbeddedMnist();
StatusOr<AnyModel> LoadEmbeddedMnist2d();

}  // namespace edgevae::digits

#endif  // EDGEVAE_FIRMWARE_DIGITS_EMBEDDED_MODELS_H_
