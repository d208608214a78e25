// IDX reader and writer: round trips, every rejection (each message must name the file and the
// problem), the image-set checks and Head(). The real-MNIST test runs only when
// tools/fetch-mnist.sh has put the files in EDGEVAE_MNIST_DIR.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/status.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

namespace fs = std::filesystem;

// The bytes of a u8 IDX file with the given dims and values (no validation: tests break it).
std::vector<uint8_t> IdxBytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values,
                              uint8_t type = 0x08) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    out.push_back(static_cast<uint8_t>(d >> 24));
    out.push_back(static_cast<uint8_t>(d >> 16));
    out.push_back(static_cast<uint8_t>(d >> 8));
    out.push_back(static_cast<uint8_t>(d));
  }
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

// Passes when `message` contains every one of `parts`; a failure shows the message.
template <typename... Parts>
::testing::AssertionResult HasAll(const std::string& message, const Parts&... parts) {
  for (const std::string& part : {std::string(parts)...}) {
    if (message.find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << "message lacks \"" << part << "\": " << message;
    }
  }
  return ::testing::AssertionSuccess();
}

std::vector<uint8_t> Iota(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i * 7);
  return v;
}

class IdxTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::string WriteBytes(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string path = Path(name);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(f.good()) << path;
    return path;
  }

  // ReadIdx on a file and ParseIdx on the same bytes must agree on failure and message.
  Status ReadBoth(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = WriteBytes(name, bytes);
    StatusOr<IdxArray> parsed = ParseIdx(bytes.data(), bytes.size(), path);
    StatusOr<IdxArray> read = ReadIdx(path);
    EXPECT_FALSE(parsed.ok());
    EXPECT_FALSE(read.ok());
    EXPECT_EQ(parsed.status().message(), read.status().message());
    EXPECT_EQ(read.status().code(), StatusCode::kDataError) << read.status().message();
    return read.status();
  }

  std::vector<std::string> Leftovers() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string n = e.path().filename().string();
      if (n.find(".tmp.") != std::string::npos) out.push_back(n);
    }
    return out;
  }

  testutil::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
};

TEST_F(IdxTest, RoundTripEveryRank) {
  const std::vector<std::vector<uint32_t>> shapes = {{1},       {7},          {3, 5},
                                                     {2, 3, 7}, {1, 2, 3, 4}, {2, 19, 23}};
  for (const auto& dims : shapes) {
    size_t n = 1;
    for (uint32_t d : dims) n *= d;
    IdxArray a{dims, Iota(n, 3)};
    const std::string path = Path("rt.idx");
    ASSERT_TRUE(WriteIdx(path, a).ok());
    StatusOr<IdxArray> b = ReadIdx(path);
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(b->dims, dims);
    EXPECT_EQ(b->values, a.values);
    EXPECT_EQ(fs::file_size(path), 4 + 4 * dims.size() + n);
  }
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(IdxTest, WritesBigEndianHeader) {
  const std::string path = Path("be.idx");
  ASSERT_TRUE(WriteIdx(path, IdxArray{{258, 1}, Iota(258)}).ok());
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 12u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 12),
            (std::vector<uint8_t>{0, 0, 8, 2, 0, 0, 1, 2, 0, 0, 0, 1}));
}

TEST_F(IdxTest, ParseMatchesRead) {
  const std::vector<uint8_t> bytes = IdxBytes({2, 3}, Iota(6));
  StatusOr<IdxArray> a = ParseIdx(bytes.data(), bytes.size(), "mem");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dims, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(a->values, Iota(6));
}

TEST_F(IdxTest, WriteReplacesExistingFile) {
  const std::string path = Path("x.idx");
  ASSERT_TRUE(WriteIdx(path, IdxArray{{4}, Iota(4)}).ok());
  ASSERT_TRUE(WriteIdx(path, IdxArray{{2}, {9, 8}}).ok());
  StatusOr<IdxArray> b = ReadIdx(path);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->values, (std::vector<uint8_t>{9, 8}));
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(IdxTest, WriteRejectsBadArrayAndKeepsExistingFile) {
  const std::string path = Path("keep.idx");
  ASSERT_TRUE(WriteIdx(path, IdxArray{{3}, {1, 2, 3}}).ok());

  Status s = WriteIdx(path, IdxArray{{2, 3}, Iota(5)});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasAll(s.message(), path, "2x3", "need 6 values", "found 5"));
  s = WriteIdx(path, IdxArray{{}, {}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HasAll(s.message(), "0 dimensions"));
  s = WriteIdx(path, IdxArray{{1, 1, 1, 1, 1}, {7}});
  EXPECT_TRUE(HasAll(s.message(), "5 dimensions"));
  s = WriteIdx(path, IdxArray{{3, 0}, {}});
  EXPECT_TRUE(HasAll(s.message(), "dimension 1 of 3x0 is zero"));

  StatusOr<IdxArray> b = ReadIdx(path);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->values, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(IdxTest, FailedRenameRemovesTempFile) {
  // A directory in the way makes rename() fail after the temp file is fully written.
  const std::string path = Path("blocked");
  fs::create_directory(path);
  fs::create_directory(path + "/child");  // non-empty, so not even a directory rename works
  Status s = WriteIdx(path, IdxArray{{2}, {1, 2}});
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(HasAll(s.message(), path, "cannot rename"));
  EXPECT_TRUE(Leftovers().empty());
  EXPECT_TRUE(fs::is_directory(path + "/child"));
}

TEST_F(IdxTest, WriteIntoMissingDirectoryFails) {
  const std::string path = Path("no/such/dir/x.idx");
  Status s = WriteIdx(path, IdxArray{{1}, {1}});
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(HasAll(s.message(), path, "temp file"));
}

TEST_F(IdxTest, MissingFileIsIoError) {
  const std::string path = Path("absent.idx");
  StatusOr<IdxArray> r = ReadIdx(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_TRUE(HasAll(r.status().message(), path, "cannot open"));
}

TEST_F(IdxTest, DirectoryIsRejected) {
  StatusOr<IdxArray> r = ReadIdx(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasAll(r.status().message(), "is a directory"));
}

TEST_F(IdxTest, RejectsShortHeader) {
  for (size_t n : {0, 1, 3}) {
    Status s = ReadBoth("short", std::vector<uint8_t>(n, 0));
    EXPECT_TRUE(HasAll(s.message(), Path("short"), "too short",
                       "at least 4 bytes, file has " + std::to_string(n)));
  }
}

TEST_F(IdxTest, RejectsTruncatedDimensions) {
  std::vector<uint8_t> bytes = IdxBytes({10, 28, 28}, {});
  bytes.resize(10);
  Status s = ReadBoth("dims", bytes);
  EXPECT_TRUE(HasAll(s.message(), Path("dims"), "truncated header",
                     "3 dimensions need 16 header bytes, file has 10"));
}

TEST_F(IdxTest, RejectsBadMagic) {
  std::vector<uint8_t> bytes = IdxBytes({2}, {1, 2});
  bytes[1] = 0x01;
  Status s = ReadBoth("magic", bytes);
  EXPECT_TRUE(HasAll(s.message(), Path("magic"), "bad magic", "found 0x00 0x01"));

  // gzip data is inflated (tests/anomaly/inputs_tests.cc); a cut-off gzip header says so.
  const std::vector<uint8_t> gz = {0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0};
  s = ReadBoth("gz", gz);
  EXPECT_TRUE(HasAll(s.message(), Path("gz"), "truncated gzip data"));
}

TEST_F(IdxTest, RejectsOtherElementTypes) {
  const std::vector<std::pair<uint8_t, std::string>> types = {
      {0x09, "i8"}, {0x0B, "i16"}, {0x0C, "i32"}, {0x0D, "f32"}, {0x0E, "f64"}, {0x07, "not an"}};
  for (const auto& [type, name] : types) {
    Status s = ReadBoth("type", IdxBytes({2}, {1, 2}, type));
    EXPECT_TRUE(
        HasAll(s.message(), Path("type"), "unsupported element type", name, "expected 0x08 (u8)"));
  }
}

TEST_F(IdxTest, RejectsDimensionCount) {
  std::vector<uint8_t> zero = {0, 0, 8, 0};
  Status s = ReadBoth("nd0", zero);
  EXPECT_TRUE(HasAll(s.message(), Path("nd0"), "dimension count", "expected 1 to 4, found 0"));
  s = ReadBoth("nd5", IdxBytes({1, 1, 1, 1, 1}, {7}));
  EXPECT_TRUE(HasAll(s.message(), "expected 1 to 4, found 5"));
}

TEST_F(IdxTest, RejectsZeroDimension) {
  Status s = ReadBoth("zero", IdxBytes({10, 0, 28}, {}));
  EXPECT_TRUE(HasAll(s.message(), Path("zero"), "dimension 1 of 10x0x28", "is zero"));
}

TEST_F(IdxTest, RejectsOverflowingCount) {
  Status s = ReadBoth("huge", IdxBytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2, 3}));
  EXPECT_TRUE(HasAll(s.message(), Path("huge"), "overflows", "4294967295x4294967295x4294967295"));
}

TEST_F(IdxTest, HugeButNotOverflowingCountIsTruncationNotAllocation) {
  // 2^32 * 2^16 elements would be 256 TiB; the length check must come before any allocation.
  Status s = ReadBoth("big", IdxBytes({0xFFFFFFFF, 0xFFFF}, {1, 2, 3}));
  if constexpr (sizeof(size_t) >= 8) {
    EXPECT_TRUE(HasAll(s.message(), "truncated", "file has 3"));
  } else {
    // On a 32-bit OS (armhf) the count itself does not fit in size_t: reported as overflow.
    EXPECT_TRUE(HasAll(s.message(), "overflow")) << s.message();
  }
}

TEST_F(IdxTest, RejectsTruncatedData) {
  Status s = ReadBoth("trunc", IdxBytes({10, 28, 28}, Iota(7839)));
  EXPECT_TRUE(HasAll(s.message(), Path("trunc") + ": truncated",
                     "header says 10x28x28 = 7840 data bytes, file has 7839"));
}

TEST_F(IdxTest, RejectsTrailingBytes) {
  Status s = ReadBoth("trail", IdxBytes({3}, {1, 2, 3, 4, 5}));
  EXPECT_TRUE(HasAll(s.message(), Path("trail") + ": trailing bytes", "= 3 data bytes, file has 5",
                     "2 extra"));
}

TEST_F(IdxTest, LoadImageSetWithAndWithoutLabels) {
  const std::string images = WriteBytes("img", IdxBytes({3, 2, 4}, Iota(24)));
  const std::string labels = WriteBytes("lab", IdxBytes({3}, {9, 0, 4}));
  StatusOr<ImageSet> s = LoadImageSet(images, labels);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->count, 3);
  EXPECT_EQ(s->rows, 2);
  EXPECT_EQ(s->cols, 4);
  EXPECT_EQ(s->pixels_per_image(), 8);
  EXPECT_EQ(s->pixels, Iota(24));
  EXPECT_EQ(s->labels, (std::vector<uint8_t>{9, 0, 4}));
  EXPECT_EQ(s->image(2)[0], Iota(24)[16]);

  StatusOr<ImageSet> u = LoadImageSet(images, "");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->count, 3);
  EXPECT_TRUE(u->labels.empty());
}

TEST_F(IdxTest, LoadImageSetRejectsWrongRanks) {
  const std::string flat = WriteBytes("flat", IdxBytes({3, 8}, Iota(24)));
  const std::string images = WriteBytes("img", IdxBytes({3, 2, 4}, Iota(24)));
  const std::string labels2d = WriteBytes("lab2", IdxBytes({3, 1}, {1, 2, 3}));
  StatusOr<ImageSet> s = LoadImageSet(flat, "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(HasAll(s.status().message(), flat, "expected a 3-D", "found 2-D 3x8"));
  s = LoadImageSet(images, labels2d);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasAll(s.status().message(), labels2d, "expected a 1-D", "found 2-D 3x1"));
}

TEST_F(IdxTest, LoadImageSetRejectsCountMismatch) {
  const std::string images = WriteBytes("img", IdxBytes({3, 2, 4}, Iota(24)));
  const std::string labels = WriteBytes("lab", IdxBytes({4}, {1, 2, 3, 4}));
  StatusOr<ImageSet> s = LoadImageSet(images, labels);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(HasAll(s.status().message(), labels, "has 4 labels", images, "(3)"));
}

TEST_F(IdxTest, LoadImageSetRejectsBadLabel) {
  const std::string images = WriteBytes("img", IdxBytes({3, 2, 4}, Iota(24)));
  const std::string labels = WriteBytes("lab", IdxBytes({3}, {1, 10, 3}));
  StatusOr<ImageSet> s = LoadImageSet(images, labels);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(
      HasAll(s.status().message(), labels, "label 1 (byte offset 9)", "is 10", "expected 0 to 9"));
}

TEST_F(IdxTest, LoadImageSetPassesReadErrorsThrough) {
  const std::string images = WriteBytes("img", IdxBytes({3, 2, 4}, Iota(23)));
  StatusOr<ImageSet> s = LoadImageSet(images, "");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasAll(s.status().message(), images, "truncated"));
}

TEST_F(IdxTest, Head) {
  ImageSet set;
  set.count = 3;
  set.rows = 2;
  set.cols = 2;
  set.pixels = Iota(12);
  set.labels = {4, 5, 6};

  ImageSet h = Head(set, 2);
  EXPECT_EQ(h.count, 2);
  EXPECT_EQ(h.rows, 2);
  EXPECT_EQ(h.cols, 2);
  EXPECT_EQ(h.pixels, std::vector<uint8_t>(set.pixels.begin(), set.pixels.begin() + 8));
  EXPECT_EQ(h.labels, (std::vector<uint8_t>{4, 5}));

  h = Head(set, 10);
  EXPECT_EQ(h.count, 3);
  EXPECT_EQ(h.pixels, set.pixels);
  EXPECT_EQ(h.labels, set.labels);

  h = Head(set, 0);
  EXPECT_EQ(h.count, 0);
  EXPECT_TRUE(h.pixels.empty());
  EXPECT_TRUE(h.labels.empty());

  set.labels.clear();
  h = Head(set, 1);
  EXPECT_EQ(h.count, 1);
  EXPECT_EQ(h.pixels.size(), 4u);
  EXPECT_TRUE(h.labels.empty());  // no labels stay no labels
}

TEST_F(IdxTest, LoadMnistMissingFilesSaysHowToFetch) {
  StatusOr<MnistData> m = LoadMnist(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(HasAll(m.status().message(), Path("train-images-idx3-ubyte"), "4 of the 4",
                     "tools/fetch-mnist.sh"));

  WriteBytes("train-images-idx3-ubyte", IdxBytes({2, 2, 2}, Iota(8)));
  WriteBytes("train-labels-idx1-ubyte", IdxBytes({2}, {1, 2}));
  WriteBytes("t10k-images-idx3-ubyte", IdxBytes({1, 2, 2}, Iota(4)));
  m = LoadMnist(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(HasAll(m.status().message(), Path("t10k-labels-idx1-ubyte"), "1 of the 4",
                     "tools/fetch-mnist.sh"));

  WriteBytes("t10k-labels-idx1-ubyte", IdxBytes({1}, {3}));
  m = LoadMnist(dir_.string());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->train.count, 2);
  EXPECT_EQ(m->test.count, 1);
  EXPECT_EQ(m->test.labels, (std::vector<uint8_t>{3}));
}

TEST(IdxRealMnistTest, LoadsTheRealFiles) {
#ifdef EDGEVAE_MNIST_DIR
  const std::string dir = EDGEVAE_MNIST_DIR;
#else
  const std::string dir = "data/mnist";
#endif
  // The test command fetches MNIST first; without it this fails rather than skipping.
  ASSERT_TRUE(fs::exists(fs::path(dir) / "t10k-labels-idx1-ubyte"))
      << "no MNIST in " << dir << "; run tools/fetch-mnist.sh " << dir;
  StatusOr<MnistData> m = LoadMnist(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->train.count, 60000);
  EXPECT_EQ(m->test.count, 10000);
  EXPECT_EQ(m->train.rows, 28);
  EXPECT_EQ(m->train.cols, 28);
  EXPECT_EQ(m->train.labels.size(), 60000u);
  EXPECT_EQ(m->test.labels.size(), 10000u);
  // The first training digit is a 5 and the first test digit a 7 (the well-known first images).
  EXPECT_EQ(m->train.labels[0], 5);
  EXPECT_EQ(m->test.labels[0], 7);
}

}  // namespace
}  // namespace edgevae
