// The acceptance check of the digit demo: a digit asked for with `edgevae-digits digit D` must look
// like a D. The project's digit classifier (models/judge.evae, docs/judge.md: 98.05 % on the
// MNIST test set) reads 1,000 digits per class drawn from the embedded (shipped) int8 model's class
// Gaussians, exactly as the demo draws them; a digit counts as recognised when the classifier's
// most probable class is the one asked for. At least 95 % of each class must be recognised (the
// model-quality issue's goal; measured 97.3 % for the worst class, "3", docs/digits-demo.md). The
// table is printed.
//
// Under qemu-user (EDGEVAE_TEST_EMULATED) the classifier's own accuracy is checked on the first
// 2,000 test images, with the same bound (measured 97.30 % there: 54 errors where the bound
// allows 60; the first images are the harder ones), and the reconstructions, printed for scale
// and not checked, are those of the first 1,000; the 1,000 draws per class and their bound are
// the same.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "digits.h"
#include "edgevae/classifier.h"
#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/runtime.h"
#include "embedded_models.h"
#include "gtest/gtest.h"

namespace edgevae::digits {
namespace {

constexpr int kPerClass = 1000;
constexpr double kMinRecognised = 0.95;
#ifdef EDGEVAE_TEST_EMULATED
constexpr int kJudged = 2000, kReconstructed = 1000;
#else
constexpr int kJudged = 10000, kReconstructed = 10000;
#endif

// The classifier's answer (its most probable class) for each of n images given as bytes.
std::vector<int> Classify(Classifier& judge, const uint8_t* images, int n) {
  std::vector<float> x(static_cast<size_t>(n) * 784), probs(static_cast<size_t>(n) * 10);
  for (size_t i = 0; i < x.size(); ++i) x[i] = images[i] / 255.0f;
  EXPECT_TRUE(judge.Run(x.data(), static_cast<size_t>(n), probs.data(), nullptr).ok());
  std::vector<int> answers(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const float* p = probs.data() + static_cast<size_t>(i) * 10;
    answers[static_cast<size_t>(i)] = static_cast<int>(std::max_element(p, p + 10) - p);
  }
  return answers;
}

TEST(RecognitionTest, GeneratedDigitsAreRecognisedAsTheirClass) {
  StatusOr<MnistData> mnist = LoadMnist(EDGEVAE_MNIST_DIR);
  ASSERT_TRUE(mnist.ok()) << "this test needs MNIST in " EDGEVAE_MNIST_DIR
                             " (run tools/fetch-mnist.sh): "
                          << mnist.status().message();
  StatusOr<Model> judge_model = LoadModel(EDGEVAE_SOURCE_DIR "/models/judge.evae");
  ASSERT_TRUE(judge_model.ok()) << judge_model.status().message();
  StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(1);
  ASSERT_TRUE(runtime.ok());
  StatusOr<std::unique_ptr<Classifier>> judge = Classifier::Create(*judge_model, runtime->get());
  ASSERT_TRUE(judge.ok()) << judge.status().message();
  StatusOr<ClassifierScore> score = ScoreClassifier(**judge, Head(mnist->test, kJudged));
  ASSERT_TRUE(score.ok()) << score.status().message();
  std::printf("classifier: models/judge.evae (784-256-10); accuracy on the first %d MNIST test "
              "images %.2f %%\n", kJudged, 100 * score->accuracy);
  ASSERT_GE(score->accuracy, 0.97) << "the judge itself is not good enough";

  // EDGEVAE_RECOGNITION_MODEL=FILE judges another model (e.g. one converted with
  // --class-components 1, for the comparison in docs/digits-demo.md); by default the embedded shipped model.
  const char* other = std::getenv("EDGEVAE_RECOGNITION_MODEL");
  StatusOr<AnyModel> model =
      other != nullptr && *other != '\0' ? LoadAnyModel(other) : LoadEmbeddedMnist();
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto engine = Engine::Create(*model, EngineOptions{.max_batch = 250, .threads = 1});
  ASSERT_TRUE(engine.ok()) << engine.status().message();

  // For scale (printed, not checked): the classifier on the real test images and on this model's
  // reconstructions of them (z = mu), per class.
  {
    const ImageSet test = Head(mnist->test, kReconstructed);
    std::vector<int> count(10, 0), real(10, 0), recon(10, 0);
    std::vector<float> out(250 * 784);
    for (int i = 0; i < test.count; i += 250) {
      const int n = std::min(250, test.count - i);
      ASSERT_TRUE((*engine)->Reconstruct(test.image(i), n, false, 1, out.data()).ok());
      const std::vector<uint8_t> bytes =
          ToBytes(std::vector<float>(out.begin(), out.begin() + n * 784));
      const std::vector<int> on_real = Classify(**judge, test.image(i), n);
      const std::vector<int> on_recon = Classify(**judge, bytes.data(), n);
      for (int k = 0; k < n; ++k) {
        const int label = test.labels[i + k];
        ++count[label];
        real[label] += on_real[k] == label;
        recon[label] += on_recon[k] == label;
      }
    }
    std::printf("digit  test images  their reconstructions\n");
    for (int d = 0; d < 10; ++d) {
      std::printf("%5d  %9.1f %%  %9.1f %%\n", d, 100.0 * real[d] / count[d],
                  100.0 * recon[d] / count[d]);
    }
  }

  std::printf("digit  recognised  most common other answer\n");
  int total = 0;
  for (int d = 0; d < 10; ++d) {
    StatusOr<LatentGrid> grid =
        DigitGrid((*engine)->metadata(), (*engine)->shape().latent, d, kPerClass, 1);
    ASSERT_TRUE(grid.ok()) << grid.status().message();
    std::vector<float> images;
    ASSERT_TRUE(DecodeGrid(**engine, *grid, &images).ok());
    const std::vector<uint8_t> bytes = ToBytes(images);
    std::vector<int> answers(10, 0);
    for (int a : Classify(**judge, bytes.data(), kPerClass)) ++answers[a];
    int other = d == 0 ? 1 : 0;
    for (int k = 0; k < 10; ++k) {
      if (k != d && answers[k] > answers[other]) other = k;
    }
    std::printf("%5d  %8.1f %%  %d (%.1f %%)\n", d, 100.0 * answers[d] / kPerClass, other,
                100.0 * answers[other] / kPerClass);
    total += answers[d];
    EXPECT_GE(answers[d], kMinRecognised * kPerClass) << "digit " << d;
  }
  std::printf("  all  %8.1f %%\n", 100.0 * total / (10 * kPerClass));
}

}  // namespace
}  // namespace edgevae::digits
