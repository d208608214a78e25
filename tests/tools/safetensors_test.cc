// Tests of the safetensors import and export: round trips, the layout PyTorch's safetensors
// library writes, and every rejection ImportSafetensors promises. The files are built here byte
// by byte (length, JSON, buffer), independently of the code under test.
#include "edgevae/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "common/temp_dir.h"

namespace edgevae {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using OJson = nlohmann::ordered_json;

// --- Building files by hand
// -----------------------------------------------------------------------

struct Tensor {
  std::string name;
  std::vector<uint64_t> shape;
  std::vector<float> values;
};

// The ten tensors of an input-hidden-latent VAE in PyTorch's sorted-name order, every value
// distinct so that a misplaced tensor shows.
std::vector<Tensor> StateDict(int input, int hidden, int latent) {
  const auto u = [](int v) { return static_cast<uint64_t>(v); };
  std::vector<Tensor> t = {
      {"fc1.bias", {u(hidden)}, {}},  {"fc1.weight", {u(hidden), u(input)}, {}},
      {"fc21.bias", {u(latent)}, {}}, {"fc21.weight", {u(latent), u(hidden)}, {}},
      {"fc22.bias", {u(latent)}, {}}, {"fc22.weight", {u(latent), u(hidden)}, {}},
      {"fc3.bias", {u(hidden)}, {}},  {"fc3.weight", {u(hidden), u(latent)}, {}},
      {"fc4.bias", {u(input)}, {}},   {"fc4.weight", {u(input), u(hidden)}, {}},
  };
  for (size_t k = 0; k < t.size(); ++k) {
    size_t n = 1;
    for (const uint64_t d : t[k].shape) n *= d;
    t[k].values.resize(n);
    for (size_t i = 0; i < n; ++i) {
      t[k].values[i] = 0.05f * std::sin(0.37f * static_cast<float>(i) + static_cast<float>(k));
    }
  }
  return t;
}
std::vector<Tensor> StateDict(const ShapeInfo& s) { return StateDict(s.input, s.hidden, s.latent); }

Tensor* Find(std::vector<Tensor>& tensors, const std::string& name) {
  for (Tensor& t : tensors) {
    if (t.name == name) return &t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return &tensors[0];
}

void AppendF32(std::string* out, float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(u >> (8 * i)));
}

// A header (as a JSON object) and the buffer it describes.
struct Parts {
  OJson header = OJson::object();
  std::string buffer;
};

// What PyTorch's safetensors library writes: "__metadata__" first (if any), then the tensors in
// the given order, fields dtype, shape, data_offsets; the data contiguous in the same order.
Parts Layout(const std::vector<Tensor>& tensors, const OJson& metadata = {{"format", "pt"}}) {
  Parts p;
  if (!metadata.is_null()) p.header["__metadata__"] = metadata;
  for (const Tensor& t : tensors) {
    const uint64_t begin = p.buffer.size();
    for (const float f : t.values) AppendF32(&p.buffer, f);
    OJson entry = OJson::object();
    entry["dtype"] = "F32";
    entry["shape"] = t.shape;
    entry["data_offsets"] = {begin, static_cast<uint64_t>(p.buffer.size())};
    p.header[t.name] = entry;
  }
  return p;
}

// Length (u64, little-endian), header text, buffer.
std::string FileBytes(const std::string& header_text, const std::string& buffer) {
  std::string out;
  const uint64_t n = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  return out + header_text + buffer;
}

// Compact JSON padded with spaces to a multiple of 8, as the safetensors library does.
std::string HeaderText(const OJson& header, bool pad = true) {
  std::string text = header.dump();
  if (pad) text.resize((text.size() + 7) / 8 * 8, ' ');
  return text;
}

std::string FileBytes(const Parts& p, bool pad = true) {
  return FileBytes(HeaderText(p.header, pad), p.buffer);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every tensor of `model` holds exactly (bit for bit) the values in `tensors`.
void ExpectValues(const Model& model, const std::vector<Tensor>& tensors) {
  for (const TensorView& tv : model.tensors()) {
    const Tensor* t = nullptr;
    for (const Tensor& c : tensors) {
      if (c.name == tv.name) t = &c;
    }
    ASSERT_NE(t, nullptr) << tv.name;
    ASSERT_EQ(t->values.size(), tv.size()) << tv.name;
    EXPECT_EQ(std::memcmp(model.params() + tv.offset, t->values.data(), tv.size() * 4), 0)
        << tv.name;
  }
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string Write(const std::string& bytes, const std::string& name = "in.safetensors") {
    const std::string path = Path(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  // Imports `bytes` expecting a failure: one line, starting with the path, containing every
  // expected piece. Returns the message.
  std::string Rejected(const std::string& bytes, const std::vector<std::string>& pieces) {
    const std::string path = Write(bytes);
    StatusOr<Model> model = ImportSafetensors(path);
    EXPECT_FALSE(model.ok());
    if (model.ok()) return "";
    const std::string& m = model.status().message();
    EXPECT_THAT(m, StartsWith(path + ": "));
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    for (const std::string& piece : pieces) EXPECT_THAT(m, HasSubstr(piece));
    return m;
  }

  testutil::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

// --- Round trips and PyTorch's layout
// --------------------------------------------------------------

class SafetensorsRoundTripTest : public SafetensorsTest,
                                 public ::testing::WithParamInterface<ShapeInfo> {};

TEST_P(SafetensorsRoundTripTest, ExportThenImportIsBitIdentical) {
  StatusOr<Model> created = Model::Create(GetParam());
  ASSERT_TRUE(created.ok()) << created.status().message();
  Model model = std::move(created).value();
  model.InitializeLikeTorch(0x5AFE7E45);
  // Values a lossy path would change: signed zero, subnormals, the extremes.
  float* w4 = model.params() + model.layout().layers[4].weight;
  w4[0] = -0.0f;
  w4[1] = std::numeric_limits<float>::denorm_min();
  w4[2] = -std::numeric_limits<float>::max();
  w4[3] = std::numeric_limits<float>::min();
  model.metadata().epochs = 17;
  model.EnsureOptimizer();  // not exported

  const std::string path = Path("model.safetensors");
  const Status s = ExportSafetensors(path, model);
  ASSERT_TRUE(s.ok()) << s.message();
  StatusOr<Model> back = ImportSafetensors(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->shape().name, GetParam().name);
  for (const TensorView& tv : model.tensors()) {
    EXPECT_EQ(std::memcmp(back->params() + tv.offset, model.params() + tv.offset, tv.size() * 4), 0)
        << tv.name;
  }
  EXPECT_EQ(back->metadata().epochs, 17);
  EXPECT_EQ(back->metadata().dataset, "mnist");
  EXPECT_FALSE(back->has_optimizer());

  // The file is exactly header + the ten tensors' floats.
  const std::string bytes = ReadAll(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + GetParam().ParamCount() * 4);
}

INSTANTIATE_TEST_SUITE_P(Shapes, SafetensorsRoundTripTest,
                         ::testing::Values(Mnist2dShape::kInfo, MnistShape::kInfo),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(SafetensorsTest, ImportsPyTorchsLayout) {
  // Keys sorted, compact JSON, padded with spaces to a multiple of 8, {"format": "pt"}.
  const std::vector<Tensor> tensors = StateDict(MnistShape::kInfo);
  const Parts parts = Layout(tensors);
  const std::string text = HeaderText(parts.header);
  ASSERT_EQ(text.rfind("{\"__metadata__\":{\"format\":\"pt\"},\"fc1.bias\":{\"dtype\":\"F32\","
                       "\"shape\":[400],\"data_offsets\":[0,1600]},",
                       0),
            0u)
      << text.substr(0, 200);
  StatusOr<Model> model = ImportSafetensors(Write(FileBytes(parts)));
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->shape().name, "mnist");
  EXPECT_EQ(model->metadata().dataset, "mnist");
  EXPECT_EQ(model->metadata().epochs, 0);
  ExpectValues(*model, tensors);
}

TEST_F(SafetensorsTest, ImportsOtherValidLayouts) {
  // No metadata, no padding, data in the state_dict's own order, metadata last.
  std::vector<Tensor> tensors = StateDict(Mnist2dShape::kInfo);
  {
    StatusOr<Model> m = ImportSafetensors(Write(FileBytes(Layout(tensors, nullptr), false)));
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->shape().name, "mnist2d");
    ExpectValues(*m, tensors);
  }
  std::vector<Tensor> model_order;
  for (const char* name : {"fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight",
                           "fc22.bias", "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"}) {
    model_order.push_back(*Find(tensors, name));
  }
  Parts parts = Layout(model_order, nullptr);
  parts.header["__metadata__"] = {{"epochs", "10"}, {"format", "pt"}};
  StatusOr<Model> m = ImportSafetensors(Write(FileBytes(parts)));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->metadata().epochs, 10);
  ExpectValues(*m, tensors);
}

TEST_F(SafetensorsTest, ExportWritesPyTorchsLayoutByteForByte) {
  StatusOr<Model> model = Model::Create(Mnist2dShape::kInfo);
  ASSERT_TRUE(model.ok());
  model->InitializeLikeTorch(3);
  model->metadata().epochs = 4;
  const std::string path = Path("out.safetensors");
  ASSERT_TRUE(ExportSafetensors(path, *model).ok());

  std::vector<Tensor> tensors = StateDict(Mnist2dShape::kInfo);
  for (Tensor& t : tensors) {
    for (const TensorView& tv : model->tensors()) {
      if (tv.name == t.name) {
        t.values.assign(model->params() + tv.offset, model->params() + tv.offset + tv.size());
      }
    }
  }
  const OJson metadata = {{"format", "pt"}, {"dataset", "mnist"}, {"epochs", "4"}};
  EXPECT_TRUE(ReadAll(path) == FileBytes(Layout(tensors, metadata)));
}

// --- Rejections: the container
// --------------------------------------------------------------------

TEST_F(SafetensorsTest, RejectsFileShorterThanTheLength) {
  Rejected("abcde", {"truncated", "5 bytes", "8-byte header length"});
  Rejected("", {"truncated", "0 bytes"});
}

TEST_F(SafetensorsTest, RejectsHeaderLengthLargerThanTheFile) {
  std::string bytes = FileBytes(Layout(StateDict(Mnist2dShape::kInfo)));
  const uint64_t size = bytes.size();
  for (const uint64_t n : {size - 7, size, ~uint64_t{0}, uint64_t{1} << 63}) {
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
    Rejected(bytes, {"header length " + std::to_string(n), "larger than the file",
                     std::to_string(size) + " bytes"});
  }
  // A PNG, say: its first 8 bytes read as a huge length.
  Rejected(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), {"header length", "larger than"});
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotJson) {
  Rejected(FileBytes("{\"fc1.weight\": {\"dtype\": ", ""),
           {"header", "is not JSON", "parse error"});
  // Padding must be spaces (JSON whitespace), not NULs.
  std::string text = Layout(StateDict(Mnist2dShape::kInfo)).header.dump();
  const Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  text.resize((text.size() + 8) / 8 * 8, '\0');
  Rejected(FileBytes(text, parts.buffer), {"is not JSON", "NUL byte", "padding must be spaces"});
  Rejected(FileBytes(parts.header.dump() + std::string("\0{}", 3), parts.buffer),
           {"NUL byte at file offset " + std::to_string(8 + parts.header.dump().size())});
  Rejected(FileBytes("[1, 2]", ""), {"expected a JSON object, found array"});
  Rejected(FileBytes("", ""), {"is not JSON"});
}

TEST_F(SafetensorsTest, RejectsDeeplyNestedHeaderInOneShortLine) {
  // A 200 KB file nested 100,000 deep crashed `convert --from-safetensors` (stack overflow while
  // printing the value in an error).
  const Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  std::string text = parts.header.dump();
  text.insert(text.size() - 1,
              ",\"__metadata__\":{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}");
  const std::string m = Rejected(FileBytes(text, parts.buffer), {"nested deeper than 32 levels"});
  EXPECT_LT(m.size(), 300u) << m;
}

TEST_F(SafetensorsTest, RejectsDuplicateKey) {
  const Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  std::string text = parts.header.dump();
  const std::string entry = "\"fc1.bias\":" + parts.header["fc1.bias"].dump();
  text.insert(text.size() - 1, "," + entry);
  Rejected(FileBytes(text, parts.buffer), {"'fc1.bias' appears more than once"});
}

TEST_F(SafetensorsTest, RejectsOffsetsBeyondTheBuffer) {
  Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  parts.buffer.resize(parts.buffer.size() - 4);  // a truncated file
  const uint64_t buffer = parts.buffer.size();
  const std::string begin = std::to_string(buffer + 4 - 784 * 400 * 4);
  Rejected(FileBytes(parts),
           {"tensor 'fc4.weight'", "data_offsets [" + begin + ", ",
            "extend beyond the byte buffer (" + std::to_string(buffer) + " bytes"});
}

TEST_F(SafetensorsTest, RejectsReversedOffsets) {
  Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  OJson& offsets = parts.header["fc3.bias"]["data_offsets"];
  const uint64_t begin = offsets[0], end = offsets[1];
  offsets = {end, begin};
  Rejected(FileBytes(parts), {"tensor 'fc3.bias'", "data_offsets [" + std::to_string(end) + ", " +
                                                       std::to_string(begin) + "] are reversed"});
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  OJson& offsets = parts.header["fc1.weight"]["data_offsets"];  // right after fc1.bias
  offsets = {offsets[0].get<uint64_t>() - 4, offsets[1].get<uint64_t>() - 4};
  Rejected(FileBytes(parts),
           {"tensor 'fc1.weight' at [1596, ", "overlaps tensor 'fc1.bias' at [0, 1600)"});
  // Two tensors on the same bytes.
  Parts same = Layout(StateDict(Mnist2dShape::kInfo));
  same.header["fc21.bias"]["data_offsets"] = same.header["fc22.bias"]["data_offsets"];
  Rejected(FileBytes(same), {"overlaps"});
}

TEST_F(SafetensorsTest, RejectsBytesThatBelongToNoTensor) {
  Parts trailing = Layout(StateDict(Mnist2dShape::kInfo));
  const uint64_t size = trailing.buffer.size();
  trailing.buffer += std::string(4, '\0');
  Rejected(FileBytes(trailing), {"bytes [" + std::to_string(size) + ", " +
                                     std::to_string(size + 4) + ") at the end of the byte buffer",
                                 "no tensor"});
  Parts gap = Layout(StateDict(Mnist2dShape::kInfo));
  OJson& offsets = gap.header["fc4.weight"]["data_offsets"];  // last in the buffer
  const uint64_t begin = offsets[0];
  offsets = {begin + 4, offsets[1].get<uint64_t>() + 4};
  gap.buffer.insert(begin, 4, '\0');
  Rejected(FileBytes(gap), {"bytes [" + std::to_string(begin) + ", " + std::to_string(begin + 4) +
                            ") of the byte buffer belong to no tensor"});
}

TEST_F(SafetensorsTest, RejectsByteLengthThatIsNotTheShapesSize) {
  Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
  parts.header["fc1.bias"]["shape"] = {401};
  Rejected(FileBytes(parts),
           {"tensor 'fc1.bias'", "byte length 1600", "expected 1604", "shape [401] F32"});
  // A product that overflows 64 bits is not wrapped around into a match.
  Parts huge = Layout(StateDict(Mnist2dShape::kInfo));
  huge.header["fc1.bias"]["shape"] = {1ull << 32, 1ull << 32, 25};
  Rejected(FileBytes(huge), {"tensor 'fc1.bias'", "byte length 1600", "more than 2^64"});
}

TEST_F(SafetensorsTest, RejectsDtypeOtherThanF32) {
  for (const char* dtype : {"F16", "BF16", "F64", "f32", "I32", ""}) {
    Parts parts = Layout(StateDict(Mnist2dShape::kInfo));
    parts.header["fc21.weight"]["dtype"] = dtype;
    Rejected(FileBytes(parts),
             {"tensor 'fc21.weight'", "dtype '" + std::string(dtype) + "', expected F32"});
  }
  Parts number = Layout(StateDict(Mnist2dShape::kInfo));
  number.header["fc21.weight"]["dtype"] = 32;
  Rejected(FileBytes(number), {"dtype: expected a string, found 32"});
}

TEST_F(SafetensorsTest, RejectsMalformedEntries) {
  {
    Parts p = Layout(StateDict(Mnist2dShape::kInfo));
    p.header["fc3.weight"].erase("shape");
    Rejected(FileBytes(p), {"tensor 'fc3.weight'", "missing field 'shape'"});
  }
  {
    Parts p = Layout(StateDict(Mnist2dShape::kInfo));
    p.header["fc3.weight"]["offsets"] = {0, 4};
    Rejected(FileBytes(p), {"tensor 'fc3.weight'", "unexpected field 'offsets'"});
  }
  {
    Parts p = Layout(StateDict(Mnist2dShape::kInfo));
    p.header["fc3.weight"]["shape"] = {-400, 2};
    Rejected(FileBytes(p), {"shape: expected an array of non-negative integers, found [-400,2]"});
  }
  {
    Parts p = Layout(StateDict(Mnist2dShape::kInfo));
    p.header["fc3.weight"]["data_offsets"] = {0};
    Rejected(FileBytes(p), {"data_offsets: expected [begin, end]", "found [0]"});
  }
  {
    Parts p = Layout(StateDict(Mnist2dShape::kInfo));
    p.header["fc3.weight"] = "F32";
    Rejected(FileBytes(p), {"tensor 'fc3.weight': expected an object"});
  }
}

TEST_F(SafetensorsTest, RejectsBadMetadata) {
  Parts p = Layout(StateDict(Mnist2dShape::kInfo), {{"format", "pt"}, {"epochs", "ten"}});
  Rejected(FileBytes(p), {"__metadata__ key 'epochs'", "decimal integer", "found 'ten'"});
  p = Layout(StateDict(Mnist2dShape::kInfo), {{"epochs", 10}});
  Rejected(FileBytes(p), {"__metadata__ key 'epochs': expected a string, found 10"});
  p = Layout(StateDict(Mnist2dShape::kInfo), OJson::array());
  Rejected(FileBytes(p), {"__metadata__: expected an object of strings"});
}

// --- Rejections: the tensors
// ------------------------------------------------------------------------

TEST_F(SafetensorsTest, RejectsUnknownExtraTensor) {
  std::vector<Tensor> tensors = StateDict(Mnist2dShape::kInfo);
  tensors.push_back({"fc5.weight", {2}, {1.0f, 2.0f}});
  Rejected(FileBytes(Layout(tensors)), {"unexpected tensor 'fc5.weight'", "fc1.weight, fc1.bias"});
  // A key that is not even printable is quoted, not copied raw.
  tensors.back().name = "bad\nname";
  Rejected(FileBytes(Layout(tensors)), {"unexpected tensor 'bad\\x0aname'"});
}

TEST_F(SafetensorsTest, RejectsMissingTensor) {
  std::vector<Tensor> tensors = StateDict(Mnist2dShape::kInfo);
  tensors.pop_back();  // fc4.weight
  Rejected(FileBytes(Layout(tensors)), {"missing tensor 'fc4.weight'", "expected exactly"});
}

TEST_F(SafetensorsTest, RejectsShapeThatIsNotCompiledIn) {
  Rejected(FileBytes(Layout(StateDict(784, 400, 3))),
           {"fc1.weight [400, 784] and fc21.weight [3, 400]", "784-400-3 is not compiled in",
            "compiled shapes: mnist (784-400-20), mnist2d (784-400-2)"});
  Rejected(FileBytes(Layout(StateDict(100, 400, 20))), {"100-400-20 is not compiled in"});
  // fc1.weight flattened to 1-D.
  Parts p = Layout(StateDict(Mnist2dShape::kInfo));
  p.header["fc1.weight"]["shape"] = {400 * 784};
  Rejected(FileBytes(p), {"tensor 'fc1.weight': shape [313600], expected 2-D"});
}

TEST_F(SafetensorsTest, RejectsShapesInconsistentWithTheOthers) {
  Parts p = Layout(StateDict(MnistShape::kInfo));
  p.header["fc3.weight"]["shape"] = {20, 400};  // transposed: same byte length
  Rejected(FileBytes(p),
           {"tensor 'fc3.weight': shape [20, 400], expected [400, 20]", "mnist (784-400-20)"});
  p = Layout(StateDict(MnistShape::kInfo));
  p.header["fc22.bias"]["shape"] = {4, 5};
  Rejected(FileBytes(p), {"tensor 'fc22.bias': shape [4, 5], expected [20]"});
}

TEST_F(SafetensorsTest, RejectsNonFiniteValuesNamingTensorAndIndex) {
  std::vector<Tensor> tensors = StateDict(Mnist2dShape::kInfo);
  Find(tensors, "fc3.weight")->values[5] = std::numeric_limits<float>::quiet_NaN();
  Rejected(FileBytes(Layout(tensors)), {"non-finite value in fc3.weight[5]"});
  tensors = StateDict(Mnist2dShape::kInfo);
  Find(tensors, "fc4.bias")->values[783] = -std::numeric_limits<float>::infinity();
  Rejected(FileBytes(Layout(tensors)), {"non-finite value in fc4.bias[783]"});
}

TEST_F(SafetensorsTest, RejectsWhatIsNotAFile) {
  const std::string missing = Path("missing.safetensors");
  StatusOr<Model> m = ImportSafetensors(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), StartsWith(missing + ": cannot open"));
  m = ImportSafetensors(dir_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), StartsWith(dir_ + ": is a directory"));
}

// --- Export failures
// ------------------------------------------------------------------------------

TEST_F(SafetensorsTest, ExportRefusesNonFiniteAndLeavesTheOldFile) {
  StatusOr<Model> model = Model::Create(Mnist2dShape::kInfo);
  ASSERT_TRUE(model.ok());
  const std::string path = Write("old contents", "out.safetensors");
  model->params()[model->layout().layers[3].bias + 7] = std::numeric_limits<float>::infinity();
  const Status s = ExportSafetensors(path, *model);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), StartsWith(path + ": "));
  EXPECT_THAT(s.message(), HasSubstr("fc3.bias[7]"));
  EXPECT_EQ(ReadAll(path), "old contents");

  const std::string nowhere = Path("no/such/dir/out.safetensors");
  model->params()[model->layout().layers[3].bias + 7] = 0;
  const Status t = ExportSafetensors(nowhere, *model);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.message(), StartsWith(nowhere + ": "));
  EXPECT_EQ(t.message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace edgevae
