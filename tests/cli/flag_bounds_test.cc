// Numeric flags of the edgevae CLI: the parser's range is the library's, so a value the library
// cannot take is a usage error (exit 2) and not bad input (exit 1) found after loading data; NaN
// passes no range; --threads has one documented maximum (kMaxThreads) on every command.
#include <cstring>  // cli_runner.h uses std::strerror
#include <string>
#include <vector>

#include "common/cli_runner.h"
#include "edgevae/runtime.h"
#include "edgevae/train.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using namespace cli_runner;  // NOLINT

TEST(FlagBoundsTest, TrainBatchRangeIsTheTrainers) {
  TempDir dir;
  const CliResult over = RunCli({"train", "--data", dir / "none", "--out", dir / "m.evae",
                                 "--batch", std::to_string(kMaxTrainBatch + 1)});
  ExpectOneLineError(over, 2);
  EXPECT_NE(over.err.find("--batch"), std::string::npos) << over.err;
  EXPECT_NE(over.err.find(std::to_string(kMaxTrainBatch)), std::string::npos) << over.err;
  // The largest batch passes the parser; what fails then is the missing data (bad input).
  const CliResult max = RunCli({"train", "--data", dir / "none", "--out", dir / "m.evae", "--batch",
                                std::to_string(kMaxTrainBatch)});
  ExpectOneLineError(max, 1);
  EXPECT_NE(max.err.find(dir / "none"), std::string::npos) << max.err;
}

TEST(FlagBoundsTest, CalibrateFprMustBeAFiniteRate) {
  for (const char* fpr : {"nan", "NaN", "inf", "-inf", "0", "1", "1e-10", "x"}) {
    const CliResult r = RunCli({"calibrate", "--model", "m.evae", "--fpr", fpr, "--out", "c.evae"});
    ExpectOneLineError(r, 2);
    EXPECT_NE(r.err.find("--fpr"), std::string::npos) << fpr << ": " << r.err;
  }
}

TEST(FlagBoundsTest, ThreadsHaveOneMaximumOnEveryCommand) {
  const std::string over = std::to_string(kMaxThreads + 1);
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"train", "--out", "m.evae"},
           {"eval", "--model", "m.evae"},
           {"sample", "--model", "m.evae", "--out", "s.png"},
           {"reconstruct", "--model", "m.evae", "--out", "r.png"},
           {"bench", "--model", "m.evae"},
           {"convert", "--in", "m.evae", "--out", "c.evae"},
           {"verify", "--model", "m.evae"},
           {"score", "--model", "m.evae", "--input", "-"},
           {"calibrate", "--model", "m.evae", "--out", "c.evae"}}) {
    for (const std::string& threads : {over, std::string("4096"), std::string("-1")}) {
      std::vector<std::string> args = cmd;
      args.insert(args.end(), {"--threads", threads});
      const CliResult r = RunCli(args);
      ExpectOneLineError(r, 2);
      EXPECT_NE(r.err.find("--threads"), std::string::npos) << cmd[0] << ": " << r.err;
    }
  }
  const CliResult help = RunCli({"eval", "--help"});
  EXPECT_NE(help.out.find("at most " + std::to_string(kMaxThreads)), std::string::npos) << help.out;
}

TEST(FlagBoundsTest, ScoreIdleTimeoutRange) {
  ExpectOneLineError(
      RunCli({"score", "--model", "m.evae", "--input", "-", "--idle-timeout-ms", "-1"}), 2);
  ExpectOneLineError(
      RunCli({"score", "--model", "m.evae", "--input", "-", "--idle-timeout-ms", "3600001"}), 2);
}

TEST(FlagBoundsTest, RuntimeRefusesMoreThanTheMaximum) {
  StatusOr<std::unique_ptr<Runtime>> over = Runtime::Create(kMaxThreads + 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find(std::to_string(kMaxThreads)), std::string::npos);
  StatusOr<std::unique_ptr<Runtime>> all = Runtime::Create(0);  // one per core, capped
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_GE((*all)->threads(), 1);
  EXPECT_LE((*all)->threads(), kMaxThreads);
}

}  // namespace
}  // namespace edgevae
