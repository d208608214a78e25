// Training-side benchmarks: one Adam step at batch 128 (on MNIST digits, which take the first
// layer's sparse path, and on grey images, which take the dense one), the first layer's products
// both ways by the share of lit pixels, the step's largest products on the unpacked kernel, and
// the element-wise kernels. Run: build/release/tools/edgevae_train_bench [--benchmark_repetitions=5]
// Reports medians; GFLOP/s counters use 2*m*n*k flops per product.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "edgevae/train.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/matmul.h"
#include "kernels/optimizer.h"
#include "kernels/sparse.h"
#include "tools/lit_pixels.h"

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

// The first 128 MNIST training digits (data/mnist, tools/fetch-mnist.sh).
std::vector<uint8_t> Digits() {
  auto mnist = LoadMnist(EDGEVAE_MNIST_DIR);
  if (!mnist.ok()) {
    std::fprintf(stderr, "%s\n", mnist.status().message().c_str());
    std::exit(1);
  }
  const uint8_t* first = mnist->train.image(0);
  return std::vector<uint8_t>(first, first + 128 * 784);
}

// range(0): threads; range(1): 1 = MNIST digits (sparse first layer), 0 = grey images (dense).
void BM_TrainStep(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  auto rt = MakeRuntime(threads);
  auto model = Model::Create(MnistShape::kInfo);
  model->InitializeLikeTorch(1);
  auto trainer = CreateTrainer(&model.value(), rt.get(), TrainOptions{});
  const auto images = state.range(1) != 0 ? Digits() : RandomImages(128, 784);
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
BENCHMARK(BM_TrainStep)
    ->ArgNames({"threads", "digits"})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({1, 0})
    ->Args({2, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The first layer's two products (forward and weight gradient, 784 -> 400 at batch 128) for a
// batch with range(1) percent of its pixels lit, on 1 thread, with everything each way costs per
// step: range(0) = 1 sparse (index the batch, W^T, both sparse products, dW^T into place), 0 dense
// (both products on the unpacked kernel, the pixels as given: X^T and the batch's rows).
void BM_FirstLayer(benchmark::State& state) {
  const bool sparse = state.range(0) != 0;
  const double density = state.range(1) / 100.0;
  auto rt = MakeRuntime(1);  // initialises XNNPACK
  const size_t n = 128, in = 784, out = 400;
  std::vector<float> x(n * in);
  const RngStream rng(9, 1);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = rng.Uniform(2 * i) < density ? 0.05f + 0.95f * rng.Uniform(2 * i + 1) : 0.0f;
  }
  AlignedBuffer<float> xt(in * n), w(out * in), dy(out * n), y(out * n), dw(out * in);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.001f * static_cast<float>(i % 97) - 0.05f;
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = 0.01f * static_cast<float>(i % 31) - 0.15f;
  simd::Transpose(x.data(), n, in, in, xt.data(), n);
  const size_t stride = simd::SparseStride(out);
  AlignedBuffer<float> wt(in * stride), bias(stride), rows(n * stride), dwt(in * stride);
  LitPixels lit;
  for (auto _ : state) {
    if (sparse) {
      lit.Index(x.data(), n, in);
      simd::Transpose(w.data(), out, in, in, wt.data(), stride);
      const SparseRows& im = lit.by_image();
      simd::SparseTimesDense(im.start.data(), im.index.data(), im.value.data(), 0, n, wt.data(),
                             stride, bias.data(), true, rows.data());
      simd::Transpose(rows.data(), n, out, stride, y.data(), n);
      simd::Transpose(dy.data(), out, n, n, rows.data(), stride);
      const SparseRows& px = lit.by_pixel();
      simd::SparseTimesDense(px.start.data(), px.index.data(), px.value.data(), 0, in,
                             rows.data(), stride, nullptr, false, dwt.data());
      simd::Transpose(dwt.data(), in, out, stride, dw.data(), in);
    } else {
      simd::MatMul(out, n, in, w.data(), in, simd::ALayout::kRowMajor, xt.data(), n, y.data(), n,
                   nullptr);
      simd::MatMul(out, in, n, dy.data(), n, simd::ALayout::kRowMajor, x.data(), in, dw.data(),
                   in, nullptr);
    }
    benchmark::ClobberMemory();
  }
  state.SetLabel(sparse ? "sparse" : "dense");
}
BENCHMARK(BM_FirstLayer)
    ->ArgNames({"sparse", "lit%"})
    ->ArgsProduct({{1, 0}, {10, 19, 30, 40, 50, 60}})
    ->Unit(benchmark::kMicrosecond);

// One product of a step as the trainer runs it, C[m][n] = op(A)[m][k] . B[k][n], nothing packed;
// range(3): 1 = A transposed (input gradients).
void BM_MatMul(benchmark::State& state) {
  const size_t m = state.range(0), n = state.range(1), k = state.range(2);
  const auto layout = state.range(3) != 0 ? simd::ALayout::kTransposed : simd::ALayout::kRowMajor;
  AlignedBuffer<float> a(m * k), b(k * n), c(m * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.001f * (i % 97);
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.002f * (i % 89);
  const size_t lda = layout == simd::ALayout::kRowMajor ? k : m;
  for (auto _ : state) {
    simd::MatMul(m, n, k, a.data(), lda, layout, b.data(), n, c.data(), n, nullptr);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
// The largest products of a step: fc4's forward (784x128x400), its input gradient (400x128x784,
// W read transposed) and its weight gradient (784x400x128).
BENCHMARK(BM_MatMul)
    ->Args({784, 128, 400, 0})
    ->Args({400, 128, 784, 1})
    ->Args({784, 400, 128, 0})
    ->Unit(benchmark::kMicrosecond);

// W (784 x 400) transposed for the sparse first layer, once per step; a batch's pixels.
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
