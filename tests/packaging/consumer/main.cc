// A program built against an *installed* edgevae (find_package(edgevae) or pkg-config edgevae),
// as a user's device program would be: it includes only <edgevae/...> and links edgevae::edgevae.
// It reconstructs one image with a freshly initialized mnist model and with every model file
// named on the command line (the shipped VAEs; the GAN's generator draws a sample instead; a
// classifier is loaded and named), and fails unless every output is a probability.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"

namespace {

int Fail(const char* what, const std::string& message) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, message.c_str());
  return 1;
}

// Reconstructs one fixed image; 0 when all outputs are in [0, 1].
int ReconstructOne(edgevae::Engine& engine, const char* label) {
  const int input = engine.shape().input;
  std::vector<uint8_t> pixels(input);
  for (int i = 0; i < input; ++i) pixels[i] = static_cast<uint8_t>((i * 37) % 256);
  std::vector<float> out(input, std::numeric_limits<float>::quiet_NaN());
  // A generator alone (models/gan.q8.evae) has no encoder: it draws one sample instead.
  edgevae::Status status = engine.shape().has_encoder()
                               ? engine.Reconstruct(pixels.data(), 1, false, 0, out.data())
                               : engine.Sample(1, 0, out.data());
  if (!status.ok()) return Fail(label, status.message());
  double sum = 0;
  for (int i = 0; i < input; ++i) {
    if (!(out[i] >= 0.0f && out[i] <= 1.0f)) {
      return Fail(label, "output " + std::to_string(i) + " is " + std::to_string(out[i]) +
                             ", not a probability");
    }
    sum += out[i];
  }
  const std::string shape(engine.shape().name);
  std::printf("%s: %s %s, %s mean %.4f (SIMD %s)\n", label, shape.c_str(),
              engine.dtype(), engine.shape().has_encoder() ? "reconstruction" : "sample",
              sum / input, edgevae::SimdTargetName());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (std::strcmp(edgevae::Version(), EDGEVAE_EXPECTED_VERSION) != 0) {
    return Fail("version", std::string("library says ") + edgevae::Version() + ", expected " +
                               EDGEVAE_EXPECTED_VERSION);
  }
  edgevae::EngineOptions options;
  auto model = edgevae::Model::Create(edgevae::MnistShape::kInfo);
  if (!model.ok()) return Fail("Model::Create", model.status().message());
  model->InitializeLikeTorch(7);
  auto engine = edgevae::Engine::Create(*model, options);
  if (!engine.ok()) return Fail("Engine::Create", engine.status().message());
  if (int rc = ReconstructOne(**engine, "initialized model")) return rc;
  for (int i = 1; i < argc; ++i) {
    auto file = edgevae::LoadAnyModel(argv[i]);
    if (!file.ok()) return Fail(argv[i], file.status().message());
    // The judge (models/judge.evae) is a classifier: it loads, but has no decoder to run.
    if (file->f32 && !file->f32->shape().is_vae()) {
      std::printf("%s: %s, a %s (no engine)\n", argv[i], file->f32->shape().SizesText().c_str(),
                  edgevae::FamilyName(file->f32->shape().family));
      continue;
    }
    auto loaded = edgevae::Engine::Create(*file, options);
    if (!loaded.ok()) return Fail(argv[i], loaded.status().message());
    if (int rc = ReconstructOne(**loaded, argv[i])) return rc;
  }
  std::printf("edgevae %s consumer ok\n", edgevae::Version());
  return 0;
}
