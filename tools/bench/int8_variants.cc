// Per-tensor against per-channel int8 weights, for the choice documented in docs/performance.md.
// XNNPACK's qs8 fully-connected operator takes one weight scale per tensor; per-channel scales
// need a 1x1 qc8 convolution. Both use the same activation ranges (percentile calibration), so
// only the weight granularity differs. Prints the test loss (same noise as EvaluateEngine) and
// the median batch-1 reconstruct time on one thread for each.
//
//   build/release/tools/edgevae_int8_variants MODEL.evae [MNIST_DIR]
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/model_file.h"
#include "edgevae/quant.h"
#include "edgevae/rng.h"
#include "kernels/elementwise.h"
#include "kernels/int8.h"
#include "kernels/loss.h"

namespace edgevae {
namespace {

// One layer as a 1x1 qc8 convolution over a row of n "pixels" (the batch).
struct Qc8Layer {
  xnn_operator_t op = nullptr;
  const Int8Layer* q = nullptr;
  ~Qc8Layer() {
    if (op != nullptr) xnn_delete_operator(op);
  }
  bool Create(const Int8Layer& layer, const float* w, const float* b) {
    q = &layer;
    std::vector<float> scales(layer.out);
    std::vector<int8_t> wq(static_cast<size_t>(layer.out) * layer.in);
    std::vector<int32_t> bq(layer.out);
    for (int o = 0; o < layer.out; ++o) {
      float m = 0;
      for (int i = 0; i < layer.in; ++i) m = std::max(m, std::fabs(w[o * layer.in + i]));
      scales[o] = m > 0 ? m / 127.0f : 1.0f;
      for (int i = 0; i < layer.in; ++i) {
        wq[o * layer.in + i] = static_cast<int8_t>(std::lround(w[o * layer.in + i] / scales[o]));
      }
      bq[o] = static_cast<int32_t>(std::nearbyint(b[o] / (layer.input.scale * scales[o])));
    }
    const int8_t out_min = layer.relu ? static_cast<int8_t>(layer.output.zero_point) : -128;
    return xnn_create_convolution2d_nhwc_qc8(
               0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, layer.in, layer.out, layer.in, layer.out,
               static_cast<int8_t>(layer.input.zero_point), layer.input.scale, scales.data(),
               wq.data(), bq.data(), static_cast<int8_t>(layer.output.zero_point),
               layer.output.scale, out_min, 127, 0, &op) == xnn_status_success;
  }
  void Run(size_t n, const int8_t* in, int8_t* out) {
    xnn_setup_convolution2d_nhwc_qc8(op, 1, 1, n, in, out, nullptr);
    xnn_run_operator(op, nullptr);
  }
};

// The shape's layers as per-channel int8 (the layers of the table in order), run like the int8
// engine backend: activations int8 from layer to layer.
struct PerChannel {
  std::vector<Qc8Layer> layers;
  std::vector<AlignedBuffer<int8_t>> act;  // per layer: its output
  AlignedBuffer<int8_t> xq, zq;
  ShapeInfo shape;
  size_t in, lat;
  PerChannel(const Model& m, const Int8Model& q, size_t max_n)
      : layers(q.layers.size()), act(q.layers.size()), shape(m.shape()), in(m.shape().input),
        lat(m.shape().latent) {
    for (size_t i = 0; i < q.layers.size(); ++i) {
      const LayerParams& p = m.layout().layers[i];
      layers[i].Create(q.layers[i], m.params() + p.weight, m.params() + p.bias);
      act[i].Resize(max_n * static_cast<size_t>(q.layers[i].out));
    }
    xq.Resize(max_n * in);
    zq.Resize(max_n * lat);
  }
  void Encode(const uint8_t* px, size_t n, float* mu, float* lv) {
    simd::U8ToI8Centered(px, xq.data(), n * in);
    const int8_t* h = xq.data();
    const size_t mean = shape.Find(LayerRole::kMean), logvar = shape.Find(LayerRole::kLogVar);
    for (size_t i = 0; i < mean; ++i) {
      layers[i].Run(n, h, act[i].data());
      h = act[i].data();
    }
    layers[mean].Run(n, h, act[mean].data());
    layers[logvar].Run(n, h, act[logvar].data());
    const QuantRange& mr = layers[mean].q->output;
    const QuantRange& lr = layers[logvar].q->output;
    simd::DequantizeI8(act[mean].data(), mr.scale, mr.zero_point, mu, n * lat);
    simd::DequantizeI8(act[logvar].data(), lr.scale, lr.zero_point, lv, n * lat);
  }
  void DecodeLogits(const float* z, size_t n, float* logits) {
    const size_t first = shape.Find(LayerRole::kDecoder), last = shape.Find(LayerRole::kLogits);
    const QuantRange& zr = layers[first].q->input;
    simd::QuantizeI8(z, zr.scale, zr.zero_point, zq.data(), n * lat);
    const int8_t* h = zq.data();
    for (size_t i = first; i <= last; ++i) {
      layers[i].Run(n, h, act[i].data());
      h = act[i].data();
    }
    const QuantRange& r = layers[last].q->output;
    simd::DequantizeI8(act[last].data(), r.scale, r.zero_point, logits, n * in);
  }
};

// EvaluateEngine's test loss (blocks of 256, the same noise), through the per-channel layers.
double TestLoss(PerChannel& pc, const ImageSet& test, uint64_t seed) {
  const size_t in = pc.in, lat = pc.lat, block = 256;
  std::vector<float> mu(block * lat), lv(block * lat), eps(block * lat), sd(lat), x(in),
      logits(block * in);
  AlignedBuffer<float> z(block * lat);
  double total = 0;
  for (size_t first = 0, b = 0; first < static_cast<size_t>(test.count); first += block, ++b) {
    const size_t n = std::min(block, test.count - first);
    const uint8_t* px = test.image(static_cast<int>(first));
    pc.Encode(px, n, mu.data(), lv.data());
    FillNormal(RngStream(seed, StreamId(RngPurpose::kEvalNoise, static_cast<uint32_t>(b), 0)), 0,
               eps.data(), n * lat);
    for (size_t i = 0; i < n; ++i) {
      total += simd::ReparamForward(mu.data() + i * lat, lv.data() + i * lat, eps.data() + i * lat,
                                    z.data() + i * lat, sd.data(), lat);
    }
    pc.DecodeLogits(z.data(), n, logits.data());
    for (size_t i = 0; i < n; ++i) {
      simd::U8ToF32(px + i * in, x.data(), in);
      total += simd::BceWithLogits(logits.data() + i * in, x.data(), in);
    }
  }
  return total / test.count;
}

template <typename F>
double MedianUs(F&& f) {
  std::vector<double> t;
  for (int i = 0; i < 3300; ++i) {
    const auto s = std::chrono::steady_clock::now();
    f();
    if (i >= 300) {
      t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s)
                      .count());
    }
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.evae [MNIST_DIR]\n", argv[0]);
    return 2;
  }
  auto model = LoadModel(argv[1]);
  auto data = LoadMnist(argc > 2 ? argv[2] : "data/mnist");
  if (!model.ok() || !data.ok()) {
    std::fprintf(stderr, "%s\n", (!model.ok() ? model.status() : data.status()).message().c_str());
    return 1;
  }
  auto rt = Runtime::Create(1);
  auto q = QuantizeInt8(*model, rt->get(), data->train, Calibration::kPercentile);
  auto f32 = Engine::Create(*model, {.max_batch = 256, .threads = 1});
  auto tensor = Engine::Create(*q, {.max_batch = 256, .threads = 1});
  PerChannel channel(*model, *q, 256);
  const double f32_loss = EvaluateEngine(**f32, data->test, 1)->test_loss;
  const double tensor_loss = EvaluateEngine(**tensor, data->test, 1)->test_loss;
  const double channel_loss = TestLoss(channel, data->test, 1);

  const uint8_t* px = data->test.image(0);
  std::vector<float> out(784), mu(20), lv(20);
  AlignedBuffer<float> z(20);
  const double tensor_us =
      MedianUs([&] { (void)(*tensor)->Reconstruct(px, 1, false, 0, out.data()); });
  const double channel_us = MedianUs([&] {
    channel.Encode(px, 1, mu.data(), lv.data());
    std::copy(mu.begin(), mu.end(), z.data());
    channel.DecodeLogits(z.data(), 1, out.data());
    simd::Sigmoid(out.data(), out.data(), 784);
  });
  std::printf("f32                  test loss %.3f\n", f32_loss);
  std::printf("int8 per-tensor      test loss %.3f (%+.3f)  batch-1 reconstruct %.1f us\n",
              tensor_loss, tensor_loss - f32_loss, tensor_us);
  std::printf("int8 per-channel     test loss %.3f (%+.3f)  batch-1 reconstruct %.1f us\n",
              channel_loss, channel_loss - f32_loss, channel_us);
  return 0;
}

}  // namespace
}  // namespace edgevae

int main(int argc, char** argv) { return edgevae::Main(argc, argv); }
