#include "edgevae/eval.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "edgevae/classifier.h"
#include "edgevae/judge.h"
#include "edgevae/rng.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/parallel.h"
#include "runtime/f32_inference.h"
#include "tools/gan_step.h"
#include "tools/log_mean_exp.h"

namespace edgevae {
namespace {

// Images per noise block of the test-loss pass. Fixed (not derived from the thread count) so that
// each image's noise, and so the result, depends only on the seed.
constexpr size_t kEvalBlock = 256;
// Importance samples decoded per GEMM in the IW pass.
constexpr size_t kIwChunk = 1000;

Status CheckImages(const Model& model, const ImageSet& data) {
  if (data.pixels_per_image() != model.shape().input) {
    return InvalidArgument("images have " + std::to_string(data.rows) + "x" +
                           std::to_string(data.cols) + " pixels; the model takes " +
                           std::to_string(model.shape().input));
  }
  if (data.count <= 0) return InvalidArgument("no images to evaluate");
  return Status::Ok();
}

void ToFloatRows(const uint8_t* pixels, size_t n, size_t in, float* out, pthreadpool_t pool) {
  ParallelTiles(pool, n, 32, [&](size_t b, size_t e) {
    simd::U8ToF32(pixels + b * in, out + b * in, (e - b) * in);
  });
}

// The buffers of one image's importance sampling, for up to kIwChunk samples per decode.
struct IwBuffers {
  AlignedBuffer<float> eps, z, sd, logits;
  std::vector<double> log_w;
  IwBuffers(size_t in, size_t lat, size_t k_total)
      : eps(std::min(k_total, kIwChunk) * lat),
        z(eps.size()),
        sd(eps.size()),
        logits(std::min(k_total, kIwChunk) * in),
        log_w(k_total) {}
  bool allocated() const { return !logits.empty() && !sd.empty(); }
};

// -log p(x) of image `img` (pixels x as floats, its encoding mu and logvar) with K samples:
// -(logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K). `decode(z, n, logits)`
// decodes n codes; its chunks are at most kIwChunk, and the noise of chunk c is keyed by
// (img, 1 + c), so every decoder (f32, an engine of any dtype) sees the same draws.
template <typename Decode>
StatusOr<double> ImportanceWeightedImage(const float* x, const float* mu, const float* logvar,
                                         size_t in, size_t lat, uint64_t seed, size_t img,
                                         size_t k_total, IwBuffers* b, const Decode& decode) {
  float sum_logvar = 0;
  for (size_t j = 0; j < lat; ++j) sum_logvar += logvar[j];
  for (size_t k0 = 0, chunk = 0; k0 < k_total; k0 += kIwChunk, ++chunk) {
    const size_t kn = std::min(kIwChunk, k_total - k0);
    FillNormal(RngStream(seed, StreamId(RngPurpose::kEvalNoise, static_cast<uint32_t>(img),
                                        static_cast<uint32_t>(1 + chunk))),
               0, b->eps.data(), kn * lat);
    // log p(z) - log q(z|x) = -|z|^2/2 + |eps|^2/2 + sum(logvar)/2 (the 2 pi terms cancel).
    for (size_t k = 0; k < kn; ++k) {
      float* zk = b->z.data() + k * lat;
      const float* ek = b->eps.data() + k * lat;
      simd::ReparamForward(mu, logvar, ek, zk, b->sd.data() + k * lat, lat);
      b->log_w[k0 + k] = 0.5 * (static_cast<double>(simd::SumSquares(ek, lat)) -
                                simd::SumSquares(zk, lat) + sum_logvar);
    }
    EVAE_RETURN_IF_ERROR(decode(b->z.data(), kn, b->logits.data()));
    for (size_t k = 0; k < kn; ++k) {
      b->log_w[k0 + k] -= simd::BceWithLogits(b->logits.data() + k * in, x, in);
    }
  }
  return -LogMeanExp(b->log_w.data(), k_total);
}

// -log p(x) estimates for images [first, last) into nll[i], on the calling thread only.
Status ImportanceWeightedRange(const Model& model, const ImageSet& data, uint64_t seed,
                               size_t k_total, size_t first, size_t last, double* nll,
                               const std::function<void(size_t)>& advance) {
  if (first >= last) return Status::Ok();
  const size_t in = model.shape().input, lat = model.shape().latent;
  EVAE_ASSIGN_OR_RETURN(F32Inference inf, F32Inference::Create(model, std::min(k_total, kIwChunk)));
  AlignedBuffer<float> x(in), mv(2 * lat);
  IwBuffers buffers(in, lat, k_total);
  if (!buffers.allocated()) return Internal("out of memory (importance-sampling buffers)");
  const auto decode = [&](const float* z, size_t n, float* logits) {
    return inf.DecodeLogits(z, n, logits, nullptr);
  };
  size_t reported = first;
  for (size_t img = first; img < last; ++img) {
    simd::U8ToF32(data.image(static_cast<int>(img)), x.data(), in);
    EVAE_RETURN_IF_ERROR(inf.Encode(x.data(), 1, mv.data(), nullptr));
    EVAE_ASSIGN_OR_RETURN(nll[img], ImportanceWeightedImage(x.data(), mv.data(), mv.data() + lat,
                                                            in, lat, seed, img, k_total, &buffers,
                                                            decode));
    if (img % 16 == 15 || img + 1 == last) {
      advance(img + 1 - reported);
      reported = img + 1;
    }
  }
  return Status::Ok();
}

// The importance-weighted NLL: K samples from q(z|x) per image. Each thread takes its own images
// with its own operators (single-threaded GEMMs of up to kIwChunk rows): the per-image work
// between the products (noise, reparameterisation, logsumexp) is serial, and splitting one image
// across threads left a core mostly idle. Noise is keyed by image, and each image's result has its
// own slot, so the split does not change the result.
StatusOr<double> ImportanceWeightedNll(const Model& model, Runtime* runtime, const ImageSet& data,
                                       const EvalOptions& options, int total_work,
                                       const std::function<void(int, int)>& progress) {
  const size_t count = static_cast<size_t>(data.count);
  const size_t k_total = static_cast<size_t>(options.iw_samples);
  pthreadpool_t pool = runtime->pool();
  const size_t workers = std::min<size_t>(static_cast<size_t>(runtime->threads()), count);
  std::vector<double> nll(count);
  std::vector<Status> status(workers);
  std::atomic<size_t> done{0};
  int reported = 0;  // written by worker 0 only, read after the join
  ParallelTiles(pool, workers, 1, [&](size_t wb, size_t we) {
    for (size_t w = wb; w < we; ++w) {
      status[w] =
          ImportanceWeightedRange(model, data, options.seed, k_total, count * w / workers,
                                  count * (w + 1) / workers, nll.data(), [&](size_t images) {
                                    const size_t d = done += images;
                                    if (progress && w == 0) {
                                      reported = static_cast<int>(count + d);
                                      progress(reported, total_work);
                                    }
                                  });
    }
  });
  for (const Status& st : status) EVAE_RETURN_IF_ERROR(st);
  double nll_total = 0;
  for (double v : nll) nll_total += v;
  if (progress && reported < total_work) progress(total_work, total_work);
  return nll_total / static_cast<double>(count);
}

// A classifier's test loss is its mean cross-entropy; it has no likelihood to estimate.
StatusOr<EvalResult> EvaluateClassifier(const Model& model, Runtime* runtime, const ImageSet& data,
                                        const EvalOptions& options,
                                        const std::function<void(int, int)>& progress) {
  if (options.iw_samples > 0) {
    return InvalidArgument("--iw: shape '" + std::string(model.shape().name) +
                           "' is a classifier, which has no likelihood to estimate");
  }
  const auto start = std::chrono::steady_clock::now();
  EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Classifier> classifier,
                        Classifier::Create(model, runtime));
  EVAE_ASSIGN_OR_RETURN(ClassifierScore score, ScoreClassifier(*classifier, data));
  if (progress) progress(data.count, data.count);
  EvalResult result;
  result.images = score.images;
  result.test_loss = score.loss;
  result.accuracy = score.accuracy;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// A GAN's test loss is its discriminator's loss per pair of a test image and a generated one
// (z keyed by the seed); log 4 = 1.386 when the discriminator cannot tell them apart.
StatusOr<EvalResult> EvaluateGan(const Model& model, Runtime* runtime, const ImageSet& data,
                                 const EvalOptions& options,
                                 const std::function<void(int, int)>& progress) {
  if (options.iw_samples > 0) {
    return InvalidArgument("--iw: shape '" + std::string(model.shape().name) +
                           "' is a GAN, which has no likelihood to estimate");
  }
  const auto start = std::chrono::steady_clock::now();
  const size_t in = model.shape().input, lat = model.shape().latent;
  const size_t count = static_cast<size_t>(data.count);
  EVAE_ASSIGN_OR_RETURN(GanStep step, GanStep::Create(model, kEvalBlock));
  AlignedBuffer<float> x(kEvalBlock * in), z(kEvalBlock * lat);
  if (x.empty() || z.empty()) return Internal("out of memory (evaluation buffers)");
  double total = 0;
  for (size_t first = 0, block = 0; first < count; first += kEvalBlock, ++block) {
    const size_t n = std::min(kEvalBlock, count - first);
    simd::U8ToF32(data.image(static_cast<int>(first)), x.data(), n * in);
    FillNormal(RngStream(options.seed, StreamId(RngPurpose::kEvalNoise,
                                                static_cast<uint32_t>(block))),
               0, z.data(), n * lat);
    EVAE_ASSIGN_OR_RETURN(double loss, step.Discriminator(model.params(), x.data(), z.data(), n,
                                                          nullptr, runtime->pool()));
    total += loss;
    if (progress) progress(static_cast<int>(first + n), data.count);
  }
  EvalResult result;
  result.images = data.count;
  result.test_loss = total / static_cast<double>(count);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// z for the test loss and its KL term: a draw mu + sigma eps and KL(q(z|x) || N(0, I)), or for a
// deterministic encoder its code and no KL term (eval.h).
float Posterior(bool stochastic, const float* mu, const float* logvar, const float* eps, float* z,
                float* sd, size_t lat) {
  if (stochastic) return simd::ReparamForward(mu, logvar, eps, z, sd, lat);
  std::copy(mu, mu + lat, z);
  return 0.0f;
}

// EvalResult::code_kl of codes (images x lat); NaN for fewer than two images.
double CodeKl(const std::vector<float>& codes, size_t lat) {
  StatusOr<FeatureStats> s =
      ComputeFeatureStats(codes.data(), static_cast<int>(codes.size() / lat), lat);
  return s.ok() ? KlToStandardNormal(*s) : std::numeric_limits<double>::quiet_NaN();
}

Status CheckImportanceSampling(const ShapeInfo& s, const EvalOptions& options) {
  if (options.iw_samples == 0 || s.has_logvar()) return Status::Ok();
  return Unsupported("--iw needs a Gaussian encoder; shape '" + std::string(s.name) +
                     "' (family " + FamilyName(s.family) +
                     ") encodes deterministically, so it has no importance-weighted likelihood");
}

}  // namespace

StatusOr<EvalResult> Evaluate(const Model& model, Runtime* runtime, const ImageSet& data,
                              const EvalOptions& options,
                              const std::function<void(int, int)>& progress) {
  EVAE_RETURN_IF_ERROR(CheckImages(model, data));
  if (options.iw_samples < 0) return InvalidArgument("--iw must be >= 0");
  if (model.shape().family == Family::kClassifier) {
    return EvaluateClassifier(model, runtime, data, options, progress);
  }
  if (model.shape().family == Family::kGan) {
    return EvaluateGan(model, runtime, data, options, progress);
  }
  EVAE_RETURN_IF_ERROR(CheckImportanceSampling(model.shape(), options));
  const bool stochastic = model.shape().has_logvar();
  const auto start = std::chrono::steady_clock::now();
  pthreadpool_t pool = runtime->pool();
  const size_t in = model.shape().input, lat = model.shape().latent;
  const size_t count = static_cast<size_t>(data.count);
  const size_t k_total = static_cast<size_t>(options.iw_samples);
  const size_t rows = std::max(kEvalBlock, std::min(k_total, kIwChunk));
  EVAE_ASSIGN_OR_RETURN(F32Inference inf, F32Inference::Create(model, rows));

  AlignedBuffer<float> x(kEvalBlock * in), mv(kEvalBlock * 2 * lat), eps(rows * lat), z(rows * lat),
      sd(rows * lat), logits(rows * in);
  std::vector<double> per_row(rows);
  if (logits.empty()) return Internal("out of memory (evaluation buffers)");
  const int total_work = static_cast<int>(count * (k_total > 0 ? 2 : 1));

  // ---- test loss: one sampled z per image.
  double total = 0;
  std::vector<float> codes;  // mu per image, for code_kl
  codes.reserve(count * lat);
  for (size_t first = 0, block = 0; first < count; first += kEvalBlock, ++block) {
    const size_t n = std::min(kEvalBlock, count - first);
    ToFloatRows(data.image(static_cast<int>(first)), n, in, x.data(), pool);
    EVAE_RETURN_IF_ERROR(inf.Encode(x.data(), n, mv.data(), pool));
    FillNormal(
        RngStream(options.seed, StreamId(RngPurpose::kEvalNoise, static_cast<uint32_t>(block), 0)),
        0, eps.data(), n * lat);
    for (size_t i = 0; i < n; ++i) {
      const float* row = mv.data() + i * 2 * lat;
      per_row[i] = Posterior(stochastic, row, row + lat, eps.data() + i * lat, z.data() + i * lat,
                             sd.data() + i * lat, lat);
      codes.insert(codes.end(), row, row + lat);
    }
    EVAE_RETURN_IF_ERROR(inf.DecodeLogits(z.data(), n, logits.data(), pool));
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        per_row[i] += simd::BceWithLogits(logits.data() + i * in, x.data() + i * in, in);
      }
    });
    for (size_t i = 0; i < n; ++i) total += per_row[i];
    if (progress) progress(static_cast<int>(first + n), total_work);
  }
  EvalResult result;
  result.images = static_cast<int>(count);
  result.test_loss = total / static_cast<double>(count);
  result.code_kl = CodeKl(codes, lat);

  if (k_total > 0) {
    EVAE_ASSIGN_OR_RETURN(
        result.iw_nll, ImportanceWeightedNll(model, runtime, data, options, total_work, progress));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!std::isfinite(result.test_loss)) {
    return DataError("evaluation gave a non-finite test loss: the model's weights are unusable");
  }
  return result;
}

namespace {

// The importance-weighted NLL (eval --iw) of every image through `engine`: one image at a time,
// its samples decoded in batches of the engine's size; the engine's threads split each batch.
// Progress continues from data.count up to total_work.
StatusOr<double> EngineIwNll(Engine& engine, const ImageSet& data, const EvalOptions& options,
                             int total_work, const std::function<void(int, int)>& progress) {
  const size_t in = engine.shape().input, lat = engine.shape().latent;
  const size_t count = static_cast<size_t>(data.count);
  const size_t k_total = static_cast<size_t>(options.iw_samples);
  std::vector<float> x(in), mu(lat), logvar(lat);
  IwBuffers buffers(in, lat, k_total);
  if (!buffers.allocated()) return Internal("out of memory (importance-sampling buffers)");
  const size_t batch = static_cast<size_t>(engine.max_batch());
  const auto decode = [&](const float* zs, size_t n, float* out) {
    for (size_t i = 0; i < n; i += batch) {
      const size_t m = std::min(batch, n - i);
      EVAE_RETURN_IF_ERROR(engine.DecodeLogits(zs + i * lat, static_cast<int>(m), out + i * in));
    }
    return Status::Ok();
  };
  double nll = 0;
  for (size_t img = 0; img < count; ++img) {
    const uint8_t* pixels = data.image(static_cast<int>(img));
    EVAE_RETURN_IF_ERROR(engine.Encode(pixels, 1, mu.data(), logvar.data()));
    simd::U8ToF32(pixels, x.data(), in);
    EVAE_ASSIGN_OR_RETURN(double v, ImportanceWeightedImage(x.data(), mu.data(), logvar.data(), in,
                                                            lat, options.seed, img, k_total,
                                                            &buffers, decode));
    nll += v;
    if (progress && (img % 16 == 15 || img + 1 == count)) {
      progress(static_cast<int>(count + img + 1), total_work);
    }
  }
  return nll / static_cast<double>(count);
}

}  // namespace

StatusOr<EvalResult> EvaluateEngine(Engine& engine, const ImageSet& data,
                                    const EvalOptions& options,
                                    const std::function<void(int, int)>& progress) {
  if (data.pixels_per_image() != engine.shape().input) {
    return InvalidArgument("images have " + std::to_string(data.pixels_per_image()) +
                           " pixels; the model takes " + std::to_string(engine.shape().input));
  }
  if (data.count <= 0) return InvalidArgument("no images to evaluate");
  if (options.iw_samples < 0) return InvalidArgument("--iw must be >= 0");
  if (engine.max_batch() < static_cast<int>(kEvalBlock)) {
    return InvalidArgument("EvaluateEngine needs an engine loaded for " +
                           std::to_string(kEvalBlock) + " images per call, not " +
                           std::to_string(engine.max_batch()));
  }
  EVAE_RETURN_IF_ERROR(CheckImportanceSampling(engine.shape(), options));
  const bool stochastic = engine.shape().has_logvar();
  const uint64_t seed = options.seed;
  const auto start = std::chrono::steady_clock::now();
  const size_t in = engine.shape().input, lat = engine.shape().latent;
  const size_t count = static_cast<size_t>(data.count);
  const size_t k_total = static_cast<size_t>(options.iw_samples);
  const int total_work = static_cast<int>(count * (k_total > 0 ? 2 : 1));
  std::vector<float> x(in), mu(kEvalBlock * lat), logvar(kEvalBlock * lat), eps(kEvalBlock * lat),
      z(kEvalBlock * lat), sd(lat), logits(kEvalBlock * in);
  double total = 0;
  std::vector<float> codes;  // mu per image, for code_kl
  codes.reserve(count * lat);
  for (size_t first = 0, block = 0; first < count; first += kEvalBlock, ++block) {
    const size_t n = std::min(kEvalBlock, count - first);
    const uint8_t* pixels = data.image(static_cast<int>(first));
    EVAE_RETURN_IF_ERROR(engine.Encode(pixels, static_cast<int>(n), mu.data(), logvar.data()));
    FillNormal(RngStream(seed, StreamId(RngPurpose::kEvalNoise, static_cast<uint32_t>(block), 0)),
               0, eps.data(), n * lat);
    for (size_t i = 0; i < n; ++i) {
      total += Posterior(stochastic, mu.data() + i * lat, logvar.data() + i * lat,
                         eps.data() + i * lat, z.data() + i * lat, sd.data(), lat);
    }
    codes.insert(codes.end(), mu.begin(), mu.begin() + n * lat);
    EVAE_RETURN_IF_ERROR(engine.DecodeLogits(z.data(), static_cast<int>(n), logits.data()));
    for (size_t i = 0; i < n; ++i) {
      simd::U8ToF32(pixels + i * in, x.data(), in);
      total += simd::BceWithLogits(logits.data() + i * in, x.data(), in);
    }
    if (progress) progress(static_cast<int>(first + n), total_work);
  }
  EvalResult result;
  result.images = static_cast<int>(count);
  result.test_loss = total / static_cast<double>(count);
  result.code_kl = CodeKl(codes, lat);
  if (!std::isfinite(result.test_loss)) {
    return DataError("evaluation gave a non-finite test loss: the model's weights are unusable");
  }
  if (k_total > 0) {
    EVAE_ASSIGN_OR_RETURN(result.iw_nll, EngineIwNll(engine, data, options, total_work, progress));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace edgevae
