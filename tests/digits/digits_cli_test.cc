// edgevae-digits as a process: every mode with --out-idx (sizes, determinism for a seed), the PNG,
// the terminal preview, a fake framebuffer, and the one-line errors with exit codes 1 and 2.
#include <algorithm>
#include <cerrno>
#include <cstring>  // cli_runner.h uses std::strerror
#include <fstream>
#include <string>
#include <vector>

#include "common/cli_runner.h"
#include "edgevae/idx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using namespace cli_runner;  // NOLINT
using ::testing::HasSubstr;

void ExpectError(const CliResult& r, int code) {
  EXPECT_EQ(r.exit_code, code) << Describe(r);
  EXPECT_EQ(r.out, "") << Describe(r);
  EXPECT_EQ(CountLines(r.err), 1) << Describe(r);
  EXPECT_EQ(r.err.rfind("edgevae-digits: error: ", 0), 0u) << Describe(r);
}

// Runs a mode writing an IDX file and returns it (count x 28 x 28 checked by the caller).
IdxArray RunToIdx(std::vector<std::string> args, const TempDir& dir) {
  const std::string idx = dir / "out.idx";
  args.insert(args.end(), {"--out-idx", idx});
  const CliResult r = RunCli(args);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "") << "no preview when writing a file to a non-terminal\n" << Describe(r);
  StatusOr<IdxArray> a = ReadIdx(idx);
  EXPECT_TRUE(a.ok()) << a.status().message();
  return a.ok() ? *a : IdxArray{};
}

TEST(DigitsCliTest, EveryModeWritesItsDigits) {
  TempDir dir;
  using Dims = std::vector<uint32_t>;
  EXPECT_EQ(RunToIdx({"sample", "-n", "5", "--seed", "3"}, dir).dims, (Dims{5, 28, 28}));
  EXPECT_EQ(RunToIdx({"digit", "7", "-n", "3"}, dir).dims, (Dims{3, 28, 28}));
  const IdxArray rows = RunToIdx({"digit", "1", "7", "-n", "3"}, dir);
  EXPECT_EQ(rows.dims, (Dims{6, 28, 28}));
  const IdxArray sevens = RunToIdx({"digit", "7", "-n", "3"}, dir);
  EXPECT_TRUE(std::equal(sevens.values.begin(), sevens.values.end(),
                         rows.values.begin() + 3 * 784));  // the second row is digit 7's
  EXPECT_EQ(RunToIdx({"interpolate"}, dir).dims, (Dims{20, 28, 28}));
  EXPECT_EQ(RunToIdx({"interpolate", "1", "8", "--steps", "4"}, dir).dims, (Dims{8, 28, 28}));
  EXPECT_EQ(RunToIdx({"manifold", "--grid", "5"}, dir).dims, (Dims{25, 28, 28}));
  EXPECT_EQ(RunToIdx({"perturb", "--dim", "3", "--steps", "6"}, dir).dims, (Dims{12, 28, 28}));
  const std::string images = EDGEVAE_MNIST_DIR "/t10k-images-idx3-ubyte";
  EXPECT_EQ(RunToIdx({"perturb", "--dim", "0", "--image", images, "--index", "5"}, dir).dims,
            (Dims{20, 28, 28}));
}

TEST(DigitsCliTest, SameSeedSameDigits) {
  TempDir dir;
  const IdxArray a = RunToIdx({"sample", "-n", "4", "--seed", "9"}, dir);
  const IdxArray b = RunToIdx({"sample", "-n", "4", "--seed", "9"}, dir);
  const IdxArray c = RunToIdx({"sample", "-n", "4", "--seed", "10"}, dir);
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.values, c.values);
  const IdxArray d = RunToIdx({"digit", "2", "-n", "4", "--seed", "9"}, dir);
  EXPECT_NE(a.values, d.values);
}

TEST(DigitsCliTest, PngAndTerminalPreview) {
  TempDir dir;
  const std::string png = dir / "d.png";
  CliResult r = RunCli({"digit", "3", "-n", "2", "--png", png});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(png).substr(1, 3), "PNG");
  EXPECT_THAT(r.err, HasSubstr("wrote " + png));
  // With no output file the preview is printed: ASCII without TERM, 32 pixel rows -> 16 lines.
  r = RunCli({"sample", "-n", "1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out), 16) << Describe(r);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  r = RunCli({"sample", "-n", "1"}, {{"TERM", "xterm-256color"}, {"COLORTERM", "truecolor"}});
  EXPECT_THAT(r.out, HasSubstr("\x1b[38;2;"));
  EXPECT_THAT(r.out, HasSubstr("\xE2\x96\x80"));
  r = RunCli({"sample", "-n", "1", "--png", png, "--preview"});
  EXPECT_EQ(CountLines(r.out), 16) << Describe(r);
  r = RunCli({"sample", "-n", "1", "--no-preview"});
  EXPECT_EQ(r.out, "");
}

TEST(DigitsCliTest, FakeFramebuffer) {
  TempDir dir;
  const std::string fb = dir / "fb";
  {
    std::ofstream out(fb, std::ios::binary);
    out << std::string(64 * 48 * 2, '\0');
  }
  const CliResult r = RunCli({"digit", "1", "-n", "1", "--fb", fb, "--fb-format", "64x48x16"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string after = ReadFile(fb);
  ASSERT_EQ(after.size(), 64u * 48 * 2);
  EXPECT_NE(after, std::string(64 * 48 * 2, '\0')) << "a bright stroke was drawn";
  // Without --fb-format a regular file is not a framebuffer.
  ExpectError(RunCli({"digit", "1", "-n", "1", "--fb", fb}), 1);
  ExpectError(RunCli({"digit", "1", "--fb", fb, "--fb-format", "64x48"}), 2);
}

TEST(DigitsCliTest, Errors) {
  TempDir dir;
  ExpectError(RunCli({}), 2);
  ExpectError(RunCli({"dance"}), 2);
  ExpectError(RunCli({"digit", "10"}), 2);
  ExpectError(RunCli({"digit"}), 2);
  ExpectError(RunCli({"sample", "-n", "0"}), 2);
  ExpectError(RunCli({"interpolate", "--steps", "1"}), 2);
  ExpectError(RunCli({"perturb", "--dim", "20"}), 2);
  ExpectError(RunCli({"manifold", "--model", EDGEVAE_SOURCE_DIR "/models/mnist.q8.evae"}), 2);
  ExpectError(RunCli({"sample", "--model", dir / "missing.evae"}), 1);
  ExpectError(RunCli({"perturb", "--dim", "0", "--image", dir / "missing.idx"}), 1);
  ExpectError(RunCli({"sample", "-n", "1", "--png", dir / "no/such/dir.png"}), 1);
}

// Every numeric flag has a range, and a value outside it is a usage error before any work: a
// negative seed once wrapped to 2^64 - 1, --threads had no bound, and a list of classes times
// -n was only checked after every class had been drawn.
TEST(DigitsCliTest, NumericFlagsOutOfRangeAreUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"sample", "-n", "1", "--seed", "-1"},
           {"sample", "-n", "1", "--seed", "18446744073709551616"},
           {"digit", "3", "--seed", "-5"},
           {"sample", "-n", "1", "--threads", "65"},
           {"sample", "-n", "1", "--threads", "-1"},
           {"manifold", "--threads", "4096"},
           {"bench", "--runs", "0"},
           {"bench", "--runs", "1000001"},
           {"serve", "--threads", "65"},
           {"serve", "--threads", "0"},
           {"serve", "--seed", "-1"},
           {"digit", "0", "1", "2", "-n", "5000"},
           {"sample", "-n", "10001"},
           {"interpolate", "--steps", "101"},
           {"manifold", "--grid", "101"},
       }) {
    const CliResult r = RunCli(args);
    ExpectError(r, 2);
  }
  // The largest seed and thread count are accepted.
  TempDir dir;
  EXPECT_EQ(
      RunToIdx({"sample", "-n", "2", "--seed", "18446744073709551615", "--threads", "64"}, dir)
          .dims,
      (std::vector<uint32_t>{2, 28, 28}));
}

}  // namespace
}  // namespace edgevae
