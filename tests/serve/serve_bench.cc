// Where a web request's time goes, without the network: one digit's PNG (MakeGrid + EncodePng),
// and whole handler calls (draw, int8 decode, PNG) on the shipped model. Google Benchmark;
// timings are for humans to read, not checked.
//
//   build/release/tests/serve/serve_bench [--benchmark_filter=...]
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "edgevae/model_file.h"
#include "edgevae/image.h"
#include "serve.h"

namespace edgevae::digits {
namespace {

void BM_EncodePngDigit(benchmark::State& state) {
  std::vector<float> digit(784);
  for (int i = 0; i < 784; ++i) {  // a soft vertical stroke, like a decoded 1
    const float dx = static_cast<float>(i % 28 - 14);
    digit[i] = std::exp(-dx * dx / 4.0f);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    StatusOr<GreyImage> grid = MakeGrid(digit.data(), 1, 28, 28, 1, 0);
    StatusOr<std::vector<uint8_t>> png = EncodePng(*grid);
    bytes = png->size();
    benchmark::DoNotOptimize(png->data());
  }
  state.counters["png_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodePngDigit);

DigitHandler* ShippedHandler() {
  static DigitHandler* handler = [] {
    const std::string dir = EDGEVAE_SOURCE_DIR "/models/";
    static StatusOr<AnyModel> model = LoadAnyModel(dir + "mnist.q8.evae");
    static StatusOr<AnyModel> model2d = LoadAnyModel(dir + "mnist2d.q8.evae");
    if (!model.ok() || !model2d.ok()) {
      std::fprintf(stderr, "serve_bench: cannot load the shipped models in %s\n", dir.c_str());
      std::exit(1);
    }
    StatusOr<std::unique_ptr<DigitHandler>> h = DigitHandler::Create({}, *model, &*model2d);
    if (!h.ok()) {
      std::fprintf(stderr, "serve_bench: %s\n", h.status().message().c_str());
      std::exit(1);
    }
    return std::move(h).value().release();
  }();
  return handler;
}

void BM_Handle(benchmark::State& state, const std::string& path, QueryParams params) {
  DigitHandler* h = ShippedHandler();
  for (auto _ : state) {
    HttpResponse r = h->Handle(path, params);
    if (r.status != 200) state.SkipWithError(r.body.c_str());
    benchmark::DoNotOptimize(r.body.data());
  }
}
BENCHMARK_CAPTURE(BM_Handle, digit, std::string("/digit"), QueryParams{{"d", "7"}});
BENCHMARK_CAPTURE(BM_Handle, sample, std::string("/sample"), QueryParams{});
BENCHMARK_CAPTURE(BM_Handle, interpolate, std::string("/interpolate"),
                  QueryParams{{"a", "4"}, {"b", "9"}, {"t", "0.3"}});
BENCHMARK_CAPTURE(BM_Handle, latent2d, std::string("/latent2d"),
                  QueryParams{{"x", "0.5"}, {"y", "-1"}});
BENCHMARK_CAPTURE(BM_Handle, manifold20, std::string("/manifold"), QueryParams{});

}  // namespace
}  // namespace edgevae::digits

BENCHMARK_MAIN();
