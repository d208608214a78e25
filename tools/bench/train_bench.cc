// Training-side benchmarks: one Adam step at batch 128, the XNNPACK products of a step, and the
// element-wise kernels. Run: build/release/tools/edgevae_train_bench [--benchmark_repetitions=5]
// Reports medians; GFLOP/s counters use 2*m*n*k flops per product.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "edgevae/train.h"
#include "kernels/gemm.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/optimizer.h"

namespace edgevae {
namespace {

std::unique_ptr<Runtime> MakeRuntime(int threads) {
  auto rt = Runtime::Create(threads);
  if (!rt.ok()) {
    std::fprintf(stderr, "%s\n", rt.status().message().c_str());
    std::exit(1);
  }
  return std::move(rt).value();
}

// Random grey images (MNIST-like statistics do not matter for timing).
std::vector<uint8_t> RandomImages(int n, int pixels) {
  std::vector<uint8_t> out(static_cast<size_t>(n) * pixels);
  const RngStream rng(7, 0);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(rng.Bits(i) >> 24);
  return out;
}

// FLOPs of one training step of the mnist shape at batch b: 4 forward, 3 input-gradient and
// 4 weight-gradient products.
double StepFlops(double b) {
  const double in = 784, hid = 400, lat = 20;
  const double fwd = in * hid + hid * 2 * lat + lat * hid + hid * in;
  const double igrad = hid * in + lat * hid + 2 * lat * hid;
  return 2 * b * (2 * fwd + igrad);
}

void BM_TrainStep(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  auto rt = MakeRuntime(threads);
  auto model = Model::Create(MnistShape::kInfo);
  model->InitializeLikeTorch(1);
  auto trainer = CreateTrainer(&model.value(), rt.get(), TrainOptions{});
  const auto images = RandomImages(128, 784);
  int step = 0;
  for (auto _ : state) {
    auto loss = (*trainer)->Step(images.data(), 128, 1, step++);
    benchmark::DoNotOptimize(loss.ok());
  }
  state.counters["threads"] = threads;
  state.counters["GFLOP/s"] = benchmark::Counter(StepFlops(128) * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
  state.counters["images/s"] =
      benchmark::Counter(128.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStep)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// One product C[m][n] = A[m][k] B^T: create (pack) + run, as the trainer does each step.
void BM_GemmCreateRun(benchmark::State& state) {
  const size_t m = state.range(0), n = state.range(1), k = state.range(2);
  auto rt = MakeRuntime(1);
  AlignedBuffer<float> a(m * k), b(n * k), c(m * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.001f * (i % 97);
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.002f * (i % 89);
  for (auto _ : state) {
    auto st = gemm::Gemm(m, n, k, a.data(), b.data(), gemm::BLayout::kKN, c.data(), nullptr);
    benchmark::DoNotOptimize(st.ok());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
// The largest products of a step: fc1 / dH3 (400x128x784), fc4 (784x128x400), dW4 (784x400x128).
BENCHMARK(BM_GemmCreateRun)->Args({400, 128, 784})->Args({784, 128, 400})->Args({784, 400, 128})
    ->Unit(benchmark::kMicrosecond);

// W4 (784 x 400) transposed for the input-gradient product, once per step.
void BM_Transpose(benchmark::State& state) {
  const size_t rows = state.range(0), cols = state.range(1);
  AlignedBuffer<float> in(rows * cols), out(rows * cols);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  for (auto _ : state) {
    simd::Transpose(in.data(), rows, cols, cols, out.data(), rows);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * cols);
}
BENCHMARK(BM_Transpose)->Args({784, 400})->Args({128, 784})->Unit(benchmark::kMicrosecond);

void BM_BceWithLogitsGrad(benchmark::State& state) {
  const size_t n = state.range(0);
  AlignedBuffer<float> l(n), x(n), saved(n);
  for (size_t i = 0; i < n; ++i) saved[i] = 0.01f * static_cast<float>(i % 1000) - 5.0f;
  for (auto _ : state) {
    std::copy(saved.data(), saved.data() + n, l.data());
    float gs;
    benchmark::DoNotOptimize(simd::BceWithLogitsGrad(l.data(), x.data(), 0.1f, n, &gs));
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(simd::TargetName());
}
BENCHMARK(BM_BceWithLogitsGrad)->Arg(784 * 128);

void BM_AdamUpdate(benchmark::State& state) {
  const size_t n = state.range(0);
  AlignedBuffer<float> w(n), m(n), v(n), g(n);
  for (size_t i = 0; i < n; ++i) g[i] = 1e-3f * static_cast<float>(i % 13);
  for (auto _ : state) {
    simd::AdamUpdate(w.data(), m.data(), v.data(), g.data(), n, 0.9f, 0.999f, 1e-3f, 1.0f, 1e-8f);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 28);  // read w m v g, write w m v
}
BENCHMARK(BM_AdamUpdate)->Arg(MnistShape::kInfo.ParamCount());

}  // namespace
}  // namespace edgevae

BENCHMARK_MAIN();
