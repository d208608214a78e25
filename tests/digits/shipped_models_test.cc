// The shipped models (models/mnist*.q8.evae): they load, pass their own golden vectors, reach the test
// loss docs/digits-demo.md states on the 10,000 MNIST test images, are small, and record how they were made
// and the per-class latent statistics the demo samples from.
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/binarize.h"
#include "edgevae/classifier.h"
#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/eval.h"
#include "edgevae/judge.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using ::testing::HasSubstr;

struct Shipped {
  const char* file;
  int latent;
  double max_test_loss;  // nats/image, int8 engine, evaluation seed 1 (docs/digits-demo.md, "Shipped models")
  double max_emulated_loss;  // the same over the first kEmulatedImages test images (below)
};

// Under qemu-user (EDGEVAE_TEST_EMULATED) the tests below measure the first 2,000 test images
// (and 500 samples): the same model and int8 arithmetic as natively, a fifth of the work, with
// bounds measured for those prefixes (AMD EPYC, 2026-12-04: test loss 102.718 and 149.039 over
// the first 2,000, against 103.02 and 149.86 over all 10,000). A prefix is the same images however many are taken, and
// the evaluation noise is keyed by blocks of images, so a prefix's figures are exact.
#ifdef EDGEVAE_TEST_EMULATED
constexpr bool kEmulated = true;
#else
constexpr bool kEmulated = false;
#endif
constexpr int kEmulatedImages = 2000;

ImageSet Prefix(const ImageSet& set, int n) {
  ImageSet s = set;
  s.count = std::min(n, set.count);
  s.pixels.resize(static_cast<size_t>(s.count) * 784);
  s.labels.resize(static_cast<size_t>(s.count));
  return s;
}

// An engine for `model` (batches of up to 500 images) that passes the model's own golden vectors.
void EngineThatPassesItsGoldenVectors(const AnyModel& model, int threads,
                                      std::unique_ptr<Engine>* engine, GoldenCheck* check) {
  ASSERT_TRUE(model.golden.has_value());
  auto e = Engine::Create(model, EngineOptions{.max_batch = 500, .threads = threads});
  ASSERT_TRUE(e.ok()) << e.status().message();
  StatusOr<GoldenCheck> c = CheckGoldenVectors(**e, *model.golden);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->pass) << "max " << c->max_abs_error << " mean " << c->mean_abs_error;
  *engine = std::move(e).value();
  *check = *c;
}

class ShippedModelsTest : public ::testing::TestWithParam<Shipped> {};

TEST_P(ShippedModelsTest, LoadVerifyAndReachTheStatedLoss) {
  const Shipped& p = GetParam();
  const std::string path = std::string(EDGEVAE_SOURCE_DIR "/models/") + p.file;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  EXPECT_LT(st.st_size, 1000 * 1000) << "shipped models stay under 1 MB";

  StatusOr<AnyModel> model = LoadAnyModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(model->int8.has_value()) << "shipped models are int8";
  EXPECT_EQ(model->int8->shape.latent, p.latent);
  // Faithful int8 (docs/performance.md): a weight scale per row, and the golden reconstructions
  // within a mean |pixel error| of 0.005 of f32 (the stored figure, checked again below).
  EXPECT_TRUE(model->int8->per_channel());
  const ModelMetadata& md = model->int8->metadata;
  EXPECT_THAT(md.command, HasSubstr("edgevae train "));
  EXPECT_THAT(md.command, HasSubstr(" --seed "));
  EXPECT_THAT(md.command, HasSubstr(" --epochs "));
  EXPECT_THAT(md.command, HasSubstr("edgevae convert "));
  EXPECT_THAT(md.command, HasSubstr("--dtype int8"));
  // A mixture of three Gaussians per digit (convert --class-components 3), over every training
  // image of the class: MNIST has 5,421 to 6,742 per class.
  ASSERT_EQ(md.class_latents.size(), 30u);
  std::vector<int> per_class(10, 0), components(10, 0);
  for (const ClassLatentStats& c : md.class_latents) {
    ASSERT_GE(c.label, 0);
    ASSERT_LE(c.label, 9);
    per_class[c.label] += c.count;
    ++components[c.label];
    EXPECT_EQ(c.mean.size(), static_cast<size_t>(p.latent));
  }
  for (int d = 0; d < 10; ++d) {
    EXPECT_EQ(components[d], 3) << d;
    EXPECT_GT(per_class[d], 5000) << d;
    EXPECT_LT(per_class[d], 7000) << d;
  }

  std::unique_ptr<Engine> engine;
  GoldenCheck check;
  ASSERT_NO_FATAL_FAILURE(EngineThatPassesItsGoldenVectors(*model, 1, &engine, &check));
  EXPECT_LE(check.mean_abs_error, 0.005);

  StatusOr<MnistData> mnist = LoadMnist(EDGEVAE_MNIST_DIR);
  ASSERT_TRUE(mnist.ok()) << "this test needs MNIST in " EDGEVAE_MNIST_DIR
                             " (run tools/fetch-mnist.sh): "
                          << mnist.status().message();
  const ImageSet test = kEmulated ? Prefix(mnist->test, kEmulatedImages) : mnist->test;
  StatusOr<EvalResult> eval = EvaluateEngine(*engine, test, EvalOptions{.seed = 1});
  ASSERT_TRUE(eval.ok()) << eval.status().message();
  std::printf("%s: test loss %.3f nats/image (int8, seed 1, %d test images)\n", p.file,
              eval->test_loss, test.count);
  EXPECT_LE(eval->test_loss, kEmulated ? p.max_emulated_loss : p.max_test_loss);
}

INSTANTIATE_TEST_SUITE_P(Models, ShippedModelsTest,
                         ::testing::Values(Shipped{"mnist.q8.evae", 20, 103.3, 103.0},
                                           Shipped{"mnist2d.q8.evae", 2, 150.2, 149.4}));

// The likelihood benchmark's model (docs/likelihood.md): binarized MNIST, IWAE-trained mnist-deep,
// int8. Its k = 5000 figure takes minutes (the documented `edgevae eval` command); here its
// golden vectors, provenance and, on the binarized test set, the one-sample negative ELBO and an
// importance-weighted estimate on the first 500 test images with 64 samples each.
TEST(ShippedLikelihoodModelTest, LoadVerifyAndReachTheStatedBounds) {
  const std::string path = EDGEVAE_SOURCE_DIR "/models/mnist-bin.q8.evae";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  EXPECT_LT(st.st_size, 2 * 1000 * 1000) << "a few MB at most in the repository";
  StatusOr<AnyModel> model = LoadAnyModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(model->int8.has_value());
  EXPECT_EQ(std::string(model->int8->shape.name), "mnist-deep");
  EXPECT_TRUE(model->int8->per_channel());
  const ModelMetadata& md = model->int8->metadata;
  EXPECT_EQ(md.binarize, "dynamic");
  EXPECT_EQ(md.objective, "iwae");
  EXPECT_THAT(md.command, HasSubstr("--binarize dynamic --objective iwae"));
  EXPECT_THAT(md.command, HasSubstr("edgevae convert "));
  std::unique_ptr<Engine> engine;
  GoldenCheck check;
  ASSERT_NO_FATAL_FAILURE(EngineThatPassesItsGoldenVectors(*model, 2, &engine, &check));

  StatusOr<MnistData> mnist = LoadMnist(EDGEVAE_MNIST_DIR);
  ASSERT_TRUE(mnist.ok()) << mnist.status().message();
  // The first images of the binarized test set (a draw keyed by each image's index, so a prefix
  // is the same images however many are taken). Measured (AMD EPYC, 2026-12-03/04): negative
  // ELBO 92.971 over all 10,000, 91.978 over the first 1,000; IW k = 64 84.698 over the first 500,
  // 83.905 over the first 100. The int8 arithmetic is the same on every platform, the estimates'
  // floating-point sums differ in the last digits. Under qemu-user (EDGEVAE_TEST_EMULATED) the
  // smaller sets: the same model and arithmetic, a tenth and a fifth of the decodes.
#ifdef EDGEVAE_TEST_EMULATED
  constexpr int kElboImages = 1000, kIwImages = 100;
  constexpr double kElboBound = 92.3, kIwBound = 84.3;
#else
  constexpr int kElboImages = 10000, kIwImages = 500;
  constexpr double kElboBound = 93.3, kIwBound = 85.0;
#endif
  const auto first = [&](int n) {
    ImageSet s = BinarizeImages(mnist->test, 1, kBinarizeTestPass);
    s.count = n;
    s.pixels.resize(static_cast<size_t>(n) * 784);
    s.labels.resize(static_cast<size_t>(n));
    return s;
  };
  StatusOr<EvalResult> elbo = EvaluateEngine(*engine, first(kElboImages), EvalOptions{.seed = 1});
  ASSERT_TRUE(elbo.ok()) << elbo.status().message();
  StatusOr<EvalResult> iw =
      EvaluateEngine(*engine, first(kIwImages), EvalOptions{.iw_samples = 64, .seed = 1});
  ASSERT_TRUE(iw.ok()) << iw.status().message();
  std::printf("mnist-bin.q8.evae: binarized test set, negative ELBO %.3f (first %d images), IW "
              "k = 64 %.3f (first %d)\n",
              elbo->test_loss, kElboImages, iw->iw_nll, kIwImages);
  EXPECT_LE(elbo->test_loss, kElboBound);
  EXPECT_LE(iw->iw_nll, kIwBound);
}

// The shipped judge's figures for `n` samples (seed 1) of `engine`, against the 10,000 test images
// (under qemu-user the first 2,000).
void JudgeSamples(Engine& engine, int n, JudgeReport* report) {
  StatusOr<Model> judge_model = LoadModel(EDGEVAE_SOURCE_DIR "/models/judge.evae");
  ASSERT_TRUE(judge_model.ok()) << judge_model.status().message();
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  StatusOr<std::unique_ptr<Classifier>> judge = Classifier::Create(*judge_model, rt->get());
  ASSERT_TRUE(judge.ok());
  StatusOr<MnistData> mnist = LoadMnist(EDGEVAE_MNIST_DIR);
  ASSERT_TRUE(mnist.ok()) << mnist.status().message();
  StatusOr<FeatureStats> ref =
      ReferenceFeatures(**judge, kEmulated ? Prefix(mnist->test, kEmulatedImages) : mnist->test);
  ASSERT_TRUE(ref.ok());
  StatusOr<std::vector<float>> samples = DrawSamples(engine, n, 1);
  ASSERT_TRUE(samples.ok());
  StatusOr<JudgeReport> r = JudgeImages(**judge, samples->data(), n, *ref);
  ASSERT_TRUE(r.ok()) << r.status().message();
  *report = *r;
}

// The GAN's generator (docs/gan.md): what it is, its golden samples, and the judge's figures on
// 2,000 of its samples against the 10,000 test images. Measured (AMD EPYC, 2026-12-04):
// 59.45 % recognised, coverage KL 0.0475, Frechet 20.80 (500 samples against the first 2,000
// test images: 62.40 %, 0.0712, 25.21); the bounds leave room for the judge's
// rounding on another CPU, not for a broken generator. Under qemu-user, 500 samples against the
// first 2,000 test images (the int8 arithmetic is the same everywhere; the judge's sums differ in
// the last digits), with bounds measured for those sets.
TEST(ShippedGanModelTest, LoadVerifyAndJudge) {
  const std::string path = EDGEVAE_SOURCE_DIR "/models/gan.q8.evae";
  StatusOr<AnyModel> model = LoadAnyModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(model->int8.has_value());
  EXPECT_EQ(std::string(model->int8->shape.name), "gan-generator");
  EXPECT_EQ(model->int8->shape.family, Family::kGan);
  EXPECT_THAT(model->int8->metadata.command, ::testing::HasSubstr("--family gan --gan-reg 1"));
  EXPECT_EQ(model->int8->metadata.d_steps, 1);
  std::unique_ptr<Engine> engine;
  GoldenCheck check;
  ASSERT_NO_FATAL_FAILURE(EngineThatPassesItsGoldenVectors(*model, 2, &engine, &check));
  std::vector<float> mu(20), logvar(20);
  std::vector<uint8_t> image(784, 0);
  EXPECT_EQ(engine->Encode(image.data(), 1, mu.data(), logvar.data()).code(),
            StatusCode::kUnsupported);

  const int n = kEmulated ? 500 : 2000;
  JudgeReport r;
  ASSERT_NO_FATAL_FAILURE(JudgeSamples(*engine, n, &r));
  std::printf("gan.q8.evae, %d samples: %.2f %% recognised, coverage KL %.4f, Frechet %.2f\n", n,
              100 * r.recognised, r.coverage_kl, r.frechet);
  EXPECT_GE(r.recognised, 0.57);
  EXPECT_LE(r.coverage_kl, kEmulated ? 0.09 : 0.06);
  EXPECT_LE(r.frechet, kEmulated ? 26.5 : 22.0);
}

// The adversarial autoencoder (docs/gan.md#aae): a deterministic encoder and its decoder, its
// golden vectors, its reconstruction error (z = E(x)) and the judge's figures, as for the GAN.
// Measured (AMD EPYC, 2026-12-04): mse 6.674 per image over the 10,000 test images; 2,000
// samples: 55.30 % recognised, coverage KL 0.0609, Frechet 17.48; under qemu-user, the first 500
// test images and 500 samples against the first 2,000: mse 6.702, 57.60 %, 0.0755, 25.14.
TEST(ShippedAaeModelTest, LoadVerifyReconstructAndJudge) {
  const std::string path = EDGEVAE_SOURCE_DIR "/models/aae.q8.evae";
  StatusOr<AnyModel> model = LoadAnyModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(model->int8.has_value());
  EXPECT_EQ(std::string(model->int8->shape.name), "aae-eg");
  EXPECT_EQ(model->int8->shape.family, Family::kAae);
  EXPECT_THAT(model->int8->metadata.command, HasSubstr("--family aae --aae-lambda 1"));
  EXPECT_EQ(model->int8->metadata.aae_lambda, 1.0);
  std::unique_ptr<Engine> engine;
  GoldenCheck check;
  ASSERT_NO_FATAL_FAILURE(EngineThatPassesItsGoldenVectors(*model, 2, &engine, &check));

  StatusOr<MnistData> mnist = LoadMnist(EDGEVAE_MNIST_DIR);
  ASSERT_TRUE(mnist.ok()) << mnist.status().message();
  const ImageSet test = kEmulated ? Prefix(mnist->test, 500) : mnist->test;
  double mse = 0;
  for (int first = 0; first < test.count; first += 500) {
    const int m = std::min(500, test.count - first);
    std::vector<double> err(static_cast<size_t>(m));
    ASSERT_TRUE(engine->ReconstructionError(test.image(first), m, ReconstructionLoss::kMse,
                                               err.data()).ok());
    for (double e : err) mse += e;
  }
  mse /= test.count;
  const int n = kEmulated ? 500 : 2000;
  JudgeReport r;
  ASSERT_NO_FATAL_FAILURE(JudgeSamples(*engine, n, &r));
  std::printf("aae.q8.evae: mse %.3f per image over %d test images; %d samples: %.2f %% "
              "recognised, coverage KL %.4f, Frechet %.2f\n",
              mse, test.count, n, 100 * r.recognised, r.coverage_kl, r.frechet);
  EXPECT_LE(mse, kEmulated ? 6.85 : 6.8);
  EXPECT_GE(r.recognised, kEmulated ? 0.55 : 0.53);
  EXPECT_LE(r.coverage_kl, kEmulated ? 0.09 : 0.075);
  EXPECT_LE(r.frechet, kEmulated ? 26.5 : 19.0);
}

}  // namespace
}  // namespace edgevae
