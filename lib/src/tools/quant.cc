#include "edgevae/quant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>

#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/judge.h"
#include "edgevae/rng.h"
#include "runtime/f32_inference.h"

namespace edgevae {
namespace {

// The affine int8 range for real values in [lo, hi] (widened to contain 0, so that 0 and a ReLU's
// floor are exact).
QuantRange RangeOf(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QuantRange r;
  r.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  r.zero_point = static_cast<int32_t>(std::lround(-128.0 - lo / r.scale));
  r.zero_point = std::clamp(r.zero_point, -128, 127);
  return r;
}

double QuantError(const std::vector<float>& v, const QuantRange& r) {
  double e = 0;
  for (float x : v) {
    const float q =
        std::clamp(std::nearbyint(x / r.scale) + static_cast<float>(r.zero_point), -128.0f, 127.0f);
    const double d = x - r.scale * (q - static_cast<float>(r.zero_point));
    e += d * d;
  }
  return e;
}

// The range of the output logits: what the engine shows of them is sigmoid(logit), a pixel, so the
// range is the clipping of [min, max] that minimises the mean |pixel error| of the rounded
// logits. Logits far below zero are pixels that are black either way; the range they would take
// from a per-activation objective costs resolution where the pixels are grey (docs/performance.md,
// "Faithful int8").
QuantRange PixelErrorRange(const std::vector<float>& v) {
  if (v.empty()) return RangeOf(0, 1);
  std::vector<float> sub;  // every 1/50000th value suffices to rank clippings
  const size_t step = std::max<size_t>(1, v.size() / 50000);
  for (size_t i = 0; i < v.size(); i += step) sub.push_back(v[i]);
  std::vector<double> pixel(sub.size());
  const auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  for (size_t i = 0; i < sub.size(); ++i) pixel[i] = sigmoid(sub[i]);
  const auto [mn, mx] = std::minmax_element(sub.begin(), sub.end());
  const float lo = *mn, hi = *mx;
  QuantRange best = RangeOf(lo, hi);
  double best_err = std::numeric_limits<double>::infinity();
  for (int a = 100; a >= 2; a -= 2) {
    for (int b = 100; b >= 50; b -= 10) {
      const QuantRange r = RangeOf(lo * static_cast<float>(a) / 100.0f,
                                   hi * static_cast<float>(b) / 100.0f);
      // A range has 256 levels: their pixels once, then a lookup per value.
      double level[256];
      for (int q = -128; q < 128; ++q) level[q + 128] = sigmoid(r.scale * (q - r.zero_point));
      double err = 0;
      for (size_t i = 0; i < sub.size(); ++i) {
        const float q = std::clamp(std::nearbyint(sub[i] / r.scale) +
                                       static_cast<float>(r.zero_point), -128.0f, 127.0f);
        err += std::fabs(level[static_cast<int>(q) + 128] - pixel[i]);
      }
      if (err < best_err) {
        best_err = err;
        best = r;
      }
    }
  }
  return best;
}

QuantRange Calibrate(std::vector<float> v, Calibration method) {
  if (v.empty()) return RangeOf(0, 1);
  const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  const float lo = *mn, hi = *mx;
  switch (method) {
    case Calibration::kMinMax:
      return RangeOf(lo, hi);
    case Calibration::kPercentile: {
      const size_t a = static_cast<size_t>(0.0001 * static_cast<double>(v.size() - 1));
      const size_t b = static_cast<size_t>(0.9999 * static_cast<double>(v.size() - 1));
      std::nth_element(v.begin(), v.begin() + a, v.end());
      const float plo = v[a];
      std::nth_element(v.begin(), v.begin() + b, v.end());
      return RangeOf(plo, v[b]);
    }
    case Calibration::kMse: {
      // Every 1/50000th value suffices to rank clippings; the range shrinks towards 0.
      std::vector<float> sub;
      const size_t step = std::max<size_t>(1, v.size() / 50000);
      for (size_t i = 0; i < v.size(); i += step) sub.push_back(v[i]);
      QuantRange best = RangeOf(lo, hi);
      double best_err = QuantError(sub, best);
      for (int k = 99; k >= 20; --k) {
        const float a = static_cast<float>(k) / 100.0f;
        const QuantRange r = RangeOf(lo * a, hi * a);
        const double e = QuantError(sub, r);
        if (e < best_err) {
          best_err = e;
          best = r;
        }
      }
      return best;
    }
  }
  return RangeOf(lo, hi);
}

// Layer `i` of `model`: symmetric weights with one scale per output row, int32 biases for its
// input range, and its calibrated output range. A row's own scale keeps its small weights off the
// grid of the layer's largest one (the 2-D decoder's rows differ fifteenfold in size; the mean
// |pixel error| this saves: docs/performance.md, "Faithful int8").
void QuantizeLayer(const Model& model, size_t i, const QuantRange& input, const QuantRange& output,
                   Int8Model* q) {
  const LayerInfo& spec = model.shape().layers[i];
  const float* w = model.params() + model.layout().layers[i].weight;
  const float* b = model.params() + model.layout().layers[i].bias;
  Int8Layer& l = q->layers[i];
  l.out = spec.out;
  l.in = spec.in;
  l.input = input;
  l.output = output;
  l.relu = spec.activation == Activation::kRelu;
  const size_t rows = static_cast<size_t>(spec.out), in = static_cast<size_t>(spec.in);
  float layer_max = 0;
  for (size_t k = 0; k < rows * in; ++k) layer_max = std::max(layer_max, std::fabs(w[k]));
  // A row far smaller than the layer's largest (or all zero) keeps a scale of at most 2^16 finer
  // than the layer's, so that its requantization scale stays in what the kernels take.
  const float floor = layer_max > 0 ? layer_max / 127.0f / 65536.0f : 1.0f;
  std::vector<float> scales(rows);
  std::vector<int8_t> weight(rows * in);
  std::vector<int32_t> bias(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w + r * in;
    float row_max = 0;
    for (size_t k = 0; k < in; ++k) row_max = std::max(row_max, std::fabs(row[k]));
    scales[r] = std::max(row_max / 127.0f, floor);
    for (size_t k = 0; k < in; ++k) {
      weight[r * in + k] =
          static_cast<int8_t>(std::clamp(std::lround(row[k] / scales[r]), -127L, 127L));
    }
    const double bias_scale = static_cast<double>(input.scale) * scales[r];
    const double v = std::nearbyint(b[r] / bias_scale);
    bias[r] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
  }
  SetOwnedTensors(q, i, std::move(weight), std::move(bias), std::move(scales));
}

// The values each layer writes: encoder layers and heads over the images, decoder layers and the
// logits over the images' encodings (z = mu) and as many prior draws (the decoder serves sampling
// as well as reconstruction), and z itself over both.
struct Activations {
  std::vector<std::vector<float>> out;  // per layer of the table
  std::vector<float> z;
};

StatusOr<Activations> Collect(const Model& model, Runtime* runtime, const ImageSet& images,
                              size_t n) {
  const ShapeInfo& s = model.shape();
  const size_t in = s.input, lat = s.latent;
  EVAE_ASSIGN_OR_RETURN(F32Inference inf, F32Inference::Create(model, 2 * n));
  AlignedBuffer<float> x(n * in), mv(n * 2 * lat), z(2 * n * lat), logits(2 * n * in);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = images.image(static_cast<int>(i));
    for (size_t j = 0; j < in; ++j) x[i * in + j] = p[j] / 255.0f;
  }
  pthreadpool_t pool = runtime->pool();
  Activations a;
  a.out.resize(s.layers.size());
  const auto keep = [&](size_t layer, const float* v, size_t rows) {
    a.out[layer].assign(v, v + rows * s.layers[layer].out);
  };
  // A generator alone has no encoder: its decoder is calibrated on 2n prior draws.
  size_t prior_first = 0;
  if (s.has_encoder()) {
    EVAE_RETURN_IF_ERROR(inf.Encode(x.data(), n, mv.data(), pool));
    const size_t mean = s.Find(LayerRole::kMean);
    const int logvar = s.Find(LayerRole::kLogVar);  // none for a deterministic encoder
    for (size_t i = 0; i < mean; ++i) keep(i, inf.activation(i), n);
    for (size_t i = 0; i < n; ++i) {
      const float* row = mv.data() + i * 2 * lat;
      a.out[mean].insert(a.out[mean].end(), row, row + lat);
      if (logvar >= 0) a.out[logvar].insert(a.out[logvar].end(), row + lat, row + 2 * lat);
      std::copy(row, row + lat, z.data() + i * lat);
    }
    prior_first = n;
  }
  FillNormal(RngStream(model.metadata().seed, StreamId(RngPurpose::kSample, 0xCA11B)), 0,
             z.data() + prior_first * lat, (2 * n - prior_first) * lat);
  a.z.assign(z.data(), z.data() + 2 * n * lat);
  EVAE_RETURN_IF_ERROR(inf.DecodeLogits(z.data(), 2 * n, logits.data(), pool));
  const size_t logits_layer = s.Find(LayerRole::kLogits);
  for (size_t i = s.Find(LayerRole::kDecoder); i < logits_layer; ++i) {
    keep(i, inf.activation(i), 2 * n);
  }
  keep(logits_layer, logits.data(), 2 * n);
  return a;
}

}  // namespace

const char* CalibrationName(Calibration c) {
  switch (c) {
    case Calibration::kMinMax:
      return "minmax";
    case Calibration::kPercentile:
      return "percentile";
    case Calibration::kMse:
      return "mse";
  }
  return "?";
}

StatusOr<Int8Model> QuantizeInt8(const Model& model, Runtime* runtime, const ImageSet& calibration,
                                 Calibration method, int calibration_images) {
  const ShapeInfo& s = model.shape();
  EVAE_RETURN_IF_ERROR(RequireDeployable(s, "int8 quantization"));
  if (calibration.pixels_per_image() != s.input) {
    return InvalidArgument("calibration images have " +
                           std::to_string(calibration.pixels_per_image()) +
                           " pixels; the model takes " + std::to_string(s.input));
  }
  const size_t n = static_cast<size_t>(std::min(calibration.count, calibration_images));
  if (n == 0) return InvalidArgument("no calibration images");
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError("cannot quantize a model with a non-finite parameter: " + bad);
  }
  EVAE_ASSIGN_OR_RETURN(Activations a, Collect(model, runtime, calibration, n));
  std::vector<QuantRange> out(s.layers.size());
  for (size_t i = 0; i < s.layers.size(); ++i) {
    out[i] = s.layers[i].role == LayerRole::kLogits ? PixelErrorRange(a.out[i])
                                                     : Calibrate(std::move(a.out[i]), method);
  }
  const QuantRange pixels{1.0f / 255.0f, -128};
  const QuantRange z = Calibrate(std::move(a.z), method);

  Int8Model q;
  q.shape = s;
  q.metadata = model.metadata();
  q.layers.resize(s.layers.size());
  const int first_decoder = s.Find(LayerRole::kDecoder);
  const int last_encoder = s.Find(LayerRole::kMean) - 1;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    // Each layer's input range is the output range of the layer feeding it.
    QuantRange input;
    switch (s.layers[i].role) {
      case LayerRole::kEncoder:
        input = i == 0 ? pixels : out[i - 1];
        break;
      case LayerRole::kMean:
      case LayerRole::kLogVar:
        input = out[last_encoder];
        break;
      case LayerRole::kDecoder:
      case LayerRole::kLogits:
        input = static_cast<int>(i) == first_decoder ? z : out[i - 1];
        break;
      case LayerRole::kHidden:  // a classifier's or a GAN's: refused by RequireVae before this
      case LayerRole::kClassLogits:
      case LayerRole::kCritic:
      case LayerRole::kCriticLogit:
        return Internal("int8 quantization of a layer that is not a VAE's");
    }
    QuantizeLayer(model, i, input, out[i], &q);
  }
  q.calibration = CalibrationName(method);
  q.calibration_images = static_cast<int>(n);
  return q;
}

StatusOr<Int8Model> QuantizeInt8Best(const Model& model, Runtime* runtime,
                                     const ImageSet& calibration, const ImageSet& validation,
                                     std::vector<CalibrationReport>* report,
                                     int calibration_images) {
  std::optional<Int8Model> best;
  double best_loss = std::numeric_limits<double>::infinity();
  // A generator alone has no test loss: its int8 samples are compared with the f32 ones.
  const bool generator = !model.shape().has_encoder();
  std::vector<float> f32_samples;
  if (generator) {
    EVAE_ASSIGN_OR_RETURN(
        std::unique_ptr<Engine> f32,
        Engine::Create(model, EngineOptions{.max_batch = 500, .threads = runtime->threads()}));
    EVAE_ASSIGN_OR_RETURN(f32_samples, DrawSamples(*f32, kGeneratorValidationSamples, 1));
  }
  for (Calibration c : {Calibration::kMinMax, Calibration::kPercentile, Calibration::kMse}) {
    EVAE_ASSIGN_OR_RETURN(Int8Model q,
                          QuantizeInt8(model, runtime, calibration, c, calibration_images));
    EVAE_ASSIGN_OR_RETURN(
        std::unique_ptr<Engine> engine,
        Engine::Create(q, EngineOptions{.max_batch = 500, .threads = runtime->threads()}));
    EvalResult r;
    if (generator) {
      EVAE_ASSIGN_OR_RETURN(std::vector<float> samples,
                            DrawSamples(*engine, kGeneratorValidationSamples, 1));
      double sum = 0;
      for (size_t i = 0; i < samples.size(); ++i) sum += std::fabs(samples[i] - f32_samples[i]);
      r.test_loss = sum / static_cast<double>(samples.size());
    } else {
      EVAE_ASSIGN_OR_RETURN(r, EvaluateEngine(*engine, validation,
                                              EvalOptions{.seed = model.metadata().seed}));
    }
    if (report != nullptr) report->push_back({c, r.test_loss});
    if (r.test_loss < best_loss) {
      best_loss = r.test_loss;
      best = std::move(q);
    }
  }
  return std::move(*best);
}

}  // namespace edgevae
