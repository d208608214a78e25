// The demo's latent grids (firmware/digits/digits.h) and the embedded models: each mode's codes
// against their definition, batched decoding against one call, and the embedded bytes against the
// shipped files in models/.
#include "digits.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

#include "edgevae/latent.h"
#include "embedded_models.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae::digits {
namespace {

using ::testing::HasSubstr;

// Two classes in 3-D with different means.
ModelMetadata TwoClasses() {
  ModelMetadata md;
  for (int label : {4, 9}) {
    ClassLatentStats s;
    s.label = label;
    s.count = 10;
    s.mean = {label * 0.1f, -1.0f, 2.0f};
    s.cov = {0.5f, 0.1f, 0.0f, 0.1f, 0.5f, 0.0f, 0.0f, 0.0f, 0.2f};
    md.class_latents.push_back(s);
  }
  return md;
}

TEST(DigitsGridTest, SampleAndDigitAreTheirGaussiansDraws) {
  auto g = SampleGrid(3, 23, 7);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->count, 23);
  EXPECT_EQ(g->grid_cols, 10);
  std::vector<float> ref(23 * 3);
  LatentGaussian::StandardNormal(3).Sample(7, 23, ref.data());
  EXPECT_EQ(g->z, ref);

  const ModelMetadata md = TwoClasses();
  auto d = DigitGrid(md, 3, 9, 5, 7);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto gauss = LatentGaussian::FromStats(md.class_latents[1]);
  ASSERT_TRUE(gauss.ok());
  ref.resize(5 * 3);
  gauss->Sample(7, 5, ref.data());
  EXPECT_EQ(d->z, ref);
  EXPECT_EQ(d->grid_cols, 5);
}

TEST(DigitsGridTest, DigitErrors) {
  const ModelMetadata md = TwoClasses();
  EXPECT_EQ(DigitGrid(md, 3, 10, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DigitGrid(md, 3, 4, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DigitGrid(md, 3, 4, kMaxDigits + 1, 1).status().code(), StatusCode::kInvalidArgument);
  auto missing = DigitGrid(md, 3, 7, 1, 1);
  EXPECT_EQ(missing.status().code(), StatusCode::kDataError);
  EXPECT_THAT(missing.status().message(), HasSubstr("digit 7"));
  EXPECT_THAT(DigitGrid(md, 20, 4, 1, 1).status().message(), HasSubstr("3 dimensions"));
}

TEST(DigitsGridTest, InterpolationRowsStartAndEndAtClassDraws) {
  const ModelMetadata md = TwoClasses();
  auto g = InterpolationGrid(md, 3, 4, 9, 7, 3);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->count, 14);
  EXPECT_EQ(g->grid_cols, 7);
  std::vector<float> a(3), b(3);
  LatentGaussian::FromStats(md.class_latents[0])->Sample(3, 1, a.data());
  LatentGaussian::FromStats(md.class_latents[1])->Sample(3, 1, b.data());
  for (int row = 0; row < 2; ++row) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(g->z[(row * 7 + 0) * 3 + k], a[k], 1e-6) << row;
      EXPECT_NEAR(g->z[(row * 7 + 6) * 3 + k], b[k], 1e-6) << row;
    }
  }
  std::vector<float> mid(3);
  LerpLatent(a.data(), b.data(), 0.5f, 3, mid.data());
  for (int k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(g->z[3 * 3 + k], mid[k]);
  SlerpLatent(a.data(), b.data(), 0.5f, 3, mid.data());
  for (int k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(g->z[(7 + 3) * 3 + k], mid[k]);
  EXPECT_FALSE(InterpolationGrid(md, 3, 4, 9, 1, 3).ok());
  EXPECT_FALSE(InterpolationGrid(md, 3, 4, 5, 7, 3).ok());
}

TEST(DigitsGridTest, ManifoldIsTheInverseCdfOfAGrid) {
  auto g = ManifoldGrid(2, 5);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->count, 25);
  EXPECT_EQ(g->grid_cols, 5);
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) {
      EXPECT_FLOAT_EQ(g->z[(r * 5 + c) * 2], InverseNormalCdf((c + 0.5) / 5));
      EXPECT_FLOAT_EQ(g->z[(r * 5 + c) * 2 + 1], InverseNormalCdf(1 - (r + 0.5) / 5));
    }
  }
  EXPECT_FLOAT_EQ(g->z[(2 * 5 + 2) * 2], 0.0f);  // the centre of an odd grid is z = 0
  EXPECT_THAT(ManifoldGrid(20, 5).status().message(), HasSubstr("2-D"));
  EXPECT_FALSE(ManifoldGrid(2, 0).ok());
}

TEST(DigitsGridTest, PerturbationVariesOneDimension) {
  const std::vector<float> mu = {1, 2, 3, 4}, sd = {0.5f, 0.25f, 2, 1};
  auto g = PerturbationGrid(mu, sd, 2, 5, 1);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->count, 10);
  for (int i = 0; i < 10; ++i) {
    for (int k : {0, 1, 3}) EXPECT_EQ(g->z[i * 4 + k], mu[k]) << i;
  }
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(g->z[i * 4 + 2], 3 + (-3 + 1.5f * i) * 2);
  for (int i = 1; i < 5; ++i) EXPECT_LE(g->z[(5 + i - 1) * 4 + 2], g->z[(5 + i) * 4 + 2]);
  EXPECT_NE(g->z[5 * 4 + 2], g->z[9 * 4 + 2]);
  EXPECT_FALSE(PerturbationGrid(mu, sd, 4, 5, 1).ok());
  EXPECT_FALSE(PerturbationGrid(mu, sd, -1, 5, 1).ok());
}

TEST(DigitsGridTest, ToBytesRoundsAndClamps) {
  EXPECT_THAT(ToBytes({0.0f, 1.0f, 0.5f, -0.2f, 1.7f, 0.1f}),
              ::testing::ElementsAre(0, 255, 128, 0, 255, 26));
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(EmbeddedModelsTest, AreTheShippedFilesAndLoad) {
  const std::vector<uint8_t> mnist = ReadBytes(EDGEVAE_SOURCE_DIR "/models/mnist.q8.evae");
  const std::vector<uint8_t> mnist2d = ReadBytes(EDGEVAE_SOURCE_DIR "/models/mnist2d.q8.evae");
  ASSERT_FALSE(mnist.empty());
  ASSERT_FALSE(mnist2d.empty());
  EXPECT_TRUE(std::ranges::equal(EmbeddedMnistBytes(), mnist));
  EXPECT_TRUE(std::ranges::equal(EmbeddedMnist2dBytes(), mnist2d));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(EmbeddedMnistBytes().data()) % 64, 0u);
  auto a = LoadEmbeddedMnist();
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_STREQ(a->dtype(), "int8");
  EXPECT_EQ(a->int8->shape.latent, 20);
  EXPECT_EQ(a->int8->metadata.class_latents.size(), 30u);  // three Gaussians per digit
  auto b = LoadEmbeddedMnist2d();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->int8->shape.latent, 2);
}

TEST(DecodeGridTest, BatchedEqualsOneCall) {
  auto model = LoadEmbeddedMnist();
  ASSERT_TRUE(model.ok());
  auto small = Engine::Create(*model, EngineOptions{.max_batch = 7, .threads = 1});
  auto big = Engine::Create(*model, EngineOptions{.max_batch = 23, .threads = 1});
  ASSERT_TRUE(small.ok() && big.ok());
  auto grid = SampleGrid(20, 23, 5);
  ASSERT_TRUE(grid.ok());
  std::vector<float> batched, once(23 * 784, std::numeric_limits<float>::quiet_NaN());
  ASSERT_TRUE(DecodeGrid(**small, *grid, &batched).ok());
  ASSERT_TRUE((*big)->Decode(grid->z.data(), 23, once.data()).ok());
  EXPECT_EQ(batched, once);
  auto wrong = SampleGrid(2, 3, 5);
  EXPECT_FALSE(DecodeGrid(**small, *wrong, &batched).ok());
}

}  // namespace
}  // namespace edgevae::digits
