// A host program built against an *installed* edgevae's tools library (find_package(edgevae),
// edgevae::tools): it trains a freshly initialized mnist2d model for two steps on synthetic
// images, saves it, loads it back, and encodes a sample as PNG; it fails unless each step works
// and the loaded weights are the saved ones.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/image.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"

namespace {

int Fail(const char* what, const std::string& message) {
  std::fprintf(stderr, "consumer_tools: %s: %s\n", what, message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage", "consumer_tools OUT.evae");
  auto model = edgevae::Model::Create(edgevae::Mnist2dShape::kInfo);
  if (!model.ok()) return Fail("Model::Create", model.status().message());
  model->InitializeLikeTorch(3);
  auto runtime = edgevae::Runtime::Create(1);
  if (!runtime.ok()) return Fail("Runtime::Create", runtime.status().message());
  edgevae::TrainOptions options;
  options.batch = 8;
  auto trainer = edgevae::CreateTrainer(&*model, runtime->get(), options);
  if (!trainer.ok()) return Fail("CreateTrainer", trainer.status().message());
  std::vector<uint8_t> pixels(8 * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 37) % 256);
  for (int step = 0; step < 2; ++step) {
    auto loss = (*trainer)->Step(pixels.data(), 8, 1, step);
    if (!loss.ok()) return Fail("Step", loss.status().message());
  }
  if (auto s = edgevae::SaveModel(argv[1], *model); !s.ok()) return Fail("SaveModel", s.message());
  auto loaded = edgevae::LoadModel(argv[1]);
  if (!loaded.ok()) return Fail("LoadModel", loaded.status().message());
  if (std::memcmp(loaded->params(), model->params(), model->param_floats() * sizeof(float)) != 0) {
    return Fail("LoadModel", "the loaded weights differ from the saved ones");
  }
  edgevae::GreyImage image;
  image.width = image.height = 28;
  image.pixels.assign(pixels.begin(), pixels.begin() + 784);
  auto png = edgevae::EncodePng(image);
  if (!png.ok()) return Fail("EncodePng", png.status().message());
  std::printf("edgevae %s consumer tools ok (%zu-byte PNG)\n", edgevae::Version(), png->size());
  return 0;
}
