// Scoring allocates nothing on the heap once the scorers are made: every method, both
// complexity corrections, one and two threads. The counting replaces malloc
// (tests/common/alloc_counter.h).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/score.h"
#include "common/alloc_counter.h"
#include "gtest/gtest.h"


namespace edgevae {
namespace {

using Counting = test::CountAllocations;

TEST(ScoreAllocations, CounterSeesAllocations) {
  long seen;
  {
    Counting c;
    std::vector<double>* v = new std::vector<double>(100);
    seen = c.count();
    delete v;
  }
  EXPECT_GE(seen, 2);  // the vector object and its buffer
}

TEST(ScoreAllocations, NoHeapAllocationWhileScoring) {
  auto model = Model::Create(MnistShape::kInfo);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  AnyModel any;
  any.f32 = model->Clone();
#ifdef EDGEVAE_TEST_EMULATED
  // Under qemu-user the 12 scorers' passes took over a minute: one image past the engine batch,
  // and 3 importance samples instead of 5 (3 still does not divide the 256-row decode batch, so
  // an image's samples still straddle two batches).
  constexpr int kImages = 257, kSamples = 3, kIwSamples = 3;
#else
  constexpr int kImages = 300, kSamples = 3, kIwSamples = 5;
#endif
  static_assert(kImages > 256, "more than one engine batch (256)");
  std::vector<uint8_t> pixels(kImages * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 256);
  std::vector<double> scores(kImages);
  for (const char* method : {"bce", "mse", "elbo", "iw", "elbo-ic", "mse-icr"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << method << ", " << threads << " thread(s)");
      ScoreOptions o;
      ASSERT_TRUE(ParseScoreMethod(method, &o).ok());
      o.samples = kSamples;
      o.iw_samples = kIwSamples;
      auto scorer = ParallelScorer::Create(any, o, threads);
      ASSERT_TRUE(scorer.ok()) << scorer.status().message();
      ASSERT_TRUE((*scorer)->Score(pixels.data(), kImages, 0, scores.data()).ok());  // warm-up
      Counting c;
      for (int n : {1, 7, kImages}) {
        ASSERT_TRUE((*scorer)->Score(pixels.data(), n, 100, scores.data()).ok());
      }
      EXPECT_EQ(c.count(), 0) << "heap allocations while scoring";
    }
  }
}

}  // namespace
}  // namespace edgevae
