// The sample-quality judge: what the project's digit classifier (the `judge` shape, trained by
// `edgevae train --shape judge`, shipped as models/judge.evae) says about a generative model's
// samples, the same for every family:
//  - recognised: the share of samples whose most probable class has probability >= 0.9;
//  - the class histogram of the samples' most probable classes, and its KL divergence to the
//    uniform distribution over the classes (mode coverage: 0 when every digit is as frequent,
//    log 10 = 2.30 nats when all samples are one digit);
//  - a Fréchet distance between Gaussians fitted to the classifier's last hidden features of the
//    samples and of the test images: |mu_s - mu_t|^2 + tr(C_s + C_t - 2 (C_s^1/2 C_t C_s^1/2)^1/2).
//    It is FID-style (Heusel et al. 2017) but on this small MNIST classifier's 256 features, not
//    Inception's 2048: its values compare models judged by the same judge file, not FID tables.
#ifndef EDGEVAE_JUDGE_H_
#define EDGEVAE_JUDGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "edgevae/classifier.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/status.h"

namespace edgevae {

inline constexpr double kJudgeConfidence = 0.9;

// Mean and covariance (divided by count - 1) of `count` feature rows of `dim` floats.
struct FeatureStats {
  size_t dim = 0;
  int count = 0;
  std::vector<double> mean;  // dim
  std::vector<double> cov;   // dim x dim, row-major
  // cov^1/2 (dim x dim) when computed, else empty. ReferenceFeatures computes it: a reference is
  // compared with many sample sets, and the root is most of a Fréchet distance's work.
  std::vector<double> cov_root;
};
StatusOr<FeatureStats> ComputeFeatureStats(const float* features, int count, size_t dim);

// KL(N(mean, cov) || N(0, I)) in nats = (tr cov + |mean|^2 - dim - log det cov) / 2: how far a
// Gaussian fitted to a set of codes is from the prior (edgevae/eval.h's code_kl). +infinity when
// cov is singular (the codes span fewer than dim directions).
double KlToStandardNormal(const FeatureStats& s);

// The Fréchet distance between the Gaussians of `a` and `b` (the same dim), through b's cov_root
// when it has one (it must then be cov's square root, as ReferenceFeatures computes it).
StatusOr<double> FrechetDistance(const FeatureStats& a, const FeatureStats& b);

struct JudgeReport {
  int samples = 0;
  double recognised = 0;           // share with max probability >= kJudgeConfidence
  std::vector<int> histogram;      // per class: samples whose most probable class it is
  double coverage_kl = 0;          // KL(histogram / samples || uniform), nats
  double frechet = 0;              // against `reference`
};

// Judges `n` images given as floats in [0, 1] (a decoder's pixel probabilities, or test images)
// against the reference statistics (the judge's features of the test images).
StatusOr<JudgeReport> JudgeImages(Classifier& judge, const float* images, int n,
                                  const FeatureStats& reference);

// `n` samples of a generative model's prior, z ~ N(0, I) drawn as Engine::Sample(n, seed) draws
// them (so the first ones are `edgevae sample`'s with the same seed), decoded in batches of the
// engine's max_batch: n x input pixel probabilities.
StatusOr<std::vector<float>> DrawSamples(Engine& engine, int n, uint64_t seed);

// The reference: the judge's feature statistics of `images` (the 10,000 test images), with the
// covariance's square root.
StatusOr<FeatureStats> ReferenceFeatures(Classifier& judge, const ImageSet& images);

}  // namespace edgevae

#endif  // EDGEVAE_JUDGE_H_
