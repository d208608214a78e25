#include "edgevae/golden.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "edgevae/engine.h"

namespace edgevae {

StatusOr<GoldenVectors> MakeGoldenVectors(const Model& f32_model, const ImageSet& images,
                                          int count) {
  if (images.pixels_per_image() != f32_model.shape().input) {
    return InvalidArgument("golden images have " + std::to_string(images.pixels_per_image()) +
                           " pixels; the model takes " + std::to_string(f32_model.shape().input));
  }
  count = std::min(count, images.count);
  if (count <= 0) return InvalidArgument("no images for golden vectors");
  EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                        Engine::Create(f32_model, EngineOptions{.max_batch = count, .threads = 1}));
  GoldenVectors g;
  g.count = count;
  const size_t n = static_cast<size_t>(count) * f32_model.shape().input;
  g.pixels.assign(images.pixels.begin(), images.pixels.begin() + n);
  g.reconstruction.resize(n);
  if (f32_model.shape().has_encoder()) {
    EVAE_RETURN_IF_ERROR(
        engine->Reconstruct(g.pixels.data(), count, false, 0, g.reconstruction.data()));
    return g;
  }
  // A generator alone: its samples of seed 0, and those samples in bytes for the pixels.
  EVAE_RETURN_IF_ERROR(engine->Sample(count, 0, g.reconstruction.data()));
  for (size_t i = 0; i < n; ++i) {
    g.pixels[i] = static_cast<uint8_t>(std::lround(g.reconstruction[i] * 255.0f));
  }
  return g;
}

}  // namespace edgevae
