#include "edgevae/quant.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/rng.h"
#include "model/inference.h"

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
    const float q = std::clamp(std::nearbyint(x / r.scale) + static_cast<float>(r.zero_point),
                               -128.0f, 127.0f);
    const double d = x - r.scale * (q - static_cast<float>(r.zero_point));
    e += d * d;
  }
  return e;
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

// Symmetric per-tensor weights and int32 biases for a layer whose input range is known.
Int8Layer QuantizeLayer(const float* w, const float* b, int out, int in, const QuantRange& input,
                        const QuantRange& output, bool relu) {
  Int8Layer l;
  l.out = out;
  l.in = in;
  l.input = input;
  l.output = output;
  l.relu = relu;
  const size_t n = static_cast<size_t>(out) * in;
  float max_abs = 0;
  for (size_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(w[i]));
  l.weight_scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
  l.weight.resize(n);
  for (size_t i = 0; i < n; ++i) {
    l.weight[i] = static_cast<int8_t>(std::clamp(std::lround(w[i] / l.weight_scale), -127L, 127L));
  }
  const double bias_scale = static_cast<double>(input.scale) * l.weight_scale;
  l.bias.resize(out);
  for (int i = 0; i < out; ++i) {
    const double q = std::nearbyint(b[i] / bias_scale);
    l.bias[i] = static_cast<int32_t>(std::clamp(q, -2147483647.0, 2147483647.0));
  }
  return l;
}

}  // namespace

const char* CalibrationName(Calibration c) {
  switch (c) {
    case Calibration::kMinMax: return "minmax";
    case Calibration::kPercentile: return "percentile";
    case Calibration::kMse: return "mse";
  }
  return "?";
}

std::string Int8LayerProblem(const Int8Layer& l) {
  const std::pair<const char*, float> scales[] = {
      {"weight_scale", l.weight_scale}, {"input.scale", l.input.scale}, {"output.scale", l.output.scale}};
  for (const auto& [field, s] : scales) {
    if (!(std::isfinite(s) && s > 0)) {
      return std::string(field) + " is " + std::to_string(s) + ", expected a finite number > 0";
    }
  }
  const std::pair<const char*, int32_t> zps[] = {{"input.zero_point", l.input.zero_point},
                                                 {"output.zero_point", l.output.zero_point}};
  for (const auto& [field, zp] : zps) {
    if (zp < -128 || zp > 127) {
      return std::string(field) + " is " + std::to_string(zp) + ", expected [-128, 127]";
    }
  }
  const float r = RequantScale(l);
  if (!(r >= kMinRequantScale && r < kMaxRequantScale)) {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "input.scale * weight_scale / output.scale is %g, expected a requantization "
                  "scale in [2^-32, 256) (what the int8 kernels take)",
                  static_cast<double>(r));
    return buf;
  }
  return "";
}

StatusOr<Int8Model> QuantizeInt8(const Model& model, Runtime* runtime, const ImageSet& calibration,
                                 Calibration method, int calibration_images) {
  const ShapeInfo& s = model.shape();
  if (calibration.pixels_per_image() != s.input) {
    return InvalidArgument("calibration images have " + std::to_string(calibration.pixels_per_image()) +
                           " pixels; the model takes " + std::to_string(s.input));
  }
  const size_t n = static_cast<size_t>(std::min(calibration.count, calibration_images));
  if (n == 0) return InvalidArgument("no calibration images");
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError("cannot quantize a model with a non-finite parameter: " + bad);
  }
  const size_t in = s.input, hid = s.hidden, lat = s.latent;
  // The decoder runs on n encodings (z = mu) and n prior draws.
  EVAE_ASSIGN_OR_RETURN(F32Inference inf, F32Inference::Create(model, 2 * n));
  AlignedBuffer<float> x(n * in), mv(n * 2 * lat), z(2 * n * lat), logits(2 * n * in);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = calibration.image(static_cast<int>(i));
    for (size_t j = 0; j < in; ++j) x[i * in + j] = p[j] / 255.0f;
  }
  pthreadpool_t pool = runtime->pool();
  EVAE_RETURN_IF_ERROR(inf.Encode(x.data(), n, mv.data(), pool));
  std::vector<float> h1(inf.hidden(), inf.hidden() + n * hid), mu, logvar, zs;
  for (size_t i = 0; i < n; ++i) {
    const float* row = mv.data() + i * 2 * lat;
    mu.insert(mu.end(), row, row + lat);
    logvar.insert(logvar.end(), row + lat, row + 2 * lat);
    std::copy(row, row + lat, z.data() + i * lat);
  }
  FillNormal(RngStream(model.metadata().seed, StreamId(RngPurpose::kSample, 0xCA11B)), 0,
             z.data() + n * lat, n * lat);
  zs.assign(z.data(), z.data() + 2 * n * lat);
  EVAE_RETURN_IF_ERROR(inf.DecodeLogits(z.data(), 2 * n, logits.data(), pool));
  std::vector<float> h3(inf.hidden(), inf.hidden() + 2 * n * hid);
  std::vector<float> out(logits.data(), logits.data() + 2 * n * in);

  const QuantRange pixels{1.0f / 255.0f, -128};
  const QuantRange r_h1 = Calibrate(std::move(h1), method);
  const QuantRange r_mu = Calibrate(std::move(mu), method);
  const QuantRange r_lv = Calibrate(std::move(logvar), method);
  const QuantRange r_z = Calibrate(std::move(zs), method);
  const QuantRange r_h3 = Calibrate(std::move(h3), method);
  const QuantRange r_out = Calibrate(std::move(out), method);

  const ParamLayout& p = model.layout();
  const float* w = model.params();
  Int8Model q;
  q.shape = s;
  q.metadata = model.metadata();
  const int I = s.input, H = s.hidden, L = s.latent;
  q.fc1 = QuantizeLayer(w + p.w1, w + p.b1, H, I, pixels, r_h1, true);
  q.fc21 = QuantizeLayer(w + p.w2, w + p.b2, L, H, r_h1, r_mu, false);
  q.fc22 = QuantizeLayer(w + p.w2 + lat * hid, w + p.b2 + lat, L, H, r_h1, r_lv, false);
  q.fc3 = QuantizeLayer(w + p.w3, w + p.b3, H, L, r_z, r_h3, true);
  q.fc4 = QuantizeLayer(w + p.w4, w + p.b4, I, H, r_h3, r_out, false);
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
  for (Calibration c : {Calibration::kMinMax, Calibration::kPercentile, Calibration::kMse}) {
    EVAE_ASSIGN_OR_RETURN(Int8Model q,
                          QuantizeInt8(model, runtime, calibration, c, calibration_images));
    EVAE_ASSIGN_OR_RETURN(
        std::unique_ptr<Engine> engine,
        Engine::Create(q, EngineOptions{.max_batch = 256, .threads = runtime->threads()}));
    EVAE_ASSIGN_OR_RETURN(EvalResult r, EvaluateEngine(*engine, validation, model.metadata().seed));
    if (report != nullptr) report->push_back({c, r.test_loss});
    if (r.test_loss < best_loss) {
      best_loss = r.test_loss;
      best = std::move(q);
    }
  }
  return std::move(*best);
}

}  // namespace edgevae
