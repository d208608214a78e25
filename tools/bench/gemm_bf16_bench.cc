// The bf16 GEMM (kernels/gemm_bf16.h) against XNNPACK's f32 (kernels/gemm.h) on the products of
// a training step of the 784-400-20 network at batch 128 (lib/src/tools/backprop.cc, Plan), as
// M x N x K with the packed operand's layout. Per shape: Create alone (packing B: rounding and
// interleaving for bf16), Run alone on the packed operand, and Create + Run (what the trainer
// pays, since B changes every step), on 1 and 2 threads (Create packs on the calling thread).
// BM_Step* add up every product of one step.
//
// On a shared machine, compare ratios from interleaved runs (one command line):
//   build/release/tools/edgevae_gemm_bf16_bench --benchmark_repetitions=7
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// GFLOP/s counters use 2 M N K flops per product (0 for Create alone).
//
// BM_Unpacked and BM_StepUnpacked: the same step's products as the trainer runs them on the
// unpacked fp32 kernel (kernels/matmul.h): feature-major, nothing packed, so each product is one
// call (Y^T = W . X^T, dX^T = W^T . dY^T, dW = dY^T . X), with the same flops as BM_Step.
//
// BM_Peak* measure the core's own ceiling for each kind: 12 independent chains of VFMADD231PS
// (fp32, 16 multiply-adds each) or VDPBF16PS (bf16 pairs, 32 each) on registers, no memory, 1
// thread. vdpbf16ps does twice the multiply-adds per instruction; whether it runs as many
// instructions per cycle as the FMA is the CPU's (AMD Zen 4 and Intel Sapphire Rapids differ).
#include <benchmark/benchmark.h>
#include <cpuinfo.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/runtime.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matmul.h"

namespace edgevae {
namespace {

using gemm::BLayout;

struct Shape {
  const char* name;
  size_t m, n, k;
  BLayout layout;
  int per_step;  // how many products of a step have this shape
};
constexpr Shape kShapes[] = {
    {"fc1_fwd+fc4_igrad", 400, 128, 784, BLayout::kKN, 2},
    {"fc1_wgrad", 400, 784, 128, BLayout::kNK, 1},
    {"fc4_fwd", 784, 128, 400, BLayout::kKN, 1},
    {"fc4_wgrad", 784, 400, 128, BLayout::kNK, 1},
    {"heads_fwd", 128, 40, 400, BLayout::kNK, 1},
    {"heads_igrad", 400, 128, 40, BLayout::kKN, 1},
    {"heads_wgrad", 400, 40, 128, BLayout::kNK, 1},
    {"fc3_fwd", 400, 128, 20, BLayout::kKN, 1},
    {"fc3_igrad", 128, 20, 400, BLayout::kKN, 1},
    {"fc3_wgrad", 400, 20, 128, BLayout::kNK, 1},
};
constexpr int kShapeCount = static_cast<int>(sizeof(kShapes) / sizeof(kShapes[0]));

std::unique_ptr<Runtime> MakeRuntime(int threads) {
  auto rt = Runtime::Create(threads);
  if (!rt.ok()) {
    std::fprintf(stderr, "%s\n", rt.status().message().c_str());
    std::exit(1);
  }
  return std::move(rt).value();
}

void Die(const Status& s) {
  std::fprintf(stderr, "%s\n", s.message().c_str());
  std::exit(1);
}

struct Operands {
  AlignedBuffer<float> a, b, c;
  explicit Operands(const Shape& s) : a(s.m * s.k), b(s.n * s.k), c(s.m * s.n) {
    for (size_t i = 0; i < a.size(); ++i) a[i] = 0.001f * static_cast<float>(i % 97) - 0.04f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.002f * static_cast<float>(i % 89) - 0.09f;
  }
};

// The step's products in the unpacked kernel's form: C[m][n] = op(A)[m][k] . B[k][n].
struct UnpackedShape {
  const char* name;
  size_t m, n, k;
  simd::ALayout layout;
};
constexpr UnpackedShape kUnpackedShapes[] = {
    {"fc1_fwd", 400, 128, 784, simd::ALayout::kRowMajor},
    {"fc1_wgrad", 400, 784, 128, simd::ALayout::kRowMajor},
    {"fc4_fwd", 784, 128, 400, simd::ALayout::kRowMajor},
    {"fc4_igrad", 400, 128, 784, simd::ALayout::kTransposed},
    {"fc4_wgrad", 784, 400, 128, simd::ALayout::kRowMajor},
    {"heads_fwd", 40, 128, 400, simd::ALayout::kRowMajor},
    {"heads_igrad", 400, 128, 40, simd::ALayout::kTransposed},
    {"heads_wgrad", 40, 400, 128, simd::ALayout::kRowMajor},
    {"fc3_fwd", 400, 128, 20, simd::ALayout::kRowMajor},
    {"fc3_igrad", 20, 128, 400, simd::ALayout::kTransposed},
    {"fc3_wgrad", 400, 20, 128, simd::ALayout::kRowMajor},
};
constexpr int kUnpackedCount = static_cast<int>(sizeof(kUnpackedShapes) / sizeof(kUnpackedShapes[0]));

struct UnpackedOperands {
  UnpackedShape s;
  AlignedBuffer<float> a, b, c;
  explicit UnpackedOperands(const UnpackedShape& shape)
      : s(shape), a(s.m * s.k), b(s.k * s.n), c(s.m * s.n) {
    for (size_t i = 0; i < a.size(); ++i) a[i] = 0.001f * static_cast<float>(i % 97) - 0.04f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.002f * static_cast<float>(i % 89) - 0.09f;
  }
  void Run(pthreadpool_t pool) {
    const size_t lda = s.layout == simd::ALayout::kRowMajor ? s.k : s.m;
    simd::MatMul(s.m, s.n, s.k, a.data(), lda, s.layout, b.data(), s.n, c.data(), s.n, pool);
  }
};

// Args: shape index, threads.
void BM_Unpacked(benchmark::State& state) {
  UnpackedOperands x(kUnpackedShapes[state.range(0)]);
  auto rt = MakeRuntime(static_cast<int>(state.range(1)));
  x.Run(rt->pool());
  for (auto _ : state) {
    x.Run(rt->pool());
    benchmark::ClobberMemory();
  }
  state.SetLabel(x.s.name);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * x.s.m * x.s.n * x.s.k * state.iterations(),
                                                 benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_StepUnpacked(benchmark::State& state) {
  auto rt = MakeRuntime(static_cast<int>(state.range(0)));
  std::vector<std::unique_ptr<UnpackedOperands>> xs;
  double flops = 0;
  for (const UnpackedShape& s : kUnpackedShapes) {
    xs.push_back(std::make_unique<UnpackedOperands>(s));
    flops += 2.0 * s.m * s.n * s.k;
  }
  for (auto& x : xs) x->Run(rt->pool());
  for (auto _ : state) {
    for (auto& x : xs) x->Run(rt->pool());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations(),
                                                 benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1000);
}

enum class Kind { kF32, kBf16 };
enum class Mode { kCreate, kRun, kCreateRun };

// One engine's operator for a shape, created and run the way the trainer does (dense strides).
class Op {
 public:
  Op(Kind kind, const Shape& s) : kind_(kind), s_(s) {}
  void Create(const float* b) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    if (kind_ == Kind::kF32) {
      auto g = gemm::PackedGemm::Create(s_.n, s_.k, b, s_.layout, nullptr, -kInf, kInf, s_.k, s_.n);
      if (!g.ok()) Die(g.status());
      f32_ = std::move(g).value();
    } else {
      auto g = gemm::PackedGemmBf16::Create(s_.n, s_.k, b, s_.layout, s_.k, s_.n);
      if (!g.ok()) Die(g.status());
      bf16_ = std::move(g).value();
    }
  }
  void Run(const float* a, float* c, pthreadpool_t pool) {
    const Status st = kind_ == Kind::kF32 ? f32_.Run(s_.m, a, c, pool) : bf16_.Run(s_.m, a, c, pool);
    if (!st.ok()) Die(st);
  }

 private:
  Kind kind_;
  Shape s_;
  gemm::PackedGemm f32_;
  gemm::PackedGemmBf16 bf16_;
};

// Args: shape index, threads.
template <Kind kind, Mode mode>
void BM_Gemm(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  if (kind == Kind::kBf16 && !gemm::Bf16Available()) {
    state.SkipWithError("no AVX512_BF16 on this CPU");
    return;
  }
  auto rt = MakeRuntime(threads);
  Operands x(s);
  Op op(kind, s);
  op.Create(x.b.data());
  op.Run(x.a.data(), x.c.data(), rt->pool());  // scratch, setup and caches warm
  for (auto _ : state) {
    if (mode != Mode::kRun) op.Create(x.b.data());
    if (mode != Mode::kCreate) op.Run(x.a.data(), x.c.data(), rt->pool());
    benchmark::ClobberMemory();
  }
  state.SetLabel(s.name);
  // Every run has the counter (0 for Create alone): the CSV reporter aborts on a counter that the
  // first run it printed lacked, and random interleaving may print a Create first.
  const double flops = mode == Mode::kCreate ? 0.0 : 2.0 * s.m * s.n * s.k;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations(),
                                                 benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1000);
}

// Every product of a step, Create + Run, on one runtime.
template <Kind kind>
void BM_Step(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  if (kind == Kind::kBf16 && !gemm::Bf16Available()) {
    state.SkipWithError("no AVX512_BF16 on this CPU");
    return;
  }
  auto rt = MakeRuntime(threads);
  std::vector<std::unique_ptr<Operands>> xs;
  std::vector<std::unique_ptr<Op>> ops;
  double flops = 0;
  for (const Shape& s : kShapes) {
    for (int i = 0; i < s.per_step; ++i) {
      xs.push_back(std::make_unique<Operands>(s));
      ops.push_back(std::make_unique<Op>(kind, s));
      flops += 2.0 * s.m * s.n * s.k;
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i]->Create(xs[i]->b.data());
    ops[i]->Run(xs[i]->a.data(), xs[i]->c.data(), rt->pool());
  }
  for (auto _ : state) {
    for (size_t i = 0; i < ops.size(); ++i) {
      ops[i]->Create(xs[i]->b.data());
      ops[i]->Run(xs[i]->a.data(), xs[i]->c.data(), rt->pool());
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations(),
                                                 benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1000);
}

void ShapeArgs(benchmark::internal::Benchmark* b, bool threads2) {
  for (int i = 0; i < kShapeCount; ++i) {
    b->Args({i, 1});
    if (threads2) b->Args({i, 2});
  }
}

BENCHMARK(BM_Gemm<Kind::kF32, Mode::kCreate>)
    ->Apply([](auto* b) { ShapeArgs(b, false); })->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm<Kind::kBf16, Mode::kCreate>)
    ->Apply([](auto* b) { ShapeArgs(b, false); })->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm<Kind::kF32, Mode::kRun>)
    ->Apply([](auto* b) { ShapeArgs(b, true); })->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm<Kind::kBf16, Mode::kRun>)
    ->Apply([](auto* b) { ShapeArgs(b, true); })->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm<Kind::kF32, Mode::kCreateRun>)
    ->Apply([](auto* b) { ShapeArgs(b, true); })->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm<Kind::kBf16, Mode::kCreateRun>)
    ->Apply([](auto* b) { ShapeArgs(b, true); })->UseRealTime()->Unit(benchmark::kMicrosecond);
#if defined(__x86_64__)
// 12 chains of 1,000 instructions per iteration; flops = 2 x multiply-adds.
constexpr int kPeakChains = 12, kPeakSteps = 1000;

// The operands go through an empty asm each step so that the compiler cannot fold the chains
// (the operands would be constants); the asm emits no instruction.
__attribute__((target("avx512f"), noinline)) float PeakFma(float seed) {
  __m512 acc[kPeakChains];
  __m512 a = _mm512_set1_ps(seed), b = _mm512_set1_ps(1.0f - seed);
  __asm__("" : "+v"(a), "+v"(b));
  for (__m512& x : acc) x = _mm512_set1_ps(seed);
  for (int s = 0; s < kPeakSteps; ++s) {
    __asm__("" : "+v"(a), "+v"(b));
    for (__m512& x : acc) x = _mm512_fmadd_ps(a, b, x);
  }
  alignas(64) float out[16];
  __m512 sum = acc[0];
  for (int c = 1; c < kPeakChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  _mm512_store_ps(out, sum);
  return out[0];
}

__attribute__((target("avx512f,avx512bf16"), noinline)) float PeakDpbf16(float seed) {
  __m512 acc[kPeakChains];
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(seed), _mm512_set1_ps(seed));
  __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1 - seed), _mm512_set1_ps(1 - seed));
  __asm__("" : "+v"(a), "+v"(b));
  for (__m512& x : acc) x = _mm512_set1_ps(seed);
  for (int s = 0; s < kPeakSteps; ++s) {
    __asm__("" : "+v"(a), "+v"(b));
    for (__m512& x : acc) x = _mm512_dpbf16_ps(x, a, b);
  }
  alignas(64) float out[16];
  __m512 sum = acc[0];
  for (int c = 1; c < kPeakChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  _mm512_store_ps(out, sum);
  return out[0];
}

void BM_PeakFp32Fma(benchmark::State& state) {
  if (!cpuinfo_initialize() || !cpuinfo_has_x86_avx512f()) {
    state.SkipWithError("no AVX-512F");
    return;
  }
  float sink = 0;
  float seed = 0.001f;
  for (auto _ : state) {
    benchmark::DoNotOptimize(seed);  // a new call each iteration, not one hoisted out
    sink += PeakFma(seed);
    benchmark::DoNotOptimize(sink);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 16 * kPeakChains * kPeakSteps,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
void BM_PeakBf16Dot(benchmark::State& state) {
  if (!gemm::Bf16Available()) {
    state.SkipWithError("no AVX512_BF16");
    return;
  }
  float sink = 0;
  float seed = 0.001f;
  for (auto _ : state) {
    benchmark::DoNotOptimize(seed);  // a new call each iteration, not one hoisted out
    sink += PeakDpbf16(seed);
    benchmark::DoNotOptimize(sink);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 32 * kPeakChains * kPeakSteps,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PeakFp32Fma)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PeakBf16Dot)->Unit(benchmark::kMicrosecond);
#endif

BENCHMARK(BM_Step<Kind::kF32>)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Step<Kind::kBf16>)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepUnpacked)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Unpacked)
    ->Apply([](auto* b) {
      for (int i = 0; i < kUnpackedCount; ++i) b->Args({i, 1})->Args({i, 2});
    })
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace edgevae

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // A Runtime initialises XNNPACK and cpuinfo; keep one alive for the CPU's name.
  auto rt = edgevae::MakeRuntime(1);
  const cpuinfo_package* package = cpuinfo_get_package(0);
  benchmark::AddCustomContext("cpu", package != nullptr ? package->name : "unknown");
  benchmark::AddCustomContext("bf16_kernel",
                              edgevae::gemm::Bf16Available() ? "AVX512_BF16" : "unavailable");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
