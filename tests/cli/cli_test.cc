// The edgevae CLI, run as a process: exit codes, one-line errors, JSON on stdout, files written.
// The terminal renderer is compiled in directly and unit-tested below.
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "edgevae/model_writer.h"
#include "edgevae/idx.h"
#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "common/cli_runner.h"
#include "common/model_bytes.h"
#include "gtest/gtest.h"

#include "ui/progress.h"
#include "ui/term.h"

namespace edgevae {
namespace {

using nlohmann::json;
using namespace cli_runner;  // NOLINT
using ui::ColorMode;
using ui::ColorModeFor;
using ui::Grey256Index;
using ui::RenderHalfBlocks;

// --- Helpers -------------------------------------------------------------------------------------


// The JSON object that is all of stdout (fails the test if stdout is anything else).
json ParseStdoutJson(const CliResult& r) {
  EXPECT_EQ(CountLines(r.out), 1) << Describe(r);
  json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << Describe(r);
  return j;
}

void SaveTestModel(const std::string& path, const ShapeInfo& shape = MnistShape::kInfo) {
  StatusOr<Model> model = Model::Create(shape);
  ASSERT_TRUE(model.ok()) << model.status().message();
  model->InitializeLikeTorch(7);
  model->metadata().seed = 7;
  model->metadata().batch = 16;
  model->metadata().lr = 1e-3;
  Status s = SaveModel(path, *model);
  ASSERT_TRUE(s.ok()) << s.message();
}

// A tiny stand-in for MNIST: `train` and `test` images of 28 x 28 with strokes, so that a run of
// the CLI trains and evaluates in moments.
void WriteTinyMnist(const std::string& dir, int train, int test) {
  auto images = [](int count, int salt) {
    IdxArray a;
    a.dims = {static_cast<uint32_t>(count), 28, 28};
    a.values.assign(static_cast<size_t>(count) * 784, 0);
    for (int i = 0; i < count; ++i) {
      for (int r = 4; r < 24; ++r) {
        const int c = 6 + (i * 5 + salt + r) % 16;  // a slanted stroke per image
        a.values[static_cast<size_t>(i) * 784 + r * 28 + c] = 255;
        a.values[static_cast<size_t>(i) * 784 + r * 28 + c + 1] = 128;
      }
    }
    return a;
  };
  auto labels = [](int count) {
    IdxArray a;
    a.dims = {static_cast<uint32_t>(count)};
    for (int i = 0; i < count; ++i) a.values.push_back(static_cast<uint8_t>(i % 10));
    return a;
  };
  ASSERT_TRUE(WriteIdx(dir + "/train-images-idx3-ubyte", images(train, 0)).ok());
  ASSERT_TRUE(WriteIdx(dir + "/train-labels-idx1-ubyte", labels(train)).ok());
  ASSERT_TRUE(WriteIdx(dir + "/t10k-images-idx3-ubyte", images(test, 3)).ok());
  ASSERT_TRUE(WriteIdx(dir + "/t10k-labels-idx1-ubyte", labels(test)).ok());
}

// `edgevae train` on WriteTinyMnist's data in `data`: batches of 16, one thread, JSON on stdout.
CliResult TrainOnTinyMnist(const std::string& data, const std::string& out,
                           const std::string& epochs, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"train", "--data", data, "--epochs", epochs, "--batch",
                                   "16", "--threads", "1", "--out", out, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

// Width and height from a PNG's IHDR (after checking the signature).
void PngSize(const std::string& path, int* width, int* height) {
  const std::string bytes = ReadFile(path);
  ASSERT_GE(bytes.size(), 33u) << path;
  ASSERT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  ASSERT_EQ(bytes.substr(12, 4), "IHDR");
  auto u32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3]));
  };
  *width = static_cast<int>(u32(16));
  *height = static_cast<int>(u32(20));
}

// --- Usage: help, bad flags, missing flags, bad values -------------------------------------------

TEST(CliUsageTest, HelpOfEveryCommandExitsZero) {
  for (const std::string cmd : {"", "train", "eval", "sample", "reconstruct", "info", "bench"}) {
    std::vector<std::string> args;
    if (!cmd.empty()) args.push_back(cmd);
    args.push_back("--help");
    const CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << Describe(r);
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << "\n" << Describe(r);
    EXPECT_EQ(r.err, "") << cmd;
    if (!cmd.empty()) {
      EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
    }
  }
  // The top-level help lists every command.
  const CliResult top = RunCli({"--help"});
  for (const char* cmd : {"train", "eval", "sample", "reconstruct", "info", "bench"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
  }
}

TEST(CliUsageTest, VersionExitsZero) {
  const CliResult r = RunCli({"--version"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find(Version()), std::string::npos) << Describe(r);
}

TEST(CliUsageTest, UnknownFlagIsUsageError) {
  ExpectOneLineError(RunCli({"info", "--model", "x.evae", "--bogus"}), 2);
  ExpectOneLineError(RunCli({"--bogus"}), 2);
}

TEST(CliUsageTest, UnknownCommandAndNoCommandAreUsageErrors) {
  ExpectOneLineError(RunCli({}), 2);
  const CliResult r = RunCli({"frobnicate", "--model", "m.evae"});
  ExpectOneLineError(r, 2);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << Describe(r);
}

TEST(CliUsageTest, MissingRequiredFlagsAreUsageErrors) {
  ExpectOneLineError(RunCli({"info"}), 2);
  ExpectOneLineError(RunCli({"info", "--json"}), 2);
  ExpectOneLineError(RunCli({"eval"}), 2);
  ExpectOneLineError(RunCli({"sample", "--out", "x.png"}), 2);
  ExpectOneLineError(RunCli({"reconstruct", "--out", "x.png"}), 2);
  ExpectOneLineError(RunCli({"sample", "--model", "m.evae"}), 2);  // no --out
  ExpectOneLineError(RunCli({"train"}), 2);                        // no --out
  const CliResult r = RunCli({"info"});
  EXPECT_NE(r.err.find("--model"), std::string::npos) << Describe(r);
}

TEST(CliUsageTest, InvalidValuesAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"sample", "--model", "m.evae", "--out", "g.png", "-n", "0"},
      {"sample", "--model", "m.evae", "--out", "g.png", "-n", "-3"},
      {"sample", "--model", "m.evae", "--out", "g.png", "-n", "many"},
      {"sample", "--model", "m.evae", "--out", "g.png", "--preview", "--no-preview"},
      {"reconstruct", "--model", "m.evae", "--out", "g.png", "-n", "0"},
      {"train", "--out", "m.evae", "--epochs", "0"},
      {"train", "--out", "m.evae", "--batch", "0"},
      {"train", "--out", "m.evae", "--lr", "nan"},
      {"train", "--out", "m.evae", "--lr", "-1e-3"},
      {"train", "--out", "m.evae", "--lr", "0"},
      {"train", "--out", "m.evae", "--shape", "no-such-shape"},
      {"train", "--out", "m.evae", "--threads", "-1"},
      {"train", "--out", "m.evae", "--precision", "fp16"},
      {"train", "--out", "m.evae", "--seed", "x"},
      {"train", "--out", "m.evae", "--seed", "-1"},
      {"sample", "--model", "m.evae", "--out", "g.png", "--seed", "18446744073709551616"},
      {"eval", "--model", "m.evae", "--iw", "0"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    ExpectOneLineError(RunCli(args), 2);
  }
}

// --- info ----------------------------------------------------------------------------------------

TEST(CliInfoTest, NonexistentFileIsBadInputNamingThePath) {
  const std::string path = "/nonexistent/edgevae/model.evae";
  const CliResult r = RunCli({"info", "--model", path});
  ExpectOneLineError(r, 1);
  EXPECT_NE(r.err.find(path), std::string::npos) << Describe(r);
  ExpectOneLineError(RunCli({"info", "--model", path, "--json"}), 1);
}

TEST(CliInfoTest, TruncatedFileIsBadInput) {
  TempDir dir;
  const std::string path = dir / "model.evae";
  SaveTestModel(path);
  const std::string bytes = ReadFile(path);
  for (size_t keep : {size_t{0}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(keep);
    const std::string cut = dir / "cut.evae";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, keep);
    const CliResult r = RunCli({"info", "--model", cut});
    ExpectOneLineError(r, 1);
    EXPECT_NE(r.err.find(cut), std::string::npos) << Describe(r);
  }
}

TEST(CliInfoTest, ValidModelAsJson) {
  TempDir dir;
  const std::string path = dir / "model.evae";
  SaveTestModel(path);
  const CliResult r = RunCli({"info", "--model", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const json j = ParseStdoutJson(r);
  EXPECT_EQ(j.value("version", 0), 2);  // version 3 files are those with i16 weights
  EXPECT_EQ(j.value("shape", ""), "mnist");
  EXPECT_EQ(j.value("input", 0), 784);
  EXPECT_EQ(j.value("hidden", 0), 400);
  EXPECT_EQ(j.value("latent", 0), 20);
  EXPECT_EQ(j.value("checksum_ok", false), true);
  ASSERT_TRUE(j["tensors"].is_array());
  ASSERT_EQ(j["tensors"].size(), 10u);
  EXPECT_EQ(j["tensors"][0]["name"], "fc1.weight");
  EXPECT_EQ(j["tensors"][0]["dtype"], "f32");
  EXPECT_EQ(j["tensors"][0]["dims"], json::array({400, 784}));
  EXPECT_EQ(j["tensors"][1]["dims"], json::array({400}));
  ASSERT_TRUE(j["metadata"].is_object());
  EXPECT_EQ(j["metadata"].value("seed", 0), 7);
  EXPECT_EQ(j["metadata"].value("batch", 0), 16);
  ASSERT_TRUE(j["cpu"].is_object());
  EXPECT_TRUE(j["cpu"]["name"].is_string());
  EXPECT_TRUE(j["cpu"]["features"].is_string());
  EXPECT_TRUE(j["cpu"]["logical_cores"].is_number_integer());
  EXPECT_TRUE(j["cpu"]["detected"].is_boolean());
  EXPECT_TRUE(j["simd_target"].is_string());
  EXPECT_FALSE(j["simd_target"].get<std::string>().empty());
}

TEST(CliInfoTest, ValidModelAsText) {
  TempDir dir;
  const std::string path = dir / "model.evae";
  SaveTestModel(path);
  const CliResult r = RunCli({"info", "--model", path});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  for (const char* want : {"mnist", "784-400-20", "fc4.bias", "checksum    ok", "simd"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << Describe(r);
  }
}

TEST(CliInfoTest, ChecksumMismatchIsReportedAndFails) {
  TempDir dir;
  const std::string path = dir / "model.evae";
  SaveTestModel(path);
  std::string bytes = ReadFile(path);
  bytes[bytes.size() / 2] ^= 0x10;  // inside the weights
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  const CliResult r = RunCli({"info", "--model", path, "--json"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  const json j = ParseStdoutJson(r);
  EXPECT_EQ(j.value("checksum_ok", true), false);
  EXPECT_EQ(CountLines(r.err), 1) << Describe(r);
  EXPECT_NE(r.err.find("checksum"), std::string::npos) << Describe(r);

  const CliResult text = RunCli({"info", "--model", path});
  EXPECT_EQ(text.exit_code, 1) << Describe(text);
  EXPECT_NE(text.out.find("MISMATCH"), std::string::npos) << Describe(text);
  EXPECT_EQ(CountLines(text.err), 1) << Describe(text);
}

// --- info on hostile files (docs/reliability.md) -----------------------------------------------

// A saved model file's bytes after `edit`.
std::string EditedModel(const std::string& dir, const std::function<void(Model&)>& edit) {
  const std::string path = dir + "/edited.evae";
  StatusOr<Model> model = Model::Create(Mnist2dShape::kInfo);
  EXPECT_TRUE(model.ok());
  model->InitializeLikeTorch(7);
  edit(*model);
  EXPECT_TRUE(SaveModel(path, *model).ok());
  return path;
}

TEST(CliInfoTest, MetadataCannotSendTerminalEscapes) {
  TempDir dir;
  const std::string path = EditedModel(dir.path(), [](Model& m) {
    m.metadata().command = "\x1b]0;owned\x07\x1b[2J";  // set the title, clear the screen
    m.metadata().dataset = "mnist\xc2\x9b" "31m";      // a C1 CSI in UTF-8
  });
  const CliResult r = RunCli({"info", "--model", path});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << Describe(r);
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("\\x1b]0;owned\\x07\\x1b[2J"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("mnist\\xc2\\x9b31m"), std::string::npos) << Describe(r);
}

TEST(CliInfoTest, DeepOrHugeMetadataIsReportedNotParsed) {
  TempDir dir;
  const model_bytes::Bytes good = model_bytes::ReadBytes(EditedModel(dir.path(), [](Model&) {}));
  const std::string deep = dir / "deep.evae";
  ASSERT_TRUE(model_bytes::WriteBytes(
      deep, model_bytes::WithExtraMember(
                good, "\"x\": " + std::string(100000, '[') + std::string(100000, ']'))));
  for (const bool as_json : {false, true}) {
    std::vector<std::string> args = {"info", "--model", deep};
    if (as_json) args.push_back("--json");
    const CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 1) << Describe(r);  // not SIGSEGV
    EXPECT_EQ(CountLines(r.err), 1) << Describe(r);
    EXPECT_NE(r.err.find("nested deeper than 32 levels"), std::string::npos) << Describe(r);
    EXPECT_LT(r.err.size(), 400u) << Describe(r);
  }
  const CliResult text = RunCli({"info", "--model", deep});
  EXPECT_NE(text.out.find("metadata    (not read: "), std::string::npos) << Describe(text);
}

TEST(CliInfoTest, OutOfRangeNumbersInClassLatentsArePrinted) {
  // A class-latent count of 1e300 was converted to int (undefined behaviour, UBSan).
  TempDir dir;
  const std::string path = EditedModel(dir.path(), [](Model& m) {
    ClassLatentStats c;
    c.label = 3;
    c.count = 10;
    c.mean = {0.5f, -0.5f};
    c.cov = {1, 0, 0, 1};
    m.metadata().class_latents.push_back(c);
  });
  const std::string bad = dir / "bad.evae";
  ASSERT_TRUE(model_bytes::WriteBytes(
      bad, model_bytes::EditMetadata(model_bytes::ReadBytes(path), [](nlohmann::ordered_json& j) {
        j["class_latents"][0]["count"] = 1e300;
        j["class_latents"][0]["label"] = -1e300;
      })));
  const CliResult r = RunCli({"info", "--model", bad});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);  // the loader refuses the count
  EXPECT_NE(r.out.find("label -1e+300 1e+300 images"), std::string::npos) << Describe(r);
}

TEST(CliErrorTest, AnErrorIsOneLineOfBoundedLength) {
  std::string path = "/nonexistent";
  while (path.size() < 3000) path += "/abcdefghij";
  const CliResult r = RunCli({"info", "--model", path});
  ExpectOneLineError(r, 1);
  EXPECT_LE(r.err.size(), 1100u) << Describe(r);
  EXPECT_NE(r.err.find("..."), std::string::npos) << Describe(r);
}

// --- train ---------------------------------------------------------------------------------------

TEST(CliTrainTest, EmptyDataDirSaysHowToFetch) {
  TempDir dir;
  const std::string out = dir / "model.evae";
  ASSERT_EQ(::mkdir((dir / "empty").c_str(), 0755), 0);
  const CliResult r = RunCli({"train", "--data", dir / "empty", "--out", out, "--epochs", "1"});
  ExpectOneLineError(r, 1);
  EXPECT_NE(r.err.find("fetch-mnist"), std::string::npos) << Describe(r);
  EXPECT_FALSE(Exists(out));
  ExpectOneLineError(
      RunCli({"train", "--data", dir / "empty", "--out", out, "--epochs", "1", "--json"}), 1);
}

TEST(CliTrainTest, TrainsResumesAndReportsJson) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 48, 20);
  const std::string first = dir / "m1.evae", second = dir / "m2.evae";

  const CliResult r = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--batch", "16",
                              "--seed", "5", "--threads", "1", "--out", first, "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = ParseStdoutJson(r);
  EXPECT_EQ(j.value("shape", ""), "mnist");
  EXPECT_EQ(j.value("precision", ""), "fp32");
  ASSERT_TRUE(j["epochs"].is_array());
  ASSERT_EQ(j["epochs"].size(), 2u) << Describe(r);
  for (int e = 0; e < 2; ++e) {
    const json& ep = j["epochs"][e];
    EXPECT_EQ(ep.value("epoch", 0), e + 1);
    for (const char* key : {"train_loss", "test_loss", "seconds"}) {
      ASSERT_TRUE(ep[key].is_number()) << key << "\n" << Describe(r);
      EXPECT_TRUE(std::isfinite(ep[key].get<double>())) << key;
    }
    EXPECT_GT(ep["train_loss"].get<double>(), 0);
    EXPECT_GE(ep["seconds"].get<double>(), 0);
  }
  // Human output went to stderr: one line per epoch.
  EXPECT_NE(r.err.find("epoch 1  train "), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("epoch 2  train "), std::string::npos) << Describe(r);
  ASSERT_TRUE(Exists(first));

  // Resume to 3 epochs: one more epoch, numbered 3, with the checkpoint's seed and batch.
  const CliResult resumed = RunCli({"train", "--data", dir.path(), "--epochs", "3", "--resume",
                                    first, "--threads", "1", "--out", second, "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  j = ParseStdoutJson(resumed);
  ASSERT_EQ(j["epochs"].size(), 1u) << Describe(resumed);
  EXPECT_EQ(j["epochs"][0].value("epoch", 0), 3);

  const CliResult info = RunCli({"info", "--model", second, "--json"});
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  const json meta = ParseStdoutJson(info)["metadata"];
  EXPECT_EQ(meta.value("epochs", 0), 3);
  EXPECT_EQ(meta.value("seed", 0), 5);
  EXPECT_EQ(meta.value("batch", 0), 16);
  EXPECT_EQ(meta.value("dataset", ""), "mnist");
  EXPECT_TRUE(meta["test_loss"].is_number());

  // A checkpoint that already has the epochs asked for is left as is (tools/demo.sh relies on
  // this), even with --shape given explicitly as long as it matches.
  const std::string before = ReadFile(second);
  const CliResult done = RunCli({"train", "--data", dir.path(), "--shape", "mnist", "--epochs", "2",
                                 "--resume", second, "--out", second, "--json"});
  ASSERT_EQ(done.exit_code, 0) << Describe(done);
  EXPECT_TRUE(ParseStdoutJson(done)["epochs"].empty()) << Describe(done);
  EXPECT_EQ(ReadFile(second), before);

  // Without --json the per-epoch line is on stdout.
  const std::string third = dir / "m3.evae";
  const CliResult plain = RunCli({"train", "--data", dir.path(), "--epochs", "1", "--batch", "16",
                                  "--threads", "1", "--out", third});
  ASSERT_EQ(plain.exit_code, 0) << Describe(plain);
  EXPECT_EQ(plain.out.rfind("epoch 1  train ", 0), 0u) << Describe(plain);
  EXPECT_EQ(plain.err, "") << Describe(plain);  // not a terminal and quick: no progress lines
}

// --precision bf16 trains in bf16 where the CPU has AVX512_BF16 and says so in the JSON; elsewhere
// it trains in fp32, with a note, and the JSON says fp32. info lists what this CPU can do.
TEST(CliTrainTest, PrecisionBf16IsReportedOrFallsBack) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 48, 20);
  const CliResult r = RunCli({"train", "--data", dir.path(), "--epochs", "1", "--batch", "16",
                              "--threads", "1", "--precision", "bf16", "--out", dir / "m.evae",
                              "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const bool bf16 = Bf16TrainingAvailable();
  EXPECT_EQ(ParseStdoutJson(r).value("precision", ""), bf16 ? "bf16" : "fp32") << Describe(r);
  EXPECT_EQ(r.err.find("no AVX512_BF16") != std::string::npos, !bf16) << Describe(r);

  const CliResult info = RunCli({"info", "--model", dir / "m.evae", "--json"});
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  const json info_json = ParseStdoutJson(info);
  EXPECT_EQ(info_json["training_precisions"],
            bf16 ? json::array({"fp32", "bf16"}) : json::array({"fp32"}));
  // The checkpoint records what ran, and a resumed run continues with it unless told otherwise.
  EXPECT_EQ(info_json["metadata"].value("precision", ""), bf16 ? "bf16" : "fp32");
  const CliResult resumed = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--threads",
                                    "1", "--resume", dir / "m.evae", "--out", dir / "m2.evae",
                                    "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  EXPECT_EQ(ParseStdoutJson(resumed).value("precision", ""), bf16 ? "bf16" : "fp32");
  const CliResult told = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--threads", "1",
                                 "--resume", dir / "m.evae", "--precision", "fp32", "--out",
                                 dir / "m3.evae", "--json"});
  ASSERT_EQ(told.exit_code, 0) << Describe(told);
  EXPECT_EQ(ParseStdoutJson(told).value("precision", ""), "fp32");
}

// The judge (a classifier-family shape): trains with the VAE's flags and checkpoints, reports its
// accuracy, refuses the VAE's options by name, converts to f32 only, and judges a VAE's samples.
TEST(CliTrainTest, JudgeTrainsConvertsAndJudgesAVae) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 64, 20);
  const CliResult judge = TrainOnTinyMnist(dir.path(), dir / "j.evae", "2", {"--shape", "judge"});
  ASSERT_EQ(judge.exit_code, 0) << Describe(judge);
  const json j = ParseStdoutJson(judge);
  EXPECT_EQ(j.value("family", ""), "classifier");
  EXPECT_EQ(j.value("objective", ""), "cross-entropy");
  ASSERT_EQ(j["epochs"].size(), 2u);
  const double accuracy = j["epochs"][1]["test_accuracy"].get<double>();
  EXPECT_GE(accuracy, 0.0);
  EXPECT_LE(accuracy, 1.0);
  // Resuming continues the checkpoint.
  const CliResult more = RunCli({"train", "--data", dir.path(), "--epochs", "3", "--resume",
                                 dir / "j.evae", "--out", dir / "j3.evae", "--json"});
  ASSERT_EQ(more.exit_code, 0) << Describe(more);
  EXPECT_EQ(ParseStdoutJson(more)["epochs"][0].value("epoch", 0), 3);
  for (const std::vector<std::string>& vae_only :
       {std::vector<std::string>{"--objective", "iwae"}, {"--binarize", "dynamic"},
        {"--classes", "3"}}) {
    std::vector<std::string> extra = {"--shape", "judge"};
    extra.insert(extra.end(), vae_only.begin(), vae_only.end());
    const CliResult refused = TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", extra);
    EXPECT_EQ(refused.exit_code, 2) << Describe(refused);
    // --classes applies to every family that encodes (the one-class protocol), not to this one.
    const std::string applies = vae_only[0] == "--classes" ? " applies to families that encode"
                                                           : " applies to VAEs";
    EXPECT_NE(refused.err.find(vae_only[0] + applies), std::string::npos) << refused.err;
    EXPECT_FALSE(Exists(dir / "x.evae"));
  }
  const CliResult eval = RunCli({"eval", "--model", dir / "j.evae", "--data", dir.path(), "--json"});
  ASSERT_EQ(eval.exit_code, 0) << Describe(eval);
  EXPECT_NEAR(ParseStdoutJson(eval).value("accuracy", -1.0), accuracy, 1e-12);
  // f32 only, without the optimizer state.
  const CliResult q8 = RunCli({"convert", "--in", dir / "j.evae", "--dtype", "int8",
                               "--calib-data", dir.path(), "--out", dir / "j.q8.evae"});
  EXPECT_EQ(q8.exit_code, 2) << Describe(q8);
  EXPECT_NE(q8.err.find("stored as f32 only"), std::string::npos) << q8.err;
  const CliResult f32 = RunCli({"convert", "--in", dir / "j.evae", "--dtype", "f32",
                                "--calib-data", dir.path(), "--out", dir / "jd.evae"});
  ASSERT_EQ(f32.exit_code, 0) << Describe(f32);
  EXPECT_NE(f32.out.find("optimizer state dropped"), std::string::npos) << f32.out;
  const CliResult info = RunCli({"info", "--model", dir / "jd.evae", "--json"});
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  EXPECT_EQ(ParseStdoutJson(info).value("family", ""), "classifier");
  // The judge judges a VAE (any dtype), and is refused where a VAE is needed.
  const CliResult vae = TrainOnTinyMnist(dir.path(), dir / "v.evae", "1", {"--shape", "tiny"});
  ASSERT_EQ(vae.exit_code, 0) << Describe(vae);
  const CliResult judged = RunCli({"judge", "--model", dir / "v.evae", "--judge", dir / "jd.evae",
                                   "--data", dir.path(), "--samples", "50", "--json"});
  ASSERT_EQ(judged.exit_code, 0) << Describe(judged);
  const json r = ParseStdoutJson(judged);
  EXPECT_EQ(r.value("samples", 0), 50);
  int total = 0;
  for (const json& c : r["histogram"]) total += c.get<int>();
  EXPECT_EQ(total, 50);
  EXPECT_GE(r.value("frechet", -1.0), 0.0);
  EXPECT_GE(r.value("coverage_kl", -1.0), 0.0);
  EXPECT_LE(r.value("coverage_kl", 99.0), std::log(10.0) + 1e-9);
  // Real images as the baseline: the test images judged against themselves are at distance 0.
  const CliResult real = RunCli({"judge", "--images", dir / "t10k-images-idx3-ubyte", "--judge",
                                 dir / "jd.evae", "--data", dir.path(), "--samples", "20",
                                 "--json"});
  ASSERT_EQ(real.exit_code, 0) << Describe(real);
  EXPECT_LT(ParseStdoutJson(real).value("frechet", 1.0), 1e-6);
  EXPECT_EQ(RunCli({"judge", "--judge", dir / "jd.evae", "--data", dir.path()}).exit_code, 2);
  const CliResult swapped = RunCli({"judge", "--model", dir / "jd.evae", "--judge", dir / "v.evae",
                                    "--data", dir.path(), "--samples", "50"});
  EXPECT_EQ(swapped.exit_code, 1) << Describe(swapped);
  EXPECT_NE(swapped.err.find("not a classifier"), std::string::npos) << swapped.err;
  const CliResult engine = RunCli({"sample", "--model", dir / "jd.evae", "--out", dir / "s.png"});
  EXPECT_EQ(engine.exit_code, 1) << Describe(engine);
  EXPECT_NE(engine.err.find("is a classifier"), std::string::npos) << engine.err;
}

// A GAN from the CLI: both players' losses per epoch, judged each epoch, its settings in the
// checkpoint (a resumed run keeps the step schedule), converted to its generator alone, which
// samples and is judged but does not encode.
TEST(CliTrainTest, GanTrainsResumesConvertsAndSamples) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 64, 20);
  const CliResult judge = TrainOnTinyMnist(dir.path(), dir / "j.evae", "1", {"--family", "classifier"});
  ASSERT_EQ(judge.exit_code, 0) << Describe(judge);
  const CliResult gan =
      TrainOnTinyMnist(dir.path(), dir / "g.evae", "2",
                       {"--family", "gan", "--gan-reg", "0.5", "--d-steps", "2", "--g-steps", "1",
                        "--judge", dir / "j.evae", "--judge-samples", "30"});
  ASSERT_EQ(gan.exit_code, 0) << Describe(gan);
  const json g = ParseStdoutJson(gan);
  EXPECT_EQ(g.value("shape", ""), "gan");
  EXPECT_EQ(g.value("family", ""), "gan");
  EXPECT_EQ(g.value("objective", ""), "adversarial");
  EXPECT_EQ(g.value("gan_reg", 0.0), 0.5);
  EXPECT_EQ(g.value("d_steps", 0), 2);
  ASSERT_EQ(g["epochs"].size(), 2u);
  for (const json& e : g["epochs"]) {
    EXPECT_GT(e["players"].value("discriminator", -1.0), 0.0);
    EXPECT_GT(e["players"].value("generator", -1.0), 0.0);
    EXPECT_EQ(e["judge"].value("samples", 0), 30);
    EXPECT_GE(e["judge"].value("frechet", -1.0), 0.0);
  }
  EXPECT_NE(gan.err.find("discriminator "), std::string::npos) << gan.err;
  // A resumed run keeps the checkpoint's schedule, and refuses another.
  const CliResult other = RunCli({"train", "--data", dir.path(), "--epochs", "3", "--resume",
                                  dir / "g.evae", "--d-steps", "1", "--out", dir / "g3.evae"});
  EXPECT_EQ(other.exit_code, 2) << Describe(other);
  EXPECT_NE(other.err.find("trained with --d-steps 2 --g-steps 1"), std::string::npos) << other.err;
  const CliResult more = RunCli({"train", "--data", dir.path(), "--epochs", "3", "--resume",
                                 dir / "g.evae", "--out", dir / "g3.evae", "--json"});
  ASSERT_EQ(more.exit_code, 0) << Describe(more);
  EXPECT_EQ(ParseStdoutJson(more).value("d_steps", 0), 2);
  EXPECT_EQ(ParseStdoutJson(more).value("gan_reg", 0.0), 0.5);
  // The flags of one family on another.
  const CliResult vae_reg = TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", {"--gan-reg", "1"});
  EXPECT_EQ(vae_reg.exit_code, 2) << Describe(vae_reg);
  EXPECT_NE(vae_reg.err.find("--gan-reg applies to GANs"), std::string::npos) << vae_reg.err;
  const CliResult gan_iw =
      TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", {"--family", "gan", "--objective", "iwae"});
  EXPECT_EQ(gan_iw.exit_code, 2) << Describe(gan_iw);
  EXPECT_NE(gan_iw.err.find("trained on its players' losses"), std::string::npos) << gan_iw.err;
  const CliResult mismatch =
      TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", {"--family", "gan", "--shape", "mnist"});
  EXPECT_EQ(mismatch.exit_code, 2) << Describe(mismatch);
  EXPECT_FALSE(Exists(dir / "x.evae"));
  // Deployed: the generator alone, in int8, verified by its golden samples.
  const CliResult q8 = RunCli({"convert", "--in", dir / "g.evae", "--dtype", "int8",
                               "--calib-data", dir.path(), "--out", dir / "g.q8.evae"});
  ASSERT_EQ(q8.exit_code, 0) << Describe(q8);
  EXPECT_NE(q8.out.find("'gan-generator'"), std::string::npos) << q8.out;
  EXPECT_EQ(RunCli({"verify", "--model", dir / "g.q8.evae"}).exit_code, 0);
  const CliResult info = RunCli({"info", "--model", dir / "g.q8.evae", "--json"});
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  EXPECT_EQ(ParseStdoutJson(info).value("family", ""), "gan");
  const CliResult sample =
      RunCli({"sample", "--model", dir / "g.q8.evae", "-n", "4", "--out", dir / "s.png"});
  ASSERT_EQ(sample.exit_code, 0) << Describe(sample);
  const CliResult judged = RunCli({"judge", "--model", dir / "g.q8.evae", "--judge", dir / "j.evae",
                                   "--data", dir.path(), "--samples", "40", "--json"});
  ASSERT_EQ(judged.exit_code, 0) << Describe(judged);
  EXPECT_EQ(ParseStdoutJson(judged).value("samples", 0), 40);
  const CliResult recon = RunCli({"reconstruct", "--model", dir / "g.q8.evae", "--data",
                                  dir.path(), "--out", dir / "r.png"});
  EXPECT_EQ(recon.exit_code, 1) << Describe(recon);
  EXPECT_NE(recon.err.find("cannot encode or reconstruct"), std::string::npos) << recon.err;
  // The training checkpoint samples in f32 too (the engine leaves its discriminator out).
  EXPECT_EQ(RunCli({"sample", "--model", dir / "g.evae", "-n", "4", "--out", dir / "s2.png"})
                .exit_code,
            0);
}

// ALI from the CLI: its loss and regulariser in the JSON and the checkpoint, converted to its
// encoder and generator, which reconstruct like a VAE; the flags of the other families refused
// by name.
TEST(CliTrainTest, AliTrainsConvertsAndReconstructs) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 64, 20);
  const CliResult ali =
      TrainOnTinyMnist(dir.path(), dir / "a.evae", "1", {"--family", "ali", "--ali-loss", "su"});
  ASSERT_EQ(ali.exit_code, 0) << Describe(ali);
  const json j = ParseStdoutJson(ali);
  EXPECT_EQ(j.value("family", ""), "ali");
  EXPECT_EQ(j.value("ali_loss", ""), "su");
  EXPECT_GT(j["epochs"][0]["players"].value("encoder-generator", -1.0), 0.0);
  const CliResult more = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--resume",
                                 dir / "a.evae", "--out", dir / "a2.evae", "--json"});
  ASSERT_EQ(more.exit_code, 0) << Describe(more);
  EXPECT_EQ(ParseStdoutJson(more).value("ali_loss", ""), "su");
  // ALI's generator takes the GAN's regulariser; a resumed run keeps it.
  const CliResult reg =
      TrainOnTinyMnist(dir.path(), dir / "r.evae", "1", {"--family", "ali", "--gan-reg", "1.5"});
  ASSERT_EQ(reg.exit_code, 0) << Describe(reg);
  EXPECT_EQ(ParseStdoutJson(reg).value("gan_reg", 0.0), 1.5);
  const CliResult reg2 = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--resume",
                                 dir / "r.evae", "--out", dir / "r2.evae", "--json"});
  ASSERT_EQ(reg2.exit_code, 0) << Describe(reg2);
  EXPECT_EQ(ParseStdoutJson(reg2).value("gan_reg", 0.0), 1.5);
  const CliResult loss =
      TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", {"--family", "gan", "--ali-loss", "su"});
  EXPECT_EQ(loss.exit_code, 2) << Describe(loss);
  EXPECT_NE(loss.err.find("--ali-loss applies to ALI"), std::string::npos) << loss.err;
  const CliResult q8 = RunCli({"convert", "--in", dir / "a.evae", "--dtype", "int8",
                               "--calib-data", dir.path(), "--out", dir / "a.q8.evae"});
  ASSERT_EQ(q8.exit_code, 0) << Describe(q8);
  EXPECT_NE(q8.out.find("'ali-eg'"), std::string::npos) << q8.out;
  EXPECT_EQ(RunCli({"verify", "--model", dir / "a.q8.evae"}).exit_code, 0);
  const CliResult info = RunCli({"info", "--model", dir / "a.q8.evae", "--json"});
  EXPECT_EQ(ParseStdoutJson(info).value("family", ""), "ali");
  const CliResult recon = RunCli({"reconstruct", "--model", dir / "a.q8.evae", "--data",
                                  dir.path(), "-n", "4", "--out", dir / "r.png"});
  EXPECT_EQ(recon.exit_code, 0) << Describe(recon);
}

// The adversarial autoencoder: trains with its reconstruction weight, which the checkpoint keeps;
// converts to its deterministic encoder and decoder (aae-eg), which reconstruct; evaluated by its
// reconstruction, without an importance-weighted likelihood.
TEST(CliTrainTest, AaeTrainsConvertsAndReconstructs) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 64, 20);
  const CliResult aae = TrainOnTinyMnist(dir.path(), dir / "a.evae", "1",
                                         {"--family", "aae", "--aae-lambda", "2"});
  ASSERT_EQ(aae.exit_code, 0) << Describe(aae);
  const json j = ParseStdoutJson(aae);
  EXPECT_EQ(j.value("family", ""), "aae");
  EXPECT_EQ(j.value("aae_lambda", 0.0), 2.0);
  EXPECT_GT(j["epochs"][0]["players"].value("encoder-generator", -1.0), 0.0);
  const CliResult more = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--resume",
                                 dir / "a.evae", "--out", dir / "a2.evae", "--json"});
  ASSERT_EQ(more.exit_code, 0) << Describe(more);
  EXPECT_EQ(ParseStdoutJson(more).value("aae_lambda", 0.0), 2.0);
  const CliResult wrong =
      TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", {"--family", "gan", "--aae-lambda", "1"});
  EXPECT_EQ(wrong.exit_code, 2) << Describe(wrong);
  EXPECT_NE(wrong.err.find("--aae-lambda applies to AAEs"), std::string::npos) << wrong.err;
  const CliResult reg =
      TrainOnTinyMnist(dir.path(), dir / "x.evae", "1", {"--family", "aae", "--gan-reg", "1"});
  EXPECT_EQ(reg.exit_code, 2) << Describe(reg);
  EXPECT_NE(reg.err.find("--gan-reg applies to GANs and ALI"), std::string::npos) << reg.err;
  const CliResult iw = RunCli({"eval", "--model", dir / "a2.evae", "--data", dir.path(), "--iw",
                               "5"});
  EXPECT_NE(iw.exit_code, 0) << Describe(iw);
  EXPECT_NE(iw.err.find("encodes deterministically"), std::string::npos) << iw.err;
  const CliResult q8 = RunCli({"convert", "--in", dir / "a2.evae", "--dtype", "int8",
                               "--calib-data", dir.path(), "--out", dir / "a.q8.evae"});
  ASSERT_EQ(q8.exit_code, 0) << Describe(q8);
  EXPECT_NE(q8.out.find("'aae-eg'"), std::string::npos) << q8.out;
  EXPECT_EQ(RunCli({"verify", "--model", dir / "a.q8.evae"}).exit_code, 0);
  const CliResult info = RunCli({"info", "--model", dir / "a.q8.evae", "--json"});
  EXPECT_EQ(ParseStdoutJson(info).value("family", ""), "aae");
  const CliResult recon = RunCli({"reconstruct", "--model", dir / "a.q8.evae", "--data",
                                  dir.path(), "-n", "4", "--out", dir / "r.png"});
  EXPECT_EQ(recon.exit_code, 0) << Describe(recon);
  const CliResult eval = RunCli({"eval", "--model", dir / "a.q8.evae", "--data", dir.path()});
  EXPECT_EQ(eval.exit_code, 0) << Describe(eval);
}

// Binarized MNIST: training draws each epoch's pixels (dynamic) or one fixed draw (static), the
// test loss is on a binarized test set, and both are reproducible; the checkpoint records the
// mode, resume continues it, and eval uses it unless told otherwise.
TEST(CliTrainTest, BinarizedTrainingAndEvaluation) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 48, 20);
  auto train = [&](const std::string& out, const std::string& epochs,
                   const std::vector<std::string>& extra) {
    return TrainOnTinyMnist(dir.path(), out, epochs, extra);
  };
  auto losses = [](const CliResult& r) {
    std::vector<double> v;
    const json j = ParseStdoutJson(r);
    for (const json& e : j["epochs"]) {
      v.push_back(e["train_loss"].get<double>());
      v.push_back(e["test_loss"].get<double>());
    }
    return v;
  };
  const CliResult dynamic = train(dir / "d.evae", "2", {"--binarize", "dynamic"});
  ASSERT_EQ(dynamic.exit_code, 0) << Describe(dynamic);
  EXPECT_EQ(ParseStdoutJson(dynamic).value("binarize", ""), "dynamic");
  const CliResult fixed = train(dir / "s.evae", "2", {"--binarize", "static"});
  ASSERT_EQ(fixed.exit_code, 0) << Describe(fixed);
  const std::vector<double> d = losses(dynamic), s = losses(fixed);
  ASSERT_EQ(d.size(), 4u) << Describe(dynamic);
  ASSERT_EQ(s.size(), 4u) << Describe(fixed);
  EXPECT_NE(d[0], s[0]) << "dynamic epoch 1 draws pass 1, static pass 0";
  EXPECT_NE(d[1], s[1]) << "different weights, the same binarized test set";

  const CliResult info = RunCli({"info", "--model", dir / "d.evae", "--json"});
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  EXPECT_EQ(ParseStdoutJson(info)["metadata"].value("binarize", ""), "dynamic");

  // eval takes the model's mode: the last epoch's test loss again, on the same binarized draw.
  const CliResult e = RunCli({"eval", "--model", dir / "d.evae", "--data", dir.path(), "--threads",
                              "1", "--json"});
  ASSERT_EQ(e.exit_code, 0) << Describe(e);
  EXPECT_EQ(ParseStdoutJson(e).value("binarize", ""), "dynamic");
  EXPECT_NEAR(ParseStdoutJson(e)["test_loss"].get<double>(), d[3], 1e-9 * d[3]);
  const CliResult e_grey = RunCli({"eval", "--model", dir / "d.evae", "--data", dir.path(),
                                   "--binarize", "none", "--threads", "1", "--json"});
  ASSERT_EQ(e_grey.exit_code, 0) << Describe(e_grey);
  EXPECT_NE(ParseStdoutJson(e_grey)["test_loss"].get<double>(), d[3]);
  ExpectOneLineError(RunCli({"eval", "--model", dir / "d.evae", "--data", dir.path(),
                             "--binarize", "sometimes"}),
                     2);

  // A resumed run continues the binarization: the same losses as the uninterrupted run.
  const CliResult first = train(dir / "r.evae", "1", {"--binarize", "dynamic"});
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  const CliResult resumed = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--threads",
                                    "1", "--resume", dir / "r.evae", "--out", dir / "r.evae",
                                    "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  EXPECT_EQ(ParseStdoutJson(resumed).value("binarize", ""), "dynamic");
  EXPECT_EQ(losses(resumed), std::vector<double>(d.begin() + 2, d.end()));
}

// The importance-weighted objective: the same losses on 1 and 2 threads, recorded in the checkpoint
// and continued on resume with the same losses as an uninterrupted run.
TEST(CliTrainTest, IwaeObjectiveIsRecordedAndResumed) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 48, 20);
  auto train = [&](const std::string& out, const std::string& epochs,
                   const std::vector<std::string>& extra) {
    return TrainOnTinyMnist(dir.path(), out, epochs, extra);
  };
  const CliResult two = train(dir / "a.evae", "2", {"--objective", "iwae", "--k", "3"});
  ASSERT_EQ(two.exit_code, 0) << Describe(two);
  const json j = ParseStdoutJson(two);
  EXPECT_EQ(j.value("objective", ""), "iwae");
  EXPECT_EQ(j.value("k", 0), 3);
  const json meta = ParseStdoutJson(RunCli({"info", "--model", dir / "a.evae", "--json"}))["metadata"];
  EXPECT_EQ(meta.value("objective", ""), "iwae");
  EXPECT_EQ(meta.value("iw_samples", 0), 3);

  std::vector<std::string> two_threads = {"train", "--data", dir.path(), "--epochs", "2",
                                          "--batch", "16", "--threads", "2", "--out",
                                          dir / "t.evae", "--json", "--objective", "iwae",
                                          "--k", "3"};
  const CliResult threaded = RunCli(two_threads);
  ASSERT_EQ(threaded.exit_code, 0) << Describe(threaded);
  for (int e = 0; e < 2; ++e) {
    EXPECT_EQ(ParseStdoutJson(threaded)["epochs"][e]["train_loss"], j["epochs"][e]["train_loss"]);
  }
  const CliResult one = train(dir / "b.evae", "1", {"--objective", "iwae", "--k", "3"});
  ASSERT_EQ(one.exit_code, 0) << Describe(one);
  const CliResult resumed = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--threads",
                                    "1", "--resume", dir / "b.evae", "--out", dir / "b.evae",
                                    "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  EXPECT_EQ(ParseStdoutJson(resumed).value("k", 0), 3);
  EXPECT_EQ(ParseStdoutJson(resumed)["epochs"][0]["train_loss"], j["epochs"][1]["train_loss"]);
  ExpectOneLineError(train(dir / "c.evae", "1", {"--objective", "iwae", "--k", "0"}), 2);
  ExpectOneLineError(train(dir / "c.evae", "1", {"--objective", "vae"}), 2);
}

// --lr-decay: epoch e steps with lr * decay^(e-1). The first epoch is the constant-lr run's, the
// second is not; the checkpoint records the decay and a resumed run continues it.
TEST(CliTrainTest, LearningRateDecayIsAppliedRecordedAndResumed) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 48, 20);
  auto train = [&](const std::string& out, const std::string& epochs,
                   const std::vector<std::string>& extra) {
    return TrainOnTinyMnist(dir.path(), out, epochs, extra);
  };
  const CliResult constant = train(dir / "c.evae", "2", {});
  const CliResult decayed = train(dir / "d.evae", "2", {"--lr-decay", "0.5"});
  ASSERT_EQ(constant.exit_code, 0) << Describe(constant);
  ASSERT_EQ(decayed.exit_code, 0) << Describe(decayed);
  const json c = ParseStdoutJson(constant), d = ParseStdoutJson(decayed);
  EXPECT_EQ(c["epochs"][0]["train_loss"], d["epochs"][0]["train_loss"]);
  EXPECT_NE(c["epochs"][1]["train_loss"], d["epochs"][1]["train_loss"]);
  const json meta = ParseStdoutJson(RunCli({"info", "--model", dir / "d.evae", "--json"}))["metadata"];
  EXPECT_EQ(meta.value("lr_decay", 0.0), 0.5);
  EXPECT_FALSE(ParseStdoutJson(RunCli({"info", "--model", dir / "c.evae", "--json"}))["metadata"]
                   .contains("lr_decay"));
  ASSERT_EQ(train(dir / "r.evae", "1", {"--lr-decay", "0.5"}).exit_code, 0);
  const CliResult resumed = RunCli({"train", "--data", dir.path(), "--epochs", "2", "--threads",
                                    "1", "--resume", dir / "r.evae", "--out", dir / "r.evae",
                                    "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  EXPECT_EQ(ParseStdoutJson(resumed)["epochs"][0]["train_loss"], d["epochs"][1]["train_loss"]);
  ExpectOneLineError(train(dir / "x.evae", "1", {"--lr-decay", "1.5"}), 2);
}

TEST(CliTrainTest, ResumeConflictsAreUsageErrors) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 16, 8);
  const std::string model = dir / "m.evae";
  SaveTestModel(model);  // mnist, 0 epochs
  // --shape that differs from the checkpoint's.
  ExpectOneLineError(RunCli({"train", "--data", dir.path(), "--resume", model, "--shape", "mnist2d",
                             "--out", dir / "x.evae"}),
                     2);
  EXPECT_FALSE(Exists(dir / "x.evae"));
  // An --out that cannot be written is found before training starts.
  const CliResult no_dir =
      RunCli({"train", "--data", dir.path(), "--out", dir / "no/such/dir/m.evae"});
  ExpectOneLineError(no_dir, 1);
  EXPECT_NE(no_dir.err.find("no/such/dir"), std::string::npos) << Describe(no_dir);
  // A missing checkpoint is bad input.
  ExpectOneLineError(
      RunCli({"train", "--data", dir.path(), "--resume", dir / "nope.evae", "--out", dir / "x"}),
      1);
}

// --- eval, sample, reconstruct -------------------------------------------------------------------

TEST(CliEvalTest, JsonFields) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 8, 12);
  const std::string model = dir / "m.evae";
  SaveTestModel(model);
  CliResult r =
      RunCli({"eval", "--model", model, "--data", dir.path(), "--threads", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = ParseStdoutJson(r);
  EXPECT_TRUE(j["test_loss"].is_number()) << Describe(r);
  EXPECT_FALSE(j.contains("iw_nll"));
  EXPECT_EQ(j.value("images", 0), 12);
  EXPECT_TRUE(j["seconds"].is_number());

  r = RunCli(
      {"eval", "--model", model, "--data", dir.path(), "--iw", "3", "--seed", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  j = ParseStdoutJson(r);
  ASSERT_TRUE(j["iw_nll"].is_number()) << Describe(r);
  EXPECT_GT(j["iw_nll"].get<double>(), 0);

  r = RunCli({"eval", "--model", model, "--data", dir.path(), "--iw", "3"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("test loss"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("iw nll"), std::string::npos) << Describe(r);
}

TEST(CliSampleTest, WritesDeterministicGrid) {
  TempDir dir;
  const std::string model = dir / "m.evae";
  SaveTestModel(model);
  const std::string a = dir / "a.png", b = dir / "b.png", c = dir / "c.png";
  const CliResult r = RunCli({"sample", "--model", model, "-n", "5", "--seed", "3", "--out", a});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out), 1) << Describe(r);  // not a terminal: no preview
  EXPECT_EQ(r.err, "");
  int width = 0, height = 0;
  PngSize(a, &width, &height);
  EXPECT_EQ(width, 2 + 3 * 30);   // ceil(sqrt(5)) = 3 per row, 28 px + 2 pad each
  EXPECT_EQ(height, 2 + 2 * 30);  // 2 rows

  ASSERT_EQ(RunCli({"sample", "--model", model, "-n", "5", "--seed", "3", "--out", b}).exit_code,
            0);
  ASSERT_EQ(RunCli({"sample", "--model", model, "-n", "5", "--seed", "4", "--out", c}).exit_code,
            0);
  EXPECT_EQ(ReadFile(a), ReadFile(b));
  EXPECT_NE(ReadFile(a), ReadFile(c));
}

TEST(CliSampleTest, MissingOutputDirectoryIsBadInput) {
  TempDir dir;
  const std::string model = dir / "m.evae";
  SaveTestModel(model);
  ExpectOneLineError(
      RunCli({"sample", "--model", model, "-n", "2", "--out", dir / "no/such/dir/g.png"}), 1);
}

TEST(CliSampleTest, PreviewModes) {
  TempDir dir;
  const std::string model = dir / "m.evae";
  SaveTestModel(model);
  const std::string png = dir / "g.png";
  const std::vector<std::string> args = {"sample", "--model", model, "-n",
                                         "4",      "--out",   png,   "--preview"};

  // TERM=dumb: ASCII only; one text line per two pixel rows of the 62-row grid, then "wrote".
  CliResult r = RunCli(args, {{"TERM", "dumb"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out), 31 + 1) << Describe(r);
  for (char ch : r.out) EXPECT_TRUE(ch == '\n' || (ch >= 0x20 && ch < 0x7f)) << int{ch};

  r = RunCli(args, {{"TERM", "xterm-256color"}, {"COLORTERM", "truecolor"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("\x1b[38;2;"), std::string::npos);
  EXPECT_NE(r.out.find("\xE2\x96\x80"), std::string::npos);

  r = RunCli(args, {{"TERM", "xterm-256color"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("\x1b[38;5;"), std::string::npos);
  EXPECT_EQ(r.out.find("\x1b[38;2;"), std::string::npos);

  // A narrow terminal: the preview is shrunk to fit.
  r = RunCli({"sample", "--model", model, "-n", "16", "--out", png, "--preview"},
             {{"TERM", "dumb"}, {"COLUMNS", "80"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("wrote", 0) != 0) {
      EXPECT_LE(line.size(), 80u);
    }
  }

  r = RunCli({"sample", "--model", model, "-n", "4", "--out", png, "--no-preview"},
             {{"TERM", "dumb"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out), 1) << Describe(r);
}

TEST(CliReconstructTest, PairsInputsAndReconstructions) {
  TempDir dir;
  WriteTinyMnist(dir.path(), 8, 5);
  const std::string model = dir / "m.evae";
  SaveTestModel(model);
  const std::string png = dir / "r.png";
  CliResult r =
      RunCli({"reconstruct", "--model", model, "--data", dir.path(), "-n", "3", "--out", png});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  int width = 0, height = 0;
  PngSize(png, &width, &height);
  EXPECT_EQ(width, 2 + 4 * 30);  // 2 pairs per row
  EXPECT_EQ(height, 2 + 2 * 30);

  // More than the test set holds: all 5 are shown.
  r = RunCli({"reconstruct", "--model", model, "--data", dir.path(), "-n", "100", "--out", png});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  PngSize(png, &width, &height);
  EXPECT_EQ(width, 2 + 6 * 30);  // ceil(sqrt(5)) = 3 pairs per row
  EXPECT_EQ(height, 2 + 2 * 30);

  ExpectOneLineError(
      RunCli({"reconstruct", "--model", model, "--data", dir / "nothing", "--out", png}), 1);
}

// --- The terminal renderer (tools/ui/term.h) -----------------------------------------------------

TEST(CliBenchTest, JsonFieldsForEveryOp) {
  TempDir dir;
  const std::string path = dir / "model.evae";
  SaveTestModel(path);
  for (const char* op : {"encode", "decode", "reconstruct", "sample"}) {
    SCOPED_TRACE(op);
    const CliResult r = RunCli({"bench", "--model", path, "--op", op, "--batch", "3", "--threads",
                                "1", "--warmup", "1", "--runs", "5", "--json"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    const json j = ParseStdoutJson(r);
    EXPECT_EQ(j.value("op", ""), op);
    EXPECT_EQ(j.value("batch", 0), 3);
    EXPECT_EQ(j.value("threads", 0), 1);
    EXPECT_EQ(j.value("dtype", ""), "f32");
    const double min_us = j.value("min_us", -1.0), median_us = j.value("median_us", -1.0),
                 max_us = j.value("max_us", -1.0);
    EXPECT_GT(min_us, 0);
    EXPECT_LE(min_us, median_us);
    EXPECT_LE(median_us, max_us);
    EXPECT_NEAR(j.value("images_per_s", 0.0), 3 * 1e6 / median_us, 1e-6 * 3e6 / median_us);
    EXPECT_GT(j.value("peak_rss_kb", 0), 0);
    EXPECT_TRUE(j["cpu"].is_string());
    EXPECT_TRUE(j["simd_target"].is_string());
  }
}

TEST(CliBenchTest, BadArgumentsAndFiles) {
  TempDir dir;
  const std::string path = dir / "model.evae";
  SaveTestModel(path);
  ExpectOneLineError(RunCli({"bench", "--model", path, "--op", "train"}), 2);
  ExpectOneLineError(RunCli({"bench", "--model", path, "--batch", "0"}), 2);
  ExpectOneLineError(RunCli({"bench", "--model", path, "--runs", "0"}), 2);
  ExpectOneLineError(RunCli({"bench", "--model", dir / "missing.evae"}), 1);
}

TEST(TermTest, ColorModeFromEnvironmentValues) {
  EXPECT_EQ(ColorModeFor(nullptr, nullptr, nullptr), ColorMode::kAscii);
  EXPECT_EQ(ColorModeFor("", "truecolor", nullptr), ColorMode::kAscii);
  EXPECT_EQ(ColorModeFor("dumb", "truecolor", nullptr), ColorMode::kAscii);
  EXPECT_EQ(ColorModeFor("xterm-256color", nullptr, nullptr), ColorMode::k256);
  EXPECT_EQ(ColorModeFor("xterm", "", nullptr), ColorMode::k256);
  EXPECT_EQ(ColorModeFor("xterm", "truecolor", nullptr), ColorMode::kTrueColor);
  EXPECT_EQ(ColorModeFor("xterm", "24bit", nullptr), ColorMode::kTrueColor);
  EXPECT_EQ(ColorModeFor("xterm", "truecolor", "1"), ColorMode::kAscii);
  EXPECT_EQ(ColorModeFor("xterm", "truecolor", ""), ColorMode::kTrueColor);
}

TEST(TermTest, Grey256Index) {
  EXPECT_EQ(Grey256Index(0), 232);
  EXPECT_EQ(Grey256Index(8), 232);
  EXPECT_EQ(Grey256Index(18), 233);
  EXPECT_EQ(Grey256Index(128), 244);  // grey 128 = 8 + 10 * 12
  EXPECT_EQ(Grey256Index(238), 255);
  EXPECT_EQ(Grey256Index(255), 255);
  for (int v = 0; v < 256; ++v) {
    const int i = Grey256Index(static_cast<uint8_t>(v));
    ASSERT_GE(i, 232);
    ASSERT_LE(i, 255);
    // Nearest: no other palette grey is closer.
    const int level = 8 + 10 * (i - 232);
    for (int j = 0; j < 24; ++j) EXPECT_LE(std::abs(level - v), std::abs(8 + 10 * j - v));
  }
}

TEST(TermTest, TrueColorHalfBlocks) {
  // 2 wide, 3 high: line 1 pairs rows 0 and 1, line 2 pairs row 2 with black.
  const uint8_t pixels[] = {10, 20, 30, 40, 50, 60};
  const std::string s = RenderHalfBlocks(pixels, 2, 3, ColorMode::kTrueColor);
  const std::string expected =
      "\x1b[38;2;10;10;10m\x1b[48;2;30;30;30m\xE2\x96\x80"
      "\x1b[38;2;20;20;20m\x1b[48;2;40;40;40m\xE2\x96\x80\x1b[0m\n"
      "\x1b[38;2;50;50;50m\x1b[48;2;0;0;0m\xE2\x96\x80"
      "\x1b[38;2;60;60;60m\xE2\x96\x80\x1b[0m\n";
  EXPECT_EQ(s, expected);
}

TEST(TermTest, EscapesOnlyWhereTheColourChanges) {
  const std::vector<uint8_t> pixels(7 * 2, 200);
  const std::string s = RenderHalfBlocks(pixels.data(), 7, 2, ColorMode::kTrueColor);
  std::string expected = "\x1b[38;2;200;200;200m\x1b[48;2;200;200;200m";
  for (int i = 0; i < 7; ++i) expected += "\xE2\x96\x80";
  expected += "\x1b[0m\n";
  EXPECT_EQ(s, expected);
}

TEST(TermTest, Palette256HalfBlocks) {
  const uint8_t pixels[] = {0, 255, 128, 128};
  const std::string s = RenderHalfBlocks(pixels, 2, 2, ColorMode::k256);
  EXPECT_EQ(s,
            "\x1b[38;5;232m\x1b[48;5;244m\xE2\x96\x80"
            "\x1b[38;5;255m\xE2\x96\x80\x1b[0m\n");
}

TEST(TermTest, AsciiShades) {
  // Each character shows the mean of an upper and a lower pixel; an odd last row stands alone.
  const uint8_t pixels[] = {0,   255, 255, 128,  //
                            0,   255, 0,   128,  //
                            255, 0,   64,  30};
  const std::string s = RenderHalfBlocks(pixels, 4, 3, ColorMode::kAscii);
  EXPECT_EQ(s, " @=+\n@ :.\n");
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
}

TEST(TermTest, ShrinksToFitColumnsKeepingAspect) {
  const int width = 61, height = 20;
  std::vector<uint8_t> pixels(width * height, 255);
  const std::string s = RenderHalfBlocks(pixels.data(), width, height, ColorMode::kAscii, 30);
  // Factor 3: ceil(61 / 3) = 21 columns, ceil(20 / 3) = 7 rows -> 4 lines.
  std::istringstream lines(s);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) EXPECT_EQ(line, std::string(21, '@'));
  EXPECT_EQ(count, 4);
  // Narrow enough already: untouched.
  EXPECT_EQ(RenderHalfBlocks(pixels.data(), width, height, ColorMode::kAscii, 61),
            RenderHalfBlocks(pixels.data(), width, height, ColorMode::kAscii, 0));
}

TEST(TermTest, EmptyImageRendersNothing) {
  const uint8_t pixel = 1;
  EXPECT_EQ(RenderHalfBlocks(&pixel, 0, 1, ColorMode::kTrueColor), "");
  EXPECT_EQ(RenderHalfBlocks(&pixel, 1, 0, ColorMode::kAscii), "");
  EXPECT_EQ(RenderHalfBlocks(nullptr, 1, 1, ColorMode::k256), "");
}

TEST(TermTest, FormatDuration) {
  EXPECT_EQ(ui::FormatDuration(0), "0:00");
  EXPECT_EQ(ui::FormatDuration(7.4), "0:07");
  EXPECT_EQ(ui::FormatDuration(754), "12:34");
  EXPECT_EQ(ui::FormatDuration(3723), "1:02:03");
  EXPECT_EQ(ui::FormatDuration(-1), "--:--");
  EXPECT_EQ(ui::FormatDuration(std::nan("")), "--:--");
  EXPECT_EQ(ui::FormatDuration(std::numeric_limits<double>::infinity()), "--:--");
}

ui::ProgressState SomeProgress() {
  ui::ProgressState p;
  p.epoch = 3;
  p.epochs = 10;
  p.done = 234;
  p.total = 468;
  p.loss = 112.414;
  p.items_per_s = 10523.4;
  p.seconds = 12;
  return p;
}

TEST(TermTest, FormatProgress) {
  ui::ProgressState p = SomeProgress();
  EXPECT_EQ(ui::FormatProgress(p, 0),
            "epoch 3/10 [##########..........] 234/468  loss 112.41  10523 img/s  ETA 0:12");
  // Fits a narrow terminal (one column spare so that the cursor does not wrap).
  for (int columns : {20, 40, 60, 79, 200}) {
    EXPECT_LE(ui::FormatProgress(p, columns).size(), static_cast<size_t>(columns - 1));
  }
  EXPECT_EQ(ui::FormatProgress(p, 200).find("[##"), 11u);
  p.phase = "test";
  p.loss = std::nan("");
  p.items_per_s = 0;
  p.done = p.total;
  EXPECT_EQ(ui::FormatProgress(p, 0), "epoch 3/10 test [####################] 468/468");
  p.epoch = 0;
  p.phase = "eval";
  p.done = 0;
  EXPECT_EQ(ui::FormatProgress(p, 0), "eval [....................] 0/468");
}

std::string ReadBack(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
  std::rewind(f);
  return s;
}

TEST(TermTest, LiveProgressIsThrottledAndCleared) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ui::ProgressReporter reporter(f, /*live=*/true, 0, /*live_interval_s=*/0.1);
    ui::ProgressState p = SomeProgress();
    EXPECT_TRUE(reporter.Update(p, 100.0));
    EXPECT_FALSE(reporter.Update(p, 100.05));
    EXPECT_TRUE(reporter.Update(p, 100.2));
    p.done = p.total;  // the last unit is always shown
    EXPECT_TRUE(reporter.Update(p, 100.21));
    reporter.Clear();
  }
  const std::string s = ReadBack(f);
  std::fclose(f);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.rfind("\r\x1b[K"), s.size() - 4);  // ends erased
  int redraws = 0;
  for (size_t at = 0; (at = s.find("\repoch", at)) != std::string::npos; ++at) ++redraws;
  EXPECT_EQ(redraws, 3);
}

TEST(TermTest, PlainProgressPrintsOccasionalLines) {
  ui::ProgressState p = SomeProgress();
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ui::ProgressReporter reporter(f, /*live=*/false, 0, 0.1, /*plain_interval_s=*/10.0);
    p.seconds = 1;
    EXPECT_FALSE(reporter.Update(p, 50.0));  // the phase started at 49
    EXPECT_FALSE(reporter.Update(p, 58.0));
    EXPECT_TRUE(reporter.Update(p, 59.5));
    EXPECT_FALSE(reporter.Update(p, 60.0));
    p.done = p.total;
    EXPECT_FALSE(reporter.Update(p, 61.0));
    reporter.Clear();  // nothing to erase
  }
  const std::string s = ReadBack(f);
  std::fclose(f);
  p.done = SomeProgress().done;
  EXPECT_EQ(s, ui::FormatProgress(p, 0) + "\n");
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace edgevae
