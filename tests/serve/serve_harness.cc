// A stand-in for `edgevae-digits serve` in the tests and benchmarks of tests/serve: loads model
// files and calls Serve. A model without per-class latent statistics gets them computed from
// labelled images (--class-data, the MNIST training set) with the library's
// ComputeClassLatentStats, as the converter of a shipped model does; --save-model writes the
// result and exits, so that the served process never holds the training set (make_models.sh).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "edgevae/data.h"
#include "edgevae/engine.h"
#include "edgevae/file.h"
#include "edgevae/latent.h"
#include "serve.h"

namespace {

int Fail(const edgevae::Status& s) {
  std::fprintf(stderr, "serve_harness: error: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Serves the digit demo's web page from model files (a test harness for Serve)");
  std::string model_path, model2d_path, class_data;
  int class_images = 10000;
  edgevae::digits::ServeOptions options;
  app.add_option("--model", model_path, "The 20-D model")->required();
  app.add_option("--model2d", model2d_path, "The 2-D model (sliders, manifold)");
  app.add_option("--class-data", class_data,
                 "MNIST directory: compute per-class latents when the model has none");
  app.add_option("--class-images", class_images, "Training images to compute them over")
      ->check(CLI::Range(1, 60000));
  std::string save_path;
  app.add_option("--save-model", save_path,
                 "Write the model (with the computed class latents) here and exit, not serve");
  app.add_option("--bind", options.bind, "Address to listen on");
  app.add_option("--port", options.port, "Port (0: any free one)");
  app.add_option("--threads", options.threads, "Engine threads");
  app.add_option("--seed", options.seed, "First seed of requests without one");
  CLI11_PARSE(app, argc, argv);

  edgevae::StatusOr<edgevae::AnyModel> model = edgevae::LoadAnyModel(model_path);
  if (!model.ok()) return Fail(model.status());
  edgevae::ModelMetadata& metadata = model->int8 ? model->int8->metadata : model->f32->metadata();
  if (metadata.class_latents.empty() && !class_data.empty()) {
    edgevae::StatusOr<edgevae::ImageSet> train =
        edgevae::LoadImageSet(class_data + "/train-images-idx3-ubyte",
                              class_data + "/train-labels-idx1-ubyte");
    if (!train.ok()) return Fail(train.status());
    train->count = std::min(train->count, class_images);
    train->pixels.resize(static_cast<size_t>(train->count) * train->pixels_per_image());
    train->labels.resize(train->count);
    edgevae::EngineOptions engine_options;
    engine_options.max_batch = 256;
    auto engine = edgevae::Engine::Create(*model, engine_options);
    if (!engine.ok()) return Fail(engine.status());
    auto stats = edgevae::ComputeClassLatentStats(**engine, *train);
    if (!stats.ok()) return Fail(stats.status());
    metadata.class_latents = std::move(stats).value();
  }
  if (!save_path.empty()) {
    const edgevae::GoldenVectors* golden = model->golden ? &*model->golden : nullptr;
    edgevae::Status s = model->int8 ? edgevae::SaveInt8Model(save_path, *model->int8, golden)
                        : model->f16 ? edgevae::SaveF16Model(save_path, *model->f32, golden)
                        : golden    ? edgevae::SaveModelWithGolden(save_path, *model->f32, *golden)
                                    : edgevae::SaveModel(save_path, *model->f32);
    return s.ok() ? 0 : Fail(s);
  }
  std::optional<edgevae::AnyModel> model2d;
  if (!model2d_path.empty()) {
    edgevae::StatusOr<edgevae::AnyModel> loaded = edgevae::LoadAnyModel(model2d_path);
    if (!loaded.ok()) return Fail(loaded.status());
    model2d = std::move(loaded).value();
  }
  return edgevae::digits::Serve(options, *model, model2d ? &*model2d : nullptr);
}
