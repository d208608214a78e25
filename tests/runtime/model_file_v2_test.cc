// Tests of model file version 2: int8 models, golden vectors, and their rejections. Version-1
// compatibility and the container checks that every version shares are in model_file_test.cc.
// Rejection tests edit a real file; a metadata edit re-lays the file out (the metadata sits
// before the tensors) and fixes the checksum, so that the check under test is the one that fires.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/model_bytes.h"
#include "edgevae/buffer.h"
#include "edgevae/model_writer.h"
#include "edgevae/model_file.h"
#include "edgevae/model.h"
#include "edgevae/quant.h"
#include "edgevae/shape.h"
#include "kernels/packed_i16.h"
#include "common/load_failure.h"
#include "common/temp_dir.h"

namespace edgevae {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace model_bytes;  // NOLINT: the byte helpers are this file's vocabulary
using OJson = nlohmann::ordered_json;

ModelMetadata MakeMetadata() {
  ModelMetadata md;
  md.dataset = "mnist";
  md.epochs = 23;
  md.seed = 0xFEDCBA9876543210ull;
  md.batch = 128;
  md.lr = 1e-3;
  md.train_loss = 104.12345678901234;
  md.test_loss = std::numeric_limits<double>::quiet_NaN();
  md.edgevae_version = Version();
  return md;
}

// Layer i of `m` with small deterministic values (k = i); scales that have no short decimal
// form, every zero point distinct; `per_row`: a weight scale per row, each different.
void MakeLayer(Int8Model* m, size_t i, bool per_row) {
  const LayerInfo& spec = m->shape.layers[i];
  const int k = static_cast<int>(i);
  Int8Layer& l = m->layers[i];
  l.out = spec.out;
  l.in = spec.in;
  std::vector<int8_t> weight(static_cast<size_t>(spec.out) * spec.in);
  for (size_t j = 0; j < weight.size(); ++j) {
    weight[j] = static_cast<int8_t>(static_cast<int>((j * 37 + k) % 255) - 127);
  }
  std::vector<int32_t> bias(spec.out);
  for (int j = 0; j < spec.out; ++j) bias[j] = (j * 7919 + k) * (j % 2 ? -1 : 1) - 1000000 * k;
  l.weight_scale = 1.0f / (3.0f + k);
  l.input = {0.1f * (k + 1) / 7.0f, -128 + 17 * k};
  l.output = {std::nextafter(0.05f * (k + 1), 1.0f), 127 - 13 * k};
  l.relu = spec.activation == Activation::kRelu;
  std::vector<float> scales;
  for (int r = 0; per_row && r < spec.out; ++r) {
    scales.push_back(l.weight_scale * (1.0f + static_cast<float>(r % 11) / 7.0f));
  }
  SetOwnedTensors(m, i, std::move(weight), std::move(bias), std::move(scales));
}

Int8Model MakeInt8Model(const ShapeInfo& s, bool per_row = false) {
  Int8Model m;
  m.shape = s;
  m.metadata = MakeMetadata();
  m.layers.resize(s.layers.size());
  for (size_t i = 0; i < s.layers.size(); ++i) MakeLayer(&m, i, per_row);
  // Activations pass from layer to layer unchanged: each input range is its producer's output.
  m.layers[1].input = m.layers[2].input = m.layers[0].output;
  m.layers[4].input = m.layers[3].output;
  m.calibration = "mse";
  m.calibration_images = 1234;
  return m;
}

Model MakeModel(const ShapeInfo& shape, bool with_optimizer) {
  StatusOr<Model> created = Model::Create(shape);
  EXPECT_TRUE(created.ok()) << created.status().message();
  Model model = std::move(created).value();
  model.InitializeLikeTorch(42);
  model.metadata() = MakeMetadata();
  if (with_optimizer) {
    model.EnsureOptimizer();
    for (size_t i = 0; i < model.param_floats(); ++i) {
      model.optimizer().m[i] = 1e-3f * static_cast<float>(i % 97);
      model.optimizer().v[i] = 1e-6f * static_cast<float>(i % 1000);
    }
    model.optimizer().step = 777;
  }
  return model;
}

GoldenVectors MakeGolden(int count, int input) {
  GoldenVectors g;
  g.count = count;
  const size_t n = static_cast<size_t>(count) * input;
  for (size_t i = 0; i < n; ++i) {
    g.pixels.push_back(static_cast<uint8_t>(i * 13 % 256));
    g.reconstruction.push_back(static_cast<float>(i * 7 % 1000) / 999.0f);
  }
  g.max_abs_error = 1e-3 / 3;
  g.mean_abs_error = 2.5e-4;
  return g;
}

uint32_t Bits(float f) { return std::bit_cast<uint32_t>(f); }

void ExpectSameLayer(const Int8Layer& a, const Int8Layer& b, const std::string& name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.in, b.in);
  EXPECT_TRUE(std::ranges::equal(a.weight, b.weight));
  EXPECT_TRUE(std::ranges::equal(a.bias, b.bias));
  ASSERT_EQ(a.channel_scales.size(), b.channel_scales.size());
  for (size_t r = 0; r < a.channel_scales.size(); ++r) {
    ASSERT_EQ(Bits(a.channel_scales[r]), Bits(b.channel_scales[r])) << "row " << r;
  }
  if (a.channel_scales.empty()) EXPECT_EQ(Bits(a.weight_scale), Bits(b.weight_scale));
  EXPECT_EQ(Bits(a.input.scale), Bits(b.input.scale));
  EXPECT_EQ(a.input.zero_point, b.input.zero_point);
  EXPECT_EQ(Bits(a.output.scale), Bits(b.output.scale));
  EXPECT_EQ(a.output.zero_point, b.output.zero_point);
  EXPECT_EQ(a.relu, b.relu);
}

void ExpectSameMetadata(const ModelMetadata& a, const ModelMetadata& b) {
  EXPECT_EQ(a.dataset, b.dataset);
  EXPECT_EQ(a.epochs, b.epochs);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.batch, b.batch);
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.train_loss, b.train_loss);
  EXPECT_TRUE(std::isnan(b.test_loss));
  EXPECT_EQ(a.edgevae_version, b.edgevae_version);
}

void ExpectSameInt8(const Int8Model& a, const Int8Model& b) {
  EXPECT_EQ(a.shape, b.shape);
  ExpectSameMetadata(a.metadata, b.metadata);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    ExpectSameLayer(a.layers[i], b.layers[i], std::string(a.shape.layers[i].name).c_str());
  }
  EXPECT_EQ(a.calibration, b.calibration);
  EXPECT_EQ(a.calibration_images, b.calibration_images);
}

void ExpectSameGolden(const GoldenVectors& a, const GoldenVectors& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.pixels, b.pixels);
  ASSERT_EQ(a.reconstruction.size(), b.reconstruction.size());
  EXPECT_EQ(std::memcmp(a.reconstruction.data(), b.reconstruction.data(),
                        a.reconstruction.size() * sizeof(float)),
            0);
  EXPECT_EQ(a.max_abs_error, b.max_abs_error);
  EXPECT_EQ(a.mean_abs_error, b.mean_abs_error);
}

class ModelFileV2Test : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  Bytes SaveInt8(const Int8Model& m, const GoldenVectors* golden = nullptr) {
    const std::string path = Path("int8.evae");
    const Status s = SaveInt8Model(path, m, golden);
    EXPECT_TRUE(s.ok()) << s.message();
    return ReadBytes(path);
  }

  // Writes `bytes` and expects LoadAnyModel to fail with `code`; returns the status.
  Status LoadAnyFails(const Bytes& bytes, StatusCode code = StatusCode::kDataError) {
    return testutil::ExpectLoadFails(Path("bad.evae"), bytes, code,
                                     [](const std::string& p) { return LoadAnyModel(p); });
  }

  testutil::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

// --- Round trips --------------------------------------------------------------------------------

TEST_F(ModelFileV2Test, DTypeNames) {
  EXPECT_STREQ(DTypeName(DType::kF32), "f32");
  EXPECT_STREQ(DTypeName(DType::kI8), "i8");
  EXPECT_STREQ(DTypeName(DType::kI32), "i32");
  EXPECT_STREQ(DTypeName(DType::kU8), "u8");
  EXPECT_STREQ(DTypeName(DType::kI16), "i16");
  EXPECT_EQ(kModelFileVersion, 3u);
}

TEST_F(ModelFileV2Test, Int8RoundTripIsBitIdentical) {
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  const Bytes bytes = SaveInt8(m);
  StatusOr<AnyModel> loaded = LoadAnyModel(Path("int8.evae"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_STREQ(loaded->dtype(), "int8");
  EXPECT_FALSE(loaded->f32.has_value());
  EXPECT_FALSE(loaded->golden.has_value());
  ASSERT_TRUE(loaded->int8.has_value());
  EXPECT_EQ(loaded->int8->shape.name, "mnist2d");
  ExpectSameInt8(m, *loaded->int8);

  // Same model, same bytes.
  ASSERT_TRUE(SaveInt8Model(Path("again.evae"), m).ok());
  EXPECT_EQ(ReadBytes(Path("again.evae")), bytes);
}

// The cortex-m layout: every layer's weights as i16 tensors of the padded packed size, the rest
// as in a rows file; a host loads them back into the same int8 rows, and saves the same bytes.
TEST_F(ModelFileV2Test, CortexMLayoutRoundTripIsTheSameModel) {
  for (const bool per_row : {false, true}) {
    SCOPED_TRACE(per_row ? "per-row scales" : "per-layer scales");
    Int8Model m = MakeInt8Model(Mnist2dShape::kInfo, per_row);
    m.layout = WeightLayout::kCortexM;
    const GoldenVectors golden = MakeGolden(3, 784);
    const Bytes bytes = SaveInt8(m, &golden);
    StatusOr<ModelFileInfo> info = InspectModelFile(Path("int8.evae"));
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->version, 3u);  // the version with i16; a rows file stays version 2
    const std::vector<std::pair<std::string, std::vector<uint32_t>>> want = {
        {"fc1.weight", {402, 784}}, {"fc21.weight", {3, 400}}, {"fc22.weight", {3, 400}},
        {"fc3.weight", {402, 4}},   {"fc4.weight", {786, 400}}};
    for (const auto& [name, dims] : want) {
      const auto t = std::find_if(info->tensors.begin(), info->tensors.end(),
                                  [&](const ModelFileInfo::Tensor& x) { return x.name == name; });
      ASSERT_NE(t, info->tensors.end()) << name;
      EXPECT_EQ(t->dtype, DType::kI16) << name;
      EXPECT_EQ(t->dims, dims) << name;
      EXPECT_EQ(t->bytes, uint64_t{dims[0]} * dims[1] * 2) << name;
    }
    StatusOr<AnyModel> loaded = LoadAnyModel(Path("int8.evae"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    ASSERT_TRUE(loaded->int8.has_value());
    EXPECT_EQ(loaded->int8->layout, WeightLayout::kCortexM);
    ExpectSameInt8(m, *loaded->int8);
    for (const Int8Layer& l : loaded->int8->layers) EXPECT_TRUE(l.packed.empty());  // a host's
    ASSERT_TRUE(SaveInt8Model(Path("again.evae"), *loaded->int8, &golden).ok());
    EXPECT_EQ(ReadBytes(Path("again.evae")), bytes);
    // Back to rows: the file a rows model saves to.
    Int8Model rows = *loaded->int8;
    rows.layout = WeightLayout::kRows;
    m.layout = WeightLayout::kRows;
    ASSERT_TRUE(SaveInt8Model(Path("rows.evae"), rows, &golden).ok());
    ASSERT_TRUE(SaveInt8Model(Path("rows-direct.evae"), m, &golden).ok());
    EXPECT_EQ(ReadBytes(Path("rows.evae")), ReadBytes(Path("rows-direct.evae")));
    EXPECT_EQ(GetU32(ReadBytes(Path("rows.evae")), kOffVersion), 2u);
  }
}

TEST_F(ModelFileV2Test, CortexMLayoutRefusesWhatItsKernelCannotTake) {
  Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  m.layout = WeightLayout::kCortexM;
  Bytes bytes = SaveInt8(m);
  ASSERT_EQ(EntryName(bytes, 8), "fc4.weight");
  const uint64_t at = GetU64(bytes, Entry(bytes, 8) + kEntOffset);
  {  // a weight of 200 (the layout holds int8 weights, widened)
    Bytes bad = bytes;
    bad[at + 10] = 200;
    bad[at + 11] = 0;
    FixChecksum(bad);
    EXPECT_THAT(LoadAnyFails(bad).message(),
                AllOf(HasSubstr("tensor fc4.weight (i16, packed for Cortex-M): value 200 at "
                                "element 5 (byte " + std::to_string(at + 10) + ")"),
                      HasSubstr("weights lie in [-127, 127] and the padding is 0")));
  }
  {  // a padding row that is not zero: fc4's 785th row (786 packed rows for 784)
    Bytes bad = bytes;
    const uint64_t pad = at + 2 * simd::PackedIndex(785, 0, 400);
    bad[pad] = 1;
    FixChecksum(bad);
    EXPECT_THAT(LoadAnyFails(bad).message(), HasSubstr("value 1 at element"));
  }
  {  // i16 in a file that says version 2, which has no i16
    Bytes bad = bytes;
    PutU32(bad, kOffVersion, 2);
    EXPECT_THAT(LoadAnyFails(bad).message(),
                HasSubstr("tensor fc1.weight: i16 needs file version 3; this file is version 2"));
  }
  {  // every layer in one layout: fc1 packed, fc21 marked i8 (the tensor is still its i16 bytes)
    Bytes bad = bytes;
    ASSERT_EQ(EntryName(bad, 2), "fc21.weight");
    PutU32(bad, Entry(bad, 2) + kEntDType, static_cast<uint32_t>(DType::kI8));
    FixChecksum(bad);
    EXPECT_THAT(LoadAnyFails(bad).message(),
                HasSubstr("tensor fc21.weight: expected [3, 400] i16, found [3, 400] i8"));
  }
  // A -128 weight (which the quantizer never writes) cannot be stored in the layout.
  std::vector<int8_t> w(m.layers[0].weight.begin(), m.layers[0].weight.end());
  w[17] = -128;
  std::vector<int32_t> bias(m.layers[0].bias.begin(), m.layers[0].bias.end());
  SetOwnedTensors(&m, 0, std::move(w), std::move(bias));
  const Status s = SaveInt8Model(Path("min.evae"), m);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_THAT(s.message(), HasSubstr("fc1 has a weight of -128; the layout takes [-127, 127]"));
  EXPECT_FALSE(std::filesystem::exists(Path("min.evae")));
}

TEST_F(ModelFileV2Test, Int8LayoutAndMetadata) {
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  const Bytes bytes = SaveInt8(m);
  StatusOr<ModelFileInfo> info = InspectModelFile(Path("int8.evae"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->version, 2u);
  EXPECT_TRUE(info->checksum_ok);
  EXPECT_EQ(info->shape_name, "mnist2d");
  struct Want {
    const char* name;
    DType dtype;
    std::vector<uint32_t> dims;
    uint64_t element_bytes;
  };
  const std::vector<Want> want = {
      {"fc1.weight", DType::kI8, {400, 784}, 1}, {"fc1.bias", DType::kI32, {400}, 4},
      {"fc21.weight", DType::kI8, {2, 400}, 1},  {"fc21.bias", DType::kI32, {2}, 4},
      {"fc22.weight", DType::kI8, {2, 400}, 1},  {"fc22.bias", DType::kI32, {2}, 4},
      {"fc3.weight", DType::kI8, {400, 2}, 1},   {"fc3.bias", DType::kI32, {400}, 4},
      {"fc4.weight", DType::kI8, {784, 400}, 1}, {"fc4.bias", DType::kI32, {784}, 4}};
  ASSERT_EQ(info->tensors.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const ModelFileInfo::Tensor& t = info->tensors[i];
    EXPECT_EQ(t.name, want[i].name);
    EXPECT_EQ(t.dtype, want[i].dtype) << t.name;
    EXPECT_EQ(t.dims, want[i].dims) << t.name;
    EXPECT_EQ(t.offset % 64, 0u) << t.name;
    uint64_t n = 1;
    for (uint32_t d : t.dims) n *= d;
    EXPECT_EQ(t.bytes, n * want[i].element_bytes) << t.name;
  }
  // fc4.weight[1][2] as i8 and fc3.bias[5] as little-endian i32, row-major [out, in].
  EXPECT_EQ(static_cast<int8_t>(bytes[info->tensors[8].offset + 1 * 400 + 2]),
            m.layers[4].weight[1 * 400 + 2]);
  EXPECT_EQ(static_cast<int32_t>(GetU32(bytes, info->tensors[7].offset + 5 * 4)), m.layers[3].bias[5]);

  const nlohmann::json j = nlohmann::json::parse(info->metadata_json, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["dtype"], "int8");
  EXPECT_EQ(j["dataset"], "mnist");
  EXPECT_EQ(j["epochs"], 23);
  EXPECT_FALSE(j.contains("adam_step"));
  EXPECT_FALSE(j.contains("golden"));
  const nlohmann::json& q = j["quantization"];
  EXPECT_EQ(q["weights"], "symmetric per-tensor");
  EXPECT_EQ(q["calibration"], "mse");
  EXPECT_EQ(q["calibration_images"], 1234);
  for (const char* layer : {"fc1", "fc21", "fc22", "fc3", "fc4"}) {
    const nlohmann::json& l = q["layers"][layer];
    for (const char* key : {"weight_scale", "input_scale", "input_zero_point", "output_scale",
                            "output_zero_point", "relu"}) {
      EXPECT_TRUE(l.contains(key)) << layer << "." << key;
    }
  }
  EXPECT_EQ(q["layers"]["fc3"]["relu"], true);
  EXPECT_EQ(q["layers"]["fc4"]["relu"], false);
  EXPECT_EQ(q["layers"]["fc1"]["input_zero_point"], -128);
}

// Per-row weight scales: a tensor "<layer>.weight_scale" (f32 [out]) after each layer's bias, the
// scheme "symmetric per-row", no per-layer weight_scale key; bit-identical round trip.
TEST_F(ModelFileV2Test, PerRowScalesRoundTrip) {
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo, /*per_row=*/true);
  ASSERT_TRUE(m.per_channel());
  SaveInt8(m);
  StatusOr<AnyModel> loaded = LoadAnyModel(Path("int8.evae"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_TRUE(loaded->int8.has_value());
  EXPECT_TRUE(loaded->int8->per_channel());
  ExpectSameInt8(m, *loaded->int8);

  StatusOr<ModelFileInfo> info = InspectModelFile(Path("int8.evae"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_EQ(info->tensors.size(), 15u);
  const ModelFileInfo::Tensor& t = info->tensors[14];
  EXPECT_EQ(t.name, "fc4.weight_scale");
  EXPECT_EQ(t.dtype, DType::kF32);
  EXPECT_EQ(t.dims, std::vector<uint32_t>{784});
  EXPECT_EQ(t.offset % 64, 0u);
  const nlohmann::json j = nlohmann::json::parse(info->metadata_json, nullptr, false);
  EXPECT_EQ(j["quantization"]["weights"], "symmetric per-row");
  EXPECT_FALSE(j["quantization"]["layers"]["fc4"].contains("weight_scale"));
}

TEST_F(ModelFileV2Test, RejectsBadPerRowScales) {
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo, /*per_row=*/true));
  StatusOr<ModelFileInfo> info = InspectModelFile(Path("int8.evae"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  const auto fc4 = std::find_if(info->tensors.begin(), info->tensors.end(),
                                [](const auto& t) { return t.name == "fc4.weight_scale"; });
  ASSERT_NE(fc4, info->tensors.end());
  // Not a scale, and a scale the kernels cannot take (its requantization scale is out of range).
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), 0.0f, -1.0f,
                          std::numeric_limits<float>::infinity(), 1e30f}) {
    SCOPED_TRACE(bad);
    Bytes bytes = good;
    PutF32(bytes, fc4->offset + 3 * 4, bad);
    FixChecksum(bytes);
    EXPECT_THAT(LoadAnyFails(bytes).message(),
                AllOf(HasSubstr("tensor fc4.weight_scale"), HasSubstr("weight_scale[3]")));
  }
  // A per-row file needs every layer's scales; a per-layer file takes none; other schemes fail.
  const Bytes per_layer = EditMetadata(good, [](OJson& j) {
    j["quantization"]["weights"] = "symmetric per-tensor";
    for (auto& [name, l] : j["quantization"]["layers"].items()) l["weight_scale"] = 0.01;
  });
  EXPECT_THAT(LoadAnyFails(per_layer).message(),
              HasSubstr("unknown tensor 'fc1.weight_scale' in an int8 model"));
  const Bytes per_block =
      EditMetadata(good, [](OJson& j) { j["quantization"]["weights"] = "symmetric per-block"; });
  EXPECT_THAT(LoadAnyFails(per_block).message(),
              HasSubstr("expected \"symmetric per-tensor\" or \"symmetric per-row\""));
  const Bytes old = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const Bytes missing =
      EditMetadata(old, [](OJson& j) { j["quantization"]["weights"] = "symmetric per-row"; });
  EXPECT_THAT(LoadAnyFails(missing).message(), HasSubstr("missing tensor 'fc1.weight_scale'"));
  // The writer refuses a model whose layers mix the two.
  Int8Model mixed = MakeInt8Model(Mnist2dShape::kInfo, /*per_row=*/true);
  mixed.layers[3].channel_scales = {};
  EXPECT_THAT(SaveInt8Model(Path("mixed.evae"), mixed).message(),
              HasSubstr("a model's layers are all per-row or all per-layer"));
  Int8Model short_scales = MakeInt8Model(Mnist2dShape::kInfo, /*per_row=*/true);
  short_scales.layers[2].channel_scales = short_scales.layers[2].channel_scales.first(1);
  EXPECT_THAT(SaveInt8Model(Path("short.evae"), short_scales).message(),
              HasSubstr("fc22.weight_scale has 1 per-row scales, expected one per row (2)"));
}

TEST_F(ModelFileV2Test, Int8WithGoldenRoundTrip) {
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  const GoldenVectors g = MakeGolden(3, 784);
  SaveInt8(m, &g);
  StatusOr<AnyModel> loaded = LoadAnyModel(Path("int8.evae"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_TRUE(loaded->int8.has_value());
  ExpectSameInt8(m, *loaded->int8);
  ASSERT_TRUE(loaded->golden.has_value());
  ExpectSameGolden(g, *loaded->golden);

  StatusOr<ModelFileInfo> info = InspectModelFile(Path("int8.evae"));
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->tensors.size(), 12u);
  EXPECT_EQ(info->tensors[10].name, "golden.pixels");
  EXPECT_EQ(info->tensors[10].dtype, DType::kU8);
  EXPECT_EQ(info->tensors[10].dims, (std::vector<uint32_t>{3, 784}));
  EXPECT_EQ(info->tensors[11].name, "golden.reconstruction");
  EXPECT_EQ(info->tensors[11].dtype, DType::kF32);
  EXPECT_EQ(info->tensors[11].dims, (std::vector<uint32_t>{3, 784}));
}

// --- LoadOptions: what a load keeps ---------------------------------------------------------------

// The bytes at a 64-byte boundary, as an embedded model is: LoadEmbeddedModel reads them in place.
AlignedBuffer<uint8_t> Aligned(const Bytes& b) {
  AlignedBuffer<uint8_t> a(b.size());
  std::memcpy(a.data(), b.data(), b.size());
  return a;
}
std::span<const uint8_t> View(const AlignedBuffer<uint8_t>& a) { return {a.data(), a.size()}; }

// One class_latents entry of a mnist2d model (2-D latent).
OJson ClassLatentEntry(int label, int count, float mean0) {
  return OJson{{"label", label}, {"count", count}, {"mean", {mean0, -1.5}},
               {"cov", {1.0, 0.125, 0.125, 0.5}}};
}

TEST_F(ModelFileV2Test, LoadOptionsKeepTheChosenClassLatents) {
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  const GoldenVectors g = MakeGolden(3, 784);
  const Bytes bytes = EditMetadata(SaveInt8(m, &g), [](OJson& j) {
    j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f), ClassLatentEntry(7, 20, 0.5f),
                          ClassLatentEntry(3, 30, 0.75f)};
  });
  const AlignedBuffer<uint8_t> aligned = Aligned(bytes);
  const std::span<const uint8_t> span = View(aligned);

  auto labels = [&](const LoadOptions& o) {
    StatusOr<AnyModel> a = LoadEmbeddedModel(span, "mem", o);
    EXPECT_TRUE(a.ok()) << a.status().message();
    std::vector<std::pair<int, int>> got;  // (label, count)
    if (a.ok()) {
      for (const ClassLatentStats& c : a->int8->metadata.class_latents) {
        got.emplace_back(c.label, c.count);
      }
    }
    return got;
  };
  using V = std::vector<std::pair<int, int>>;
  EXPECT_EQ(labels(LoadOptions{}), (V{{3, 10}, {7, 20}, {3, 30}}));
  LoadOptions none;
  none.class_latents = LoadOptions::ClassLatents::kNone;
  EXPECT_EQ(labels(none), V{});
  LoadOptions three;
  three.class_latents = LoadOptions::ClassLatents::kLabels;
  three.labels.set(3);
  EXPECT_EQ(labels(three), (V{{3, 10}, {3, 30}}));
  three.labels.set(9);  // a label the file lacks changes nothing
  EXPECT_EQ(labels(three), (V{{3, 10}, {3, 30}}));

  // The kept entries are whole: the same floats as a full load.
  StatusOr<AnyModel> a = LoadEmbeddedModel(span, "mem", three);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->int8->metadata.class_latents.size(), 2u);
  EXPECT_EQ(a->int8->metadata.class_latents[1].mean, (std::vector<float>{0.75f, -1.5f}));
  EXPECT_EQ(a->int8->metadata.class_latents[1].cov,
            (std::vector<float>{1.0f, 0.125f, 0.125f, 0.5f}));
  // And the rest of the metadata is untouched by the streaming.
  ExpectSameInt8(m, *a->int8);
  ASSERT_TRUE(a->golden.has_value());
  ExpectSameGolden(g, *a->golden);

  LoadOptions no_golden;
  no_golden.golden = false;
  StatusOr<AnyModel> b = LoadEmbeddedModel(span, "mem", no_golden);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_FALSE(b->golden.has_value());
}

TEST_F(ModelFileV2Test, EntriesALoadDropsAreStillValidated) {
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  struct Case {
    const char* what;
    std::function<void(OJson&)> edit;
    const char* message;
  };
  const Case cases[] = {
      {"cov of 3", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f), ClassLatentEntry(7, 20, 0.5f)};
         j["class_latents"][1]["cov"] = {1.0, 0.0, 1.0};
       },
       "'class_latents[1].cov': expected an array of 4 finite numbers"},
      // The loader takes an entry's numbers out of the parse as they arrive; these are what that
      // capture leaves to a second parse, whose messages must quote the values as written.
      {"a string in cov", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f)};
         j["class_latents"][0]["cov"] = {1.0, "x", 0.0, 1.0};
       },
       "'class_latents[0].cov': expected an array of 4 finite numbers, found [1.0,\"x\",0.0,1.0]"},
      {"a mean of 3", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f)};
         j["class_latents"][0]["mean"] = {0.5, 0.25, 2.0};
       },
       "'class_latents[0].mean': expected an array of 2 finite numbers, found [0.5,0.25,2.0]"},
      {"a nested array in cov", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f)};
         j["class_latents"][0]["cov"] = {1.0, 0.0, OJson::array({0.0}), 1.0};
       },
       "'class_latents[0].cov': expected an array of 4 finite numbers, found [1.0,0.0,[0.0],1.0]"},
      {"a number beyond float in cov", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f)};
         j["class_latents"][0]["cov"] = {1.0, 0.0, 0.0, 1e39};
       },
       "'class_latents[0].cov': expected an array of 4 finite numbers, found [1.0,0.0,0.0,1e+39]"},
      {"a mean that is an object", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f)};
         j["class_latents"][0]["mean"] = {{"a", 1.0}, {"b", 2.0}};
       },
       "'class_latents[0].mean': expected an array of 2 finite numbers, found {\"a\":1.0,\"b\":2.0}"},
      {"a missing cov", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f)};
         j["class_latents"][0].erase("cov");
       },
       "missing key 'class_latents[0].cov'"},
      {"a number among the entries", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(3, 10, 0.25f), 5};
       },
       "'class_latents': expected an array of objects"},
      {"label 300", [](OJson& j) {
         j["class_latents"] = {ClassLatentEntry(300, 10, 0.25f)};
       },
       "'class_latents[0].label': expected an integer in [0, 255]"},
      {"temperature 0", [](OJson& j) { j["class_temperature"] = 0.0; },
       "'class_temperature': expected a number in (0, 4]"},
      {"temperature 5", [](OJson& j) { j["class_temperature"] = 5.0; },
       "'class_temperature': expected a number in (0, 4]"},
      {"temperature a string", [](OJson& j) { j["class_temperature"] = "cool"; },
       "'class_temperature'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const Bytes bytes = EditMetadata(SaveInt8(m), c.edit);
    const AlignedBuffer<uint8_t> aligned = Aligned(bytes);
    for (const LoadOptions::ClassLatents keep :
         {LoadOptions::ClassLatents::kAll, LoadOptions::ClassLatents::kNone}) {
      LoadOptions o;
      o.class_latents = keep;
      StatusOr<AnyModel> a = LoadEmbeddedModel(View(aligned), "mem", o);
      ASSERT_FALSE(a.ok());
      EXPECT_EQ(a.status().code(), StatusCode::kDataError);
      EXPECT_THAT(a.status().message(), ::testing::HasSubstr(c.message));
    }
  }
}

// A golden reconstruction outside [0, 1] is refused whether or not the load keeps the vectors.
TEST_F(ModelFileV2Test, GoldenVectorsALoadDropsAreStillValidated) {
  const GoldenVectors g = MakeGolden(2, 784);
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo), &g);
  PutU32(bytes, GetU64(bytes, Entry(bytes, 11) + kEntOffset) + 100 * 4, std::bit_cast<uint32_t>(1.5f));
  FixChecksum(bytes);
  const AlignedBuffer<uint8_t> aligned = Aligned(bytes);
  LoadOptions o;
  o.golden = false;
  StatusOr<AnyModel> a = LoadEmbeddedModel(View(aligned), "mem", o);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), ::testing::HasSubstr("golden.reconstruction[100] is 1.5"));
}

TEST_F(ModelFileV2Test, F32WithGoldenRoundTrip) {
  for (const bool with_optimizer : {false, true}) {
    SCOPED_TRACE(with_optimizer ? "with optimizer" : "without optimizer");
    const Model model = MakeModel(MnistShape::kInfo, with_optimizer);
    const GoldenVectors g = MakeGolden(2, 784);
    const std::string path = Path("f32.evae");
    ASSERT_TRUE(SaveModelWithGolden(path, model, g).ok());

    // LoadModel takes the model and ignores the golden vectors.
    StatusOr<Model> plain = LoadModel(path);
    ASSERT_TRUE(plain.ok()) << plain.status().message();
    EXPECT_EQ(std::memcmp(plain->params(), model.params(), model.param_floats() * 4), 0);
    EXPECT_EQ(plain->has_optimizer(), with_optimizer);

    StatusOr<AnyModel> any = LoadAnyModel(path);
    ASSERT_TRUE(any.ok()) << any.status().message();
    EXPECT_STREQ(any->dtype(), "f32");
    ASSERT_TRUE(any->f32.has_value());
    EXPECT_FALSE(any->int8.has_value());
    EXPECT_EQ(std::memcmp(any->f32->params(), model.params(), model.param_floats() * 4), 0);
    ExpectSameMetadata(model.metadata(), any->f32->metadata());
    ASSERT_EQ(any->f32->has_optimizer(), with_optimizer);
    if (with_optimizer) {
      EXPECT_EQ(any->f32->optimizer().step, 777);
      EXPECT_EQ(std::memcmp(any->f32->optimizer().v.data(), model.optimizer().v.data(),
                            model.param_floats() * 4),
                0);
    }
    ASSERT_TRUE(any->golden.has_value());
    ExpectSameGolden(g, *any->golden);
  }
}

TEST_F(ModelFileV2Test, PlainF32FileHasNoGolden) {
  const std::string path = Path("f32.evae");
  ASSERT_TRUE(SaveModel(path, MakeModel(Mnist2dShape::kInfo, false)).ok());
  StatusOr<AnyModel> any = LoadAnyModel(path);
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_TRUE(any->f32.has_value());
  EXPECT_FALSE(any->golden.has_value());
}

// --- Rejections ---------------------------------------------------------------------------------

TEST_F(ModelFileV2Test, LoadModelRejectsInt8File) {
  SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const std::string path = Path("int8.evae");
  StatusOr<Model> loaded = LoadModel(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kDataError);
  EXPECT_THAT(loaded.status().message(), HasSubstr(path + ": is an int8 model (dtype int8)"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("needs an f32 model"));
}

// f16: the weights come back as the nearest halves, widened exactly, flagged for half precision;
// LoadModel refuses the file like an int8 one; weights beyond the half range are refused.
TEST_F(ModelFileV2Test, F16RoundTripAndRejections) {
  const Model model = MakeModel(Mnist2dShape::kInfo, /*with_optimizer=*/true);
  const std::string path = Path("f16.evae");
  ASSERT_TRUE(SaveF16Model(path, model).ok());
  StatusOr<AnyModel> any = LoadAnyModel(path);
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_TRUE(any->f16);
  EXPECT_STREQ(any->dtype(), "f16");
  ASSERT_TRUE(any->f32.has_value());
  EXPECT_FALSE(any->f32->has_optimizer());  // no Adam state in an f16 file
  for (const TensorView& tv : model.tensors()) {
    for (size_t i = 0; i < tv.size(); ++i) {
      const float w = model.params()[tv.offset + i], got = any->f32->params()[tv.offset + i];
      // Half precision keeps 11 significant bits: relative error <= 2^-11 for normal halves.
      ASSERT_LE(std::fabs(got - w), std::max(std::fabs(w) * 0x1p-11f, 0x1p-24f))
          << tv.name << "[" << i << "]";
    }
  }
  StatusOr<ModelFileInfo> info = InspectModelFile(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tensors[0].dtype, DType::kF16);
  EXPECT_EQ(info->tensors[0].bytes, 400u * 784u * 2u);
  EXPECT_STREQ(DTypeName(DType::kF16), "f16");

  StatusOr<Model> f32_only = LoadModel(path);
  ASSERT_FALSE(f32_only.ok());
  EXPECT_THAT(f32_only.status().message(), HasSubstr("is an f16 model"));

  Model big = model.Clone();
  big.params()[big.tensors()[8].offset] = 1e6f;
  const Status s = SaveF16Model(Path("big.evae"), big);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("fc4.weight"));
}

TEST_F(ModelFileV2Test, RejectsNewerVersion) {
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  PutU32(bytes, kOffVersion, 4);
  FixChecksum(bytes);
  const Status s = LoadAnyFails(bytes, StatusCode::kUnsupported);
  EXPECT_THAT(s.message(), HasSubstr("file version 4 is newer than this build supports (3)"));
}

TEST_F(ModelFileV2Test, RejectsInt8InVersionOneFile) {
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  PutU32(bytes, kOffVersion, 1);
  FixChecksum(bytes);
  const Status s = LoadAnyFails(bytes);
  EXPECT_THAT(s.message(), HasSubstr("needs file version 2; this file is version 1"));
}

TEST_F(ModelFileV2Test, RejectsUnknownDTypeKey) {
  const Bytes bytes = EditMetadata(SaveInt8(MakeInt8Model(Mnist2dShape::kInfo)),
                                   [](OJson& j) { j["dtype"] = "int4"; });
  const Status s = LoadAnyFails(bytes);
  EXPECT_THAT(s.message(),
              HasSubstr("metadata key 'dtype': expected \"f32\", \"f16\" or \"int8\""));
}

TEST_F(ModelFileV2Test, MetadataEditWithoutChangeStillLoads) {
  // The editing helper itself must produce a valid file.
  const Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  const Bytes bytes = EditMetadata(SaveInt8(m), [](OJson& j) { j["extra"] = "ignored"; });
  EXPECT_TRUE(WriteBytes(Path("edited.evae"), bytes));
  StatusOr<AnyModel> loaded = LoadAnyModel(Path("edited.evae"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ExpectSameInt8(m, *loaded->int8);
}

TEST_F(ModelFileV2Test, RejectsBadZeroPoint) {
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  for (const int zp : {128, -129, 1000}) {
    SCOPED_TRACE(zp);
    const Bytes bytes = EditMetadata(
        good, [&](OJson& j) { j["quantization"]["layers"]["fc3"]["output_zero_point"] = zp; });
    const Status s = LoadAnyFails(bytes);
    EXPECT_THAT(s.message(),
                HasSubstr("metadata key 'quantization.layers.fc3.output_zero_point': expected an "
                          "integer in [-128, 127], found " +
                          std::to_string(zp)));
  }
  const Bytes fractional = EditMetadata(
      good, [](OJson& j) { j["quantization"]["layers"]["fc1"]["input_zero_point"] = 1.5; });
  EXPECT_THAT(LoadAnyFails(fractional).message(),
              HasSubstr("'quantization.layers.fc1.input_zero_point'"));
}

TEST_F(ModelFileV2Test, RejectsNonPositiveScale) {
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const std::vector<OJson> bad = {OJson(0.0), OJson(-0.5), OJson(1e300), OJson(nullptr),
                                  OJson("1")};
  for (const OJson& value : bad) {
    SCOPED_TRACE(value.dump());
    const Bytes bytes = EditMetadata(
        good, [&](OJson& j) { j["quantization"]["layers"]["fc21"]["weight_scale"] = value; });
    const Status s = LoadAnyFails(bytes);
    EXPECT_THAT(s.message(), HasSubstr("metadata key 'quantization.layers.fc21.weight_scale': "
                                       "expected a finite float > 0"));
  }
  const Bytes input_scale = EditMetadata(
      good, [](OJson& j) { j["quantization"]["layers"]["fc4"]["input_scale"] = 0; });
  EXPECT_THAT(LoadAnyFails(input_scale).message(),
              HasSubstr("'quantization.layers.fc4.input_scale'"));
}

TEST_F(ModelFileV2Test, RejectsMissingLayerInQuantizationMetadata) {
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const Bytes bytes =
      EditMetadata(good, [](OJson& j) { j["quantization"]["layers"].erase("fc22"); });
  EXPECT_THAT(LoadAnyFails(bytes).message(),
              HasSubstr("metadata: missing key 'quantization.layers.fc22'"));

  const Bytes no_field = EditMetadata(
      good, [](OJson& j) { j["quantization"]["layers"]["fc1"].erase("output_scale"); });
  EXPECT_THAT(LoadAnyFails(no_field).message(),
              HasSubstr("missing key 'quantization.layers.fc1.output_scale'"));

  const Bytes no_quantization = EditMetadata(good, [](OJson& j) { j.erase("quantization"); });
  EXPECT_THAT(LoadAnyFails(no_quantization).message(), HasSubstr("missing key 'quantization'"));
}

TEST_F(ModelFileV2Test, RejectsWrongReluFlag) {
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const Bytes on = EditMetadata(
      good, [](OJson& j) { j["quantization"]["layers"]["fc21"]["relu"] = true; });
  EXPECT_THAT(LoadAnyFails(on).message(),
              HasSubstr("'quantization.layers.fc21.relu': expected false"));
  const Bytes off = EditMetadata(
      good, [](OJson& j) { j["quantization"]["layers"]["fc1"]["relu"] = false; });
  EXPECT_THAT(LoadAnyFails(off).message(),
              HasSubstr("'quantization.layers.fc1.relu': expected true"));
}

TEST_F(ModelFileV2Test, RejectsInt8WeightWithWrongDims) {
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const size_t e = Entry(bytes, 8);
  ASSERT_EQ(EntryName(bytes, 8), "fc4.weight");
  PutU32(bytes, e + kEntDims + 4, 300);  // [784, 400] -> [784, 300]
  PutU64(bytes, e + kEntBytes, 784 * 300);
  FixChecksum(bytes);
  EXPECT_THAT(LoadAnyFails(bytes).message(),
              HasSubstr("tensor fc4.weight: expected [784, 400] i8, found [784, 300] i8"));
}

TEST_F(ModelFileV2Test, RejectsF32WeightInInt8Model) {
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  ASSERT_EQ(EntryName(bytes, 1), "fc1.bias");
  PutU32(bytes, Entry(bytes, 1) + 32, static_cast<uint32_t>(DType::kF32));  // i32 -> f32
  FixChecksum(bytes);
  EXPECT_THAT(LoadAnyFails(bytes).message(),
              HasSubstr("tensor fc1.bias: expected [400] i32, found [400] f32"));
}

TEST_F(ModelFileV2Test, RejectsOptimizerStateInInt8Model) {
  // An int8 model has no adam.*: renaming the golden tensors is not needed, a name is enough.
  const GoldenVectors g = MakeGolden(1, 784);
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo), &g);
  std::memcpy(bytes.data() + Entry(bytes, 10), "adam.m\0\0\0\0\0\0\0", 13);
  FixChecksum(bytes);
  EXPECT_THAT(LoadAnyFails(bytes).message(), HasSubstr("unknown tensor 'adam.m' in an int8 model"));
}

TEST_F(ModelFileV2Test, RejectsGoldenTensorWithoutTheOther) {
  const GoldenVectors g = MakeGolden(2, 784);
  for (const bool int8 : {false, true}) {
    SCOPED_TRACE(int8 ? "int8" : "f32");
    Bytes bytes;
    if (int8) {
      bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo), &g);
    } else {
      ASSERT_TRUE(SaveModelWithGolden(Path("f.evae"), MakeModel(Mnist2dShape::kInfo, false), g)
                      .ok());
      bytes = ReadBytes(Path("f.evae"));
    }
    const uint32_t count = GetU32(bytes, kOffTensorCount);
    ASSERT_EQ(EntryName(bytes, count - 1), "golden.reconstruction");
    Bytes dropped = bytes;
    PutU32(dropped, kOffTensorCount, count - 1);
    FixChecksum(dropped);
    EXPECT_THAT(LoadAnyFails(dropped).message(),
                HasSubstr("tensor 'golden.pixels' without 'golden.reconstruction'"));

    // The other way round: swap the two entries, then drop the last (now golden.pixels).
    Bytes swapped = bytes;
    std::swap_ranges(swapped.begin() + Entry(swapped, count - 2),
                     swapped.begin() + Entry(swapped, count - 1),
                     swapped.begin() + Entry(swapped, count - 1));
    ASSERT_EQ(EntryName(swapped, count - 1), "golden.pixels");
    PutU32(swapped, kOffTensorCount, count - 1);
    FixChecksum(swapped);
    EXPECT_THAT(LoadAnyFails(swapped).message(),
                HasSubstr("tensor 'golden.reconstruction' without 'golden.pixels'"));
  }
}

TEST_F(ModelFileV2Test, RejectsGoldenCountMismatch) {
  const GoldenVectors g = MakeGolden(3, 784);
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo), &g);
  const Bytes more = EditMetadata(good, [](OJson& j) { j["golden"]["count"] = 4; });
  EXPECT_THAT(LoadAnyFails(more).message(),
              HasSubstr("tensor golden.pixels is [3, 784], but metadata golden.count is 4"));
  const Bytes zero = EditMetadata(good, [](OJson& j) { j["golden"]["count"] = 0; });
  EXPECT_THAT(LoadAnyFails(zero).message(), HasSubstr("'golden.count'"));
  const Bytes missing = EditMetadata(good, [](OJson& j) { j.erase("golden"); });
  EXPECT_THAT(LoadAnyFails(missing).message(), HasSubstr("missing key 'golden'"));
  const Bytes negative =
      EditMetadata(good, [](OJson& j) { j["golden"]["max_abs_error"] = -1; });
  EXPECT_THAT(LoadAnyFails(negative).message(), HasSubstr("'golden.max_abs_error'"));

  // Rows of the two tensors disagree with each other.
  Bytes rows = good;
  ASSERT_EQ(EntryName(rows, 11), "golden.reconstruction");
  PutU32(rows, Entry(rows, 11) + kEntDims, 2);
  PutU64(rows, Entry(rows, 11) + kEntBytes, 2 * 784 * 4);
  FixChecksum(rows);
  EXPECT_THAT(LoadAnyFails(rows).message(),
              HasSubstr("tensor golden.reconstruction is [2, 784], but metadata golden.count is 3"));
}

TEST_F(ModelFileV2Test, RejectsGoldenMetadataWithoutTensors) {
  const Bytes bytes = EditMetadata(SaveInt8(MakeInt8Model(Mnist2dShape::kInfo)), [](OJson& j) {
    j["golden"] = {{"count", 1}, {"max_abs_error", 0.1}, {"mean_abs_error", 0.01}};
  });
  EXPECT_THAT(LoadAnyFails(bytes).message(), HasSubstr("metadata key 'golden' is present"));
}

TEST_F(ModelFileV2Test, RejectsGoldenReconstructionOutOfRange) {
  const GoldenVectors g = MakeGolden(2, 784);
  Bytes bytes = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo), &g);
  const size_t at = GetU64(bytes, Entry(bytes, 11) + kEntOffset) + 5 * 4;
  for (const float bad : {1.5f, -0.25f, std::numeric_limits<float>::quiet_NaN()}) {
    const uint32_t u = std::bit_cast<uint32_t>(bad);
    PutU32(bytes, at, u);
    FixChecksum(bytes);
    EXPECT_THAT(LoadAnyFails(bytes).message(), HasSubstr("golden.reconstruction[5]"));
  }
}

// --- Hostile metadata (docs/reliability.md) ------------------------------------------------------

TEST_F(ModelFileV2Test, RefusesDeeplyNestedMetadataInOneShortLine) {
  // 100,000 levels: nlohmann parses it, but printing it (an error message, `info`) recursed
  // until the stack overflowed.
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  const Bytes deep =
      WithExtraMember(good, "\"deep\": " + std::string(100000, '[') + std::string(100000, ']'));
  const Status s = LoadAnyFails(deep);
  EXPECT_THAT(s.message(), HasSubstr("nested deeper than 32 levels"));
  EXPECT_LT(s.message().size(), 300u) << s.message();
  // Inspection still works and says why the metadata is not to be parsed.
  StatusOr<ModelFileInfo> info = InspectModelFile(Path("bad.evae"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_THAT(info->metadata_problem, HasSubstr("nested deeper than 32 levels"));
  // 32 levels are fine (an unknown key is ignored).
  const Bytes ok = WithExtraMember(good, "\"d\": " + std::string(31, '[') + std::string(31, ']'));
  EXPECT_TRUE(WriteBytes(Path("ok.evae"), ok));
  EXPECT_TRUE(LoadAnyModel(Path("ok.evae")).ok());
}

TEST_F(ModelFileV2Test, LongWrongValuesGiveShortMessages) {
  // A value of the wrong type is shown in the message, but only its first ~80 characters.
  const Bytes bytes = EditMetadata(SaveInt8(MakeInt8Model(Mnist2dShape::kInfo)), [](OJson& j) {
    j["dataset"] = OJson::array();
    for (int i = 0; i < 100000; ++i) j["dataset"].push_back(i);
  });
  const Status s = LoadAnyFails(bytes);
  EXPECT_THAT(s.message(), HasSubstr("metadata key 'dataset': expected a string, found [0,1,2,"));
  EXPECT_LT(s.message().size(), 300u) << s.message();
}

TEST_F(ModelFileV2Test, RefusesNulAndGarbageInsideTheMetadata) {
  // nlohmann stops at a NUL as if the text ended there; the safetensors reader refuses it too.
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  std::string text = MetadataText(good);
  text += std::string(1, '\0') + "garbage";
  const Status s = LoadAnyFails(WithMetadata(good, text));
  EXPECT_THAT(s.message(), AllOf(HasSubstr("NUL byte at file offset"), HasSubstr("is not JSON")));
}

TEST_F(ModelFileV2Test, RefusesObjectsWithTooManyKeys) {
  // 300,000 keys made `info` quadratic (ordered_json): refused by the structure check, in linear
  // time, by the loader and the inspector alike.
  std::string member = "\"many\": {";
  for (int i = 0; i < 300000; ++i) member += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  member += "}";
  const Status s = LoadAnyFails(WithExtraMember(SaveInt8(MakeInt8Model(Mnist2dShape::kInfo)), member));
  EXPECT_THAT(s.message(), HasSubstr("more than 256 keys"));
  StatusOr<ModelFileInfo> info = InspectModelFile(Path("bad.evae"));
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->metadata_problem, HasSubstr("more than 256 keys"));
}

TEST_F(ModelFileV2Test, RefusesQuantizationTheKernelsCannotRun) {
  // An output scale of 1e38 passed "finite and > 0", and XNNPACK then asserted (SIGABRT) when the
  // engine was built: the loader checks the requantization scale each layer implies.
  const Bytes good = SaveInt8(MakeInt8Model(Mnist2dShape::kInfo));
  for (const double scale : {1e38, 1e-38}) {
    SCOPED_TRACE(scale);
    const Bytes bytes = EditMetadata(good, [&](OJson& j) {
      j["quantization"]["layers"]["fc4"]["output_scale"] = scale;
    });
    const Status s = LoadAnyFails(bytes);
    EXPECT_THAT(s.message(), AllOf(HasSubstr("'quantization.layers.fc4'"),
                                   HasSubstr("expected a requantization scale in [2^-32, 256)")));
  }
  // A layer's input range must be the range its producer writes.
  const Bytes unchained = EditMetadata(
      good, [](OJson& j) { j["quantization"]["layers"]["fc21"]["input_scale"] = 0.5; });
  EXPECT_THAT(LoadAnyFails(unchained).message(),
              AllOf(HasSubstr("fc21 input range (scale 0.500000"),
                    HasSubstr("differs from the output range of fc1")));
  // The writer refuses the same.
  Int8Model m = MakeInt8Model(Mnist2dShape::kInfo);
  m.layers[4].output.scale = 1e38f;
  EXPECT_THAT(SaveInt8Model(Path("refused.evae"), m).message(),
              HasSubstr("fc4.input.scale * weight_scale / output.scale is"));
}

TEST_F(ModelFileV2Test, SaveRefusesWhatLoadWouldReject) {
  const Int8Model good = MakeInt8Model(Mnist2dShape::kInfo);
  const std::string path = Path("refused.evae");
  {
    Int8Model m = good;
    m.layers[2].output.zero_point = 200;
    const Status s = SaveInt8Model(path, m);
    EXPECT_EQ(s.code(), StatusCode::kDataError);
    EXPECT_THAT(s.message(), HasSubstr("fc22.output.zero_point is 200"));
  }
  {
    Int8Model m = good;
    m.layers[3].weight_scale = 0;
    EXPECT_THAT(SaveInt8Model(path, m).message(), HasSubstr("fc3.weight_scale"));
  }
  {
    Int8Model m = good;
    m.layers[4].weight = m.layers[4].weight.first(m.layers[4].weight.size() - 1);
    EXPECT_THAT(SaveInt8Model(path, m).message(), HasSubstr("fc4 has"));
  }
  {
    Int8Model m = good;
    m.layers[0].relu = false;
    EXPECT_THAT(SaveInt8Model(path, m).message(), HasSubstr("fc1.relu"));
  }
  {
    GoldenVectors g = MakeGolden(2, 784);
    g.reconstruction[3] = 2.0f;
    EXPECT_THAT(SaveInt8Model(path, good, &g).message(), HasSubstr("reconstruction[3]"));
    g = MakeGolden(2, 784);
    g.pixels.pop_back();
    EXPECT_FALSE(SaveModelWithGolden(path, MakeModel(Mnist2dShape::kInfo, false), g).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace edgevae
