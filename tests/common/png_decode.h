// Decodes PNG bytes with libpng's own reader, independently of the library's decoder, to check
// what the library wrote; fails the test unless they are an 8-bit grey image without alpha.
#ifndef EDGEVAE_TESTS_COMMON_PNG_DECODE_H_
#define EDGEVAE_TESTS_COMMON_PNG_DECODE_H_

#include <png.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "edgevae/image.h"
#include "gtest/gtest.h"

namespace edgevae::testutil {

// `what` names the bytes in failure messages.
inline GreyImage DecodeGreyPng(const void* bytes, size_t size, const std::string& what) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  GreyImage out;
  if (!png_image_begin_read_from_memory(&png, bytes, size)) {
    ADD_FAILURE() << "libpng cannot open " << what << ": " << png.message;
    return out;
  }
  EXPECT_EQ(png.format & PNG_FORMAT_FLAG_COLOR, 0u) << what << ": not a grey image";
  EXPECT_EQ(png.format & PNG_FORMAT_FLAG_ALPHA, 0u) << what << ": has an alpha channel";
  png.format = PNG_FORMAT_GRAY;
  out.width = static_cast<int>(png.width);
  out.height = static_cast<int>(png.height);
  out.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, out.pixels.data(), 0, nullptr)) {
    ADD_FAILURE() << "libpng cannot decode " << what << ": " << png.message;
  }
  png_image_free(&png);
  return out;
}

inline GreyImage DecodeGreyPng(const std::string& bytes, const std::string& what = "the bytes") {
  return DecodeGreyPng(bytes.data(), bytes.size(), what);
}
inline GreyImage DecodeGreyPng(const std::vector<uint8_t>& bytes,
                               const std::string& what = "the bytes") {
  return DecodeGreyPng(bytes.data(), bytes.size(), what);
}

inline GreyImage ReadGreyPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return DecodeGreyPng(bytes, path);
}

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_PNG_DECODE_H_
