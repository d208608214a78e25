// Anomaly scores: how unusual an image is to a trained model, higher = more anomalous, in nats
// per image. Computed through an inference Engine of any dtype (f32, f16, int8):
//  - bce:  reconstruction error, Bernoulli NLL sum_i softplus(l_i) - x_i l_i with z = mu;
//  - mse:  reconstruction error, sum_i (x_i - sigmoid(l_i))^2 with z = mu (not in nats);
//  - mse3x3: the residual r_i = x_i - sigmoid(l_i) summed over the 3 x 3 patch around each pixel,
//          squared, summed: a digit drawn a pixel aside from its reconstruction leaves +/- pairs
//          that a patch cancels, a missing or extra stroke leaves a patch of one sign. The best
//          one-class score measured (docs/anomaly.md); square images only;
//          for int8 engines bce, mse and mse3x3 are Engine::ReconstructionError's exact integer
//          sums, the same on every platform;
//  - elbo: negative ELBO, (1/S) sum_s [-log p(x|z_s)] + KL(q(z|x) || p(z)), z_s ~ q(z|x);
//  - iw:   importance-weighted NLL (Burda et al. 2015), K samples:
//          -(logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K).
// Optionally corrected by the input complexity L(x): the length of the image losslessly
// compressed (zlib deflate, level 9, of the raw pixels), in nats. Likelihoods of simple images
// are high because simple images are easy to encode, so a likelihood-based score ranks simple
// out-of-distribution images as normal (a Fashion-MNIST model finds MNIST digits likely).
//  - "-ic":  S(x) - L(x), Serra et al. 2020 ("Input complexity and out-of-distribution detection
//            with likelihood-based generative models"). Meant for a likelihood that is a code
//            length in the same units as L; our Bernoulli likelihood of grey values is not one
//            (it is ~100 nats for a digit whose PNG-like code is ~800), so L dominates: it fixes
//            Fashion-vs-MNIST and breaks MNIST-vs-Fashion (docs/anomaly.md).
//  - "-icr": S(x) / L(x), the score per nat of input information: ours, unit-free, and measured
//            to keep both directions and the one-class protocol.
//
// Noise is keyed by (seed, image index, sample), so a score depends only on the seed and the
// image's index, not on batching or thread count.
//
// The evaluation helpers follow the anomaly-detection literature: anomalies are the positives,
// AUROC is the probability that a random anomaly scores above a random normal image (ties
// count one half), AUPR is average precision.
#ifndef EDGEVAE_SCORE_H_
#define EDGEVAE_SCORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae {

enum class ScoreMethod { kBce, kMse, kMse3x3, kElbo, kIw };
enum class Complexity { kNone, kDifference, kRatio };  // none, "-ic", "-icr"

struct ScoreOptions {
  ScoreMethod method = ScoreMethod::kElbo;
  int samples = 1;      // S, for elbo
  int iw_samples = 64;  // K, for iw
  uint64_t seed = 1;
  Complexity complexity = Complexity::kNone;
};

// "bce", "mse", "mse3x3", "elbo", "iw", each optionally with "-ic" (minus L(x)) or "-icr" (over
// L(x)).
std::string ScoreMethodName(const ScoreOptions& options);
// Sets options->method and options->complexity from such a name.
Status ParseScoreMethod(const std::string& name, ScoreOptions* options);
// Samples per image the method uses (S, K, or 0 for bce/mse/mse3x3): what a calibration records.
int ScoreSamples(const ScoreOptions& options);

// L(x) in nats: 8 ln 2 times the bytes of zlib's level-9 deflate of the n raw pixels.
double InputComplexityNats(const uint8_t* pixels, size_t n);

// Scores images through one engine on the calling thread. Buffers are allocated at Create; Score
// allocates nothing on the heap.
class Scorer {
 public:
  // `engine` must outlive the scorer.
  static StatusOr<std::unique_ptr<Scorer>> Create(Engine* engine, const ScoreOptions& options);
  ~Scorer();
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;

  // scores[i] for the n images at `pixels` (n x input bytes), whose indices (the noise keys) are
  // first_index + i. Any n >= 0: calls are split to the engine's max_batch.
  Status Score(const uint8_t* pixels, size_t n, uint64_t first_index, double* scores);
  const ScoreOptions& options() const;

 private:
  struct Impl;
  explicit Scorer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `threads` engines of one thread each (batch 256), each with its own Scorer, scoring contiguous
// parts of a call's images concurrently. (Measured on the 2-core host: two single-threaded engines
// beat one engine with two threads, because the per-image work between the GEMMs -- noise,
// reparameterisation, the likelihood -- then runs in parallel too; docs/performance.md.)
class ParallelScorer {
 public:
  static StatusOr<std::unique_ptr<ParallelScorer>> Create(const AnyModel& model,
                                                          const ScoreOptions& options, int threads);
  ~ParallelScorer();
  ParallelScorer(const ParallelScorer&) = delete;
  ParallelScorer& operator=(const ParallelScorer&) = delete;

  Status Score(const uint8_t* pixels, size_t n, uint64_t first_index, double* scores);
  Engine& engine();  // the first worker's engine (shape, dtype, metadata)
  int threads() const;

 private:
  struct Impl;
  explicit ParallelScorer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Area under the ROC curve of `scores` with is_anomaly[i] != 0 as the positives; ties between an
// anomaly and a normal image count one half (the Mann-Whitney statistic). Errors when either
// class is empty, the sizes differ, or a score is NaN.
StatusOr<double> Auroc(const std::vector<double>& scores, const std::vector<uint8_t>& is_anomaly);
// Average precision with the anomalies as positives: sum over distinct thresholds t (descending)
// of (recall(t) - recall(previous t)) * precision(t), where an image is flagged when its score is
// >= t (so tied images enter together).
StatusOr<double> Aupr(const std::vector<double>& scores, const std::vector<uint8_t>& is_anomaly);
// The smallest threshold t, among the scores, such that at most floor(fpr * n) of the n normal
// scores are > t. 0 < fpr < 1; errors on an empty set or NaN.
StatusOr<double> ThresholdAtFpr(const std::vector<double>& normal_scores, double fpr);

}  // namespace edgevae

#endif  // EDGEVAE_SCORE_H_
