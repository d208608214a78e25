#include "edgevae/image.h"

#include <dirent.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "common/png_decode.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using edgevae::testutil::DecodeGreyPng;
using edgevae::testutil::ReadGreyPng;
using edgevae::testutil::TempDir;

// The IHDR header as stored: bit depth and colour type (0 = grey).
void ReadIhdr(const std::string& path, int* bit_depth, int* color_type) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(33);
  in.read(reinterpret_cast<char*>(head.data()), 33);
  ASSERT_EQ(in.gcount(), 33);
  ASSERT_EQ(std::string(head.begin() + 12, head.begin() + 16), "IHDR");
  *bit_depth = head[24];
  *color_type = head[25];
}

std::vector<float> Ramp(int count, int rows, int cols) {
  std::vector<float> v(static_cast<size_t>(count) * rows * cols);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 256) / 255.0f;
  return v;
}

TEST(MakeGridTest, GeometryAndPlacement) {
  // Odd sizes: 7 images of 3 x 5 in rows of 3 with pad 2 -> 3 grid rows, the last one partial.
  const int count = 7, rows = 3, cols = 5, grid_cols = 3, pad = 2;
  std::vector<float> images(count * rows * cols);
  // Each image's pixel (r, c) = distinct value (i * 15 + r * 5 + c) / 255.
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < rows * cols; ++p) images[i * rows * cols + p] = (i * 15 + p) / 255.0f;
  }
  StatusOr<GreyImage> grid = MakeGrid(images.data(), count, rows, cols, grid_cols, pad);
  ASSERT_TRUE(grid.ok()) << grid.status().message();
  EXPECT_EQ(grid->width, pad + grid_cols * (cols + pad));  // 23
  EXPECT_EQ(grid->height, pad + 3 * (rows + pad));         // 17
  ASSERT_EQ(grid->pixels.size(), static_cast<size_t>(grid->width * grid->height));

  // Every pixel is either inside exactly one image (and has its value) or background (0).
  std::vector<int> owner(grid->pixels.size(), -1);
  for (int i = 0; i < count; ++i) {
    const int top = pad + (i / grid_cols) * (rows + pad);
    const int left = pad + (i % grid_cols) * (cols + pad);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        const size_t at = static_cast<size_t>(top + r) * grid->width + left + c;
        ASSERT_EQ(owner[at], -1);
        owner[at] = i;
        EXPECT_EQ(grid->pixels[at], i * 15 + r * cols + c)
            << "image " << i << " r " << r << " c " << c;
      }
    }
  }
  for (size_t at = 0; at < owner.size(); ++at) {
    if (owner[at] == -1) {
      EXPECT_EQ(grid->pixels[at], 0) << "background at " << at;
    }
  }
}

TEST(MakeGridTest, SizesSweep) {
  for (int count : {0, 1, 3, 7, 23}) {
    for (int grid_cols : {1, 3, 19}) {
      for (int pad : {0, 1, 2}) {
        const std::vector<float> images = Ramp(count, 7, 3);
        StatusOr<GreyImage> grid = MakeGrid(images.data(), count, 7, 3, grid_cols, pad);
        ASSERT_TRUE(grid.ok()) << grid.status().message();
        const int grid_rows = (count + grid_cols - 1) / grid_cols;
        EXPECT_EQ(grid->width, pad + grid_cols * (3 + pad));
        EXPECT_EQ(grid->height, pad + grid_rows * (7 + pad));
        EXPECT_EQ(grid->pixels.size(), static_cast<size_t>(grid->width) * grid->height);
        // The last image's last pixel lands where the formula says.
        if (count > 0) {
          const int i = count - 1;
          const int y = pad + (i / grid_cols) * (7 + pad) + 6;
          const int x = pad + (i % grid_cols) * (3 + pad) + 2;
          const float v = images[static_cast<size_t>(count) * 21 - 1];
          EXPECT_EQ(grid->pixels[static_cast<size_t>(y) * grid->width + x],
                    static_cast<int>(v * 255.0f + 0.5f));
        }
      }
    }
  }
}

TEST(MakeGridTest, ClampsAndRounds) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> values = {-1.0f, -inf, 0.0f,          1.0f,           2.0f,
                                     inf,   0.5f, 1.0f / 255.0f, 0.49f / 255.0f, 254.51f / 255.0f,
                                     -0.0f};
  const std::vector<int> expected = {0, 0, 0, 255, 255, 255, 128, 1, 0, 255, 0};
  StatusOr<GreyImage> grid = MakeGrid(values.data(), 1, 1, static_cast<int>(values.size()), 1, 0);
  ASSERT_TRUE(grid.ok()) << grid.status().message();
  ASSERT_EQ(grid->pixels.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(grid->pixels[i], expected[i]) << "value " << values[i];
  }
}

TEST(MakeGridTest, RejectsNanNamingImageAndPixel) {
  std::vector<float> images = Ramp(5, 4, 6);
  images[3 * 24 + 2 * 6 + 5] = std::numeric_limits<float>::quiet_NaN();  // image 3, pixel 17
  StatusOr<GreyImage> grid = MakeGrid(images.data(), 5, 4, 6, 2, 1);
  ASSERT_FALSE(grid.ok());
  EXPECT_EQ(grid.status().code(), StatusCode::kDataError);
  const std::string& m = grid.status().message();
  EXPECT_NE(m.find("image 3"), std::string::npos) << m;
  EXPECT_NE(m.find("pixel 17"), std::string::npos) << m;
  EXPECT_NE(m.find("NaN"), std::string::npos) << m;
}

TEST(MakeGridTest, RejectsBadArguments) {
  const std::vector<float> images = Ramp(2, 2, 2);
  struct Case {
    const float* images;
    int count, rows, cols, grid_cols, pad;
  };
  const Case cases[] = {
      {images.data(), -1, 2, 2, 1, 0},
      {images.data(), 2, 0, 2, 1, 0},
      {images.data(), 2, 2, -3, 1, 0},
      {images.data(), 2, 2, 2, 0, 0},
      {images.data(), 2, 2, 2, 1, -1},
      {nullptr, 2, 2, 2, 1, 0},
      {images.data(), 1, 1 << 20, 1 << 20, 1, 0},
  };
  for (const Case& c : cases) {
    StatusOr<GreyImage> grid = MakeGrid(c.images, c.count, c.rows, c.cols, c.grid_cols, c.pad);
    ASSERT_FALSE(grid.ok()) << c.count << " " << c.rows << " " << c.cols << " " << c.grid_cols
                            << " " << c.pad;
    EXPECT_EQ(grid.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(grid.status().message().empty());
  }
}

TEST(WritePngTest, RoundTrip) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // Odd sizes so that rows are not a multiple of any alignment.
  for (const auto& [width, height] : {std::pair{1, 1}, std::pair{23, 19}, std::pair{7, 3}}) {
    GreyImage image;
    image.width = width;
    image.height = height;
    image.pixels.resize(static_cast<size_t>(width) * height);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = (i * 37 + 11) % 256;
    const std::string path = dir.path() + "/img_" + std::to_string(width) + ".png";
    Status s = WritePng(path, image);
    ASSERT_TRUE(s.ok()) << s.message();
    int bit_depth = 0, color_type = -1;
    ReadIhdr(path, &bit_depth, &color_type);
    EXPECT_EQ(bit_depth, 8);
    EXPECT_EQ(color_type, 0);  // grey
    const GreyImage back = ReadGreyPng(path);
    EXPECT_EQ(back.width, width);
    EXPECT_EQ(back.height, height);
    EXPECT_EQ(back.pixels, image.pixels);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
  }
  // Only the three images: no temp files left behind.
  EXPECT_EQ(dir.Entries().size(), 3u);
}

TEST(WritePngTest, GridRoundTrip) {
  TempDir dir;
  const std::vector<float> images = Ramp(5, 28, 28);
  StatusOr<GreyImage> grid = MakeGrid(images.data(), 5, 28, 28, 3, 2);
  ASSERT_TRUE(grid.ok()) << grid.status().message();
  const std::string path = dir.path() + "/grid.png";
  ASSERT_TRUE(WritePng(path, *grid).ok());
  const GreyImage back = ReadGreyPng(path);
  EXPECT_EQ(back.width, 92);
  EXPECT_EQ(back.height, 62);
  EXPECT_EQ(back.pixels, grid->pixels);
}

TEST(WritePngTest, ReplacesExistingFile) {
  TempDir dir;
  const std::string path = dir.path() + "/out.png";
  {
    std::ofstream old(path);
    old << "old contents";
  }
  GreyImage image{2, 2, {0, 64, 128, 255}};
  ASSERT_TRUE(WritePng(path, image).ok());
  EXPECT_EQ(ReadGreyPng(path).pixels, image.pixels);
  EXPECT_EQ(dir.Entries().size(), 1u);
}

TEST(WritePngTest, MissingDirectoryLeavesNothing) {
  TempDir dir;
  const std::string missing = dir.path() + "/no_such_dir";
  GreyImage image{3, 1, {1, 2, 3}};
  Status s = WritePng(missing + "/grid.png", image);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(missing + "/grid.png"), std::string::npos) << s.message();
  struct stat st {};
  EXPECT_NE(::stat(missing.c_str(), &st), 0);
  EXPECT_TRUE(dir.Entries().empty());
}

TEST(WritePngTest, FailedRenameRemovesTempFile) {
  TempDir dir;
  // The target is a non-empty directory: the temp file is written, the rename fails.
  const std::string target = dir.path() + "/target.png";
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  const std::string inner = target + "/keep";
  { std::ofstream(inner) << "x"; }
  GreyImage image{1, 1, {7}};
  Status s = WritePng(target, image);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  const std::vector<std::string> entries = dir.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0], "target.png");
  ::unlink(inner.c_str());
  ::rmdir(target.c_str());
}

TEST(WritePngTest, RejectsInconsistentImages) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.png";
  const GreyImage bad[] = {
      {0, 1, {}},
      {2, 0, {}},
      {2, 2, {1, 2, 3}},
      {-1, -1, {1}},
  };
  for (const GreyImage& image : bad) {
    Status s = WritePng(path, image);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << image.width << " x " << image.height;
  }
  EXPECT_TRUE(dir.Entries().empty());
}

TEST(EncodePngTest, RoundTripOddSizesAndNoise) {
  // Odd sizes, and pseudo-random pixels that zlib cannot shrink (the encoded size then nears the
  // bound the buffer was sized by).
  for (const auto& [width, height] : {std::pair{1, 1}, std::pair{28, 28}, std::pair{23, 19},
                                      std::pair{7, 3}, std::pair{301, 1}}) {
    GreyImage image;
    image.width = width;
    image.height = height;
    image.pixels.resize(static_cast<size_t>(width) * height);
    uint32_t x = 12345;
    for (uint8_t& p : image.pixels) {
      x = x * 1664525u + 1013904223u;
      p = static_cast<uint8_t>(x >> 24);
    }
    StatusOr<std::vector<uint8_t>> bytes = EncodePng(image);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    ASSERT_GE(bytes->size(), 8u);
    const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    EXPECT_TRUE(std::equal(signature, signature + 8, bytes->begin()));
    const GreyImage back = DecodeGreyPng(*bytes);
    EXPECT_EQ(back.width, width);
    EXPECT_EQ(back.height, height);
    EXPECT_EQ(back.pixels, image.pixels) << width << " x " << height;
  }
}

TEST(EncodePngTest, SameBytesAsWritePng) {
  TempDir dir;
  const std::vector<float> images = Ramp(3, 28, 28);
  StatusOr<GreyImage> grid = MakeGrid(images.data(), 3, 28, 28, 2, 1);
  ASSERT_TRUE(grid.ok()) << grid.status().message();
  StatusOr<std::vector<uint8_t>> bytes = EncodePng(*grid);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  const std::string path = dir.path() + "/grid.png";
  ASSERT_TRUE(WritePng(path, *grid).ok());
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  EXPECT_EQ(file, *bytes);
}

TEST(EncodePngTest, RejectsInconsistentImages) {
  const GreyImage bad[] = {
      {0, 1, {}}, {2, 0, {}}, {2, 2, {1, 2, 3}}, {-1, -1, {1}}, {1 << 21, 1, {}},
  };
  for (const GreyImage& image : bad) {
    StatusOr<std::vector<uint8_t>> bytes = EncodePng(image);
    ASSERT_FALSE(bytes.ok()) << image.width << " x " << image.height;
    EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bytes.status().message().find("EncodePng"), std::string::npos)
        << bytes.status().message();
    EXPECT_NE(bytes.status().message().find(std::to_string(image.width)), std::string::npos)
        << bytes.status().message();
  }
}

TEST(EncodePngTest, WritePngNamesThePathOnEncodingErrors) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.png";
  Status s = WritePng(path, GreyImage{2, 2, {1, 2, 3}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("found 3"), std::string::npos) << s.message();
  EXPECT_TRUE(dir.Entries().empty());
}

}  // namespace
}  // namespace edgevae
