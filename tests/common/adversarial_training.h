// What the adversarial families' training tests (gan_test, ali_test, aae_test) share: docs/gan.md's
// optimizer settings, a fresh model, training to an epoch, the bit-exact resume check, and the
// shipped judge's Frechet distance of a model's samples. The includer defines EDGEVAE_SOURCE_DIR
// and EDGEVAE_TEST_FIXTURE_DIR.
#ifndef EDGEVAE_TESTS_COMMON_ADVERSARIAL_TRAINING_H_
#define EDGEVAE_TESTS_COMMON_ADVERSARIAL_TRAINING_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edgevae/classifier.h"
#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/judge.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "gtest/gtest.h"

namespace edgevae::testutil {

// Batch 64, Adam 0.0002 with beta1 0.5 (the CLI's defaults for these families), `seed`.
inline TrainOptions AdversarialOptions(uint64_t seed) {
  TrainOptions o;
  o.batch = 64;
  o.lr = 2e-4;
  o.beta1 = 0.5f;
  o.seed = seed;
  return o;
}

// A model of `shape` initialised as PyTorch would, from `seed`.
inline Model FreshModel(const ShapeInfo& shape, uint64_t seed) {
  StatusOr<Model> m = Model::Create(shape);
  EXPECT_TRUE(m.ok());
  m->InitializeLikeTorch(seed);
  return std::move(m).value();
}

// Trains `model` on `train` until its metadata counts `to` epochs; every epoch reports two players
// with finite losses, the second named `second_player`. One thread: ctest runs two tests at once on
// two cores, and a second pthreadpool worker spin-waits between the small products of an
// adversarial step (a 2,000-image ALI test took 29 s on 2 threads, 10 s on 1, the same weights;
// 3 times as long under qemu). Thread counts are tested where they are the subject.
inline void TrainAdversarialTo(Model* model, const ImageSet& train, int to,
                               const TrainOptions& options, const char* second_player) {
  StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok());
  StatusOr<std::unique_ptr<Trainer>> t = CreateTrainer(model, rt->get(), options);
  ASSERT_TRUE(t.ok()) << t.status().message();
  while (model->metadata().epochs < to) {
    StatusOr<EpochResult> r = (*t)->TrainEpoch(train, {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->players.size(), 2u);
    EXPECT_STREQ(r->players[1].player, second_player);
    EXPECT_TRUE(std::isfinite(r->players[0].loss) && std::isfinite(r->players[1].loss));
  }
}

// `trained` (a fresh model of `shape` and `seed` trained to its epoch count) again, but saved to
// the checkpoint `file` after `resume_after` epochs, loaded and trained on: the same weights, bit
// for bit. Returns the checkpoint's metadata as loaded, for the caller's checks.
inline ModelMetadata ExpectResumeIsBitExact(const Model& trained, const ShapeInfo& shape,
                                            uint64_t seed, const ImageSet& train, int resume_after,
                                            const TrainOptions& options, const char* second_player,
                                            const std::string& file) {
  Model b = FreshModel(shape, seed);
  TrainAdversarialTo(&b, train, resume_after, options, second_player);
  const std::string path = std::string(EDGEVAE_TEST_FIXTURE_DIR) + "/" + file;
  EXPECT_TRUE(SaveModel(path, b).ok());
  StatusOr<Model> loaded = LoadModel(path);
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  if (!loaded.ok()) return {};
  ModelMetadata checkpoint = loaded->metadata();
  TrainAdversarialTo(&*loaded, train, trained.metadata().epochs, options, second_player);
  EXPECT_TRUE(std::equal(trained.params(), trained.params() + trained.param_floats(),
                         loaded->params()));
  return checkpoint;
}

// The shipped judge (models/judge.evae) with the features of `reference` images: judges 1,000
// samples (seed 1) of a model.
class SampleJudge {
 public:
  explicit SampleJudge(const ImageSet& reference) {
    rt_ = std::move(Runtime::Create(1)).value();
    StatusOr<Model> m = LoadModel(EDGEVAE_SOURCE_DIR "/models/judge.evae");
    EXPECT_TRUE(m.ok()) << m.status().message();
    if (!m.ok()) return;
    StatusOr<std::unique_ptr<Classifier>> c = Classifier::Create(*m, rt_.get());
    EXPECT_TRUE(c.ok());
    if (!c.ok()) return;
    judge_ = std::move(c).value();
    StatusOr<FeatureStats> ref = ReferenceFeatures(*judge_, reference);
    EXPECT_TRUE(ref.ok());
    if (ref.ok()) ref_ = std::move(ref).value();
  }

  JudgeReport Judge(const Model& model) const {
    StatusOr<std::unique_ptr<Engine>> e =
        Engine::Create(model, EngineOptions{.max_batch = 500, .threads = 1});
    EXPECT_TRUE(e.ok()) << e.status().message();
    if (!e.ok() || judge_ == nullptr) return {};
    StatusOr<std::vector<float>> s = DrawSamples(**e, 1000, 1);
    EXPECT_TRUE(s.ok());
    StatusOr<JudgeReport> r = JudgeImages(*judge_, s->data(), 1000, ref_);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : JudgeReport{};
  }

 private:
  std::unique_ptr<Runtime> rt_;
  std::unique_ptr<Classifier> judge_;
  FeatureStats ref_;
};

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_ADVERSARIAL_TRAINING_H_
