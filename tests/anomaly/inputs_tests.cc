// Scoring inputs: gzip IDX (read transparently, truncation reported), damaged IDX files keeping
// their complete images, PNG/PGM decoding with the size named in errors, image folders, and raw
// frames from a pipe with malformed frames dropped and reported.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/cli_runner.h"
#include "edgevae/idx.h"
#include "edgevae/frames.h"
#include "edgevae/image.h"
#include "edgevae/image_read.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using cli_runner::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;

void WriteBytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

std::vector<uint8_t> Gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = raw.size();
  zs.next_out = out.data();
  zs.avail_out = out.size();
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// An IDX u8 file of n images of r x c, pixel values a function of position.
std::vector<uint8_t> IdxImages(int n, int r, int c) {
  std::vector<uint8_t> b = {0, 0, 8, 3};
  for (int d : {n, r, c}) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  for (int i = 0; i < n * r * c; ++i) b.push_back(static_cast<uint8_t>(i * 7 + i / 13));
  return b;
}

TEST(InputsTest, GzipIdxReadsLikeThePlainFile) {
  TempDir dir;
  const auto raw = IdxImages(5, 3, 7);
  WriteBytes(dir / "a", raw);
  WriteBytes(dir / "a.gz", Gzip(raw));
  auto plain = ReadIdx(dir / "a");
  auto gz = ReadIdx(dir / "a.gz");
  ASSERT_TRUE(plain.ok() && gz.ok()) << gz.status().message();
  EXPECT_EQ(gz->dims, plain->dims);
  EXPECT_EQ(gz->values, plain->values);
  // LoadMnist finds name.gz when name is missing (Debian's dataset-fashion-mnist layout).
  auto set = LoadImageSet(dir / "a.gz", "");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->count, 5);
}

TEST(InputsTest, TruncatedGzipIsAnErrorNamingTheFile) {
  TempDir dir;
  auto gz = Gzip(IdxImages(50, 28, 28));
  gz.resize(gz.size() / 2);
  WriteBytes(dir / "cut.gz", gz);
  auto r = ReadIdx(dir / "cut.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr(dir / "cut.gz"), HasSubstr("truncated gzip")));
}

TEST(InputsTest, SalvagingKeepsCompleteImagesOfATruncatedFile) {
  TempDir dir;
  auto raw = IdxImages(10, 28, 28);
  raw.resize(16 + 4 * 784 + 100);  // 4 images and part of a fifth
  WriteBytes(dir / "cut", raw);
  Status damage;
  int declared = 0;
  auto set = LoadImagesSalvaging(dir / "cut", &damage, &declared);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->count, 4);
  EXPECT_EQ(declared, 10);
  EXPECT_EQ(set->pixels, std::vector<uint8_t>(raw.begin() + 16, raw.begin() + 16 + 4 * 784));
  EXPECT_THAT(damage.message(),
              AllOf(HasSubstr("truncated"), HasSubstr("4 complete images of 10")));
  // The same through gzip; and an intact file reports no damage.
  WriteBytes(dir / "cut.gz", Gzip(raw));
  set = LoadImagesSalvaging(dir / "cut.gz", &damage, &declared);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->count, 4);
  EXPECT_FALSE(damage.ok());
  WriteBytes(dir / "ok", IdxImages(3, 28, 28));
  set = LoadImagesSalvaging(dir / "ok", &damage, &declared);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->count, 3);
  EXPECT_TRUE(damage.ok());
}

TEST(InputsTest, PngAndPgmDecodeAndWrongSizesAreNamed) {
  TempDir dir;
  GreyImage img;
  img.width = 28;
  img.height = 28;
  for (int i = 0; i < 784; ++i) img.pixels.push_back(static_cast<uint8_t>(i % 251));
  ASSERT_TRUE(WritePng(dir / "a.png", img).ok());
  auto back = ReadGreyImageSized(dir / "a.png", 28, 28);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->pixels, img.pixels);

  // PGM with a comment, maxval 255.
  std::string pgm = "P5\n# made by a test\n28 28\n255\n";
  pgm.append(reinterpret_cast<const char*>(img.pixels.data()), 784);
  WriteBytes(dir / "b.pgm", std::vector<uint8_t>(pgm.begin(), pgm.end()));
  auto p = ReadGreyImageSized(dir / "b.pgm", 28, 28);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->pixels, img.pixels);

  GreyImage big;
  big.width = 32;
  big.height = 30;
  big.pixels.assign(32 * 30, 9);
  ASSERT_TRUE(WritePng(dir / "big.png", big).ok());
  auto wrong = ReadGreyImageSized(dir / "big.png", 28, 28);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(),
              AllOf(HasSubstr(dir / "big.png"), HasSubstr("32x30"), HasSubstr("28x28")));

  WriteBytes(dir / "junk.png", {1, 2, 3});
  EXPECT_FALSE(ReadGreyImage(dir / "junk.png").ok());
  std::string short_pgm = "P5 28 28 255\n";
  short_pgm += "abc";
  WriteBytes(dir / "short.pgm", std::vector<uint8_t>(short_pgm.begin(), short_pgm.end()));
  auto sp = ReadGreyImage(dir / "short.pgm");
  ASSERT_FALSE(sp.ok());
  EXPECT_THAT(sp.status().message(), HasSubstr("truncated PGM"));

  auto files = ListImageFiles(dir.path());
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 5u);  // a.png, b.pgm, big.png, junk.png, short.pgm (sorted)
  EXPECT_EQ(files->front(), dir / "a.png");
}

TEST(InputsTest, FramesFromAPipeWithMalformedFramesDropped) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([w = fds[1]] {
    std::vector<uint8_t> frame(784, 7);
    (void)!::write(w, frame.data(), 784);
    (void)!::write(w, frame.data(), 10);  // a short frame, then a pause
    ::usleep(300 * 1000);
    frame.assign(784, 9);
    (void)!::write(w, frame.data(), 784);
    (void)!::write(w, frame.data(), 784);
    (void)!::write(w, frame.data(), 5);  // cut off by the end
    ::close(w);
  });
  FrameReader reader(fds[0], 784, 8, /*idle_timeout_ms=*/100);
  std::vector<uint8_t> out(8 * 784, 0xEE);
  int frames = 0, malformed = 0;
  std::vector<size_t> dropped;
  std::vector<uint8_t> firsts;
  for (;;) {
    auto r = reader.Next(out.data());
    ASSERT_TRUE(r.ok());
    for (int i = 0; i < r->frames; ++i) firsts.push_back(out[i * 784]);
    frames += r->frames;
    if (r->dropped_bytes > 0) {
      ++malformed;
      dropped.push_back(r->dropped_bytes);
    }
    if (r->end) break;
  }
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(frames, 3);
  EXPECT_EQ(malformed, 2);
  EXPECT_EQ(dropped, (std::vector<size_t>{10, 5}));
  EXPECT_EQ(firsts, (std::vector<uint8_t>{7, 9, 9}));  // no frame shifted by the short one
}

// --- Hostile inputs (docs/reliability.md: limits) ------------------------------------------------

// An IDX header that declares `n` images of 28 x 28, followed by `extra` zero bytes more than that.
std::vector<uint8_t> IdxDeclaring(int n, size_t data_bytes) {
  std::vector<uint8_t> b = {0, 0, 8, 3};
  for (int d : {n, 28, 28}) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  b.resize(b.size() + data_bytes, 0);
  return b;
}

TEST(InputsTest, GzipBombStopsAtWhatItsHeaderDeclares) {
  TempDir dir;
  // Declares 10 images (7,840 bytes) but inflates to 64 MiB of zeros: ~64 KB compressed.
  WriteBytes(dir / "bomb.gz", Gzip(IdxDeclaring(10, size_t{64} << 20)));
  auto r = ReadIdx(dir / "bomb.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr(dir / "bomb.gz"), HasSubstr("too large"), HasSubstr("7856 bytes")));
  // The salvaging reader (score) refuses it too, rather than keeping what fits.
  Status damage;
  int declared = 0;
  auto s = LoadImagesSalvaging(dir / "bomb.gz", &damage, &declared);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("too large"));
}

// The peak resident memory (KiB) that reading `path` with ReadIdx adds, measured in a child
// process so that nothing earlier in this one hides it.
long ReadIdxPeakGrowthKb(const std::string& path) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    const bool ok = ReadIdx(path).ok();
    ::getrusage(RUSAGE_SELF, &after);
    const long growth = ok ? -2 : after.ru_maxrss - before.ru_maxrss;
    const ssize_t n = ::write(fds[1], &growth, sizeof growth);
    ::_exit(n == sizeof growth ? 0 : 1);
  }
  ::close(fds[1]);
  long growth = -1;
  if (::read(fds[0], &growth, sizeof growth) != sizeof growth) growth = -1;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return growth;
}

TEST(InputsTest, GzipDeclaringMuchButHoldingLittleAllocatesWhatArrives) {
  TempDir dir;
  // 300,000 images of 28 x 28 declared (235 MB, under the 256 MiB limit), 16 bytes of data: the
  // reader sized its output to the declaration first, and zeroed 235 MB for a 60-byte file.
  WriteBytes(dir / "claims.gz", Gzip(IdxDeclaring(300000, 16)));
  auto r = ReadIdx(dir / "claims.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("truncated: header says 300000x28x28"));
  const long growth_kb = ReadIdxPeakGrowthKb(dir / "claims.gz");
  ASSERT_GE(growth_kb, 0) << "the child process failed (-2: the read succeeded)";
  EXPECT_LT(growth_kb, 32 * 1024) << "reading a 60-byte file raised the peak memory by "
                                  << growth_kb << " KiB";
}

TEST(InputsTest, GzipDeclaringMoreThanTheLimitIsRefusedBeforeInflating) {
  TempDir dir;
  // 2^20 images of 28 x 28 = 822 MB declared, a few bytes of data.
  WriteBytes(dir / "huge.gz", Gzip(IdxDeclaring(1 << 20, 16)));
  auto r = ReadIdx(dir / "huge.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("too large"), HasSubstr("822083600")));
}

TEST(InputsTest, GzipWithTrailingBytesOrASecondMemberIsRefused) {
  TempDir dir;
  const auto raw = IdxImages(2, 28, 28);
  auto junk = Gzip(raw);
  const size_t member = junk.size();
  junk.insert(junk.end(), {'j', 'u', 'n', 'k'});
  WriteBytes(dir / "junk.gz", junk);
  auto r = ReadIdx(dir / "junk.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("4 trailing bytes"), HasSubstr(std::to_string(member))));
  auto two = Gzip(raw);
  const auto second = Gzip(raw);
  two.insert(two.end(), second.begin(), second.end());
  WriteBytes(dir / "two.gz", two);
  r = ReadIdx(dir / "two.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("trailing bytes after the gzip member"));
  // As plain IDX files refuse trailing bytes, so does the salvaging reader for a gzip one.
  Status damage;
  int declared = 0;
  EXPECT_FALSE(LoadImagesSalvaging(dir / "junk.gz", &damage, &declared).ok());
}

TEST(InputsTest, EndlessStreamsStopAtTheLimit) {
  // /dev/zero as an image (refused unread: not a regular file) or an IDX file (read as a stream,
  // up to the limit): an error, not unbounded memory.
  auto image = ReadGreyImage("/dev/zero");
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.status().message(),
              AllOf(HasSubstr("/dev/zero"), HasSubstr("a character device")));
  auto idx = ReadIdx("/dev/zero");
  ASSERT_FALSE(idx.ok());
  EXPECT_THAT(idx.status().message(), HasSubstr("/dev/zero"));
}

// The bytes of a PNG that declares width x height grey pixels: the signature, a valid IHDR, and
// an empty IDAT (CRCs from zlib). libpng reads the header, up to the first IDAT, before any pixel.
std::vector<uint8_t> PngHeader(uint32_t width, uint32_t height) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
    const uint32_t n = static_cast<uint32_t>(data.size());
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(n >> s));
    std::vector<uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    const uLong crc = crc32(0, body.data(), static_cast<uInt>(body.size()));
    b.insert(b.end(), body.begin(), body.end());
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(crc >> s));
  };
  std::vector<uint8_t> ihdr;
  for (uint32_t v : {width, height}) {
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<uint8_t>(v >> s));
  }
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // 8-bit grey, deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  chunk("IDAT", {});
  return b;
}

TEST(InputsTest, ImagesDeclaringHugeSizesAreRefusedBeforeAllocating) {
  TempDir dir;
  WriteBytes(dir / "huge.png", PngHeader(100000, 100000));
  auto png = ReadGreyImage(dir / "huge.png");
  ASSERT_FALSE(png.ok());
  EXPECT_THAT(png.status().message(),
              AllOf(HasSubstr("100000x100000"), HasSubstr("too large"), HasSubstr("16777216")));
  // PGM sizes just below 2^32 each: their product overflows 64-bit signed arithmetic (UBSan
  // caught it in the asan preset); it must be compared without overflowing.
  const std::string pgm = "P5 4294967295 4294967295 255\n";
  WriteBytes(dir / "huge.pgm", std::vector<uint8_t>(pgm.begin(), pgm.end()));
  auto p = ReadGreyImage(dir / "huge.pgm");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), AllOf(HasSubstr("4294967295x4294967295"), HasSubstr("too large")));
}

TEST(InputsTest, PngChunkLongerThanTheFileIsRefusedBeforeLibpngAllocatesIt) {
  // libpng allocates a chunk's declared length before reading it: the fuzzer's 109-byte file
  // with a zTXt chunk declaring 1.7 GB (tests/fuzz/image/regression) made it allocate 1.7 GB.
  TempDir dir;
  std::vector<uint8_t> b = PngHeader(28, 28);
  static const char kChunk[] = "\x65\x53\xf0\x00zTXtabc";  // a length of 1,699,999,744
  const std::string chunk(kChunk, sizeof(kChunk) - 1);
  b.insert(b.end(), chunk.begin(), chunk.end());
  WriteBytes(dir / "chunk.png", b);
  auto png = ReadGreyImage(dir / "chunk.png");
  ASSERT_FALSE(png.ok());
  EXPECT_THAT(png.status().message(),
              AllOf(HasSubstr("chunk.png"), HasSubstr("'zTXt'"), HasSubstr("declares 1699999744")));
}

}  // namespace
}  // namespace edgevae
