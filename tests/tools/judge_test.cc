// The classifier family and the sample-quality judge: the table's classifier form, the
// classifier's loss and gradient against a double reference and central finite differences, its
// forward pass, training on MNIST (a bound that can fail, and determinism), the eigen solver and
// the Fréchet distance against closed forms, and the refusals of what only a VAE can do.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "common/mnist_subset.h"
#include "edgevae/classifier.h"
#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/idx.h"
#include "edgevae/judge.h"
#include "edgevae/model.h"
#include "edgevae/quant.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "gtest/gtest.h"
#include "tools/symmetric_eigen.h"

namespace edgevae {
namespace {

const ShapeInfo kJudge = JudgeShape::kInfo;

// --- The table --------------------------------------------------------------------------------

TEST(ClassifierShapeTest, EveryCompiledShapeHasItsFamilysForm) {
  for (const ShapeInfo& s : CompiledShapes()) {
    EXPECT_TRUE(ValidateShape(s).ok()) << s.name << ": " << ValidateShape(s).message();
  }
  EXPECT_EQ(kJudge.family, Family::kClassifier);
  EXPECT_EQ(kJudge.SizesText(), "784-256-10");
  EXPECT_EQ(FindShape("judge")->family, Family::kClassifier);
}

TEST(ClassifierShapeTest, MalformedClassifierTablesAreNamed) {
  static constexpr LayerInfo kBadChain[] = {
      {"a", LayerRole::kHidden, 784, 64, Activation::kRelu},
      {"b", LayerRole::kClassLogits, 32, 10, Activation::kNone}};
  static constexpr LayerInfo kNoRelu[] = {
      {"a", LayerRole::kHidden, 784, 64, Activation::kNone},
      {"b", LayerRole::kClassLogits, 64, 10, Activation::kNone}};
  static constexpr LayerInfo kVaeRole[] = {
      {"a", LayerRole::kEncoder, 784, 64, Activation::kRelu},
      {"b", LayerRole::kClassLogits, 64, 10, Activation::kNone}};
  const ShapeInfo chain{"c", 784, 64, 10, kBadChain, Family::kClassifier};
  const ShapeInfo relu{"c", 784, 64, 10, kNoRelu, Family::kClassifier};
  const ShapeInfo role{"c", 784, 64, 10, kVaeRole, Family::kClassifier};
  EXPECT_NE(ValidateShape(chain).message().find("layer b is 32 -> 10, expected 64 -> 10"),
            std::string::npos)
      << ValidateShape(chain).message();
  EXPECT_NE(ValidateShape(relu).message().find("needs a ReLU"), std::string::npos);
  EXPECT_NE(ValidateShape(role).message().find("is a encoder layer"), std::string::npos)
      << ValidateShape(role).message();
  // And a classifier's roles in a VAE's table.
  static constexpr LayerInfo kVaeWithHidden[] = {
      {"a", LayerRole::kHidden, 784, 8, Activation::kRelu},
      {"mu", LayerRole::kMean, 8, 2, Activation::kNone},
      {"lv", LayerRole::kLogVar, 8, 2, Activation::kNone},
      {"d", LayerRole::kDecoder, 2, 8, Activation::kRelu},
      {"o", LayerRole::kLogits, 8, 784, Activation::kNone}};
  const ShapeInfo vae{"v", 784, 8, 2, kVaeWithHidden};
  EXPECT_FALSE(ValidateShape(vae).ok());
}

// --- A double reference of the classifier ------------------------------------------------------

// Summed softmax cross-entropy of n rows, in double, with the parameters of `model`'s layout.
double ReferenceLoss(const Model& model, const std::vector<double>& params,
                     const std::vector<float>& x, const std::vector<uint8_t>& labels, size_t n,
                     std::vector<std::vector<double>>* features = nullptr) {
  const ShapeInfo& s = model.shape();
  double loss = 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> a(x.begin() + i * s.input, x.begin() + (i + 1) * s.input);
    for (size_t l = 0; l < s.layers.size(); ++l) {
      const LayerInfo& info = s.layers[l];
      const LayerParams& p = model.layout().layers[l];
      std::vector<double> y(info.out);
      for (int o = 0; o < info.out; ++o) {
        double acc = params[p.bias + o];
        for (int k = 0; k < info.in; ++k) acc += params[p.weight + o * info.in + k] * a[k];
        y[o] = info.activation == Activation::kRelu ? std::max(acc, 0.0) : acc;
      }
      if (features != nullptr && l + 2 == s.layers.size()) features->push_back(y);
      a = std::move(y);
    }
    const double top = *std::max_element(a.begin(), a.end());
    double sum = 0;
    for (double v : a) sum += std::exp(v - top);
    loss += top + std::log(sum) - a[labels[i]];
  }
  return loss;
}

std::vector<float> RandomImages(size_t n, size_t input) {
  const RngStream rng(4321, 7), dark(4321, 8);
  std::vector<float> x(n * input);
  for (size_t i = 0; i < x.size(); ++i) x[i] = dark.Uniform(i) < 0.7f ? 0.0f : rng.Uniform(i);
  return x;
}

TEST(ClassifierGradTest, LossAndGradientMatchTheDoubleReferenceAndFiniteDifferences) {
  StatusOr<Model> model = Model::Create(kJudge);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  TrainOptions options;
  options.batch = 4;
  StatusOr<std::unique_ptr<Trainer>> trainer = CreateTrainer(&*model, rt->get(), options);
  ASSERT_TRUE(trainer.ok()) << trainer.status().message();
  constexpr size_t kN = 3;
  const std::vector<float> x = RandomImages(kN, kJudge.input);
  const std::vector<uint8_t> labels = {3, 0, 9};
  std::vector<float> grad(model->param_floats());
  StatusOr<double> loss = (*trainer)->LossAndGradient(x.data(), kN, 1, 0, grad.data(),
                                                      labels.data());
  ASSERT_TRUE(loss.ok()) << loss.status().message();
  // Without labels a classifier's step is refused.
  EXPECT_FALSE((*trainer)->LossAndGradient(x.data(), kN, 1, 0, grad.data()).ok());

  std::vector<double> params(model->params(), model->params() + model->param_floats());
  const double ref = ReferenceLoss(*model, params, x, labels, kN);
  EXPECT_NEAR(*loss, ref, 1e-5 * std::max(1.0, std::fabs(ref)));

  // Per tensor: the 4 largest |gradient| entries and 8 pseudo-random ones, against a central
  // difference of the double loss. Entries whose +-h crosses a ReLU kink are skipped (counted).
  double worst = 0;
  int checked = 0;
  for (const TensorView& tv : model->tensors()) {
    std::vector<size_t> idx(tv.size());
    std::iota(idx.begin(), idx.end(), size_t{0});
    std::partial_sort(idx.begin(), idx.begin() + 4, idx.end(), [&](size_t a, size_t b) {
      return std::fabs(grad[tv.offset + a]) > std::fabs(grad[tv.offset + b]);
    });
    std::vector<size_t> entries(idx.begin(), idx.begin() + 4);
    const RngStream pick(99, static_cast<uint32_t>(tv.offset));
    for (uint64_t j = 0; j < 8; ++j) {
      entries.push_back(pick.Below(j, static_cast<uint32_t>(tv.size())));
    }
    for (size_t e : entries) {
      const size_t at = tv.offset + e;
      const double h = 1e-4 * std::max(1.0, std::fabs(params[at]));
      const double w = params[at];
      params[at] = w + h;
      const double up = ReferenceLoss(*model, params, x, labels, kN);
      params[at] = w - h;
      const double down = ReferenceLoss(*model, params, x, labels, kN);
      params[at] = w;
      const double fd = (up - down) / (2 * h);
      const double err = std::fabs(grad[at] - fd) / std::max(1.0, std::fabs(fd));
      worst = std::max(worst, err);
      EXPECT_LT(err, 1e-4) << tv.name << "[" << e << "]: analytic " << grad[at] << ", fd " << fd;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4 * 12);
  std::printf("classifier gradient: worst relative error %.3g over %d entries\n", worst, checked);
}

TEST(ClassifierTest, ForwardMatchesTheDoubleReference) {
  StatusOr<Model> model = Model::Create(kJudge);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(5);
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  // max_batch 2 with 5 rows: the batches' seams are covered.
  StatusOr<std::unique_ptr<Classifier>> c = Classifier::Create(*model, rt->get(), 2);
  ASSERT_TRUE(c.ok()) << c.status().message();
  constexpr size_t kN = 5;
  const std::vector<float> x = RandomImages(kN, kJudge.input);
  std::vector<float> probs(kN * 10), features(kN * 256);
  ASSERT_TRUE((*c)->Run(x.data(), kN, probs.data(), features.data()).ok());
  std::vector<double> params(model->params(), model->params() + model->param_floats());
  std::vector<std::vector<double>> ref_features;
  for (uint8_t label = 0; label < 10; ++label) {
    // The loss of one row with each label is -log p(label): the reference's probabilities.
    for (size_t i = 0; i < kN; ++i) {
      const std::vector<float> row(x.begin() + i * 784, x.begin() + (i + 1) * 784);
      const double p = std::exp(-ReferenceLoss(*model, params, row, {label}, 1));
      EXPECT_NEAR(probs[i * 10 + label], p, 1e-5) << "row " << i << " class " << int(label);
    }
  }
  ReferenceLoss(*model, params, x, std::vector<uint8_t>(kN, 0), kN, &ref_features);
  for (size_t i = 0; i < kN; ++i) {
    for (size_t f = 0; f < 256; ++f) {
      ASSERT_NEAR(features[i * 256 + f], ref_features[i][f],
                  1e-5 * std::max(1.0, std::fabs(ref_features[i][f])));
    }
  }
}

// --- Training on MNIST --------------------------------------------------------------------------

class ClassifierTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // 2,000 training and 1,000 test images (emulated builds: the same, a few seconds natively).
    StatusOr<MnistData> d = LoadMnist(testutil::MnistSubsetDir(2000, 1000));
    ASSERT_TRUE(d.ok()) << d.status().message();
    data_ = new MnistData(std::move(d).value());
  }
  static void TearDownTestSuite() { delete data_; }

  static Model Train(int epochs, uint64_t seed) {
    StatusOr<Model> model = Model::Create(kJudge);
    EXPECT_TRUE(model.ok());
    model->InitializeLikeTorch(seed);
    StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
    EXPECT_TRUE(rt.ok());
    TrainOptions options;
    options.batch = 64;
    options.seed = seed;
    StatusOr<std::unique_ptr<Trainer>> trainer = CreateTrainer(&*model, rt->get(), options);
    EXPECT_TRUE(trainer.ok()) << trainer.status().message();
    for (int e = 0; e < epochs; ++e) {
      StatusOr<EpochResult> r = (*trainer)->TrainEpoch(data_->train, {});
      EXPECT_TRUE(r.ok()) << r.status().message();
    }
    return std::move(model).value();
  }

  static MnistData* data_;
};
MnistData* ClassifierTrainTest::data_ = nullptr;

// Under qemu-user (EDGEVAE_TEST_EMULATED) training is most of this test's minute: 2 epochs.
#ifdef EDGEVAE_TEST_EMULATED
constexpr int kEpochs = 2;
constexpr double kMinAccuracy = 0.78, kMaxLoss = 0.7, kMinRecognised = 0.15;
#else
constexpr int kEpochs = 4;
constexpr double kMinAccuracy = 0.80, kMaxLoss = 0.6, kMinRecognised = 0.35;
#endif

TEST_F(ClassifierTrainTest, LearnsTheDigitsDeterministicallyAndJudgesTheTestImages) {
  const Model a = Train(kEpochs, 1);
  // Measured (AMD EPYC, 2026-12-03): 86.7 % on these 1,000 test images after 4 epochs over
  // 2,000 (loss 0.43), and 48 % of them recognised at p >= 0.9; after 2 epochs 83.2 % (loss
  // 0.60) and 24 %. Chance is 10 %, an untrained network about that. The bounds leave room for
  // another CPU's rounding, not for a broken step.
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  StatusOr<EvalResult> eval = Evaluate(a, rt->get(), data_->test, EvalOptions{});
  ASSERT_TRUE(eval.ok()) << eval.status().message();
  std::printf("after %d epochs over 2,000 images: test accuracy %.4f, loss %.4f\n", kEpochs,
              eval->accuracy, eval->test_loss);
  EXPECT_GE(eval->accuracy, kMinAccuracy);
  EXPECT_LT(eval->test_loss, kMaxLoss);
  EXPECT_FALSE(Evaluate(a, rt->get(), data_->test, EvalOptions{.iw_samples = 5}).ok());

  // Same seed, same weights, bit for bit.
  const Model b = Train(kEpochs, 1);
  ASSERT_EQ(a.param_floats(), b.param_floats());
  EXPECT_TRUE(std::equal(a.params(), a.params() + a.param_floats(), b.params()));

  // The test images judged against their own statistics: Fréchet distance 0, most recognised,
  // every class present.
  StatusOr<std::unique_ptr<Classifier>> judge = Classifier::Create(a, rt->get());
  ASSERT_TRUE(judge.ok());
  StatusOr<FeatureStats> ref = ReferenceFeatures(**judge, data_->test);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  std::vector<float> x(static_cast<size_t>(data_->test.count) * 784);
  for (size_t i = 0; i < x.size(); ++i) x[i] = data_->test.pixels[i] / 255.0f;
  StatusOr<JudgeReport> self = JudgeImages(**judge, x.data(), data_->test.count, *ref);
  ASSERT_TRUE(self.ok()) << self.status().message();
  EXPECT_LT(self->frechet, 1e-6 * (1 + ref->cov[0]));
  std::printf("the test images judged: %.4f recognised, coverage KL %.4f\n", self->recognised,
              self->coverage_kl);
  EXPECT_GE(self->recognised, kMinRecognised);
  EXPECT_LT(self->coverage_kl, 0.05);
  for (int count : self->histogram) EXPECT_GT(count, 0);
  // Blank images: all one class at best, far from the test images.
  std::vector<float> blank(200 * 784, 0.0f);
  StatusOr<JudgeReport> empty = JudgeImages(**judge, blank.data(), 200, *ref);
  ASSERT_TRUE(empty.ok());
  EXPECT_NEAR(empty->coverage_kl, std::log(10.0), 1e-9);
  EXPECT_GT(empty->frechet, 1.0);
}

// --- Eigenvalues and the Fréchet distance -------------------------------------------------------

std::vector<double> RandomSymmetric(size_t n, uint64_t seed, bool positive) {
  const RngStream rng(seed, 1);
  std::vector<double> b(n * n), a(n * n, 0.0);
  for (size_t i = 0; i < b.size(); ++i) b[i] = 2 * rng.Uniform(i) - 1;
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < n; ++c) {
      if (positive) {  // B B^T
        for (size_t k = 0; k < n; ++k) a[r * n + c] += b[r * n + k] * b[c * n + k];
      } else {
        a[r * n + c] = b[r * n + c] + b[c * n + r];
      }
    }
  }
  return a;
}

TEST(SymmetricEigenTest, EigenpairsSatisfyTheDefinitionAndRootsSquareBack) {
  constexpr size_t kN = 40;
  const std::vector<double> a = RandomSymmetric(kN, 3, false);
  const SymmetricEigen e = EigenSymmetric(a, kN);
  double scale = 0;
  for (double v : a) scale = std::max(scale, std::fabs(v));
  for (size_t j = 0; j < kN; ++j) {
    for (size_t r = 0; r < kN; ++r) {
      double av = 0;
      for (size_t k = 0; k < kN; ++k) av += a[r * kN + k] * e.vectors[k * kN + j];
      ASSERT_NEAR(av, e.values[j] * e.vectors[r * kN + j], 1e-10 * scale * kN) << j << "," << r;
    }
  }
  const std::vector<double> p = RandomSymmetric(kN, 4, true);
  const std::vector<double> root = SqrtSymmetric(p, kN);
  double pscale = 0;
  for (double v : p) pscale = std::max(pscale, std::fabs(v));
  for (size_t r = 0; r < kN; ++r) {
    for (size_t c = 0; c < kN; ++c) {
      double sq = 0;
      for (size_t k = 0; k < kN; ++k) sq += root[r * kN + k] * root[k * kN + c];
      ASSERT_NEAR(sq, p[r * kN + c], 1e-9 * pscale);
    }
  }
}

TEST(SymmetricEigenTest, EigenvaluesAloneAreThoseOfTheFullDecomposition) {
  auto sorted = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  std::vector<std::pair<std::vector<double>, size_t>> cases = {
      {RandomSymmetric(40, 3, false), 40}, {RandomSymmetric(40, 4, true), 40},
      {RandomSymmetric(2, 5, false), 2},   {{7.5}, 1},
      {{4, 0, 0, 0, 0, 0, 0, 0, 9}, 3}};  // a zero row and column: the reduction's scale-0 branch
  std::vector<double> zero_row = RandomSymmetric(6, 6, true);
  for (size_t i = 0; i < 6; ++i) zero_row[2 * 6 + i] = zero_row[i * 6 + 2] = 0;
  cases.emplace_back(zero_row, 6);
  for (const auto& [a, n] : cases) {
    const std::vector<double> full = sorted(EigenSymmetric(a, n).values);
    const std::vector<double> alone = sorted(EigenvaluesSymmetric(a, n));
    ASSERT_EQ(alone.size(), n);
    double scale = 1e-300;
    for (double v : a) scale = std::max(scale, std::fabs(v));
    for (size_t j = 0; j < n; ++j) EXPECT_NEAR(alone[j], full[j], 1e-12 * scale * n) << n << ":" << j;
  }
  EXPECT_TRUE(EigenvaluesSymmetric({}, 0).empty());
}

FeatureStats Stats(std::vector<double> mean, std::vector<double> cov) {
  FeatureStats s;
  s.dim = mean.size();
  s.count = 100;
  s.mean = std::move(mean);
  s.cov = std::move(cov);
  return s;
}

TEST(FrechetTest, MatchesClosedForms) {
  // Diagonal covariances commute: d = |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2.
  const FeatureStats a = Stats({0, 1, 2}, {4, 0, 0, 0, 1, 0, 0, 0, 9});
  const FeatureStats b = Stats({1, 1, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 16});
  StatusOr<double> d = FrechetDistance(a, b);
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR(*d, (1 + 0 + 4) + (1 + 0 + 1), 1e-10);
  // Symmetric in its arguments; zero for the same Gaussian; the same for a rotated pair.
  const std::vector<double> p = RandomSymmetric(20, 8, true), q = RandomSymmetric(20, 9, true);
  const FeatureStats pa = Stats(std::vector<double>(20, 0.5), p);
  const FeatureStats qb = Stats(std::vector<double>(20, -0.5), q);
  StatusOr<double> pq = FrechetDistance(pa, qb), qp = FrechetDistance(qb, pa);
  ASSERT_TRUE(pq.ok() && qp.ok());
  EXPECT_NEAR(*pq, *qp, 1e-8 * *pq);
  StatusOr<double> same = FrechetDistance(pa, pa);
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(*same, 0.0, 1e-8 * (1 + p[0]));
  // Against a brute-force reference: tr((C_a C_b)^1/2) through the eigenvalues of C_a C_b, which
  // are those of S C_b S (real, >= 0).
  const std::vector<double> sa = SqrtSymmetric(p, 20);
  std::vector<double> m(400, 0.0), t(400, 0.0);
  for (size_t r = 0; r < 20; ++r)
    for (size_t k = 0; k < 20; ++k)
      for (size_t c = 0; c < 20; ++c) t[r * 20 + c] += sa[r * 20 + k] * q[k * 20 + c];
  for (size_t r = 0; r < 20; ++r)
    for (size_t k = 0; k < 20; ++k)
      for (size_t c = 0; c < 20; ++c) m[r * 20 + c] += t[r * 20 + k] * sa[k * 20 + c];
  double trace_root = 0, trace = 0;
  for (double v : EigenSymmetric(m, 20).values) trace_root += std::sqrt(std::max(v, 0.0));
  for (size_t i = 0; i < 20; ++i) trace += p[i * 21] + q[i * 21];
  EXPECT_NEAR(*pq, 20 * 1.0 + trace - 2 * trace_root, 1e-8 * *pq);
  // The reference's root given (as ReferenceFeatures gives it) or computed: the same distance.
  FeatureStats rooted = qb;
  rooted.cov_root = SqrtSymmetric(q, 20);
  StatusOr<double> with_root = FrechetDistance(pa, rooted);
  ASSERT_TRUE(with_root.ok());
  EXPECT_EQ(*with_root, *pq);
  // Mismatched sizes are refused, a root of the wrong size too.
  EXPECT_FALSE(FrechetDistance(a, pa).ok());
  rooted.cov_root.pop_back();
  EXPECT_FALSE(FrechetDistance(pa, rooted).ok());
  EXPECT_FALSE(ComputeFeatureStats(nullptr, 1, 3).ok());
}

TEST(FrechetTest, FeatureStatsAreTheSampleMeanAndCovariance) {
  const std::vector<float> f = {1, 2, 3, 6, 5, 10};  // 3 rows of 2
  StatusOr<FeatureStats> s = ComputeFeatureStats(f.data(), 3, 2);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->mean[0], 3, 1e-12);
  EXPECT_NEAR(s->mean[1], 6, 1e-12);
  EXPECT_NEAR(s->cov[0], (4 + 0 + 4) / 2.0, 1e-12);
  EXPECT_NEAR(s->cov[1], (-2 * -4 + 0 + 2 * 4) / 2.0, 1e-12);
  EXPECT_NEAR(s->cov[2], s->cov[1], 0);
  EXPECT_NEAR(s->cov[3], (16 + 0 + 16) / 2.0, 1e-12);
}

// KL(N(m, S) || N(0, I)) = (tr S + |m|^2 - d - log det S) / 2, against a diagonal closed form
// and, for a full covariance, the log determinant by a Cholesky factorisation.
TEST(KlToStandardNormalTest, MatchesClosedForms) {
  EXPECT_NEAR(KlToStandardNormal(Stats({0, 0}, {1, 0, 0, 1})), 0.0, 1e-12);
  EXPECT_NEAR(KlToStandardNormal(Stats({1, 0}, {2, 0, 0, 0.5})),
              (2 + 0.5 + 1 - 2 - std::log(2 * 0.5)) / 2, 1e-12);
  const std::vector<double> p = RandomSymmetric(20, 11, true);
  std::vector<double> l(400, 0.0);  // p = l l^T
  double log_det = 0, trace = 0;
  for (size_t j = 0; j < 20; ++j) {
    double d = p[j * 21];
    for (size_t k = 0; k < j; ++k) d -= l[j * 20 + k] * l[j * 20 + k];
    l[j * 21] = std::sqrt(d);
    log_det += 2 * std::log(l[j * 21]);
    trace += p[j * 21];
    for (size_t i = j + 1; i < 20; ++i) {
      double v = p[i * 20 + j];
      for (size_t k = 0; k < j; ++k) v -= l[i * 20 + k] * l[j * 20 + k];
      l[i * 20 + j] = v / l[j * 21];
    }
  }
  EXPECT_NEAR(KlToStandardNormal(Stats(std::vector<double>(20, 0.5), p)),
              (trace + 20 * 0.25 - 20 - log_det) / 2, 1e-8 * (1 + trace));
  // Codes on a line: a singular covariance.
  EXPECT_TRUE(std::isinf(KlToStandardNormal(Stats({0, 0}, {1, 1, 1, 1}))));
}

// --- What only a VAE does ------------------------------------------------------------------------

TEST(ClassifierTest, VaeOnlyPathsRefuseAClassifierByName) {
  StatusOr<Model> model = Model::Create(kJudge);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(1);
  StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(*model, EngineOptions{});
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(engine.status().message().find("'judge' is a classifier"), std::string::npos)
      << engine.status().message();
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  ImageSet images;
  images.count = 2;
  images.rows = images.cols = 28;
  images.pixels.assign(2 * 784, 0);
  EXPECT_FALSE(QuantizeInt8(*model, rt->get(), images, Calibration::kMinMax).ok());
  TrainOptions iwae;
  iwae.objective = Objective::kIwae;
  EXPECT_FALSE(CreateTrainer(&*model, rt->get(), iwae).ok());
  // And a VAE is not a classifier.
  StatusOr<Model> vae = Model::Create(TinyShape::kInfo);
  ASSERT_TRUE(vae.ok());
  EXPECT_FALSE(Classifier::Create(*vae, rt->get()).ok());
}

}  // namespace
}  // namespace edgevae
