// Binarized MNIST (edgevae/binarize.h): each pixel is 255 with probability grey / 255, drawn from
// the counter-based generator keyed by (seed, pass, image), so a draw is reproducible and does
// not depend on which other images are binarized with it.
#include "edgevae/binarize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "edgevae/idx.h"

namespace edgevae {
namespace {

ImageSet Uniform(int count, uint8_t grey) {
  ImageSet s;
  s.count = count;
  s.rows = s.cols = 28;
  s.pixels.assign(static_cast<size_t>(count) * 784, grey);
  s.labels.assign(static_cast<size_t>(count), 3);
  return s;
}

TEST(BinarizeTest, LitWithTheGreyValueAsProbability) {
  for (const int grey : {0, 1, 64, 128, 254, 255}) {
    const ImageSet b = BinarizeImages(Uniform(200, static_cast<uint8_t>(grey)), 7, 1);
    size_t lit = 0;
    for (uint8_t p : b.pixels) {
      ASSERT_TRUE(p == 0 || p == 255) << int{p};
      lit += p == 255;
    }
    const double n = static_cast<double>(b.pixels.size()), p = grey / 255.0;
    const double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(lit), n * p, 5 * sd + 0.5) << "grey " << grey;
    EXPECT_EQ(b.labels, std::vector<uint8_t>(200, 3));
  }
}

TEST(BinarizeTest, KeyedBySeedPassAndImage) {
  ImageSet grey = Uniform(3, 128);
  grey.pixels[784 + 5] = 0;  // image 1 differs in one pixel
  const ImageSet a = BinarizeImages(grey, 1, 4);
  EXPECT_EQ(a.pixels, BinarizeImages(grey, 1, 4).pixels);
  EXPECT_NE(a.pixels, BinarizeImages(grey, 2, 4).pixels) << "seed";
  EXPECT_NE(a.pixels, BinarizeImages(grey, 1, 5).pixels) << "pass";
  // Image 2 alone gives the same bytes as inside the set: the draw is keyed by its index.
  std::vector<uint8_t> one(784);
  BinarizeImage(grey.image(2), 784, 1, 4, 2, one.data());
  EXPECT_EQ(0, std::memcmp(one.data(), a.image(2), 784));
  EXPECT_NE(0, std::memcmp(a.image(0), a.image(2), 784)) << "images are drawn independently";
  EXPECT_EQ(a.image(1)[5], 0);
}

TEST(BinarizeTest, NamesAndPasses) {
  for (Binarization b : {Binarization::kNone, Binarization::kDynamic, Binarization::kStatic}) {
    StatusOr<Binarization> parsed = ParseBinarization(BinarizationName(b));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, b);
  }
  StatusOr<Binarization> bad = ParseBinarization("stochastic");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'stochastic'"), std::string::npos);
  EXPECT_EQ(TrainingPass(Binarization::kDynamic, 7), 7u);
  EXPECT_EQ(TrainingPass(Binarization::kStatic, 7), 0u);
  EXPECT_NE(kBinarizeTestPass, TrainingPass(Binarization::kDynamic, 1));
}

}  // namespace
}  // namespace edgevae
