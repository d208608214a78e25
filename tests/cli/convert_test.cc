// edgevae convert, run as a process: its modes and usage errors, a PyTorch state_dict written
// here as safetensors (by hand, independently of the library's writer) imported and loaded, and a
// corrupt one refused with one line.
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/int8_model.h"
#include "edgevae/model_writer.h"
#include "edgevae/idx.h"
#include "edgevae/buffer.h"
#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "common/cli_runner.h"
#include "common/mnist_subset.h"
#include "gtest/gtest.h"

namespace edgevae {
namespace {

using namespace cli_runner;  // NOLINT

// The MNIST directory the convert tests calibrate and evaluate on. Under qemu-user (emulated
// cross builds) inference runs at a few hundred images/s, and convert encodes every training
// image for the class statistics and, for int8, runs each calibration over up to 2,000 training
// images and scores it on up to 10,000 more: there the tests take the first 1,000 training and
// 500 test images (calibration on 1,000, the choice on the last 500; at least 87 images per
// class for the three Gaussians each). What they check (the modes, the files, verify, eval,
// bench, sample) does not depend on the image count.
std::string MnistDir() {
#ifdef EDGEVAE_TEST_EMULATED
  static const std::string dir = testutil::MnistSubsetDir(1000, 500);
  return dir;
#else
  return EDGEVAE_MNIST_DIR;
#endif
}


// --- safetensors by hand
// ---------------------------------------------------------------------------

// A model of `shape` with distinct weights.
Model MakeModel(const ShapeInfo& shape, uint64_t seed) {
  StatusOr<Model> model = Model::Create(shape);
  EXPECT_TRUE(model.ok()) << model.status().message();
  model->InitializeLikeTorch(seed);
  return std::move(model).value();
}

// `model`'s state_dict in the layout PyTorch's safetensors library writes: names sorted, data in
// that order, compact JSON padded with spaces to a multiple of 8.
std::string SafetensorsBytes(const Model& model) {
  std::vector<const TensorView*> order;
  for (const TensorView& tv : model.tensors()) order.push_back(&tv);
  std::sort(order.begin(), order.end(),
            [](const TensorView* a, const TensorView* b) { return a->name < b->name; });
  nlohmann::ordered_json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string buffer;
  for (const TensorView* tv : order) {
    const size_t begin = buffer.size();
    for (size_t i = 0; i < tv->size(); ++i) {
      const uint32_t u = std::bit_cast<uint32_t>(model.params()[tv->offset + i]);
      for (int b = 0; b < 4; ++b) buffer.push_back(static_cast<char>(u >> (8 * b)));
    }
    std::vector<int> shape = {tv->rows};
    if (tv->cols != 0) shape.push_back(tv->cols);
    header[tv->name] = {
        {"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, buffer.size()}}};
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(uint64_t{text.size()} >> (8 * i)));
  return out + text + buffer;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

void ExpectSameWeights(const Model& a, const Model& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (const TensorView& tv : a.tensors()) {
    EXPECT_EQ(std::memcmp(a.params() + tv.offset, b.params() + tv.offset, tv.size() * 4), 0)
        << tv.name;
  }
}

// --- Usage ---------------------------------------------------------------------------------------

TEST(ConvertUsageTest, HelpExitsZero) {
  const CliResult r = RunCli({"convert", "--help"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  for (const char* piece :
       {"Usage", "convert", "--from-safetensors", "--in", "--out", "--to-safetensors", "--dtype"}) {
    EXPECT_NE(r.out.find(piece), std::string::npos) << piece << "\n" << Describe(r);
  }
  const CliResult top = RunCli({"--help"});
  EXPECT_NE(top.out.find("convert"), std::string::npos) << Describe(top);
}

TEST(ConvertUsageTest, NeitherOrBothModesAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"convert"},
      {"convert", "--out", "m.evae"},
      {"convert", "--dtype", "f32", "--out", "m.evae"},
      {"convert", "--from-safetensors", "a.safetensors", "--in", "b.evae", "--out", "m.evae"},
      {"convert", "--from-safetensors", "a.safetensors"},  // no output
      {"convert", "--from-safetensors", "a.safetensors", "--to-safetensors", "b.safetensors"},
      {"convert", "--in", "b.evae"},  // no output
      {"convert", "--in", "b.evae", "--out", "m.evae", "--to-safetensors", "c.safetensors"},
      {"convert", "--in", "b.evae", "--out", "m.evae", "--dtype", "bf16"},  // no such dtype
      {"convert", "--in", "b.evae", "--out", "m.evae", "--dtype", "int8", "--calibration",
       "kl"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    ExpectOneLineError(RunCli(args), 2);
  }
}

// --- Import
// ----------------------------------------------------------------------------------------

TEST(ConvertImportTest, SyntheticStateDictImportsAndLoads) {
  TempDir dir;
  for (const ShapeInfo& shape : CompiledShapes()) {
    // safetensors carries PyTorch VAE state_dicts: whole VAEs, not a decoder cut for a device.
    if (!shape.is_vae() || !shape.has_encoder()) continue;
    SCOPED_TRACE(std::string(shape.name));
    const Model model = MakeModel(shape, 11);
    const std::string in = dir / "state_dict.safetensors", out = dir / "model.evae";
    WriteBytes(in, SafetensorsBytes(model));
    const CliResult r = RunCli({"convert", "--from-safetensors", in, "--out", out});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.err, "") << Describe(r);
    EXPECT_EQ(CountLines(r.out), 1) << Describe(r);
    EXPECT_NE(r.out.find(out), std::string::npos) << Describe(r);

    const CliResult info = RunCli({"info", "--model", out});
    EXPECT_EQ(info.exit_code, 0) << Describe(info);
    EXPECT_NE(info.out.find("loads       yes"), std::string::npos) << Describe(info);
    StatusOr<Model> loaded = LoadModel(out);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    ExpectSameWeights(*loaded, model);
    EXPECT_EQ(loaded->metadata().dataset, "mnist");
    EXPECT_EQ(loaded->metadata().epochs, 0);
  }
}

TEST(ConvertImportTest, CorruptFileIsBadInputWithOneLine) {
  TempDir dir;
  const std::string good = SafetensorsBytes(MakeModel(Mnist2dShape::kInfo, 5));
  std::string bad_dtype = good;
  const size_t at = bad_dtype.find("\"F32\"");
  ASSERT_NE(at, std::string::npos);
  bad_dtype.replace(at, 5, "\"F16\"");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good.substr(0, good.size() / 2), "extend beyond the byte buffer"},  // truncated
      {good.substr(0, 4), "truncated"},
      {std::string("not a safetensors file at all"), "header length"},
      {bad_dtype, "dtype 'F16', expected F32"},
  };
  for (const auto& [bytes, expected] : cases) {
    SCOPED_TRACE(expected);
    const std::string in = dir / "bad.safetensors", out = dir / "model.evae";
    WriteBytes(in, bytes);
    const CliResult r = RunCli({"convert", "--from-safetensors", in, "--out", out});
    ExpectOneLineError(r, 1);
    EXPECT_NE(r.err.find(in + ": "), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find(expected), std::string::npos) << Describe(r);
    EXPECT_FALSE(Exists(out));
  }
  ExpectOneLineError(RunCli({"convert", "--from-safetensors", dir / "missing.safetensors", "--out",
                             dir / "model.evae"}),
                     1);
}

// --- From an .evae
// ---------------------------------------------------------------------------------

TEST(ConvertEvaeTest, CheckpointBecomesDeployableModel) {
  TempDir dir;
  Model model = MakeModel(MnistShape::kInfo, 9);
  model.metadata().epochs = 3;
  model.EnsureOptimizer();
  model.optimizer().m[0] = 0.5f;
  model.optimizer().step = 1407;
  const std::string ckpt = dir / "ckpt.evae", out = dir / "model.evae";
  ASSERT_TRUE(SaveModel(ckpt, model).ok());
  const CliResult r = RunCli({"convert", "--in", ckpt, "--dtype", "f32", "--out", out,
                              "--calib-data", MnistDir()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("optimizer state dropped"), std::string::npos) << Describe(r);
  // f32 golden vectors reproduce exactly here.
  const CliResult v = RunCli({"verify", "--model", out, "--json"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  EXPECT_NE(v.out.find("\"pass\":true"), std::string::npos) << Describe(v);
  StatusOr<Model> loaded = LoadModel(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_FALSE(loaded->has_optimizer());
  EXPECT_EQ(loaded->metadata().epochs, 3);
  ExpectSameWeights(*loaded, model);
  EXPECT_LT(ReadFile(out).size() * 2, ReadFile(ckpt).size());

  ExpectOneLineError(RunCli({"convert", "--in", dir / "missing.evae", "--out", out}), 1);
  // A file without golden vectors cannot be verified.
  ExpectOneLineError(RunCli({"verify", "--model", ckpt}), 1);
}

// A converted model loads from memory as a compiled-in one would (cmake/EmbedModel.cmake makes
// the array; tests/digits checks that the program's arrays are the shipped files): in place when
// aligned, copied otherwise, and a damaged copy is refused with a message naming it. The CLI's
// former --emit-c (a second embedder) is gone.
TEST(ConvertEvaeTest, ConvertedModelLoadsFromMemory) {
  TempDir dir;
  Model model = MakeModel(Mnist2dShape::kInfo, 4);
  const std::string src = dir / "src.evae", out = dir / "m.evae";
  ASSERT_TRUE(SaveModel(src, model).ok());
  const CliResult r = RunCli({"convert", "--in", src, "--out", out, "--calib-data", MnistDir()});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string file = ReadFile(out);
  AlignedBuffer<uint8_t> bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  for (const bool embedded : {true, false}) {
    StatusOr<AnyModel> loaded =
        embedded ? LoadEmbeddedModel(bytes.span(), "embedded")
                 : LoadAnyModelFromBytes(bytes.data() + 0, bytes.size(), "embedded");
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    ASSERT_TRUE(loaded->f32.has_value());
    ExpectSameWeights(*loaded->f32, model);
    EXPECT_TRUE(loaded->golden.has_value());
  }
  bytes[bytes.size() / 2] ^= 1;
  StatusOr<AnyModel> bad = LoadEmbeddedModel(bytes.span(), "embedded");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("embedded"), std::string::npos);
  ExpectOneLineError(RunCli({"convert", "--in", src, "--out", out, "--emit-c", dir / "m.h"}), 2);
}

// f16 through the CLI: convert, verify (where this CPU has fp16 arithmetic), eval.
TEST(ConvertEvaeTest, F16ModelConvertsVerifiesAndEvaluates) {
  TempDir dir;
  const Model model = MakeModel(MnistShape::kInfo, 6);
  const std::string src = dir / "f32.evae", f16 = dir / "model.f16.evae";
  ASSERT_TRUE(SaveModel(src, model).ok());
  const CliResult c = RunCli({"convert", "--in", src, "--dtype", "f16", "--out", f16,
                              "--calib-data", MnistDir()});
  ASSERT_EQ(c.exit_code, 0) << Describe(c);
  // Half of the f32 file, plus the per-class latent statistics (30 Gaussians, under 200 KB).
  EXPECT_LT(ReadFile(f16).size(), 1600u * 1024);
  const CliResult v = RunCli({"verify", "--model", f16});
  if (v.exit_code != 0) {  // only a CPU without fp16 arithmetic may refuse
    EXPECT_NE(v.err.find("fp16"), std::string::npos) << Describe(v);
    return;
  }
  EXPECT_NE(v.out.find("pass"), std::string::npos) << Describe(v);
  const CliResult e = RunCli({"eval", "--model", f16, "--data", MnistDir(), "--threads",
                              "1", "--json"});
  EXPECT_EQ(e.exit_code, 0) << Describe(e);
}

// The int8 path through the CLI on real MNIST: convert (every calibration compared), verify,
// eval, bench, sample; and what int8 cannot do.
TEST(ConvertEvaeTest, Int8ModelConvertsVerifiesAndServes) {
  TempDir dir;
  Model model = MakeModel(MnistShape::kInfo, 5);
  const std::string src = dir / "f32.evae", q8 = dir / "model.q8.evae";
  ASSERT_TRUE(SaveModel(src, model).ok());
  const CliResult c = RunCli({"convert", "--in", src, "--dtype", "int8", "--out", q8,
                              "--calib-data", MnistDir(), "--threads", "1"});
  ASSERT_EQ(c.exit_code, 0) << Describe(c);
  for (const char* method : {"minmax", "percentile", "mse"}) {
    EXPECT_NE(c.out.find(std::string("calibration ") + method), std::string::npos) << Describe(c);
  }
  // int8: a quarter of the f32 file, plus the per-class latent statistics (under 200 KB).
  EXPECT_LT(ReadFile(q8).size(), 1000u * 1024);

  const CliResult v = RunCli({"verify", "--model", q8, "--json"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  EXPECT_NE(v.out.find("\"dtype\":\"int8\""), std::string::npos) << Describe(v);
  EXPECT_NE(v.out.find("\"pass\":true"), std::string::npos) << Describe(v);

  // Against its f32 source: the same prior draws decoded by both, the pixels compared (faithful
  // int8: a weight scale per row; the shipped models' figures are in docs/performance.md).
  const CliResult r = RunCli(
      {"verify", "--model", q8, "--reference", src, "--samples", "300", "--seed", "4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const nlohmann::json rj = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(rj.is_object()) << r.out;
  EXPECT_EQ(rj["reference"]["model"], src);
  EXPECT_EQ(rj["reference"]["dtype"], "f32");
  EXPECT_EQ(rj["reference"]["seed"], 4);
  EXPECT_EQ(rj["reference"]["samples"]["count"], 300);
  const double mean = rj["reference"]["samples"]["mean_abs_error"].get<double>();
  EXPECT_GT(mean, 0);  // int8 differs from f32, by little
  EXPECT_LT(mean, 0.01);
  EXPECT_LE(mean, rj["reference"]["samples"]["max_abs_error"].get<double>());
  EXPECT_FALSE(rj["reference"].contains("manifold")) << "a 20-D model has no manifold";
  const std::string other = dir / "2d.evae";
  ASSERT_TRUE(SaveModel(other, MakeModel(Mnist2dShape::kInfo, 3)).ok());
  ExpectOneLineError(RunCli({"verify", "--model", q8, "--reference", other}), 1);

  const CliResult e = RunCli({"eval", "--model", q8, "--data", MnistDir(), "--threads",
                              "1", "--json"});
  EXPECT_EQ(e.exit_code, 0) << Describe(e);
  EXPECT_NE(e.out.find("\"test_loss\":"), std::string::npos) << Describe(e);
  // The importance-weighted bound through the int8 engine (as the f32 one, with the same noise):
  // below the one-sample test loss, on 200 test images.
  const CliResult iw = RunCli({"eval", "--model", q8, "--data", testutil::MnistSubsetDir(1, 200),
                               "--iw", "10", "--threads", "1", "--json"});
  ASSERT_EQ(iw.exit_code, 0) << Describe(iw);
  const nlohmann::json ij = nlohmann::json::parse(iw.out, nullptr, false);
  EXPECT_EQ(ij.value("images", 0), 200);
  EXPECT_LT(ij["iw_nll"].get<double>(), ij["test_loss"].get<double>());

  const CliResult b = RunCli({"bench", "--model", q8, "--runs", "5", "--warmup", "1", "--json"});
  EXPECT_EQ(b.exit_code, 0) << Describe(b);
  EXPECT_NE(b.out.find("\"dtype\":\"int8\""), std::string::npos) << Describe(b);

  const CliResult s = RunCli({"sample", "--model", q8, "-n", "4", "--out", dir / "s.png",
                              "--no-preview"});
  EXPECT_EQ(s.exit_code, 0) << Describe(s);
  EXPECT_FALSE(ReadFile(dir / "s.png").empty());
}

TEST(ConvertEvaeTest, ExportAndImportBackThroughSafetensors) {
  TempDir dir;
  const Model model = MakeModel(Mnist2dShape::kInfo, 13);
  const std::string a = dir / "a.evae", st = dir / "a.safetensors", b = dir / "b.evae";
  ASSERT_TRUE(SaveModel(a, model).ok());
  const CliResult to = RunCli({"convert", "--in", a, "--to-safetensors", st});
  EXPECT_EQ(to.exit_code, 0) << Describe(to);
  const CliResult from = RunCli({"convert", "--from-safetensors", st, "--out", b});
  EXPECT_EQ(from.exit_code, 0) << Describe(from);
  StatusOr<Model> back = LoadModel(b);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameWeights(*back, model);
}


// --- A decoder alone, for a device that only draws ---------------------------------------------

// The shipped model's decoder cut out (what the microcontroller's digits program embeds): the
// same int8 layers, bit for bit, the class statistics, golden vectors that pass; the same samples
// as the whole model; no encoder. The shipped models/mnist-decoder.q8.evae is such a cut.
TEST(ConvertDecoderOnlyTest, CutsTheSameInt8DecoderAndRefusesWhatItCannotCut) {
  TempDir dir;
  const std::string whole = EDGEVAE_SOURCE_DIR "/models/mnist.q8.evae";
  const std::string out = dir / "decoder.q8.evae";
  CliResult r = RunCli({"convert", "--in", whole, "--decoder-only", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out), 1) << Describe(r);
  r = RunCli({"verify", "--model", out});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);

  StatusOr<AnyModel> a = LoadAnyModel(whole);
  ASSERT_TRUE(a.ok() && a->int8) << a.status().message();
  for (const std::string& path :
       {out, std::string(EDGEVAE_SOURCE_DIR "/models/mnist-decoder.q8.evae")}) {
    SCOPED_TRACE(path);
    StatusOr<AnyModel> d = LoadAnyModel(path);
    ASSERT_TRUE(d.ok() && d->int8) << d.status().message();
    EXPECT_EQ(d->int8->shape.name, "mnist-decoder");
    EXPECT_FALSE(d->int8->shape.has_encoder());
    EXPECT_EQ(d->int8->shape.SizesText(), "20-400-784");
    EXPECT_EQ(d->int8->metadata.class_latents.size(), a->int8->metadata.class_latents.size());
    ASSERT_EQ(d->int8->layers.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const Int8Layer& x = d->int8->layers[i];
      const Int8Layer& y = a->int8->layers[3 + i];
      EXPECT_TRUE(std::equal(x.weight.begin(), x.weight.end(), y.weight.begin(), y.weight.end()));
      EXPECT_TRUE(std::equal(x.bias.begin(), x.bias.end(), y.bias.begin(), y.bias.end()));
      EXPECT_TRUE(std::equal(x.channel_scales.begin(), x.channel_scales.end(),
                             y.channel_scales.begin(), y.channel_scales.end()));
      EXPECT_EQ(x.input.scale, y.input.scale);
      EXPECT_EQ(x.output.zero_point, y.output.zero_point);
    }
    StatusOr<std::unique_ptr<Engine>> de = Engine::Create(*d, EngineOptions{.max_batch = 16});
    StatusOr<std::unique_ptr<Engine>> ae = Engine::Create(*a, EngineOptions{.max_batch = 16});
    ASSERT_TRUE(de.ok() && ae.ok());
    std::vector<float> xd(16 * 784), xa(16 * 784);
    ASSERT_TRUE((*de)->Sample(16, 5, xd.data()).ok());
    ASSERT_TRUE((*ae)->Sample(16, 5, xa.data()).ok());
    EXPECT_EQ(xd, xa);
    std::vector<float> mu(20), lv(20);
    std::vector<uint8_t> image(784, 0);
    EXPECT_EQ((*de)->Encode(image.data(), 1, mu.data(), lv.data()).code(),
              StatusCode::kUnsupported);
  }

  // What it refuses, each with one line: an f32 file (bad usage), a GAN's generator (not a VAE
  // with an encoder), the decoder itself, training the cut shape, and other modes beside it.
  ExpectOneLineError(
      RunCli({"convert", "--in", EDGEVAE_SOURCE_DIR "/models/judge.evae", "--decoder-only",
              "--out", dir / "x.evae"}),
      2);
  ExpectOneLineError(RunCli({"convert", "--in", EDGEVAE_SOURCE_DIR "/models/gan.q8.evae",
                             "--decoder-only", "--out", dir / "x.evae"}),
                     1);
  ExpectOneLineError(RunCli({"convert", "--in", out, "--decoder-only", "--out", dir / "x.evae"}),
                     1);
  ExpectOneLineError(RunCli({"convert", "--from-safetensors", dir / "s.safetensors",
                             "--decoder-only", "--out", dir / "x.evae"}),
                     2);
  r = RunCli({"train", "--shape", "mnist-decoder", "--data", EDGEVAE_MNIST_DIR, "--epochs", "1",
              "--out", dir / "t.evae"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("decoder alone"), std::string::npos) << Describe(r);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.evae"));
}

// --- The cortex-m layout --------------------------------------------------------------------

// An int8 file re-stored for Cortex-M (what the microcontroller's digits program embeds,
// models/mnist-decoder.cortex-m.q8.evae): the same model, so the same samples through every
// engine, twice the weight bytes, verify passes, and back to rows gives the rows file's layers;
// --layout on an f32 file without --dtype int8 is bad usage.
TEST(ConvertLayoutTest, CortexMIsTheSameModelStoredForTheKernel) {
  TempDir dir;
  const std::string rows = EDGEVAE_SOURCE_DIR "/models/mnist-decoder.q8.evae";
  const std::string cm = dir / "decoder.cortex-m.q8.evae", back = dir / "back.q8.evae";
  CliResult r = RunCli({"convert", "--in", rows, "--layout", "cortex-m", "--out", cm});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out), 1) << Describe(r);
  EXPECT_NE(r.out.find("cortex-m layout"), std::string::npos) << Describe(r);
  r = RunCli({"verify", "--model", cm});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = RunCli({"info", "--model", cm});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("fc4.weight   i16  786 x 400"), std::string::npos) << Describe(r);
  r = RunCli({"convert", "--in", cm, "--layout", "rows", "--out", back});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  StatusOr<AnyModel> a = LoadAnyModel(rows);
  ASSERT_TRUE(a.ok() && a->int8) << a.status().message();
  EXPECT_EQ(a->int8->layout, WeightLayout::kRows);
  for (const std::string& path :
       {cm, std::string(EDGEVAE_SOURCE_DIR "/models/mnist-decoder.cortex-m.q8.evae"), back}) {
    SCOPED_TRACE(path);
    StatusOr<AnyModel> d = LoadAnyModel(path);
    ASSERT_TRUE(d.ok() && d->int8) << d.status().message();
    EXPECT_EQ(d->int8->layout, path == back ? WeightLayout::kRows : WeightLayout::kCortexM);
    ASSERT_EQ(d->int8->layers.size(), a->int8->layers.size());
    for (size_t i = 0; i < d->int8->layers.size(); ++i) {
      const Int8Layer& x = d->int8->layers[i];
      const Int8Layer& y = a->int8->layers[i];
      EXPECT_TRUE(std::equal(x.weight.begin(), x.weight.end(), y.weight.begin(), y.weight.end()));
      EXPECT_TRUE(std::equal(x.bias.begin(), x.bias.end(), y.bias.begin(), y.bias.end()));
    }
    StatusOr<std::unique_ptr<Engine>> de = Engine::Create(*d, EngineOptions{.max_batch = 16});
    StatusOr<std::unique_ptr<Engine>> ae = Engine::Create(*a, EngineOptions{.max_batch = 16});
    ASSERT_TRUE(de.ok() && ae.ok());
    std::vector<float> xd(16 * 784), xa(16 * 784);
    ASSERT_TRUE((*de)->Sample(16, 9, xd.data()).ok());
    ASSERT_TRUE((*ae)->Sample(16, 9, xa.data()).ok());
    EXPECT_EQ(xd, xa);
  }
  const auto size = [](const std::string& p) { return std::filesystem::file_size(p); };
  // The weights' bytes twice over, with padding (and a longer metadata.command, alignment).
  const uintmax_t grown = 402u * 20 * 2 - 400 * 20 + 786u * 400 * 2 - 784 * 400;
  EXPECT_GE(size(cm), size(rows) + grown);
  EXPECT_LT(size(cm), size(rows) + grown + 1024);

  ExpectOneLineError(RunCli({"convert", "--in", EDGEVAE_SOURCE_DIR "/models/judge.evae",
                             "--layout", "cortex-m", "--out", dir / "x.evae"}),
                     2);
  ExpectOneLineError(RunCli({"convert", "--in", rows, "--layout", "sideways", "--out",
                             dir / "x.evae"}),
                     2);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.evae"));
}

}  // namespace
}  // namespace edgevae
