// A stand-in for `edgevae-digits serve` in the tests and benchmarks of tests/serve: loads model
// files and calls Serve, so that the socket tests serve exactly the models they made (the
// converter stores the per-class latent statistics /digit needs).
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "edgevae/file.h"
#include "serve.h"

namespace {

int Fail(const edgevae::Status& s) {
  std::fprintf(stderr, "serve_harness: error: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Serves the digit demo's web page from model files (a test harness for Serve)");
  std::string model_path, model2d_path;
  edgevae::digits::ServeOptions options;
  app.add_option("--model", model_path, "The 20-D model")->required();
  app.add_option("--model2d", model2d_path, "The 2-D model (sliders, manifold)");
  app.add_option("--bind", options.bind, "Address to listen on");
  app.add_option("--port", options.port, "Port (0: any free one)");
  app.add_option("--threads", options.threads, "Engine threads");
  app.add_option("--seed", options.seed, "First seed of requests without one");
  CLI11_PARSE(app, argc, argv);

  edgevae::StatusOr<edgevae::AnyModel> model = edgevae::LoadAnyModel(model_path);
  if (!model.ok()) return Fail(model.status());
  std::optional<edgevae::AnyModel> model2d;
  if (!model2d_path.empty()) {
    edgevae::StatusOr<edgevae::AnyModel> loaded = edgevae::LoadAnyModel(model2d_path);
    if (!loaded.ok()) return Fail(loaded.status());
    model2d = std::move(loaded).value();
  }
  return edgevae::digits::Serve(options, *model, model2d ? &*model2d : nullptr);
}
