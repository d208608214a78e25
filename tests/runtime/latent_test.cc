// Latent-space helpers (edgevae/latent.h): per-class statistics against a one-image-at-a-time
// reference, class Gaussian draws (moments, determinism, jitter, rejections), linear and
// spherical interpolation, and the inverse normal CDF against a long-double bisection of erfc.
#include "edgevae/class_latents.h"
#include "edgevae/latent.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "edgevae/shape.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using ::testing::HasSubstr;

// A labelled set of `count` random images with labels drawn from `labels`.
ImageSet RandomImages(int count, const std::vector<int>& labels, uint64_t seed) {
  ImageSet set;
  set.count = count;
  set.rows = 28;
  set.cols = 28;
  const RngStream rng(seed, 77);
  set.pixels.resize(static_cast<size_t>(count) * 784);
  for (size_t i = 0; i < set.pixels.size(); ++i) set.pixels[i] = rng.Bits(i) & 0xFF;
  for (int i = 0; i < count; ++i) {
    set.labels.push_back(static_cast<uint8_t>(labels[rng.Below(1u << 30 | i, labels.size())]));
  }
  return set;
}

std::unique_ptr<Engine> RandomEngine(const ShapeInfo& shape, int max_batch) {
  auto model = Model::Create(shape);
  EXPECT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  auto engine = Engine::Create(*model, EngineOptions{.max_batch = max_batch, .threads = 1});
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return std::move(engine).value();
}

TEST(ClassLatentStatsTest, MatchesPerImageReference) {
  const ImageSet images = RandomImages(37, {0, 3, 9}, 5);
  // Batches of 7 (the last one partial) against a batch-1 engine.
  std::unique_ptr<Engine> engine = RandomEngine(MnistShape::kInfo, 7);
  std::unique_ptr<Engine> single = RandomEngine(MnistShape::kInfo, 1);
  auto stats = ComputeClassLatentStats(*engine, images);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  ASSERT_EQ(stats->size(), 3u);
  const int lat = 20;
  for (const ClassLatentStats& s : *stats) {
    std::vector<std::vector<double>> mus;
    for (int i = 0; i < images.count; ++i) {
      if (images.labels[i] != s.label) continue;
      std::vector<float> mu(lat), logvar(lat);
      ASSERT_TRUE(single->Encode(images.image(i), 1, mu.data(), logvar.data()).ok());
      mus.emplace_back(mu.begin(), mu.end());
    }
    ASSERT_EQ(s.count, static_cast<int>(mus.size())) << "label " << s.label;
    ASSERT_EQ(s.mean.size(), static_cast<size_t>(lat));
    ASSERT_EQ(s.cov.size(), static_cast<size_t>(lat * lat));
    std::vector<double> mean(lat, 0.0);
    for (const auto& m : mus) {
      for (int k = 0; k < lat; ++k) mean[k] += m[k] / mus.size();
    }
    for (int k = 0; k < lat; ++k) EXPECT_NEAR(s.mean[k], mean[k], 1e-5) << s.label << " " << k;
    for (int r = 0; r < lat; ++r) {
      for (int c = 0; c < lat; ++c) {
        double v = 0;
        for (const auto& m : mus) v += (m[r] - mean[r]) * (m[c] - mean[c]);
        v /= mus.size();
        EXPECT_NEAR(s.cov[r * lat + c], v, 1e-5 + 1e-4 * std::fabs(v)) << r << "," << c;
        EXPECT_EQ(s.cov[r * lat + c], s.cov[c * lat + r]);
      }
    }
  }
  EXPECT_EQ(FindClassLatents(*stats, 3), &(*stats)[1]);
  EXPECT_EQ(FindClassLatents(*stats, 4), nullptr);
}

TEST(ClassLatentStatsTest, RejectsUnlabelledOrEmpty) {
  std::unique_ptr<Engine> engine = RandomEngine(Mnist2dShape::kInfo, 4);
  ImageSet images = RandomImages(5, {1}, 1);
  images.labels.clear();
  auto stats = ComputeClassLatentStats(*engine, images);
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.status().message(), HasSubstr("labels"));
  ImageSet empty;
  EXPECT_FALSE(ComputeClassLatentStats(*engine, empty).ok());
}

// A random symmetric positive definite matrix A A^T / n + 0.1 I.
std::vector<float> RandomSpd(int n, uint64_t seed) {
  const RngStream rng(seed, 3);
  std::vector<double> a(n * n);
  for (int i = 0; i < n * n; ++i) a[i] = rng.Uniform(i) * 2 - 1;
  std::vector<float> s(n * n);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      double v = r == c ? 0.1 : 0.0;
      for (int k = 0; k < n; ++k) v += a[r * n + k] * a[c * n + k] / n;
      s[r * n + c] = static_cast<float>(v);
    }
  }
  return s;
}

TEST(LatentGaussianTest, FactorReproducesCovariance) {
  for (int n : {1, 2, 3, 7, 20}) {
    ClassLatentStats s;
    s.label = 4;
    s.mean.assign(n, 0.5f);
    s.cov = RandomSpd(n, n);
    auto g = LatentGaussian::FromStats(s);
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_EQ(g->jitter(), 0.0);
    const std::vector<float>& l = g->cholesky();
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c) {
        if (c > r) {
          EXPECT_EQ(l[r * n + c], 0.0f);
        }
        double v = 0;
        for (int k = 0; k < n; ++k) v += static_cast<double>(l[r * n + k]) * l[c * n + k];
        EXPECT_NEAR(v, s.cov[r * n + c], 1e-5) << n << " " << r << "," << c;
      }
    }
  }
}

TEST(LatentGaussianTest, DrawsHaveTheClassMoments) {
  constexpr int n = 3;
  constexpr int draws = 40000;
  ClassLatentStats s;
  s.label = 7;
  s.mean = {1.0f, -2.0f, 0.25f};
  s.cov = RandomSpd(n, 11);
  auto g = LatentGaussian::FromStats(s);
  ASSERT_TRUE(g.ok());
  std::vector<float> z(draws * n, std::numeric_limits<float>::quiet_NaN());
  g->Sample(42, draws, z.data());
  std::vector<double> mean(n, 0.0);
  for (int i = 0; i < draws; ++i) {
    for (int k = 0; k < n; ++k) mean[k] += z[i * n + k] / draws;
  }
  for (int k = 0; k < n; ++k) {
    // Standard error sqrt(var / draws) <= 0.01 here; 5 standard errors.
    EXPECT_NEAR(mean[k], s.mean[k], 5 * std::sqrt(s.cov[k * n + k] / draws)) << k;
  }
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      double v = 0;
      for (int i = 0; i < draws; ++i) v += (z[i * n + r] - mean[r]) * (z[i * n + c] - mean[c]);
      v /= draws;
      const double se = std::sqrt(
          (s.cov[r * n + r] * s.cov[c * n + c] + s.cov[r * n + c] * s.cov[r * n + c]) / draws);
      EXPECT_NEAR(v, s.cov[r * n + c], 5 * se) << r << "," << c;
    }
  }
}

TEST(LatentGaussianTest, DeterministicPerSeedAndLabelAndIndependentOfCount) {
  ClassLatentStats s;
  s.label = 2;
  s.mean.assign(20, 0.0f);
  s.cov = RandomSpd(20, 2);
  auto g = LatentGaussian::FromStats(s);
  ASSERT_TRUE(g.ok());
  std::vector<float> a(23 * 20), b(23 * 20), c(5 * 20);
  g->Sample(9, 23, a.data());
  g->Sample(9, 23, b.data());
  g->Sample(9, 5, c.data());
  EXPECT_EQ(a, b);
  EXPECT_TRUE(std::equal(c.begin(), c.end(), a.begin()));
  g->Sample(10, 23, b.data());
  EXPECT_NE(a, b);
  s.label = 3;  // another class with the same Gaussian draws another stream
  auto h = LatentGaussian::FromStats(s);
  ASSERT_TRUE(h.ok());
  h->Sample(9, 23, b.data());
  EXPECT_NE(a, b);
  for (float v : a) EXPECT_TRUE(std::isfinite(v));
}

TEST(LatentGaussianTest, StandardNormalIsThePrior) {
  LatentGaussian g = LatentGaussian::StandardNormal(5);
  std::vector<float> z(5 * 7), eps(5 * 7);
  g.Sample(1, 7, z.data());
  FillNormal(RngStream(1, StreamId(RngPurpose::kLatentSample, static_cast<uint32_t>(-1))), 0,
             eps.data(), eps.size());
  EXPECT_EQ(z, eps);
}

TEST(LatentGaussianTest, SingularCovarianceGetsJitter) {
  // Rank one: [1 1; 1 1].
  ClassLatentStats s;
  s.mean = {0.0f, 0.0f};
  s.cov = {1.0f, 1.0f, 1.0f, 1.0f};
  auto g = LatentGaussian::FromStats(s);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_GT(g->jitter(), 0.0);
  EXPECT_LE(g->jitter(), 1e-6 * 10);
  std::vector<float> z(2 * 100);
  g->Sample(1, 100, z.data());
  for (int i = 0; i < 100; ++i) EXPECT_NEAR(z[2 * i], z[2 * i + 1], 0.05);
}

TEST(LatentGaussianTest, RejectsBadStatistics) {
  ClassLatentStats s;
  s.label = 5;
  s.mean = {0.0f, 0.0f};
  s.cov = {1.0f, 0.0f, 0.0f};
  auto g = LatentGaussian::FromStats(s);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("label 5"));
  EXPECT_THAT(g.status().message(), HasSubstr("cov has 3 entries, expected 4"));
  s.cov = {1.0f, 0.5f, 0.0f, 1.0f};
  EXPECT_THAT(LatentGaussian::FromStats(s).status().message(), HasSubstr("not symmetric"));
  s.cov = {1.0f, 0.0f, 0.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THAT(LatentGaussian::FromStats(s).status().message(), HasSubstr("cov[1][1]"));
  s.cov = {-1.0f, 0.0f, 0.0f, -1.0f};
  EXPECT_THAT(LatentGaussian::FromStats(s).status().message(), HasSubstr("positive definite"));
  s.mean.clear();
  EXPECT_FALSE(LatentGaussian::FromStats(s).ok());
}

TEST(ClassLatentStatsTest, ComponentsSplitEachClassAndKeepItsMoments) {
  const ImageSet images = RandomImages(61, {2, 5}, 8);
  std::unique_ptr<Engine> engine = RandomEngine(MnistShape::kInfo, 16);
  auto one = ComputeClassLatentStats(*engine, images, 1);
  auto three = ComputeClassLatentStats(*engine, images, 3);
  ASSERT_TRUE(one.ok() && three.ok());
  ASSERT_EQ(one->size(), 2u);
  ASSERT_EQ(three->size(), 6u);
  for (const ClassLatentStats& whole : *one) {
    // The count-weighted mean of the components' means is the class mean (law of total mean),
    // and their counts add up to the class's.
    std::vector<double> mean(20, 0.0);
    int count = 0;
    for (const ClassLatentStats& c : *three) {
      if (c.label != whole.label) continue;
      count += c.count;
      for (int k = 0; k < 20; ++k) mean[k] += static_cast<double>(c.count) * c.mean[k];
    }
    EXPECT_EQ(count, whole.count);
    for (int k = 0; k < 20; ++k) EXPECT_NEAR(mean[k] / count, whole.mean[k], 1e-5) << k;
  }
  EXPECT_EQ((*three)[0].label, 2);  // ordered by label
  EXPECT_EQ((*three)[5].label, 5);
  auto again = ComputeClassLatentStats(*engine, images, 3);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ((*again)[i].mean, (*three)[i].mean);  // deterministic
  EXPECT_FALSE(ComputeClassLatentStats(*engine, images, 0).ok());
  // A temperature scales every covariance by its square and leaves the means and counts.
  auto cool = ComputeClassLatentStats(*engine, images, 3, 0.8);
  ASSERT_TRUE(cool.ok());
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ((*cool)[i].mean, (*three)[i].mean);
    EXPECT_EQ((*cool)[i].count, (*three)[i].count);
    for (size_t k = 0; k < (*cool)[i].cov.size(); ++k) {
      EXPECT_FLOAT_EQ((*cool)[i].cov[k], 0.64f * (*three)[i].cov[k]);
    }
  }
  EXPECT_FALSE(ComputeClassLatentStats(*engine, images, 3, 0.0).ok());
  EXPECT_FALSE(ComputeClassLatentStats(*engine, images, 3, 5.0).ok());
}

TEST(LatentMixtureTest, OneComponentIsTheGaussian) {
  ClassLatentStats s;
  s.label = 6;
  s.count = 10;
  s.mean.assign(7, 0.25f);
  s.cov = RandomSpd(7, 4);
  auto m = LatentMixture::ForLabel({s}, 6);
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto g = LatentGaussian::FromStats(s);
  std::vector<float> a(7 * 19), b(7 * 19);
  m->Sample(3, 19, a.data());
  g->Sample(3, 19, b.data());
  EXPECT_EQ(a, b);
  for (int k = 0; k < 7; ++k) {
    EXPECT_FLOAT_EQ(m->mean()[k], 0.25f);
    EXPECT_NEAR(m->stddev()[k], std::sqrt(s.cov[k * 7 + k]), 1e-5);
  }
  EXPECT_THAT(LatentMixture::ForLabel({s}, 5).status().message(), HasSubstr("label 5"));
}

TEST(LatentMixtureTest, ComponentsDrawnByTheirCounts) {
  // Two tight, distant components weighted 3 : 1, plus another label that must be ignored.
  ClassLatentStats a, b, other;
  a.label = b.label = 1;
  other.label = 2;
  a.count = 300;
  b.count = 100;
  other.count = 1000;
  a.mean = {-10.0f, 0.0f};
  b.mean = {10.0f, 0.0f};
  other.mean = {0.0f, 50.0f};
  a.cov = b.cov = other.cov = {0.01f, 0.0f, 0.0f, 0.01f};
  auto m = LatentMixture::ForLabel({a, other, b}, 1);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->components().size(), 2u);
  constexpr int n = 4000;
  std::vector<float> z(2 * n);
  m->Sample(5, n, z.data());
  int right = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_LT(std::fabs(z[2 * i + 1]), 1.0f) << i;
    ASSERT_LT(std::fabs(std::fabs(z[2 * i]) - 10.0f), 1.0f) << i;
    right += z[2 * i] > 0;
  }
  // Binomial(4000, 1/4): mean 1000, sd 27.
  EXPECT_NEAR(right, 1000, 5 * 27);
  // Total moments: mean 0.75 (-10) + 0.25 (10) = -5; variance 0.01 + 100 - 25 = 75.01.
  EXPECT_NEAR(m->mean()[0], -5.0f, 1e-5);
  EXPECT_NEAR(m->stddev()[0], std::sqrt(75.01f), 1e-3);
  std::vector<float> again(2 * 10);
  m->Sample(5, 10, again.data());
  EXPECT_TRUE(std::equal(again.begin(), again.end(), z.begin()));
}

TEST(InterpolationTest, LerpEndpointsAndMidpoint) {
  const std::vector<float> a = {1, 2, 3}, b = {-1, 0, 5};
  std::vector<float> out(3, std::numeric_limits<float>::quiet_NaN());
  LerpLatent(a.data(), b.data(), 0, 3, out.data());
  EXPECT_EQ(out, a);
  LerpLatent(a.data(), b.data(), 1, 3, out.data());
  EXPECT_EQ(out, b);
  LerpLatent(a.data(), b.data(), 0.5f, 3, out.data());
  EXPECT_THAT(out, ::testing::ElementsAre(0.0f, 1.0f, 4.0f));
}

TEST(InterpolationTest, SlerpFollowsTheGreatCircle) {
  // Unit vectors at 90 degrees: slerp stays on the unit circle at angle t * 90 degrees.
  const std::vector<float> a = {1, 0, 0}, b = {0, 1, 0};
  std::vector<float> out(3, std::numeric_limits<float>::quiet_NaN());
  for (float t : {0.0f, 0.25f, 0.5f, 0.9f, 1.0f}) {
    SlerpLatent(a.data(), b.data(), t, 3, out.data());
    EXPECT_NEAR(out[0], std::cos(t * M_PI / 2), 1e-6) << t;
    EXPECT_NEAR(out[1], std::sin(t * M_PI / 2), 1e-6) << t;
    EXPECT_EQ(out[2], 0.0f);
  }
  // Different norms: the endpoints are exact up to rounding, the norm in between interpolates.
  const std::vector<float> c = {3, 4, 0, 0, 0, 0, 0}, d = {0, 0, -1, 2, 0, 0, 1};
  std::vector<float> e(7);
  SlerpLatent(c.data(), d.data(), 0, 7, e.data());
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(e[i], c[i], 1e-6);
  SlerpLatent(c.data(), d.data(), 1, 7, e.data());
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(e[i], d[i], 1e-6);
  // Parallel vectors and a zero vector fall back to the straight line.
  const std::vector<float> p = {1, 1}, q = {2, 2}, zero = {0, 0};
  std::vector<float> o(2), l(2);
  SlerpLatent(p.data(), q.data(), 0.3f, 2, o.data());
  LerpLatent(p.data(), q.data(), 0.3f, 2, l.data());
  EXPECT_EQ(o, l);
  SlerpLatent(zero.data(), q.data(), 0.3f, 2, o.data());
  LerpLatent(zero.data(), q.data(), 0.3f, 2, l.data());
  EXPECT_EQ(o, l);
}

// Phi^-1 by bisection of 0.5 erfc(-x / sqrt 2) in long double: the oracle.
long double ReferenceQuantile(long double p) {
  long double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const long double mid = (lo + hi) / 2;
    const long double phi = mid < 0 ? 0.5L * std::erfc(-mid / std::sqrt(2.0L))
                                    : 1 - 0.5L * std::erfc(mid / std::sqrt(2.0L));
    (phi < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// The upper tail is compared through its complement q = 1 - p (exact in double there), the
// reference solving 0.5 erfc(x / sqrt 2) = q.
long double ReferenceUpperQuantile(long double q) {
  long double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const long double mid = (lo + hi) / 2;
    (0.5L * std::erfc(mid / std::sqrt(2.0L)) > q ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

TEST(InverseNormalCdfTest, MatchesBisectionReference) {
  double worst = 0, worst_p = 0;
  std::vector<double> ps;
  for (int i = 1; i < 2000; ++i) ps.push_back(i / 2000.0);
  for (double e = -300; e <= -1; e += 0.37) ps.push_back(std::pow(10.0, e));
  for (double e = -16; e <= -1; e += 0.11) ps.push_back(1 - std::pow(10.0, e));
  for (double p : {0.02425, 1 - 0.02425, 0.5, 1e-10, 0.975}) ps.push_back(p);
  for (double p : ps) {
    const double x = InverseNormalCdf(p);
    const long double ref = p > 0.9 ? ReferenceUpperQuantile(1.0L - p) : ReferenceQuantile(p);
    const double err =
        std::fabs(static_cast<long double>(x) - ref) / std::max(1.0L, std::fabs(ref));
    if (err > worst) {
      worst = err;
      worst_p = p;
    }
  }
  // Documented in latent.h: < 1e-15 (absolute below 1, relative beyond).
  EXPECT_LT(worst, 1e-15) << "at p = " << worst_p;
  RecordProperty("max_error", std::to_string(worst));
  std::printf("InverseNormalCdf: max error %.3g at p = %.17g over %zu points\n", worst, worst_p,
              ps.size());
}

TEST(InverseNormalCdfTest, EdgesAndSymmetry) {
  EXPECT_EQ(InverseNormalCdf(0.5), 0.0);
  EXPECT_EQ(InverseNormalCdf(0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(InverseNormalCdf(1), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(InverseNormalCdf(-0.1)));
  EXPECT_TRUE(std::isnan(InverseNormalCdf(1.5)));
  EXPECT_TRUE(std::isnan(InverseNormalCdf(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_NEAR(InverseNormalCdf(0.975), 1.959963984540054, 1e-14);
  for (double p : {0.001, 0.1, 0.3, 0.45}) {
    EXPECT_NEAR(InverseNormalCdf(p), -InverseNormalCdf(1 - p), 1e-13) << p;
  }
  double prev = -std::numeric_limits<double>::infinity();
  for (int i = 1; i < 1000; ++i) {
    const double x = InverseNormalCdf(i / 1000.0);
    EXPECT_GT(x, prev) << i;
    prev = x;
  }
}

}  // namespace
}  // namespace edgevae
