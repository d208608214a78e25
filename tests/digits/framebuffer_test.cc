// Framebuffer output (firmware/digits/framebuffer.h): grey packed into 16/24/32-bit pixels from
// the channel layout, and an image drawn into a fake framebuffer (a regular file with explicit
// geometry, rows padded beyond width x bytes per pixel) checked byte by byte.
#include "framebuffer.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae::digits {
namespace {

using ::testing::HasSubstr;

TEST(PackGreyPixelTest, StandardFormats) {
  uint8_t out[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  auto f16 = StandardFramebufferFormat(8, 8, 16);
  ASSERT_TRUE(f16.ok());
  PackGreyPixel(255, *f16, out);
  EXPECT_EQ(out[0], 0xFF);
  EXPECT_EQ(out[1], 0xFF);
  EXPECT_EQ(out[2], 0xEE);  // only bytes_per_pixel bytes are written
  // 0x80: r = 0x10 (5 bits), g = 0x20 (6 bits), b = 0x10: 1000 0100 0001 0000 = 0x8410.
  PackGreyPixel(0x80, *f16, out);
  EXPECT_EQ(out[0], 0x10);
  EXPECT_EQ(out[1], 0x84);

  auto f24 = StandardFramebufferFormat(8, 8, 24);
  ASSERT_TRUE(f24.ok());
  PackGreyPixel(0x5A, *f24, out);
  EXPECT_THAT(std::vector<uint8_t>(out, out + 4), ::testing::ElementsAre(0x5A, 0x5A, 0x5A, 0xEE));

  auto f32 = StandardFramebufferFormat(8, 8, 32);
  ASSERT_TRUE(f32.ok());
  PackGreyPixel(0x12, *f32, out);
  EXPECT_THAT(std::vector<uint8_t>(out, out + 4), ::testing::ElementsAre(0x12, 0x12, 0x12, 0xFF));
}

TEST(PackGreyPixelTest, ChannelLayoutFromTheDriver) {
  // RGBA8888 with red in the low byte and no alpha channel, and BGR565.
  FramebufferFormat f;
  f.bits_per_pixel = 32;
  f.red = {0, 8};
  f.green = {8, 8};
  f.blue = {16, 8};
  uint8_t out[4];
  PackGreyPixel(0xC3, f, out);
  EXPECT_THAT(std::vector<uint8_t>(out, out + 4), ::testing::ElementsAre(0xC3, 0xC3, 0xC3, 0x00));
  f.bits_per_pixel = 16;
  f.red = {0, 5};
  f.green = {5, 6};
  f.blue = {11, 5};
  PackGreyPixel(0xFF, f, out);
  EXPECT_EQ(out[0] | out[1] << 8, 0xFFFF);
  PackGreyPixel(0x08, f, out);  // 5-bit channels 1, 6-bit green 2: 00001 000010 00001
  EXPECT_EQ(out[0] | out[1] << 8, (1 << 11) | (2 << 5) | 1);
}

TEST(FramebufferFormatTest, ParseAndReject) {
  auto f = ParseFramebufferFormat("640x480x16");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->width, 640);
  EXPECT_EQ(f->height, 480);
  EXPECT_EQ(f->line_length, 1280);
  EXPECT_THAT(ParseFramebufferFormat("640x480").status().message(), HasSubstr("WIDTHxHEIGHTxBPP"));
  EXPECT_THAT(ParseFramebufferFormat("640x480x16x").status().message(), HasSubstr("expected"));
  EXPECT_THAT(ParseFramebufferFormat("640x480x8").status().message(), HasSubstr("16, 24, 32"));
  EXPECT_FALSE(ParseFramebufferFormat("0x480x32").ok());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FakeFramebuffer {
 public:
  explicit FakeFramebuffer(size_t bytes) {
    char name[] = "/tmp/edgevae_fb_test.XXXXXX";
    const int fd = ::mkstemp(name);
    path_ = name;
    const std::string fill(bytes, '\xAA');
    EXPECT_EQ(::write(fd, fill.data(), fill.size()), static_cast<ssize_t>(bytes));
    ::close(fd);
  }
  ~FakeFramebuffer() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Draws a 3 x 2 image on an 11 x 7 screen with padded rows, for 16, 24 and 32 bpp, and checks
// every byte: the image centred and scaled by 3 (11 / 3 and 7 / 2 allow 3), the rest untouched.
TEST(ShowOnFramebufferTest, CentredScaledAndRowPadded) {
  GreyImage image{3, 2, {0, 100, 255, 40, 80, 120}};
  for (int bpp : {16, 24, 32}) {
    SCOPED_TRACE(bpp);
    auto f = StandardFramebufferFormat(11, 7, bpp);
    ASSERT_TRUE(f.ok());
    const int bytes = bpp / 8;
    f->line_length = 11 * bytes + 6;  // the driver's stride exceeds the visible width
    FakeFramebuffer fb(static_cast<size_t>(f->line_length) * 7);
    ASSERT_TRUE(ShowOnFramebuffer(fb.path(), image, *f).ok());
    const std::string got = ReadAll(fb.path());
    ASSERT_EQ(got.size(), static_cast<size_t>(f->line_length) * 7);
    const int scale = 3, x0 = (11 - 9) / 2, y0 = (7 - 6) / 2;
    for (int y = 0; y < 7; ++y) {
      for (int x = 0; x < f->line_length / bytes; ++x) {
        uint8_t expected[4] = {0xAA, 0xAA, 0xAA, 0xAA};
        const int ix = x - x0, iy = y - y0;
        if (x < 11 && ix >= 0 && ix < 3 * scale && iy >= 0 && iy < 2 * scale) {
          PackGreyPixel(image.pixels[(iy / scale) * 3 + ix / scale], *f, expected);
        }
        for (int b = 0; b < bytes; ++b) {
          ASSERT_EQ(static_cast<uint8_t>(got[y * f->line_length + x * bytes + b]), expected[b])
              << "pixel " << x << "," << y << " byte " << b;
        }
      }
    }
  }
}

TEST(ShowOnFramebufferTest, MaxScaleAndOffsets) {
  GreyImage image{1, 1, {200}};
  auto f = StandardFramebufferFormat(8, 8, 32);
  ASSERT_TRUE(f.ok());
  FakeFramebuffer fb(8 * 8 * 4);
  ASSERT_TRUE(ShowOnFramebuffer(fb.path(), image, *f, 2).ok());
  const std::string got = ReadAll(fb.path());
  int drawn = 0;
  for (int p = 0; p < 64; ++p) drawn += static_cast<uint8_t>(got[p * 4]) == 200;
  EXPECT_EQ(drawn, 4);                                         // 2 x 2, not 8 x 8
  EXPECT_EQ(static_cast<uint8_t>(got[(3 * 8 + 3) * 4]), 200);  // centred at (3..4, 3..4)
  EXPECT_EQ(static_cast<uint8_t>(got[(4 * 8 + 4) * 4]), 200);
}

TEST(ShowOnFramebufferTest, Errors) {
  GreyImage image{4, 4, std::vector<uint8_t>(16, 1)};
  auto f = StandardFramebufferFormat(3, 3, 16);
  ASSERT_TRUE(f.ok());
  FakeFramebuffer fb(3 * 3 * 2);
  EXPECT_THAT(ShowOnFramebuffer(fb.path(), image, *f).message(),
              HasSubstr("larger than the screen"));
  FramebufferFormat bad = *f;
  bad.bits_per_pixel = 8;
  EXPECT_THAT(ShowOnFramebuffer(fb.path(), image, bad).message(),
              HasSubstr("unsupported pixel format 8 bpp"));
  // A regular file has no framebuffer ioctls; a missing device cannot be opened.
  Status s = ShowOnFramebuffer(fb.path(), image, std::nullopt);
  EXPECT_THAT(s.message(), HasSubstr("FBIOGET_VSCREENINFO"));
  EXPECT_THAT(s.message(), HasSubstr(fb.path()));
  EXPECT_THAT(ShowOnFramebuffer("/nonexistent/fb9", image, std::nullopt).message(),
              HasSubstr("/nonexistent/fb9"));
}

}  // namespace
}  // namespace edgevae::digits
