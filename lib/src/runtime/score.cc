// Anomaly scores through an Engine (edgevae/score.h). The engine does the layers; this file does
// the noise, the reparameterisation and the likelihoods between them, with the same SIMD kernels
// that training and evaluation use.
#include "edgevae/score.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/parallel.h"
#include "runtime/input_complexity.h"
#include "runtime/patch_error.h"

namespace edgevae {
namespace {

// Normals per sample in an image's noise stream: a whole Box-Muller chunk (FillNormal starts at
// multiples of 32), so sample s of an image is the same draw whatever the batching.
size_t NoiseSlot(size_t latent) { return (latent + 31) / 32 * 32; }

RngStream ImageNoise(uint64_t seed, uint64_t index) {
  return RngStream(seed, StreamId(RngPurpose::kScoreNoise, static_cast<uint32_t>(index & 0xFFFFFF),
                                  static_cast<uint32_t>(index >> 24)));
}

}  // namespace

std::string ScoreMethodName(const ScoreOptions& options) {
  std::string name;
  switch (options.method) {
    case ScoreMethod::kBce:
      name = "bce";
      break;
    case ScoreMethod::kMse:
      name = "mse";
      break;
    case ScoreMethod::kMse3x3:
      name = "mse3x3";
      break;
    case ScoreMethod::kElbo:
      name = "elbo";
      break;
    case ScoreMethod::kIw:
      name = "iw";
      break;
  }
  switch (options.complexity) {
    case Complexity::kDifference:
      return name + "-ic";
    case Complexity::kRatio:
      return name + "-icr";
    default:
      return name;
  }
}

Status ParseScoreMethod(const std::string& name, ScoreOptions* options) {
  std::string base = name;
  Complexity c = Complexity::kNone;
  const auto strip = [&](const std::string& suffix) {
    if (base.size() <= suffix.size() ||
        base.compare(base.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return false;
    }
    base.resize(base.size() - suffix.size());
    return true;
  };
  if (strip("-icr")) {
    c = Complexity::kRatio;
  } else if (strip("-ic")) {
    c = Complexity::kDifference;
  }
  ScoreMethod m;
  if (base == "bce") {
    m = ScoreMethod::kBce;
  } else if (base == "mse") {
    m = ScoreMethod::kMse;
  } else if (base == "mse3x3") {
    m = ScoreMethod::kMse3x3;
  } else if (base == "elbo") {
    m = ScoreMethod::kElbo;
  } else if (base == "iw") {
    m = ScoreMethod::kIw;
  } else {
    return InvalidArgument("unknown score method '" + name +
                           "': expected bce, mse, mse3x3, elbo or iw, optionally with -ic or -icr");
  }
  options->method = m;
  options->complexity = c;
  return Status::Ok();
}

int ScoreSamples(const ScoreOptions& options) {
  switch (options.method) {
    case ScoreMethod::kElbo:
      return options.samples;
    case ScoreMethod::kIw:
      return options.iw_samples;
    default:
      return 0;
  }
}

// ---- Scorer ------------------------------------------------------------------------------------

struct Scorer::Impl {
  Engine* engine = nullptr;
  ScoreOptions options;
  size_t batch = 0, in = 0, lat = 0, slot = 0;
  AlignedBuffer<float> x, mu, logvar, eps, z, sd, logits, probs;
  std::vector<double> acc, lse_max, lse_sum, sum_logvar, log_w;
  ComplexityCoder complexity;  // made at Create when the method corrects by L(x)
  // An int8 engine's bce, mse and mse3x3 come from Engine::ReconstructionError: exact integer
  // sums, the same on every platform (a microcontroller's verdicts are the Pi's).
  bool exact = false;
  size_t side = 0;  // mse3x3's image side

  // Images [0, m) of this chunk: pixels, their indices from `first`.
  Status Chunk(const uint8_t* pixels, size_t m, uint64_t first, double* scores) {
    const ScoreMethod method = options.method;
    const bool reconstruction = method == ScoreMethod::kBce || method == ScoreMethod::kMse ||
                                method == ScoreMethod::kMse3x3;
    if (reconstruction && exact) {
      const ReconstructionLoss loss = method == ScoreMethod::kBce   ? ReconstructionLoss::kBce
                                      : method == ScoreMethod::kMse ? ReconstructionLoss::kMse
                                                                    : ReconstructionLoss::kMse3x3;
      return engine->ReconstructionError(pixels, static_cast<int>(m), loss, scores);
    }
    EVAE_RETURN_IF_ERROR(engine->Encode(pixels, static_cast<int>(m), mu.data(), logvar.data()));
    simd::U8ToF32(pixels, x.data(), m * in);
    if (reconstruction) {
      EVAE_RETURN_IF_ERROR(engine->DecodeLogits(mu.data(), static_cast<int>(m), logits.data()));
      for (size_t i = 0; i < m; ++i) {
        const float* l = logits.data() + i * in;
        const float* xi = x.data() + i * in;
        if (method == ScoreMethod::kBce) {
          scores[i] = simd::BceWithLogits(l, xi, in);
          continue;
        }
        simd::Sigmoid(l, probs.data(), in);
        for (size_t j = 0; j < in; ++j) probs[j] -= xi[j];
        scores[i] = method == ScoreMethod::kMse
                        ? simd::SumSquares(probs.data(), in)
                        : SquaredPatchSums<double>(side, [&](size_t j) { return probs[j]; });
      }
      return Status::Ok();
    }

    const bool iw = method == ScoreMethod::kIw;
    const size_t samples = static_cast<size_t>(iw ? options.iw_samples : options.samples);
    for (size_t i = 0; i < m; ++i) {
      acc[i] = 0;
      lse_max[i] = -std::numeric_limits<double>::infinity();
      lse_sum[i] = 0;
      float s = 0;
      for (size_t j = 0; j < lat; ++j) s += logvar[i * lat + j];
      sum_logvar[i] = s;
    }
    // Rows are (image, sample) pairs, image-major, decoded `batch` at a time.
    const size_t rows = m * samples;
    for (size_t r0 = 0; r0 < rows; r0 += batch) {
      const size_t rn = std::min(batch, rows - r0);
      for (size_t k = 0; k < rn; ++k) {
        const size_t img = (r0 + k) / samples, s = (r0 + k) % samples;
        float* ek = eps.data() + k * lat;
        float* zk = z.data() + k * lat;
        FillNormal(ImageNoise(options.seed, first + img), s * slot, ek, lat);
        const float kl = simd::ReparamForward(mu.data() + img * lat, logvar.data() + img * lat, ek,
                                              zk, sd.data() + k * lat, lat);
        if (iw) {
          // log p(z) - log q(z|x) = -|z|^2/2 + |eps|^2/2 + sum(logvar)/2 (the 2 pi terms cancel).
          log_w[k] = 0.5 * (static_cast<double>(simd::SumSquares(ek, lat)) -
                            simd::SumSquares(zk, lat) + sum_logvar[img]);
        } else {
          acc[img] += kl;
        }
      }
      EVAE_RETURN_IF_ERROR(engine->DecodeLogits(z.data(), static_cast<int>(rn), logits.data()));
      for (size_t k = 0; k < rn; ++k) {
        const size_t img = (r0 + k) / samples;
        const double nll = simd::BceWithLogits(logits.data() + k * in, x.data() + img * in, in);
        if (!iw) {
          acc[img] += nll;
          continue;
        }
        // Running logsumexp over the image's samples.
        const double lw = log_w[k] - nll;
        if (lw > lse_max[img]) {
          lse_sum[img] = lse_sum[img] * std::exp(lse_max[img] - lw) + 1.0;
          lse_max[img] = lw;
        } else {
          lse_sum[img] += std::exp(lw - lse_max[img]);
        }
      }
    }
    for (size_t i = 0; i < m; ++i) {
      scores[i] = iw ? -(lse_max[i] + std::log(lse_sum[i]) - std::log(static_cast<double>(samples)))
                     : acc[i] / static_cast<double>(samples);
    }
    return Status::Ok();
  }
};

Scorer::Scorer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scorer::~Scorer() = default;
const ScoreOptions& Scorer::options() const { return impl_->options; }

StatusOr<std::unique_ptr<Scorer>> Scorer::Create(Engine* engine, const ScoreOptions& options) {
  if (engine == nullptr) return InvalidArgument("Scorer::Create: no engine");
  if (options.method == ScoreMethod::kElbo && options.samples < 1) {
    return InvalidArgument("elbo needs at least 1 sample per image, got " +
                           std::to_string(options.samples));
  }
  if (options.method == ScoreMethod::kIw && options.iw_samples < 1) {
    return InvalidArgument("iw needs at least 1 importance sample per image, got " +
                           std::to_string(options.iw_samples));
  }
  const bool likelihood = options.method == ScoreMethod::kElbo || options.method == ScoreMethod::kIw;
  if (likelihood && !engine->shape().has_logvar()) {
    return Unsupported(std::string(options.method == ScoreMethod::kElbo ? "elbo" : "iw") +
                       " needs a Gaussian encoder; shape '" + std::string(engine->shape().name) +
                       "' encodes deterministically (z = E(x)): score it by bce or mse");
  }
  const size_t side = PatchSide(static_cast<size_t>(engine->shape().input));
  if (options.method == ScoreMethod::kMse3x3 && side == 0) {
    return Unsupported("mse3x3 needs a square image of at most 64 x 64 pixels; shape '" +
                       std::string(engine->shape().name) + "' has " +
                       std::to_string(engine->shape().input));
  }
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.side = side;
  s.engine = engine;
  s.options = options;
  s.exact = std::string(engine->dtype()) == "int8";
  s.batch = static_cast<size_t>(engine->max_batch());
  s.in = engine->shape().input;
  s.lat = engine->shape().latent;
  s.slot = NoiseSlot(s.lat);
  const size_t b = s.batch;
  s.x.Resize(b * s.in);
  s.mu.Resize(b * s.lat);
  s.logvar.Resize(b * s.lat);
  s.eps.Resize(b * s.lat);
  s.z.Resize(b * s.lat);
  s.sd.Resize(b * s.lat);
  s.logits.Resize(b * s.in);
  s.probs.Resize(s.in);
  if (s.logits.empty() || s.x.empty()) return Internal("out of memory (scorer buffers)");
  s.acc.resize(b);
  s.lse_max.resize(b);
  s.lse_sum.resize(b);
  s.sum_logvar.resize(b);
  s.log_w.resize(b);
  if (options.complexity != Complexity::kNone) {
    EVAE_RETURN_IF_ERROR(s.complexity.Init(s.in));
  }
  return std::unique_ptr<Scorer>(new Scorer(std::move(impl)));
}

Status Scorer::Score(const uint8_t* pixels, size_t n, uint64_t first_index, double* scores) {
  Impl& s = *impl_;
  for (size_t i0 = 0; i0 < n; i0 += s.batch) {
    const size_t m = std::min(s.batch, n - i0);
    EVAE_RETURN_IF_ERROR(s.Chunk(pixels + i0 * s.in, m, first_index + i0, scores + i0));
    if (s.options.complexity != Complexity::kNone) {
      const bool ratio = s.options.complexity == Complexity::kRatio;
      for (size_t i = 0; i < m; ++i) {
        EVAE_ASSIGN_OR_RETURN(const double l, s.complexity.Nats(pixels + (i0 + i) * s.in));
        scores[i0 + i] = ratio ? scores[i0 + i] / l : scores[i0 + i] - l;
      }
    }
  }
  return Status::Ok();
}

// ---- ParallelScorer ----------------------------------------------------------------------------

struct ParallelScorer::Impl {
  std::unique_ptr<Runtime> runtime;
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::unique_ptr<Scorer>> scorers;
  std::vector<Status> status;
};

ParallelScorer::ParallelScorer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ParallelScorer::~ParallelScorer() = default;
Engine& ParallelScorer::engine() { return *impl_->engines[0]; }
int ParallelScorer::threads() const { return static_cast<int>(impl_->scorers.size()); }

StatusOr<std::unique_ptr<ParallelScorer>> ParallelScorer::Create(const AnyModel& model,
                                                                 const ScoreOptions& options,
                                                                 int threads) {
  auto impl = std::make_unique<Impl>();
  EVAE_ASSIGN_OR_RETURN(impl->runtime, Runtime::Create(threads));
  const int workers = impl->runtime->threads();
  for (int w = 0; w < workers; ++w) {
    EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                          Engine::Create(model, EngineOptions{.max_batch = 256, .threads = 1}));
    EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, Scorer::Create(engine.get(), options));
    impl->engines.push_back(std::move(engine));
    impl->scorers.push_back(std::move(scorer));
  }
  impl->status.resize(workers);
  return std::unique_ptr<ParallelScorer>(new ParallelScorer(std::move(impl)));
}

Status ParallelScorer::Score(const uint8_t* pixels, size_t n, uint64_t first_index,
                             double* scores) {
  Impl& p = *impl_;
  const size_t in = p.engines[0]->shape().input;
  const size_t workers = std::min(p.scorers.size(), n);
  if (workers <= 1) return p.scorers[0]->Score(pixels, n, first_index, scores);
  ParallelTiles(p.runtime->pool(), workers, 1, [&](size_t wb, size_t we) {
    for (size_t w = wb; w < we; ++w) {
      const size_t b = n * w / workers, e = n * (w + 1) / workers;
      p.status[w] = p.scorers[w]->Score(pixels + b * in, e - b, first_index + b, scores + b);
    }
  });
  for (size_t w = 0; w < workers; ++w) EVAE_RETURN_IF_ERROR(p.status[w]);
  return Status::Ok();
}

// ---- Evaluation --------------------------------------------------------------------------------

namespace {

Status CheckLabelled(const std::vector<double>& scores, const std::vector<uint8_t>& is_anomaly,
                     size_t* positives) {
  if (scores.size() != is_anomaly.size()) {
    return InvalidArgument(std::to_string(scores.size()) + " scores but " +
                           std::to_string(is_anomaly.size()) + " labels");
  }
  size_t p = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) return DataError("score " + std::to_string(i) + " is NaN");
    p += is_anomaly[i] != 0;
  }
  if (p == 0 || p == scores.size()) {
    return InvalidArgument("AUROC/AUPR need both normal and anomalous images; found " +
                           std::to_string(p) + " anomalies among " + std::to_string(scores.size()));
  }
  *positives = p;
  return Status::Ok();
}

// Indices sorted by score, descending.
std::vector<size_t> OrderDescending(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

}  // namespace

StatusOr<double> Auroc(const std::vector<double>& scores, const std::vector<uint8_t>& is_anomaly) {
  size_t pos = 0;
  EVAE_RETURN_IF_ERROR(CheckLabelled(scores, is_anomaly, &pos));
  const size_t neg = scores.size() - pos;
  // Walk groups of tied scores from the top: each anomaly beats every normal image below its
  // group and ties with the normal images in it.
  const std::vector<size_t> order = OrderDescending(scores);
  double wins = 0;
  size_t neg_above = 0;  // normal images in earlier (higher) groups
  for (size_t i = 0; i < order.size();) {
    size_t j = i, p = 0, q = 0;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      (is_anomaly[order[j]] ? p : q) += 1;
      ++j;
    }
    wins += static_cast<double>(p) * (static_cast<double>(neg - neg_above - q) + 0.5 * q);
    neg_above += q;
    i = j;
  }
  return wins / (static_cast<double>(pos) * static_cast<double>(neg));
}

StatusOr<double> Aupr(const std::vector<double>& scores, const std::vector<uint8_t>& is_anomaly) {
  size_t pos = 0;
  EVAE_RETURN_IF_ERROR(CheckLabelled(scores, is_anomaly, &pos));
  const std::vector<size_t> order = OrderDescending(scores);
  double ap = 0;
  size_t tp = 0, flagged = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i, p = 0;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      p += is_anomaly[order[j]] != 0;
      ++j;
    }
    tp += p;
    flagged += j - i;
    ap += static_cast<double>(p) / static_cast<double>(pos) *
          (static_cast<double>(tp) / static_cast<double>(flagged));
    i = j;
  }
  return ap;
}

StatusOr<double> ThresholdAtFpr(const std::vector<double>& normal_scores, double fpr) {
  if (!(fpr > 0 && fpr < 1)) {
    return InvalidArgument("false-positive rate must be in (0, 1), got " + std::to_string(fpr));
  }
  if (normal_scores.empty()) return InvalidArgument("no normal scores to calibrate on");
  std::vector<double> sorted = normal_scores;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (std::isnan(sorted[i])) return DataError("score " + std::to_string(i) + " is NaN");
  }
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const size_t allowed = static_cast<size_t>(std::floor(fpr * static_cast<double>(n)));
  // At most `allowed` scores are strictly above sorted[n - 1 - allowed]; a lower candidate would
  // let that one through as well (or is tied with it, which changes nothing).
  return sorted[n - 1 - allowed];
}

}  // namespace edgevae
