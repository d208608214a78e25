// Anomaly scores (edgevae/score.h) against a plain double-precision reference computed from the
// engine's own outputs (Encode, DecodeLogits) and the documented noise keys; batching, threads
// and seeds; and AUROC / AUPR / threshold-at-FPR against brute-force definitions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "common/patch_mse.h"
#include "edgevae/engine.h"
#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "edgevae/score.h"
#include "edgevae/shape.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Stroke-like synthetic images: mostly 0, some 255, some grey; different per seed.
std::vector<uint8_t> Images(int n, size_t in, uint64_t seed) {
  RngStream rng(seed, 99);
  std::vector<uint8_t> px(n * in);
  for (size_t i = 0; i < px.size(); ++i) {
    const float u = rng.Uniform(i);
    px[i] = u < 0.75f ? 0 : u < 0.9f ? 255 : static_cast<uint8_t>(rng.Below(i + px.size(), 256));
  }
  return px;
}

Model TestModel(uint64_t seed) {
  StatusOr<Model> m = Model::Create(MnistShape::kInfo);
  EXPECT_TRUE(m.ok());
  m->InitializeLikeTorch(seed);
  return std::move(m).value();
}

double Softplus(double l) { return std::max(l, 0.0) + std::log1p(std::exp(-std::fabs(l))); }


// The scores from first principles, one image at a time through an engine of batch 1.
std::vector<double> Reference(Engine& e, const std::vector<uint8_t>& px, int n,
                              const ScoreOptions& o) {
  const size_t in = e.shape().input, lat = e.shape().latent;
  std::vector<double> out(n);
  std::vector<float> mu(lat), lv(lat), z(lat), eps(32), logits(in);
  for (int i = 0; i < n; ++i) {
    const uint8_t* x = px.data() + i * in;
    EXPECT_TRUE(e.Encode(x, 1, mu.data(), lv.data()).ok());
    auto nll_of = [&](const float* zz) {
      EXPECT_TRUE(e.DecodeLogits(zz, 1, logits.data()).ok());
      double bce = 0, mse = 0;
      std::vector<double> residual(in);
      for (size_t j = 0; j < in; ++j) {
        const double xj = x[j] / 255.0, l = logits[j];
        bce += Softplus(l) - xj * l;
        const double p = 1 / (1 + std::exp(-l));
        mse += (p - xj) * (p - xj);
        residual[j] = xj - p;
      }
      return std::make_tuple(bce, mse, testutil::PlainPatchMse(residual, 28).sum);
    };
    if (o.method == ScoreMethod::kBce || o.method == ScoreMethod::kMse ||
        o.method == ScoreMethod::kMse3x3) {
      const auto [bce, mse, mse3x3] = nll_of(mu.data());
      out[i] = o.method == ScoreMethod::kBce ? bce : o.method == ScoreMethod::kMse ? mse : mse3x3;
    } else {
      const int s_total = o.method == ScoreMethod::kElbo ? o.samples : o.iw_samples;
      double kl = 0, sum_lv = 0;
      for (size_t j = 0; j < lat; ++j) {
        kl += -0.5 * (1 + lv[j] - mu[j] * mu[j] - std::exp(lv[j]));
        sum_lv += lv[j];
      }
      std::vector<double> log_w;
      double elbo = 0;
      for (int s = 0; s < s_total; ++s) {
        // Documented key: stream (kScoreNoise, index), sample s at normals [32 s, 32 s + lat).
        FillNormal(RngStream(o.seed, StreamId(RngPurpose::kScoreNoise, i, 0)), 32 * s, eps.data(),
                   lat);
        double e2 = 0, z2 = 0;
        for (size_t j = 0; j < lat; ++j) {
          z[j] = mu[j] + std::exp(0.5f * lv[j]) * eps[j];
          e2 += double{eps[j]} * eps[j];
          z2 += double{z[j]} * z[j];
        }
        const double bce = std::get<0>(nll_of(z.data()));
        elbo += bce + kl;
        log_w.push_back(-bce + 0.5 * (e2 - z2 + sum_lv));
      }
      if (o.method == ScoreMethod::kElbo) {
        out[i] = elbo / s_total;
      } else {
        const double m = *std::max_element(log_w.begin(), log_w.end());
        double sum = 0;
        for (double w : log_w) sum += std::exp(w - m);
        out[i] = -(m + std::log(sum) - std::log(double(s_total)));
      }
    }
    if (o.complexity == Complexity::kDifference) out[i] -= InputComplexityNats(x, in);
    if (o.complexity == Complexity::kRatio) out[i] /= InputComplexityNats(x, in);
  }
  return out;
}

std::vector<double> RunScorer(Engine& e, const std::vector<uint8_t>& px, int n,
                              const ScoreOptions& o) {
  auto scorer = Scorer::Create(&e, o);
  EXPECT_TRUE(scorer.ok()) << scorer.status().message();
  std::vector<double> scores(n, kNaN);  // an unwritten slot stays NaN
  Status s = (*scorer)->Score(px.data(), n, 0, scores.data());
  EXPECT_TRUE(s.ok()) << s.message();
  return scores;
}

struct Case {
  const char* method;
  int samples, iw;
};

class ScoreReferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ScoreReferenceTest, MatchesPlainReferenceAcrossBatchSizes) {
  const Case c = GetParam();
  ScoreOptions o;
  ASSERT_TRUE(ParseScoreMethod(c.method, &o).ok());
  o.samples = c.samples;
  o.iw_samples = c.iw;
  o.seed = 5;
  const Model model = TestModel(3);
  const int n = 23;
  const auto px = Images(n, 784, 1);
  auto one = Engine::Create(model, EngineOptions{.max_batch = 1});
  ASSERT_TRUE(one.ok());
  const std::vector<double> ref = Reference(**one, px, n, o);
  // Odd engine batches split images and, for elbo/iw, an image's samples across calls.
  for (int batch : {1, 3, 7, 64}) {
    auto e = Engine::Create(model, EngineOptions{.max_batch = batch});
    ASSERT_TRUE(e.ok());
    const std::vector<double> got = RunScorer(**e, px, n, o);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << c.method << " batch " << batch << " image " << i;
      EXPECT_NEAR(got[i], ref[i], 2e-5 * std::max(1.0, std::fabs(ref[i])))
          << c.method << " batch " << batch << " image " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, ScoreReferenceTest,
                         ::testing::Values(Case{"bce", 1, 1}, Case{"mse", 1, 1}, Case{"elbo", 1, 1},
                                           Case{"elbo", 3, 1}, Case{"iw", 1, 1}, Case{"iw", 1, 5},
                                           Case{"elbo-ic", 2, 1}, Case{"bce-ic", 1, 1},
                                           Case{"mse-icr", 1, 1}, Case{"iw-icr", 1, 3},
                                           Case{"mse3x3", 1, 1}, Case{"mse3x3-icr", 1, 1}));

TEST(ScoreTest, SeedDecidesNoiseAndIndexKeysIt) {
  const Model model = TestModel(4);
  const auto px = Images(9, 784, 2);
  auto e = Engine::Create(model, EngineOptions{.max_batch = 4});
  ASSERT_TRUE(e.ok());
  ScoreOptions o;
  o.method = ScoreMethod::kElbo;
  o.samples = 2;
  const auto a = RunScorer(**e, px, 9, o);
  const auto b = RunScorer(**e, px, 9, o);
  EXPECT_EQ(a, b);
  o.seed = 2;
  const auto c = RunScorer(**e, px, 9, o);
  EXPECT_NE(a, c);
  // Scoring images 4.. with first_index 4 gives the same as within the whole call.
  auto scorer = Scorer::Create(e->get(), ScoreOptions{.method = ScoreMethod::kElbo, .samples = 2});
  ASSERT_TRUE(scorer.ok());
  std::vector<double> tail(5, kNaN);
  ASSERT_TRUE((*scorer)->Score(px.data() + 4 * 784, 5, 4, tail.data()).ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(tail[i], a[4 + i]);
}

TEST(ScoreTest, ParallelScorerMatchesOneScorer) {
  const Model model = TestModel(6);
  AnyModel any;
  any.f32 = model.Clone();
  const int n = 301;
  const auto px = Images(n, 784, 3);
  for (const char* m : {"bce", "elbo", "iw"}) {
    ScoreOptions o;
    ASSERT_TRUE(ParseScoreMethod(m, &o).ok());
    o.iw_samples = 3;
    auto e = Engine::Create(model, EngineOptions{.max_batch = 256});
    ASSERT_TRUE(e.ok());
    const auto one = RunScorer(**e, px, n, o);
    for (int threads : {1, 2, 3}) {
      auto p = ParallelScorer::Create(any, o, threads);
      ASSERT_TRUE(p.ok()) << p.status().message();
      std::vector<double> got(n, kNaN);
      ASSERT_TRUE((*p)->Score(px.data(), n, 0, got.data()).ok());
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(got[i], one[i]) << m << " threads " << threads << " image " << i;
    }
  }
}

TEST(ScoreTest, MethodNamesAndBadOptions) {
  ScoreOptions o;
  for (const char* name : {"bce", "mse", "mse3x3", "elbo", "iw", "elbo-ic", "iw-ic", "mse-icr",
                           "mse3x3-icr", "elbo-icr"}) {
    ASSERT_TRUE(ParseScoreMethod(name, &o).ok()) << name;
    EXPECT_EQ(ScoreMethodName(o), name);
  }
  Status s = ParseScoreMethod("nll", &o);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("'nll'"));
  const Model model = TestModel(1);
  auto e = Engine::Create(model, EngineOptions{.max_batch = 2});
  ASSERT_TRUE(e.ok());
  auto bad = Scorer::Create(e->get(), ScoreOptions{.method = ScoreMethod::kIw, .iw_samples = 0});
  EXPECT_FALSE(bad.ok());
}

TEST(ScoreTest, InputComplexityGrowsWithDetail) {
  std::vector<uint8_t> blank(784, 0);
  const auto noisy = Images(1, 784, 7);
  const double lb = InputComplexityNats(blank.data(), 784);
  const double ln = InputComplexityNats(noisy.data(), 784);
  EXPECT_GT(lb, 0);
  EXPECT_GT(ln, 5 * lb);
  // 8 ln 2 nats per compressed byte.
  EXPECT_NEAR(std::fmod(lb / (8 * std::log(2.0)), 1.0), 0.0, 1e-9);
}

// ---- metrics against brute force
// -----------------------------------------------------------------

double BruteAuroc(const std::vector<double>& s, const std::vector<uint8_t>& y) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (!y[i] || y[j]) continue;
      pairs += 1;
      wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  }
  return wins / pairs;
}

double BruteAupr(const std::vector<double>& s, const std::vector<uint8_t>& y) {
  std::vector<double> t = s;
  std::sort(t.begin(), t.end(), std::greater<>());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  double pos = 0;
  for (uint8_t v : y) pos += v;
  double ap = 0, prev_recall = 0;
  for (double th : t) {
    double tp = 0, flagged = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] >= th) {
        flagged += 1;
        tp += y[i];
      }
    }
    ap += (tp / pos - prev_recall) * (tp / flagged);
    prev_recall = tp / pos;
  }
  return ap;
}

TEST(MetricsTest, AurocAndAuprMatchBruteForceWithTies) {
  for (int n : {2, 3, 7, 19, 23, 100}) {
    for (int round : {1, 4, 1000}) {  // few distinct values -> many ties
      RngStream rng(n * 31 + round, 5);
      std::vector<double> s(n);
      std::vector<uint8_t> y(n);
      for (int i = 0; i < n; ++i) {
        y[i] = rng.Below(2 * i, 3) == 0;
        s[i] = std::floor(rng.Uniform(2 * i + 1) * round + (y[i] ? 0.3 * round : 0));
      }
      y[0] = 1;
      y[n - 1] = 0;
      auto a = Auroc(s, y);
      auto p = Aupr(s, y);
      ASSERT_TRUE(a.ok() && p.ok());
      EXPECT_NEAR(*a, BruteAuroc(s, y), 1e-12) << n << " " << round;
      EXPECT_NEAR(*p, BruteAupr(s, y), 1e-12) << n << " " << round;
    }
  }
  // Perfect, inverted and all-tied.
  EXPECT_DOUBLE_EQ(Auroc({1, 2, 3, 4}, {0, 0, 1, 1}).value(), 1.0);
  EXPECT_DOUBLE_EQ(Auroc({4, 3, 2, 1}, {0, 0, 1, 1}).value(), 0.0);
  EXPECT_DOUBLE_EQ(Auroc({1, 1, 1, 1}, {0, 1, 0, 1}).value(), 0.5);
  EXPECT_DOUBLE_EQ(Aupr({1, 1, 1, 1}, {0, 1, 0, 1}).value(), 0.5);
}

TEST(MetricsTest, RejectsOneClassSizeMismatchAndNaN) {
  EXPECT_FALSE(Auroc({1, 2}, {1, 1}).ok());
  EXPECT_FALSE(Auroc({1, 2}, {0, 0}).ok());
  EXPECT_FALSE(Auroc({1, 2, 3}, {0, 1}).ok());
  EXPECT_FALSE(Aupr({1, kNaN}, {0, 1}).ok());
  EXPECT_FALSE(ThresholdAtFpr({}, 0.1).ok());
  EXPECT_FALSE(ThresholdAtFpr({1, 2}, 0).ok());
  EXPECT_FALSE(ThresholdAtFpr({1, kNaN}, 0.5).ok());
}

TEST(MetricsTest, ThresholdAtFprIsTheSmallestThatKeepsTheRate) {
  for (int n : {1, 3, 7, 23, 200}) {
    for (double fpr : {0.001, 0.01, 0.1, 0.5, 0.9}) {
      RngStream rng(n, 8);
      std::vector<double> s(n);
      for (int i = 0; i < n; ++i) s[i] = std::floor(rng.Uniform(i) * 10);  // ties
      auto t = ThresholdAtFpr(s, fpr);
      ASSERT_TRUE(t.ok());
      const size_t allowed = static_cast<size_t>(std::floor(fpr * n));
      auto over = [&](double th) {
        return std::count_if(s.begin(), s.end(), [&](double v) { return v > th; });
      };
      EXPECT_LE(static_cast<size_t>(over(*t)), allowed) << n << " " << fpr;
      EXPECT_NE(std::find(s.begin(), s.end(), *t), s.end());
      for (double cand : s) {
        if (cand < *t) {
          EXPECT_GT(static_cast<size_t>(over(cand)), allowed) << n << " " << fpr << " " << cand;
        }
      }
    }
  }
}

}  // namespace
}  // namespace edgevae
