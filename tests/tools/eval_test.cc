// Evaluation and f32 inference against the naive double reference (tests/common/reference.h),
// on a model trained for one epoch on 2,000 MNIST images: the test loss with evaluation's own
// noise, the importance-weighted NLL (both noise chunks), determinism for a seed and thread
// count, the IW estimate's relation to the test loss, numerical stability on extreme inputs, and
// Encode / Decode / SampleFromPrior / Reconstruct. MNIST must be in EDGEVAE_MNIST_DIR
// (tools/fetch-mnist.sh); without it these tests fail and say so.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"
#include "edgevae/train.h"
#include "gtest/gtest.h"
#include "common/reference.h"

namespace edgevae {
namespace {

constexpr int kTestImages = 300;  // two noise blocks of evaluation: 256 + 44
constexpr size_t kEvalBlock = 256;
constexpr size_t kIwChunk = 1000;
// f32 evaluation against the double reference, relative. Measured 1.5e-8 (test loss) and 4e-8
// (IW) with AVX3; the documented softplus error (4e-7 relative) bounds what other targets may add.
constexpr double kRelTol = 1e-5;
#ifdef EDGEVAE_TEST_EMULATED
// Under qemu-user the importance-weighted passes (a decoder pass per image and sample) made the
// two tests that use these take minutes. Determinism for a seed and thread count and "more
// samples tighten the bound" hold for any K > 1, so they take fewer samples there; the bounds
// hold for these K under qemu-aarch64 too.
constexpr int kDeterminismIw = 3;
constexpr int kManyIw = 10;
#else
constexpr int kDeterminismIw = 20;
constexpr int kManyIw = 50;
#endif

class EvalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    const MnistData* mnist = reference::CachedMnist(&error);
    if (mnist == nullptr) {
      load_error_ = new std::string(error);
      return;
    }
    test_ = new ImageSet(Head(mnist->test, kTestImages));
    auto rt = Runtime::Create(1);
    if (!rt.ok()) {
      load_error_ = new std::string(rt.status().message());
      return;
    }
    runtime_ = std::move(rt).value().release();
    auto model = reference::CachedTrainedModel("eval", mnist->train, 2000, 1, 1, runtime_);
    if (!model.ok()) {
      load_error_ = new std::string(model.status().message());
      return;
    }
    model_ = new Model(std::move(model).value());
    auto engine = Engine::Create(*model_, EngineOptions{.max_batch = kTestImages, .threads = 1});
    if (!engine.ok()) {
      load_error_ = new std::string(engine.status().message());
      return;
    }
    engine_ = std::move(engine).value().release();
  }

  void SetUp() override {
    ASSERT_EQ(load_error_, nullptr) << *load_error_;
    ASSERT_NE(model_, nullptr);
  }

  static EvalResult Eval(const ImageSet& data, uint64_t seed, int iw, Runtime* rt = nullptr) {
    EvalOptions opt;
    opt.seed = seed;
    opt.iw_samples = iw;
    auto r = Evaluate(*model_, rt != nullptr ? rt : runtime_, data, opt);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : EvalResult{};
  }

  // Intentionally leaked: shared by the suite's tests, alive until exit.
  static inline std::string* load_error_ = nullptr;
  static inline ImageSet* test_ = nullptr;
  static inline Runtime* runtime_ = nullptr;
  static inline Model* model_ = nullptr;
  static inline Engine* engine_ = nullptr;  // inference on model_, up to kTestImages images
};

ImageSet OneImageSet(const std::vector<uint8_t>& pixels, int count) {
  ImageSet set;
  set.count = count;
  set.rows = set.cols = 28;
  set.pixels = pixels;
  return set;
}

// The evaluation's noise for image i of a set: block i / 256, row i % 256.
std::vector<float> EvalNoiseFor(uint64_t seed, size_t count, size_t lat) {
  std::vector<float> eps(count * lat);
  for (size_t first = 0, block = 0; first < count; first += kEvalBlock, ++block) {
    const size_t n = std::min(kEvalBlock, count - first);
    const std::vector<float> b = reference::Normals(
        seed, StreamId(RngPurpose::kEvalNoise, static_cast<uint32_t>(block), 0), n * lat);
    std::copy(b.begin(), b.end(), eps.begin() + first * lat);
  }
  return eps;
}

// The IW pass's noise for image img: chunks of 1,000 samples, chunk c from stream
// (kEvalNoise, img, 1 + c), sample-major.
std::vector<float> IwNoiseFor(uint64_t seed, size_t img, size_t k_total, size_t lat) {
  std::vector<float> eps;
  for (size_t k0 = 0, chunk = 0; k0 < k_total; k0 += kIwChunk, ++chunk) {
    const size_t kn = std::min(kIwChunk, k_total - k0);
    const std::vector<float> c = reference::Normals(
        seed,
        StreamId(RngPurpose::kEvalNoise, static_cast<uint32_t>(img),
                 static_cast<uint32_t>(1 + chunk)),
        kn * lat);
    eps.insert(eps.end(), c.begin(), c.end());
  }
  return eps;
}

double ReferenceIwNll(const Model& model, const ImageSet& set, uint64_t seed, size_t k) {
  const std::vector<double> w = reference::ToDouble(model);
  const reference::Net net(model.shape(), w.data());
  const size_t in = net.input(), lat = net.latent();
  double total = 0;
  for (int i = 0; i < set.count; ++i) {
    const std::vector<float> x = reference::BytesToFloats(set.image(i), in);
    total += net.IwNll(x.data(), IwNoiseFor(seed, static_cast<size_t>(i), k, lat).data(), k);
  }
  return total / set.count;
}

TEST_F(EvalTest, TestLossMatchesDoubleReference) {
  const uint64_t seed = 3;
  const EvalResult r = Eval(*test_, seed, 0);
  EXPECT_EQ(r.images, kTestImages);
  EXPECT_TRUE(std::isnan(r.iw_nll));
  const std::vector<double> w = reference::ToDouble(*model_);
  const reference::Net net(model_->shape(), w.data());
  const std::vector<float> x = reference::BytesToFloats(test_->pixels.data(), test_->pixels.size());
  const std::vector<float> eps = EvalNoiseFor(seed, kTestImages, net.latent());
  const double want = net.BatchLoss(x.data(), kTestImages, eps.data()) / kTestImages;
  std::printf("[ eval     ] test loss %.6f, double reference %.6f (relative %.1e)\n", r.test_loss,
              want, std::fabs(r.test_loss - want) / want);
  EXPECT_NEAR(r.test_loss, want, kRelTol * want);
}

TEST_F(EvalTest, DeterministicForSeedAndThreadCount) {
  const int k = kDeterminismIw;
  const EvalResult a = Eval(*test_, 5, k), b = Eval(*test_, 5, k);
  EXPECT_EQ(a.test_loss, b.test_loss);
  EXPECT_EQ(a.iw_nll, b.iw_nll);
  auto rt2 = Runtime::Create(2);
  ASSERT_TRUE(rt2.ok()) << rt2.status().message();
  const EvalResult c = Eval(*test_, 5, k, rt2->get());
  EXPECT_EQ(a.test_loss, c.test_loss) << "1 vs 2 threads";
  EXPECT_EQ(a.iw_nll, c.iw_nll) << "1 vs 2 threads";

  // Another seed: other noise, so other numbers, but only by sampling noise.
  const EvalResult d = Eval(*test_, 6, k);
  std::printf("[ eval     ] seed 5: test %.4f iw%d %.4f; seed 6: test %.4f iw%d %.4f\n",
              a.test_loss, k, a.iw_nll, d.test_loss, k, d.iw_nll);
  EXPECT_NE(a.test_loss, d.test_loss);
  EXPECT_NE(a.iw_nll, d.iw_nll);
  EXPECT_NEAR(a.test_loss, d.test_loss, 2.0);
  EXPECT_NEAR(a.iw_nll, d.iw_nll, 1.0);
}

TEST_F(EvalTest, IwNllMatchesDoubleReferenceAcrossNoiseChunks) {
  // Two images, K = 1,100: the second chunk of 100 samples comes from its own stream.
  const ImageSet two = Head(*test_, 2);
  for (int k : {1, 7, 1100}) {
    const EvalResult r = Eval(two, 4, k);
    const double want = ReferenceIwNll(*model_, two, 4, static_cast<size_t>(k));
    std::printf("[ eval     ] K=%d: iw_nll %.6f, double reference %.6f\n", k, r.iw_nll, want);
    EXPECT_NEAR(r.iw_nll, want, kRelTol * std::fabs(want)) << "K = " << k;
  }
}

// The engine path (how int8 and f16 files are evaluated) against the double reference: the same
// noise chunks, the samples decoded in engine batches of kTestImages.
TEST_F(EvalTest, EngineIwNllMatchesDoubleReference) {
  const ImageSet two = Head(*test_, 2);
#ifdef EDGEVAE_TEST_EMULATED
  const int ks[] = {7};  // the double reference of 1,100 samples takes long under qemu
#else
  const int ks[] = {7, 1100};  // 1,100: a second noise chunk, decoded in engine batches of 300
#endif
  for (int k : ks) {
    auto r = EvaluateEngine(*engine_, two, EvalOptions{.iw_samples = k, .seed = 4});
    ASSERT_TRUE(r.ok()) << r.status().message();
    const double want = ReferenceIwNll(*model_, two, 4, static_cast<size_t>(k));
    std::printf("[ eval     ] engine K=%d: iw_nll %.6f, double reference %.6f\n", k, r->iw_nll,
                want);
    EXPECT_NEAR(r->iw_nll, want, kRelTol * std::fabs(want)) << "K = " << k;
    const EvalResult f32 = Eval(two, 4, k);
    EXPECT_EQ(r->test_loss, f32.test_loss);
  }
  auto none = EvaluateEngine(*engine_, two, EvalOptions{.seed = 4});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(std::isnan(none->iw_nll));
}

TEST_F(EvalTest, IwBoundsAreConsistentWithTestLoss) {
  const EvalResult k1 = Eval(*test_, 8, 1);
  const EvalResult many = Eval(*test_, 8, kManyIw);
  EXPECT_EQ(k1.test_loss, many.test_loss);  // the test-loss pass does not depend on K
  std::printf("[ eval     ] test loss %.3f, iw K=1 %.3f, iw K=%d %.3f\n", k1.test_loss, k1.iw_nll,
              kManyIw, many.iw_nll);
  // With K = 1 the IW estimate is a one-sample negative ELBO, as the test loss is; they differ
  // only by (independent) sampling noise, whose mean over 300 images is about a nat
  // (measured: test loss 240.79, iw K=1 241.63).
  EXPECT_NEAR(k1.iw_nll, k1.test_loss, 2.0);
  // More samples tighten the bound (Burda et al.): by several nats here (measured K=50 228.20,
  // 13.4 below K=1).
  EXPECT_LE(many.iw_nll, k1.iw_nll + 0.5);
  EXPECT_LE(many.iw_nll, many.test_loss);
}

// Images whose every pixel is 0 or 255, scored by the trained model and by one whose decoder
// weights are blown up 100x (logits of thousands, so log-weights of -1e5 and below): the
// logsumexp must be taken stably for the IW estimate to stay finite, and must still match the
// double reference.
TEST_F(EvalTest, ExtremeInputsGiveFiniteNumbers) {
  std::vector<uint8_t> pixels;
  for (int kind = 0; kind < 4; ++kind) {
    for (int p = 0; p < 784; ++p) {
      const uint8_t on = kind == 0   ? 0
                         : kind == 1 ? 255
                         : kind == 2 ? ((p / 28 + p % 28) % 2) * 255
                                     : (RngStream(77, 0).Bits(static_cast<uint64_t>(p)) & 1) * 255;
      pixels.push_back(on);
    }
  }
  const ImageSet extreme = OneImageSet(pixels, 4);
  const EvalResult r = Eval(extreme, 1, 50);
  std::printf("[ eval     ] extreme images: test %.3f iw50 %.3f\n", r.test_loss, r.iw_nll);
  EXPECT_TRUE(std::isfinite(r.test_loss));
  EXPECT_TRUE(std::isfinite(r.iw_nll));

  Model big = model_->Clone();
  const TensorView& fc4 = big.tensors()[8];
  ASSERT_EQ(fc4.name, "fc4.weight");
  for (size_t i = 0; i < fc4.size(); ++i) big.params()[fc4.offset + i] *= 100.0f;
  auto b = Evaluate(big, runtime_, extreme, EvalOptions{.iw_samples = 50, .seed = 1});
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::printf("[ eval     ] extreme images, fc4 x100: test %.1f iw50 %.1f\n", b->test_loss,
              b->iw_nll);
  EXPECT_TRUE(std::isfinite(b->test_loss));
  EXPECT_TRUE(std::isfinite(b->iw_nll));
  EXPECT_GT(b->iw_nll, 1000.0);  // genuinely extreme: exp(-iw) underflows a double
  const double want = ReferenceIwNll(big, extreme, 1, 50);
  EXPECT_NEAR(b->iw_nll, want, kRelTol * std::fabs(want));
}

TEST_F(EvalTest, RejectsBadInput) {
  ImageSet wrong = OneImageSet(std::vector<uint8_t>(27 * 27, 0), 1);
  wrong.rows = wrong.cols = 27;
  auto a = Evaluate(*model_, runtime_, wrong, EvalOptions{});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  auto b = Evaluate(*model_, runtime_, Head(*test_, 0), EvalOptions{});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  auto c = Evaluate(*model_, runtime_, *test_, EvalOptions{.iw_samples = -1});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);

  const float z[20] = {};
  float out[784];
  EXPECT_EQ(engine_->Decode(z, -1, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Sample(-1, 1, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Reconstruct(test_->image(0), -1, false, 0, out).code(),
            StatusCode::kInvalidArgument);
  float mu[20], logvar[20];
  EXPECT_EQ(engine_->Encode(test_->image(0), -1, mu, logvar).code(),
            StatusCode::kInvalidArgument);
  // More than the engine was loaded for.
  EXPECT_EQ(engine_->Decode(z, kTestImages + 1, out).code(), StatusCode::kInvalidArgument);
  // n = 0 is a no-op.
  EXPECT_TRUE(engine_->Decode(z, 0, out).ok());
  EXPECT_TRUE(engine_->Encode(test_->image(0), 0, mu, logvar).ok());
}

TEST_F(EvalTest, ProgressCountsUpToTotal) {
  std::vector<std::pair<int, int>> seen;
  auto r = Evaluate(*model_, runtime_, *test_, EvalOptions{.iw_samples = 2},
                    [&](int done, int total) { seen.emplace_back(done, total); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_FALSE(seen.empty());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].second, 2 * kTestImages);
    if (i > 0) {
      EXPECT_GT(seen[i].first, seen[i - 1].first);
    }
  }
  EXPECT_EQ(seen.back().first, 2 * kTestImages);
}

// ---- inference: n = 300 crosses the 256-row block of Encode and Decode.

constexpr int kN = kTestImages;

TEST_F(EvalTest, EncodeMatchesDoubleReference) {
  const size_t lat = 20;
  std::vector<float> mu(kN * lat, std::nanf("")), logvar(kN * lat, std::nanf(""));
  ASSERT_TRUE(engine_->Encode(test_->pixels.data(), kN, mu.data(), logvar.data()).ok());
  const std::vector<double> w = reference::ToDouble(*model_);
  const reference::Net net(model_->shape(), w.data());
  double worst = 0;
  for (int i = 0; i < kN; ++i) {
    const std::vector<float> x = reference::BytesToFloats(test_->image(i), 784);
    double m[20], lv[20];
    net.Encode(x.data(), m, lv, nullptr);
    for (size_t j = 0; j < lat; ++j) {
      worst = std::max({worst, std::fabs(mu[i * lat + j] - m[j]),
                        std::fabs(logvar[i * lat + j] - lv[j])});
      ASSERT_NEAR(mu[i * lat + j], m[j], 1e-4 * std::max(1.0, std::fabs(m[j])))
          << "image " << i << " mu[" << j << "]";
      ASSERT_NEAR(logvar[i * lat + j], lv[j], 1e-4 * std::max(1.0, std::fabs(lv[j])))
          << "image " << i << " logvar[" << j << "]";
    }
  }
  std::printf("[ infer    ] Encode: worst |f32 - double| %.2e\n", worst);
}

TEST_F(EvalTest, DecodeMatchesDoubleReferenceAndIsInUnitInterval) {
  const size_t lat = 20, in = 784;
  const std::vector<float> z =
      reference::Normals(123, StreamId(RngPurpose::kSample, 7), static_cast<size_t>(kN) * lat);
  std::vector<float> out(kN * in, std::nanf(""));
  ASSERT_TRUE(engine_->Decode(z.data(), kN, out.data()).ok());
  const std::vector<double> w = reference::ToDouble(*model_);
  const reference::Net net(model_->shape(), w.data());
  std::vector<double> logits(in), zd(lat);
  double worst = 0;
  for (int i = 0; i < kN; ++i) {
    for (size_t j = 0; j < lat; ++j) zd[j] = z[i * lat + j];
    net.DecodeLogits(zd.data(), logits.data(), nullptr);
    for (size_t p = 0; p < in; ++p) {
      const float got = out[i * in + p];
      ASSERT_GE(got, 0.0f) << "image " << i << " pixel " << p;
      ASSERT_LE(got, 1.0f) << "image " << i << " pixel " << p;
      worst = std::max(worst, std::fabs(got - reference::Sigmoid(logits[p])));
      ASSERT_NEAR(got, reference::Sigmoid(logits[p]), 1e-5) << "image " << i << " pixel " << p;
    }
  }
  std::printf("[ infer    ] Decode: worst |f32 - double| %.2e\n", worst);
}

TEST_F(EvalTest, SampleFromPriorIsDeterministicDecodeOfPriorNoise) {
  const size_t lat = 20, in = 784;
  std::vector<float> a(kN * in, std::nanf("")), b(kN * in, std::nanf("")),
      c(kN * in, std::nanf("")), d(kN * in, std::nanf(""));
  ASSERT_TRUE(engine_->Sample(kN, 9, a.data()).ok());
  ASSERT_TRUE(engine_->Sample(kN, 9, b.data()).ok());
  ASSERT_TRUE(engine_->Sample(kN, 10, c.data()).ok());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0);
  for (float v : a) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
  // z ~ N(0, I) from stream (seed, kSample), image-major.
  const std::vector<float> z =
      reference::Normals(9, StreamId(RngPurpose::kSample), static_cast<size_t>(kN) * lat);
  ASSERT_TRUE(engine_->Decode(z.data(), kN, d.data()).ok());
  EXPECT_EQ(std::memcmp(a.data(), d.data(), a.size() * sizeof(float)), 0);
  // Samples of a trained model are mostly background: a mean well below 1/2.
  double mean = 0;
  for (float v : a) mean += v;
  mean /= static_cast<double>(a.size());
  EXPECT_LT(mean, 0.3);
}

TEST_F(EvalTest, ReconstructIsDecodeOfEncodedMean) {
  const size_t lat = 20, in = 784;
  std::vector<float> rec(kN * in, std::nanf("")), dec(kN * in, std::nanf("")), mu(kN * lat),
      logvar(kN * lat);
  ASSERT_TRUE(engine_->Reconstruct(test_->pixels.data(), kN, false, 0, rec.data()).ok());
  ASSERT_TRUE(engine_->Encode(test_->pixels.data(), kN, mu.data(), logvar.data()).ok());
  ASSERT_TRUE(engine_->Decode(mu.data(), kN, dec.data()).ok());
  EXPECT_EQ(std::memcmp(rec.data(), dec.data(), rec.size() * sizeof(float)), 0);
  for (float v : rec) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
  // With z sampled from q(z|x): deterministic for a seed, different from the mean's decoding.
  std::vector<float> s1(kN * in), s2(kN * in);
  ASSERT_TRUE(engine_->Reconstruct(test_->pixels.data(), kN, true, 5, s1.data()).ok());
  ASSERT_TRUE(engine_->Reconstruct(test_->pixels.data(), kN, true, 5, s2.data()).ok());
  EXPECT_EQ(std::memcmp(s1.data(), s2.data(), s1.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(s1.data(), rec.data(), s1.size() * sizeof(float)), 0);
  // (No "looks like its input" check: after one epoch of 16 steps the decoder still ignores z,
  // and reconstructions are the mean digit. Learning is covered by train_test.)
}

}  // namespace
}  // namespace edgevae
