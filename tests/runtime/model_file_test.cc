// Tests of the .evae model file: round trips, every rejection LoadModel promises, and the atomic
// write. Rejection tests edit a real file at the offsets given in docs/model-format.md and, where
// the check under test comes after the checksum, fix the checksum so that it is that check which
// fires.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/model_bytes.h"
#include "edgevae/model_writer.h"
#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "common/load_failure.h"
#include "common/temp_dir.h"

namespace edgevae {
namespace {

using ::testing::HasSubstr;

using namespace model_bytes;  // NOLINT: the byte helpers are this file's vocabulary

// A model whose every parameter (and Adam moment) is distinct, so a misplaced tensor shows.
Model MakeModel(const ShapeInfo& shape, bool with_optimizer) {
  StatusOr<Model> created = Model::Create(shape);
  EXPECT_TRUE(created.ok()) << created.status().message();
  Model model = std::move(created).value();
  model.InitializeLikeTorch(0xFEDCBA9876543210ull);
  ModelMetadata& md = model.metadata();
  md.dataset = "mnist";
  md.epochs = 17;
  md.batch = 128;
  md.lr = 1e-3;
  md.train_loss = 104.12345678901234;
  md.test_loss = 103.5;
  if (with_optimizer) {
    model.EnsureOptimizer();
    AdamState& adam = model.optimizer();
    for (size_t i = 0; i < model.param_floats(); ++i) {
      adam.m[i] = 1e-3f * std::sin(static_cast<float>(i));
      adam.v[i] = 1e-6f * static_cast<float>(i % 1000);
    }
    adam.step = 4690;
  }
  return model;
}

class ModelFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Saves `model` and returns the file's bytes.
  Bytes Save(const std::string& path, const Model& model) {
    const Status s = SaveModel(path, model);
    EXPECT_TRUE(s.ok()) << s.message();
    return ReadBytes(path);
  }

  // Writes `bytes` to a fresh file and loads it, expecting failure with `code`.
  Status LoadBytesFails(const Bytes& bytes, StatusCode code, const std::string& name = "bad.evae") {
    return testutil::ExpectLoadFails(Path(name), bytes, code,
                                     [](const std::string& p) { return LoadModel(p); });
  }

  std::vector<std::string> DirEntries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  testutil::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

void ExpectSameParams(const Model& a, const Model& b) {
  ASSERT_EQ(a.param_floats(), b.param_floats());
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const TensorView& tv : a.tensors()) {
    EXPECT_EQ(std::memcmp(a.params() + tv.offset, b.params() + tv.offset, tv.size() * 4), 0)
        << tv.name;
  }
}

void ExpectSameMetadata(const ModelMetadata& a, const ModelMetadata& b) {
  EXPECT_EQ(a.dataset, b.dataset);
  EXPECT_EQ(a.epochs, b.epochs);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.batch, b.batch);
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(std::isnan(a.train_loss), std::isnan(b.train_loss));
  if (!std::isnan(a.train_loss)) {
    EXPECT_EQ(a.train_loss, b.train_loss);
  }
  EXPECT_EQ(std::isnan(a.test_loss), std::isnan(b.test_loss));
  if (!std::isnan(a.test_loss)) {
    EXPECT_EQ(a.test_loss, b.test_loss);
  }
  EXPECT_EQ(a.edgevae_version, b.edgevae_version);
}

// --- Round trips --------------------------------------------------------------------------------

TEST_F(ModelFileTest, RoundTripWithoutOptimizer) {
  const Model model = MakeModel(MnistShape::kInfo, /*with_optimizer=*/false);
  const std::string path = Path("m.evae");
  ASSERT_TRUE(SaveModel(path, model).ok());
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->shape(), MnistShape::kInfo);
  EXPECT_EQ(loaded->shape().name, "mnist");
  ExpectSameParams(model, *loaded);
  ExpectSameMetadata(model.metadata(), loaded->metadata());
  EXPECT_FALSE(loaded->has_optimizer());
  EXPECT_EQ(DirEntries(), std::vector<std::string>{"m.evae"});  // no temp file left behind
}

TEST_F(ModelFileTest, RoundTripWithOptimizer) {
  const Model model = MakeModel(MnistShape::kInfo, /*with_optimizer=*/true);
  const std::string path = Path("ckpt.evae");
  ASSERT_TRUE(SaveModel(path, model).ok());
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ExpectSameParams(model, *loaded);
  ExpectSameMetadata(model.metadata(), loaded->metadata());
  ASSERT_TRUE(loaded->has_optimizer());
  const size_t n = model.param_floats();
  EXPECT_EQ(std::memcmp(model.optimizer().m.data(), loaded->optimizer().m.data(), n * 4), 0);
  EXPECT_EQ(std::memcmp(model.optimizer().v.data(), loaded->optimizer().v.data(), n * 4), 0);
  EXPECT_EQ(loaded->optimizer().step, 4690);
}

TEST_F(ModelFileTest, RoundTripOtherShape) {
  const Model model = MakeModel(Mnist2dShape::kInfo, /*with_optimizer=*/false);
  const std::string path = Path("m2d.evae");
  ASSERT_TRUE(SaveModel(path, model).ok());
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->shape().name, "mnist2d");
  ExpectSameParams(model, *loaded);
}

TEST_F(ModelFileTest, NanLossRoundTripsAsNullAndNan) {
  Model model = MakeModel(MnistShape::kInfo, false);
  model.metadata().train_loss = std::numeric_limits<double>::quiet_NaN();
  model.metadata().test_loss = std::numeric_limits<double>::quiet_NaN();
  const std::string path = Path("nan.evae");
  ASSERT_TRUE(SaveModel(path, model).ok());
  StatusOr<ModelFileInfo> info = InspectModelFile(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  const nlohmann::json j = nlohmann::json::parse(info->metadata_json, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_TRUE(j["train_loss"].is_null());
  EXPECT_TRUE(j["test_loss"].is_null());
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_TRUE(std::isnan(loaded->metadata().train_loss));
  EXPECT_TRUE(std::isnan(loaded->metadata().test_loss));
}

TEST_F(ModelFileTest, OptionalMetadataRoundTrips) {
  Model model = MakeModel(Mnist2dShape::kInfo, false);
  ModelMetadata& md = model.metadata();
  md.classes = {0, 1, 7};
  md.command = "edgevae train --shape mnist2d --epochs 3 --seed 1";
  md.class_latents.push_back({3, 6131, {0.25f, -1.5f}, {1.0f, 0.125f, 0.125f, 2.0f / 3.0f}});
  md.class_latents.push_back({7, 6265, {1e-8f, 3.0f}, {0.5f, 0.0f, 0.0f, 0.5f}});
  md.class_temperature = 0.8;
  md.anomaly = AnomalyThreshold{"elbo", 0.01, 5000, 4, 123.456};
  const std::string path = Path("opt.evae");
  ASSERT_TRUE(SaveModel(path, model).ok());
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const ModelMetadata& got = loaded->metadata();
  EXPECT_EQ(got.classes, md.classes);
  EXPECT_EQ(got.command, md.command);
  EXPECT_EQ(got.class_temperature, 0.8);
  ASSERT_EQ(got.class_latents.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got.class_latents[i].label, md.class_latents[i].label);
    EXPECT_EQ(got.class_latents[i].count, md.class_latents[i].count);
    EXPECT_EQ(got.class_latents[i].mean, md.class_latents[i].mean);  // exact: floats round-trip
    EXPECT_EQ(got.class_latents[i].cov, md.class_latents[i].cov);
  }
  ASSERT_TRUE(got.anomaly.has_value());
  EXPECT_EQ(got.anomaly->method, "elbo");
  EXPECT_EQ(got.anomaly->fpr, 0.01);
  EXPECT_EQ(got.anomaly->images, 5000);
  EXPECT_EQ(got.anomaly->samples, 4);
  EXPECT_EQ(got.anomaly->threshold, 123.456);
}

TEST_F(ModelFileTest, FilesWithoutOptionalMetadataLeaveItEmpty) {
  const std::string path = Path("m.evae");
  ASSERT_TRUE(SaveModel(path, MakeModel(MnistShape::kInfo, false)).ok());
  StatusOr<ModelFileInfo> info = InspectModelFile(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->metadata_json.find("class_latents"), std::string::npos);
  EXPECT_EQ(info->metadata_json.find("anomaly"), std::string::npos);
  EXPECT_EQ(info->metadata_json.find("class_temperature"), std::string::npos);
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->metadata().class_temperature, 1.0);
  EXPECT_TRUE(loaded->metadata().classes.empty());
  EXPECT_TRUE(loaded->metadata().class_latents.empty());
  EXPECT_FALSE(loaded->metadata().anomaly.has_value());
}

TEST_F(ModelFileTest, RejectsClassLatentsOfTheWrongSize) {
  // The writer stores what it is given; the reader checks it against the shape (latent 2).
  Model model = MakeModel(Mnist2dShape::kInfo, false);
  model.metadata().class_latents.push_back({3, 10, {0.25f, -1.5f, 2.0f}, {1, 0, 0, 1}});
  const Status s = LoadBytesFails(Save(Path("m.evae"), model), StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("class_latents[0].mean"));
  EXPECT_THAT(s.message(), HasSubstr("an array of 2 finite numbers"));
}

TEST_F(ModelFileTest, RejectsAnomalyThresholdThatIsNotANumber) {
  Model model = MakeModel(MnistShape::kInfo, false);
  model.metadata().anomaly = AnomalyThreshold{"bce", 0.01, 100, 0, 77.0};
  Bytes bytes = Save(Path("m.evae"), model);
  const size_t at = GetU64(bytes, kOffMetadataOffset);
  const size_t len = GetU64(bytes, kOffMetadataBytes);
  const std::string text(bytes.begin() + at, bytes.begin() + at + len);
  const size_t key = text.find("\"threshold\": 77.0");
  ASSERT_NE(key, std::string::npos) << text;
  std::memcpy(&bytes[at + key + 13], "null", 4);  // same length: offsets stay valid
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("metadata key 'anomaly.threshold': expected a number"));
}

TEST_F(ModelFileTest, SaveOverwritesAtomically) {
  const std::string path = Path("m.evae");
  ASSERT_TRUE(SaveModel(path, MakeModel(MnistShape::kInfo, true)).ok());
  Model second = MakeModel(MnistShape::kInfo, false);
  second.metadata().epochs = 99;
  ASSERT_TRUE(SaveModel(path, second).ok());
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->metadata().epochs, 99);
  EXPECT_FALSE(loaded->has_optimizer());
  EXPECT_EQ(DirEntries(), std::vector<std::string>{"m.evae"});
}

TEST_F(ModelFileTest, SameModelGivesSameBytes) {
  const Model model = MakeModel(MnistShape::kInfo, true);
  EXPECT_EQ(Save(Path("a.evae"), model), Save(Path("b.evae"), model.Clone()));
}

TEST_F(ModelFileTest, InspectReportsLayout) {
  const Model model = MakeModel(MnistShape::kInfo, true);
  const std::string path = Path("m.evae");
  const Bytes bytes = Save(path, model);
  StatusOr<ModelFileInfo> info = InspectModelFile(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->version, 2u);  // the oldest version with what it holds (v3 adds only i16)
  EXPECT_EQ(info->file_bytes, bytes.size());
  EXPECT_EQ(GetU64(bytes, kOffFileBytes), bytes.size());
  EXPECT_TRUE(info->checksum_ok);
  EXPECT_EQ(info->stored_checksum, info->computed_checksum);
  EXPECT_EQ(info->stored_checksum, Checksum(bytes));
  EXPECT_EQ(info->shape_name, "mnist");
  EXPECT_EQ(info->input, 784);
  EXPECT_EQ(info->hidden, 400);
  EXPECT_EQ(info->latent, 20);
  ASSERT_EQ(info->tensors.size(), 12u);
  const std::vector<std::pair<std::string, std::vector<uint32_t>>> want = {
      {"fc1.weight", {400, 784}},
      {"fc1.bias", {400}},
      {"fc21.weight", {20, 400}},
      {"fc21.bias", {20}},
      {"fc22.weight", {20, 400}},
      {"fc22.bias", {20}},
      {"fc3.weight", {400, 20}},
      {"fc3.bias", {400}},
      {"fc4.weight", {784, 400}},
      {"fc4.bias", {784}},
      {"adam.m", {static_cast<uint32_t>(model.param_floats())}},
      {"adam.v", {static_cast<uint32_t>(model.param_floats())}}};
  for (size_t i = 0; i < want.size(); ++i) {
    const ModelFileInfo::Tensor& t = info->tensors[i];
    EXPECT_EQ(t.name, want[i].first);
    EXPECT_EQ(t.dims, want[i].second) << t.name;
    EXPECT_EQ(t.dtype, DType::kF32) << t.name;
    EXPECT_EQ(t.offset % 64, 0u) << t.name;
    uint64_t n = 1;
    for (uint32_t d : t.dims) n *= d;
    EXPECT_EQ(t.bytes, n * 4) << t.name;
    EXPECT_LE(t.offset + t.bytes, bytes.size()) << t.name;
  }
  // fc4.weight[1][2] is stored row-major [out, in], bit for bit.
  const ModelFileInfo::Tensor& fc4 = info->tensors[8];
  float stored;
  std::memcpy(&stored, bytes.data() + fc4.offset + (1 * 400 + 2) * 4, 4);
  EXPECT_EQ(stored, model.params()[model.layout().layers[4].weight + 1 * 400 + 2]);

  const nlohmann::json j = nlohmann::json::parse(info->metadata_json, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["dataset"], "mnist");
  EXPECT_EQ(j["epochs"], 17);
  EXPECT_EQ(j["seed"], 0xFEDCBA9876543210ull);
  EXPECT_EQ(j["batch"], 128);
  EXPECT_EQ(j["lr"], 1e-3);
  EXPECT_EQ(j["edgevae_version"], Version());
  EXPECT_EQ(j["adam_step"], 4690);
  EXPECT_EQ(j["dtype"], "f32");
  EXPECT_FALSE(j.contains("golden"));
  EXPECT_EQ(DTypeName(DType::kF32), std::string("f32"));
}

// --- Rejections, in the order LoadModel checks ----------------------------------------------

TEST_F(ModelFileTest, RejectsBadMagic) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  std::memcpy(bytes.data(), "PK\x03\x04", 4);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("bad magic"));
  EXPECT_THAT(s.message(), HasSubstr("not an edgevae model file"));
  EXPECT_FALSE(InspectModelFile(Path("bad.evae")).ok());

  const std::string text = "hello, world\n";
  const Status t =
      LoadBytesFails(Bytes(text.begin(), text.end()), StatusCode::kDataError, "text.evae");
  EXPECT_THAT(t.message(), HasSubstr("bad magic"));
}

TEST_F(ModelFileTest, RejectsNewerVersion) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  PutU32(bytes, kOffVersion, 4);
  const Status s = LoadBytesFails(bytes, StatusCode::kUnsupported);
  EXPECT_THAT(s.message(), HasSubstr("file version 4 is newer than this build supports (3)"));
  EXPECT_FALSE(InspectModelFile(Path("bad.evae")).ok());
}

// A version-1 file is what the v1 writer produced: the same bytes as a v2 f32 file except the
// version field and the metadata's "dtype" key, which v1 did not have.
TEST_F(ModelFileTest, ReadsVersionOneFiles) {
  const Model model = MakeModel(MnistShape::kInfo, /*with_optimizer=*/true);
  Bytes bytes = Save(Path("m.evae"), model);
  ASSERT_EQ(GetU32(bytes, kOffVersion), 2u);
  PutU32(bytes, kOffVersion, 1);
  FixChecksum(bytes);
  for (const bool drop_dtype_key : {false, true}) {
    SCOPED_TRACE(drop_dtype_key ? "without dtype key" : "with dtype key");
    if (drop_dtype_key) {
      // Blank out `,\n  "dtype": "f32"` (same length, so no offset moves): v1's metadata.
      const size_t at = GetU64(bytes, kOffMetadataOffset);
      const size_t len = GetU64(bytes, kOffMetadataOffset + 8);
      std::string text(bytes.begin() + at, bytes.begin() + at + len);
      const std::string key = ",\n  \"dtype\": \"f32\"";
      const size_t k = text.find(key);
      ASSERT_NE(k, std::string::npos) << text;
      std::fill(bytes.begin() + at + k, bytes.begin() + at + k + key.size(), ' ');
      FixChecksum(bytes);
    }
    const std::string path = Path(drop_dtype_key ? "v1-nokey.evae" : "v1.evae");
    EXPECT_TRUE(WriteBytes(path, bytes));
    StatusOr<ModelFileInfo> info = InspectModelFile(path);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->version, 1u);
    EXPECT_EQ(info->metadata_json.find("dtype") == std::string::npos, drop_dtype_key);
    StatusOr<Model> loaded = LoadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    ExpectSameParams(model, *loaded);
    ExpectSameMetadata(model.metadata(), loaded->metadata());
    ASSERT_TRUE(loaded->has_optimizer());
    EXPECT_EQ(loaded->optimizer().step, 4690);
    StatusOr<AnyModel> any = LoadAnyModel(path);
    ASSERT_TRUE(any.ok()) << any.status().message();
    EXPECT_TRUE(any->f32.has_value());
    EXPECT_FALSE(any->int8.has_value());
    EXPECT_FALSE(any->golden.has_value());
    EXPECT_STREQ(any->dtype(), "f32");
  }
}

TEST_F(ModelFileTest, RejectsVersionZero) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  PutU32(bytes, kOffVersion, 0);
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("version"));
  EXPECT_THAT(s.message(), HasSubstr("is 0"));
}

TEST_F(ModelFileTest, RejectsTruncation) {
  const std::string good = Path("m.evae");
  const Bytes bytes = Save(good, MakeModel(MnistShape::kInfo, true));
  StatusOr<ModelFileInfo> info = InspectModelFile(good);
  ASSERT_TRUE(info.ok());
  const size_t metadata_at = GetU64(bytes, kOffMetadataOffset);
  const size_t fc1_at = info->tensors[0].offset;
  const size_t adam_v_at = info->tensors[11].offset;
  const std::vector<size_t> cuts = {0,
                                    3,
                                    8,
                                    60,
                                    kHeaderBytes - 1,
                                    kHeaderBytes,
                                    kHeaderBytes + kEntryBytes / 2,
                                    metadata_at + 10,
                                    fc1_at,
                                    fc1_at + 1001,
                                    adam_v_at + 4,
                                    bytes.size() - 1};
  for (const size_t cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const Bytes cut_bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    const Status s = LoadBytesFails(cut_bytes, StatusCode::kDataError);
    EXPECT_THAT(s.message(), HasSubstr("truncated"));
    StatusOr<ModelFileInfo> cut_info = InspectModelFile(Path("bad.evae"));
    ASSERT_FALSE(cut_info.ok());
    EXPECT_THAT(cut_info.status().message(), HasSubstr("truncated"));
  }
}

TEST_F(ModelFileTest, RejectsTensorPastEnd) {
  // The declared file size matches, but a table entry points beyond it.
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  PutU64(bytes, Entry(bytes, 9) + 56, bytes.size() - 64);  // fc4.bias offset
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("truncated: tensor 'fc4.bias'"));
  EXPECT_THAT(s.message(), HasSubstr("extends past the end"));
}

TEST_F(ModelFileTest, RejectsTrailingBytes) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  bytes.resize(bytes.size() + 5, 0);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("5 trailing bytes"));
}

TEST_F(ModelFileTest, RejectsChecksumMismatch) {
  const std::string good = Path("m.evae");
  Bytes bytes = Save(good, MakeModel(MnistShape::kInfo, false));
  StatusOr<ModelFileInfo> info = InspectModelFile(good);
  ASSERT_TRUE(info.ok());
  bytes[info->tensors[8].offset + 12345] ^= 0x10;  // one bit of fc4.weight
  const uint64_t stored = GetU64(bytes, kOffChecksum);
  const uint64_t computed = Checksum(bytes);
  ASSERT_NE(stored, computed);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("checksum mismatch"));
  EXPECT_THAT(s.message(), HasSubstr(Hex(stored)));
  EXPECT_THAT(s.message(), HasSubstr(Hex(computed)));

  // Inspect still shows the file, flagging the checksum.
  StatusOr<ModelFileInfo> bad = InspectModelFile(Path("bad.evae"));
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  EXPECT_FALSE(bad->checksum_ok);
  EXPECT_EQ(bad->stored_checksum, stored);
  EXPECT_EQ(bad->computed_checksum, computed);
  EXPECT_EQ(bad->tensors.size(), 10u);
  EXPECT_EQ(bad->shape_name, "mnist");
  EXPECT_EQ(bad->metadata_json, info->metadata_json);
}

TEST_F(ModelFileTest, RejectsChecksumMismatchInMetadata) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  bytes[GetU64(bytes, kOffMetadataOffset) + 5] ^= 0x01;
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("checksum mismatch"));
}

TEST_F(ModelFileTest, RejectsShapeNotCompiledIn) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  PutU32(bytes, kOffHidden, 300);  // a 784-300-20 "mnist"
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kUnsupported);
  EXPECT_THAT(s.message(), HasSubstr("has sizes 784-300-20, but this build's 'mnist' is 784-400-20"));
  EXPECT_THAT(s.message(), HasSubstr("compiled shapes: " + CompiledShapeList()));

  // Inspect does not need the shape to be compiled in.
  StatusOr<ModelFileInfo> info = InspectModelFile(Path("bad.evae"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->hidden, 300);
}

TEST_F(ModelFileTest, RejectsShapeNameThatDisagreesWithSizes) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  std::memcpy(bytes.data() + kOffShapeName, "mnist3d", 8);
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kUnsupported);
  EXPECT_THAT(s.message(), HasSubstr("'mnist3d'"));
  EXPECT_THAT(s.message(), HasSubstr("compiled shapes"));
}

TEST_F(ModelFileTest, RejectsTensorShapeMismatch) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  const size_t e = Entry(bytes, 8);  // fc4.weight [784, 400]
  ASSERT_EQ(std::string(reinterpret_cast<const char*>(bytes.data() + e + kEntName)), "fc4.weight");
  PutU32(bytes, e + kEntDims + 4, 300);
  PutU64(bytes, e + kEntBytes, 784 * 300 * 4);
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("fc4.weight: expected [784, 400] f32, found [784, 300] f32"));
}

TEST_F(ModelFileTest, RejectsDTypeMismatch) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  PutU32(bytes, Entry(bytes, 1) + kEntDType, 2);  // fc1.bias
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("fc1.bias: expected [400] f32, found [400] i8"));

  PutU32(bytes, Entry(bytes, 1) + kEntDType, 7);  // no such dtype
  FixChecksum(bytes);
  const Status t = LoadBytesFails(bytes, StatusCode::kDataError, "unknown.evae");
  EXPECT_THAT(t.message(), HasSubstr("fc1.bias: expected [400] f32, found [400] dtype 7"));
}

TEST_F(ModelFileTest, RejectsMissingTensor) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  PutU32(bytes, kOffTensorCount, 9);  // drops fc4.bias from the table
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("missing tensor 'fc4.bias'"));
}

TEST_F(ModelFileTest, RejectsHalfOfTheOptimizerState) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, true));
  ASSERT_EQ(GetU32(bytes, kOffTensorCount), 12u);
  PutU32(bytes, kOffTensorCount, 11);  // drops adam.v
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("missing tensor 'adam.v'"));
}

TEST_F(ModelFileTest, RejectsUnknownTensor) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  bytes[Entry(bytes, 9) + kEntName + 2] = '5';  // fc4.bias -> fc5.bias
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("unknown tensor 'fc5.bias'"));
}

TEST_F(ModelFileTest, RejectsDuplicateTensor) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  std::memcpy(bytes.data() + Entry(bytes, 9) + kEntName, "fc1.bias", 9);  // two fc1.bias
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("both 'fc1.bias'"));
}

TEST_F(ModelFileTest, RejectsOverlappingTensors) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  // fc21.bias points at fc1.bias's data: same size, aligned, inside the file.
  PutU64(bytes, Entry(bytes, 3) + 56, GetU64(bytes, Entry(bytes, 1) + 56));
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("overlaps"));
}

TEST_F(ModelFileTest, RejectsMetadataThatIsNotJson) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  bytes[GetU64(bytes, kOffMetadataOffset) + 4] = '{';  // {\n  {"dataset"...
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("metadata"));
  EXPECT_THAT(s.message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(s.message(), HasSubstr("line 2"));
}

TEST_F(ModelFileTest, RejectsMetadataWithoutRequiredKey) {
  Bytes bytes = Save(Path("m.evae"), MakeModel(MnistShape::kInfo, false));
  const size_t at = GetU64(bytes, kOffMetadataOffset);
  const std::string text(bytes.begin() + at, bytes.begin() + at + 40);
  const size_t key = text.find("\"epochs\"");
  ASSERT_NE(key, std::string::npos) << text;
  bytes[at + key + 6] = 'z';  // "epochz"
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("missing key 'epochs'"));
}

TEST_F(ModelFileTest, RejectsNonFiniteWeight) {
  const std::string good = Path("m.evae");
  Bytes bytes = Save(good, MakeModel(MnistShape::kInfo, false));
  StatusOr<ModelFileInfo> info = InspectModelFile(good);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->tensors[6].name, "fc3.weight");
  PutF32(bytes, info->tensors[6].offset + 5 * 4, std::numeric_limits<float>::quiet_NaN());
  FixChecksum(bytes);
  const Status s = LoadBytesFails(bytes, StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("non-finite"));
  EXPECT_THAT(s.message(), HasSubstr("fc3.weight[5]"));

  Bytes inf_bytes = ReadBytes(good);
  PutF32(inf_bytes, info->tensors[9].offset + 783 * 4, -std::numeric_limits<float>::infinity());
  FixChecksum(inf_bytes);
  const Status t = LoadBytesFails(inf_bytes, StatusCode::kDataError, "inf.evae");
  EXPECT_THAT(t.message(), HasSubstr("fc4.bias[783]"));
}

TEST_F(ModelFileTest, SaveRefusesNonFiniteWeight) {
  Model model = MakeModel(MnistShape::kInfo, false);
  model.params()[model.layout().layers[3].bias + 2] = std::numeric_limits<float>::infinity();
  const std::string path = Path("m.evae");
  const Status s = SaveModel(path, model);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("fc3.bias[2]"));
  EXPECT_TRUE(DirEntries().empty());
}

TEST_F(ModelFileTest, LoadOfMissingFileIsIoError) {
  const std::string path = Path("nope.evae");
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kIoError);
  EXPECT_THAT(loaded.status().message(), HasSubstr(path));
  EXPECT_THAT(loaded.status().message(), HasSubstr("No such file"));
}

// --- Atomic writes ------------------------------------------------------------------------------

TEST_F(ModelFileTest, WriteIntoMissingDirectoryFails) {
  const std::string path = Path("no/such/dir/m.evae");
  const Status s = SaveModel(path, MakeModel(MnistShape::kInfo, false));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("No such file or directory"));
  EXPECT_TRUE(DirEntries().empty());
}

TEST_F(ModelFileTest, WriteBelowARegularFileFails) {
  // Permission tricks do not stop root; a parent that is a file stops everyone.
  EXPECT_TRUE(WriteBytes(Path("file"), Bytes{'x'}));
  const std::string path = Path("file/m.evae");
  const Status s = SaveModel(path, MakeModel(MnistShape::kInfo, false));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("Not a directory"));
  EXPECT_EQ(DirEntries(), std::vector<std::string>{"file"});
}

TEST_F(ModelFileTest, FailedRenameRemovesTheTempFile) {
  // The target is a non-empty directory: the temp file is written, the rename fails.
  std::filesystem::create_directories(Path("target.evae/inside"));
  const Status s = SaveModel(Path("target.evae"), MakeModel(MnistShape::kInfo, false));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr("rename"));
  EXPECT_EQ(DirEntries(), std::vector<std::string>{"target.evae"});
  EXPECT_TRUE(std::filesystem::is_directory(Path("target.evae/inside")));
}

TEST_F(ModelFileTest, FailedWriteLeavesTheOldFileIntact) {
  const std::string path = Path("m.evae");
  const Bytes old = Save(path, MakeModel(MnistShape::kInfo, false));
  const Model bigger = MakeModel(MnistShape::kInfo, true);
  // In a child process, cap the size of any file written (RLIMIT_FSIZE, which binds root too)
  // below the new file's size, so that write() fails with EFBIG part way through.
  EXPECT_EXIT(
      {
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit limit;
        getrlimit(RLIMIT_FSIZE, &limit);
        limit.rlim_cur = 1 << 20;
        setrlimit(RLIMIT_FSIZE, &limit);
        const Status s = SaveModel(path, bigger);
        std::fprintf(stderr, "%s\n", s.message().c_str());
        std::_Exit(s.code() == StatusCode::kIoError ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "writing .*m\\.evae\\.tmp\\..* failed at offset");
  EXPECT_EQ(ReadBytes(path), old);
  EXPECT_EQ(DirEntries(), std::vector<std::string>{"m.evae"});
  EXPECT_TRUE(LoadModel(path).ok());
}

}  // namespace
}  // namespace edgevae
