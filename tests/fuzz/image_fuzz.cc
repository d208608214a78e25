// Fuzz harness: ReadGreyImage (`edgevae score --input image.png|.pgm|folder`), PNG through libpng
// and binary PGM through our own header parser, on a memfd since it reads by path.
//
// Input: byte 0 holds flags, the rest is the file. With kFixCrc, every PNG chunk's CRC is
// recomputed first: libpng checks them, so otherwise nearly every mutation of a PNG stops at the
// first chunk it touches instead of reaching the header, palette and pixel decoding.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "edgevae/image.h"
#include "edgevae/image_read.h"
#include "edgevae/status.h"
#include "fuzz_util.h"

namespace {

constexpr uint8_t kFixCrc = 1;
constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

uint32_t GetBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Chunks: u32 length (big-endian), 4-byte type, data, u32 CRC of type and data.
void FixPngCrcs(std::vector<uint8_t>& b) {
  if (b.size() < 8 || !std::equal(kPngMagic, kPngMagic + 8, b.begin())) return;
  size_t pos = 8;
  while (b.size() - pos >= 12) {
    const uint32_t len = GetBe32(b.data() + pos);
    if (len > b.size() - pos - 12) return;
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0, b.data() + pos + 4, static_cast<uInt>(len + 4)));
    uint8_t* at = b.data() + pos + 8 + len;
    for (int i = 0; i < 4; ++i) at[i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    pos += 12 + size_t{len};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgevae;
  if (size == 0) return 0;
  std::vector<uint8_t> file(data + 1, data + size);
  if ((data[0] & kFixCrc) != 0) FixPngCrcs(file);
  const fuzz::MemFile mem(file.data(), file.size());
  StatusOr<GreyImage> image = ReadGreyImage(mem.path());
  if (image.ok()) {
    FUZZ_CHECK(image->width > 0 && image->height > 0, "%dx%d", image->width, image->height);
    FUZZ_CHECK(uint64_t{static_cast<uint32_t>(image->width)} * image->height <= uint64_t{1} << 24,
               "%dx%d is above the pixel limit", image->width, image->height);
    FUZZ_CHECK(image->pixels.size() == static_cast<size_t>(image->width) * image->height,
               "%zu pixels for %dx%d", image->pixels.size(), image->width, image->height);
  } else {
    FUZZ_CHECK(!image.status().message().empty(), "an error without a message");
  }
  // What the scorer asks for: exactly 28 x 28, the same image.
  StatusOr<GreyImage> sized = ReadGreyImageSized(mem.path(), 28, 28);
  FUZZ_CHECK(sized.ok() == (image.ok() && image->width == 28 && image->height == 28),
             "ReadGreyImageSized %d, ReadGreyImage %d", sized.ok(), image.ok());
  if (sized.ok()) FUZZ_CHECK(sized->pixels == image->pixels, "two reads, two images");
  return 0;
}
