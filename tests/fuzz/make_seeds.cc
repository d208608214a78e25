// Writes the fuzz harnesses' seed inputs: `fuzz_make_seeds OUT` creates OUT/<harness>/<seed> for
// every harness in tests/fuzz. The files come from the library's own writers where there are
// some (model files of every version and dtype, safetensors), from zlib and libpng for the IDX
// and PNG variants, and from the lists below for requests and option strings, each wrapped in its
// harness's input format (see the harness's comment). Nothing here is a hand-edited binary: after
// a format change, `tools/fuzz.sh --seeds` runs this again and commits the result.
//
// The models have the smallest compiled shape (tiny, 784-8-2; mnist for one seed each) and
// zero weights, so that a model seed is the file's first kilobytes in the model harness's pad
// mode: the harness re-creates the megabytes of zero tensor data.
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/model_bytes.h"
#include "edgevae/model_file.h"
#include "edgevae/model_writer.h"
#include "edgevae/model.h"
#include "edgevae/quant.h"
#include "edgevae/safetensors.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"

namespace {

using Bytes = std::vector<uint8_t>;
using namespace edgevae;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fuzz_make_seeds: error: %s\n", message.c_str());
  std::exit(1);
}

void Check(const Status& s) {
  if (!s.ok()) Die(s.message());
}

std::string g_out;      // OUT
std::string g_scratch;  // a temporary folder for the writers' files

void MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) Die("cannot create " + dir);
}

void Put(const std::string& harness, const std::string& name, const Bytes& bytes) {
  MakeDir(g_out + "/" + harness);
  const std::string path = g_out + "/" + harness + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) Die("cannot write " + path);
}

void PutText(const std::string& harness, const std::string& name, uint8_t first,
             const std::string& text) {
  Bytes b = {first};
  b.insert(b.end(), text.begin(), text.end());
  Put(harness, name, b);
}

Bytes ReadBack(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.empty()) Die("cannot read " + path);
  ::unlink(path.c_str());
  return b;
}

uint32_t GetLe32(const Bytes& b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 |
         uint32_t{b[at + 3]} << 24;
}
uint64_t GetLe64(const Bytes& b, size_t at) {
  return GetLe32(b, at) | uint64_t{GetLe32(b, at + 4)} << 32;
}
void PutLe32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// --- Model files (model_file_fuzz.cc: flags, then pad mode's fill, fill_from, prefix) ---------

constexpr uint8_t kRepairChecksum = 1, kPad = 2, kUseModel = 4, kLoadModel = 8;

// Offset of the named tensor's data (docs/model-format.md: table at offset 64, 72-byte entries).
uint64_t TensorOffset(const Bytes& file, const std::string& name) {
  const uint32_t count = GetLe32(file, 60);
  const uint64_t table = GetLe64(file, 64);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = static_cast<size_t>(table + 72 * i);
    if (std::string(reinterpret_cast<const char*>(&file[e]), strnlen(reinterpret_cast<const char*>(&file[e]), 32)) == name) {
      return GetLe64(file, e + 56);
    }
  }
  Die("no tensor " + name);
}

// The model as a pad-mode seed: everything before the first tensor, which must be followed by
// zeros only (a model with zero weights), so that the harness rebuilds exactly this file.
Bytes PadSeed(uint8_t flags, const Bytes& file, uint8_t fill = 0, uint32_t fill_from = 0,
              uint32_t version = 0) {
  const uint32_t count = GetLe32(file, 60);
  const uint64_t table = GetLe64(file, 64);
  uint64_t first = file.size();
  for (uint32_t i = 0; i < count; ++i) first = std::min(first, GetLe64(file, table + 72 * i + 56));
  for (size_t i = first; i < file.size(); ++i) {
    if (file[i] != 0) Die("model seed with non-zero tensor data at offset " + std::to_string(i));
  }
  Bytes seed = {static_cast<uint8_t>(flags | kPad), fill};
  PutLe32(seed, fill_from);
  seed.insert(seed.end(), file.begin(), file.begin() + static_cast<ptrdiff_t>(first));
  if (version != 0) {  // a version-1 file: the same container (the harness repairs the checksum)
    for (int i = 0; i < 4; ++i) seed[6 + 8 + i] = static_cast<uint8_t>(version >> (8 * i));
  }
  return seed;
}

ModelMetadata Metadata() {
  ModelMetadata md;
  md.dataset = "mnist";
  md.epochs = 3;
  md.seed = 1;
  md.batch = 128;
  md.lr = 0.001;
  md.train_loss = 150.25;
  md.test_loss = std::numeric_limits<double>::quiet_NaN();  // written as null
  return md;
}

// Statistics for `latent` dimensions: two components of 7, one of 3, one singular of 1.
std::vector<ClassLatentStats> ClassLatents(int latent) {
  std::vector<ClassLatentStats> out;
  const auto make = [&](int label, int count, float scale, float diag) {
    ClassLatentStats c;
    c.label = label;
    c.count = count;
    c.mean.assign(latent, 0.0f);
    c.cov.assign(static_cast<size_t>(latent) * latent, 0.0f);
    for (int i = 0; i < latent; ++i) {
      c.mean[i] = scale * static_cast<float>(i % 3 - 1);
      c.cov[static_cast<size_t>(i) * latent + i] = diag;
      if (i + 1 < latent && diag > 0) {  // symmetric, still positive definite
        c.cov[static_cast<size_t>(i) * latent + i + 1] = 0.25f * diag;
        c.cov[static_cast<size_t>(i + 1) * latent + i] = 0.25f * diag;
      }
    }
    out.push_back(std::move(c));
  };
  make(7, 40, 0.5f, 1.0f);
  make(7, 20, -1.5f, 0.5f);
  make(3, 30, 1.0f, 2.0f);
  make(1, 5, 0.25f, 0.0f);  // singular: the sampler adds jitter
  return out;
}

StatusOr<Model> ZeroModel(const ShapeInfo& shape) {
  EVAE_ASSIGN_OR_RETURN(Model m, Model::Create(shape));
  m.metadata() = Metadata();
  return m;
}

Int8Model ZeroInt8(const ShapeInfo& s) {
  Int8Model m;
  m.shape = s;
  m.metadata = Metadata();
  m.calibration = CalibrationName(Calibration::kMse);
  m.calibration_images = 2000;
  const QuantRange pixels{1.0f / 255.0f, -128}, hidden{0.05f, -128}, code{0.1f, 0},
      z{0.05f, 0}, logits{0.125f, 0};
  // Every hidden layer shares one range, so each input range is its producer's output range.
  m.layers.resize(s.layers.size());
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerInfo& spec = s.layers[i];
    Int8Layer& l = m.layers[i];
    l.out = spec.out;
    l.in = spec.in;
    l.weight_scale = 0.01f;
    const bool first_decoder = spec.role == LayerRole::kDecoder && s.Find(LayerRole::kDecoder) == int(i);
    l.input = i == 0 ? pixels : first_decoder ? z : hidden;
    l.output = spec.role == LayerRole::kMean || spec.role == LayerRole::kLogVar ? code
               : spec.role == LayerRole::kLogits                            ? logits
                                                                            : hidden;
    l.relu = spec.activation == Activation::kRelu;
    SetOwnedTensors(&m, i, std::vector<int8_t>(static_cast<size_t>(spec.out) * spec.in, 0),
                    std::vector<int32_t>(spec.out, 0));
  }
  return m;
}

GoldenVectors ZeroGolden(int input) {
  GoldenVectors g;
  g.count = 1;
  g.pixels.assign(input, 0);
  g.reconstruction.assign(input, 0.0f);
  g.max_abs_error = 0.05;
  g.mean_abs_error = 0.005;
  return g;
}

void ModelSeeds() {
  const std::string h = "model_file";
  const std::string path = g_scratch + "/model.evae";
  const ShapeInfo small = TinyShape::kInfo, mnist = MnistShape::kInfo;
  const GoldenVectors golden = ZeroGolden(small.input);

  // f32: plain, with Adam state, with golden vectors, as version 1, and non-finite variants.
  StatusOr<Model> f32 = ZeroModel(small);
  Check(f32.status());
  Check(SaveModel(path, *f32));
  const Bytes plain = ReadBack(path);
  Put(h, "f32-tiny", PadSeed(kRepairChecksum | kLoadModel, plain));
  Put(h, "f32-tiny-v1", PadSeed(kRepairChecksum | kLoadModel, plain, 0, 0, /*version=*/1));
  Put(h, "f32-tiny-nan-weight",
      PadSeed(kRepairChecksum, plain, 0xff, static_cast<uint32_t>(TensorOffset(plain, std::string(small.layers[small.Find(LayerRole::kDecoder)].name) + ".weight"))));
  {
    Model m = f32->Clone();
    m.metadata().class_latents = ClassLatents(small.latent);
    m.metadata().anomaly = AnomalyThreshold{"elbo-icr", 0.05, 1000, 1, 0.125};
    m.metadata().classes = {1, 3, 7};
    m.metadata().command = "edgevae train --shape tiny --seed 1";
    Check(SaveModel(path, m));
    Put(h, "f32-tiny-metadata", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
  }
  {
    Model m = f32->Clone();
    m.EnsureOptimizer();
    m.optimizer().step = 1234;
    Check(SaveModel(path, m));
    const Bytes adam = ReadBack(path);
    Put(h, "f32-tiny-adam", PadSeed(kRepairChecksum | kLoadModel, adam));
    Put(h, "f32-tiny-adam-nan",
        PadSeed(kRepairChecksum, adam, 0xff, static_cast<uint32_t>(TensorOffset(adam, "adam.v"))));
  }
  Check(SaveModelWithGolden(path, *f32, golden));
  const Bytes f32_golden = ReadBack(path);
  Put(h, "f32-tiny-golden", PadSeed(kRepairChecksum | kUseModel, f32_golden));
  Put(h, "f32-tiny-golden-out-of-range",
      PadSeed(kRepairChecksum, f32_golden, 0x7f,
              static_cast<uint32_t>(TensorOffset(f32_golden, "golden.reconstruction"))));

  // f16, with and without golden vectors.
  Check(SaveF16Model(path, *f32));
  const Bytes f16 = ReadBack(path);
  Put(h, "f16-tiny", PadSeed(kRepairChecksum | kLoadModel | kUseModel, f16));
  Put(h, "f16-tiny-nan", PadSeed(kRepairChecksum, f16, 0xff, 0));
  Check(SaveF16Model(path, *f32, &golden));
  Put(h, "f16-tiny-golden", PadSeed(kRepairChecksum, ReadBack(path)));

  // int8, with and without golden vectors and metadata; mnist (20-D) once.
  Int8Model q = ZeroInt8(small);
  Check(SaveInt8Model(path, q));
  Put(h, "int8-tiny", PadSeed(kRepairChecksum | kLoadModel | kUseModel, ReadBack(path)));
  Check(SaveInt8Model(path, q, &golden));
  const Bytes q_golden = ReadBack(path);
  Put(h, "int8-tiny-golden", PadSeed(kRepairChecksum | kUseModel, q_golden));
  Put(h, "int8-tiny-golden-nan",
      PadSeed(kRepairChecksum, q_golden, 0xff,
              static_cast<uint32_t>(TensorOffset(q_golden, "golden.reconstruction"))));
  q.metadata.class_latents = ClassLatents(small.latent);
  q.metadata.anomaly = AnomalyThreshold{"iw", 0.01, 500, 64, 97.5};
  Check(SaveInt8Model(path, q));
  Put(h, "int8-tiny-metadata", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
  Int8Model q20 = ZeroInt8(mnist);
  q20.metadata.class_latents = {ClassLatents(mnist.latent)[0]};
  Check(SaveInt8Model(path, q20));
  Put(h, "int8-mnist", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
  // The cortex-m layout (i16 weights, version 3), and one with a weight out of its range.
  Int8Model qcm = ZeroInt8(small);
  qcm.layout = WeightLayout::kCortexM;
  Check(SaveInt8Model(path, qcm));
  const Bytes q_cm = ReadBack(path);
  Put(h, "int8-tiny-cortex-m", PadSeed(kRepairChecksum | kLoadModel | kUseModel, q_cm));
  Put(h, "int8-tiny-cortex-m-range",
      PadSeed(kRepairChecksum, q_cm, 0x7f,
              static_cast<uint32_t>(TensorOffset(
                  q_cm, std::string(small.layers[small.Find(LayerRole::kDecoder)].name) +
                            ".weight"))));

  // One seed per check that random mutation reaches rarely: each a written file with one edit
  // (tests/common/model_bytes.h re-lays the file out after a metadata edit).
  namespace mb = model_bytes;
  using OJson = nlohmann::ordered_json;
  const Bytes q_plain = [&] {
    Check(SaveInt8Model(path, ZeroInt8(small)));
    return ReadBack(path);
  }();
  const auto edit = [&](const std::string& name, const Bytes& base, uint8_t flags,
                        const std::function<void(OJson&)>& change) {
    Put(h, name, PadSeed(kRepairChecksum | flags, mb::EditMetadata(base, change)));
  };
  edit("int8-weights-scheme", q_plain, 0,
       [](OJson& j) { j["quantization"]["weights"] = "asymmetric per-channel"; });
  edit("int8-relu-flag", q_plain, 0,
       [](OJson& j) { j["quantization"]["layers"]["fc1"]["relu"] = false; });
  edit("int8-chain-mismatch", q_plain, 0,
       [](OJson& j) { j["quantization"]["layers"]["fc21"]["input_scale"] = 0.07; });
  edit("int8-requant-scale", q_plain, 0,
       [](OJson& j) { j["quantization"]["layers"]["fc4"]["output_scale"] = 1e-30; });
  edit("int8-golden-count", q_golden, 0, [](OJson& j) { j["golden"]["count"] = 2; });
  edit("f32-metadata-classes", plain, 0, [](OJson& j) { j["classes"] = {3, 300}; });
  edit("f32-metadata-epochs-float", plain, 0, [](OJson& j) { j["epochs"] = 1.5; });
  edit("f32-metadata-lr-string", plain, 0, [](OJson& j) { j["lr"] = "fast"; });
  edit("f32-golden-key-without-tensors", plain, 0,
       [](OJson& j) { j["golden"] = {{"count", 1}, {"max_abs_error", 0.1}, {"mean_abs_error", 0}}; });
  edit("f32-class-latents-asymmetric", plain, kUseModel, [](OJson& j) {
    j["class_latents"] = OJson::array(
        {{{"label", 4}, {"count", 9}, {"mean", {0.5, 1}}, {"cov", {1, 0.5, -0.5, 1}}}});
  });
  // A classifier (the judge): loads as f32 only, has no engine; with a VAE's metadata and golden
  // vectors, and claiming int8.
  {
    const ShapeInfo judge = JudgeShape::kInfo;
    StatusOr<Model> j = ZeroModel(judge);
    Check(j.status());
    Check(SaveModel(path, *j));
    const Bytes judge_plain = ReadBack(path);
    Put(h, "f32-judge", PadSeed(kRepairChecksum | kLoadModel | kUseModel, judge_plain));
    Model m = j->Clone();
    m.metadata().class_latents = ClassLatents(judge.latent);
    Check(SaveModelWithGolden(path, m, ZeroGolden(judge.input)));
    Put(h, "f32-judge-metadata", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
    edit("judge-dtype-int8", judge_plain, kLoadModel, [](OJson& j) { j["dtype"] = "int8"; });
  }
  // A GAN: the whole of it (generator and discriminator) loads as f32 only and samples; its
  // generator alone as int8, with golden samples; and the whole claiming int8.
  {
    StatusOr<Model> g = ZeroModel(GanShape::kInfo);
    Check(g.status());
    g->metadata().d_steps = 5;
    g->metadata().g_steps = 5;
    g->metadata().gan_reg = 1;
    Check(SaveModel(path, *g));
    const Bytes gan_plain = ReadBack(path);
    Put(h, "f32-gan", PadSeed(kRepairChecksum | kLoadModel | kUseModel, gan_plain));
    edit("gan-dtype-int8", gan_plain, kLoadModel, [](OJson& j) { j["dtype"] = "int8"; });
    edit("gan-d-steps-zero", gan_plain, kLoadModel, [](OJson& j) { j["d_steps"] = 0; });
    Int8Model gq = ZeroInt8(GanGeneratorShape::kInfo);
    Check(SaveInt8Model(path, gq, &golden));
    Put(h, "int8-gan-generator-golden", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
  }
  // An AAE: the whole loads as f32 only; its deterministic encoder and decoder as int8, with
  // golden reconstructions; a reconstruction weight of zero.
  {
    StatusOr<Model> a = ZeroModel(AaeShape::kInfo);
    Check(a.status());
    a->metadata().d_steps = 1;
    a->metadata().g_steps = 1;
    a->metadata().aae_lambda = 2;
    Check(SaveModel(path, *a));
    const Bytes aae_plain = ReadBack(path);
    Put(h, "f32-aae", PadSeed(kRepairChecksum | kLoadModel | kUseModel, aae_plain));
    edit("aae-lambda-zero", aae_plain, kLoadModel, [](OJson& j) { j["aae_lambda"] = 0; });
    Int8Model aq = ZeroInt8(AaeDeployedShape::kInfo);
    Check(SaveInt8Model(path, aq, &golden));
    Put(h, "int8-aae-eg-golden", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
  }
  // A VAE's decoder alone (edgevae convert --decoder-only: what the micro digits program
  // embeds), int8 with golden samples and class statistics.
  {
    Int8Model dq = ZeroInt8(MnistDecoderShape::kInfo);
    dq.metadata.class_latents = ClassLatents(MnistDecoderShape::kInfo.latent);
    Check(SaveInt8Model(path, dq, &golden));
    Put(h, "int8-mnist-decoder-golden", PadSeed(kRepairChecksum | kUseModel, ReadBack(path)));
  }
  Put(h, "int8-v1", PadSeed(kRepairChecksum, q_plain, 0, 0, /*version=*/1));
  Put(h, "f32-metadata-too-deep",
      PadSeed(kRepairChecksum, mb::WithExtraMember(plain, "\"deep\": " + std::string(40, '[') +
                                                              std::string(40, ']'))));
  Put(h, "f32-metadata-not-object", PadSeed(kRepairChecksum, mb::WithMetadata(plain, "[1, 2]\n")));
  {
    Bytes b = plain;  // the last table entry (fc4.bias) dropped
    mb::PutU32(b, mb::kOffTensorCount, mb::GetU32(b, mb::kOffTensorCount) - 1);
    Put(h, "f32-missing-tensor", PadSeed(kRepairChecksum, b));
    b = f32_golden;  // golden.reconstruction dropped
    mb::PutU32(b, mb::kOffTensorCount, mb::GetU32(b, mb::kOffTensorCount) - 1);
    Put(h, "f32-golden-pixels-only", PadSeed(kRepairChecksum, b));
    b = plain;  // an i8 tensor in a version-1 file
    mb::PutU32(b, mb::Entry(b, 0) + mb::kEntDType, static_cast<uint32_t>(DType::kI8));
    Put(h, "f32-v1-i8-tensor", PadSeed(kRepairChecksum, b, 0, 0, /*version=*/1));
  }
  {
    // No tensors, metadata one byte over the readers' 8 MiB limit (the harness pads it).
    Bytes b(plain.begin(), plain.begin() + 128);
    const uint64_t meta = (uint64_t{8} << 20) + 1;
    mb::PutU32(b, mb::kOffTensorCount, 0);
    mb::PutU64(b, mb::kOffMetadataOffset, 128);
    mb::PutU64(b, mb::kOffMetadataBytes, meta);
    mb::PutU64(b, mb::kOffFileBytes, 128 + meta);
    Bytes seed = {static_cast<uint8_t>(kRepairChecksum | kPad), ' '};
    PutLe32(seed, 0);
    seed.insert(seed.end(), b.begin(), b.end());
    Put(h, "metadata-too-large", seed);
  }

  // A stale checksum (pad mode without the repair), and a header declaring fewer bytes than
  // the file has (trailing bytes).
  Bytes stale = PadSeed(0, plain);
  stale[6 + 100] = 1;  // a reserved header byte: covered by the checksum
  Put(h, "f32-tiny-stale-checksum", stale);
  Bytes trailing = PadSeed(kRepairChecksum, plain);
  const uint64_t short_size = trailing.size() - 6 - 8;
  for (int i = 0; i < 8; ++i) trailing[6 + 16 + i] = static_cast<uint8_t>(short_size >> (8 * i));
  Put(h, "f32-tiny-trailing-bytes", trailing);

  // Raw mode: a file cut short, and a header alone.
  Check(SaveInt8Model(path, ZeroInt8(small)));
  const Bytes whole = ReadBack(path);
  Bytes cut = {kRepairChecksum};
  cut.insert(cut.end(), whole.begin(), whole.begin() + 1024);
  Put(h, "raw-truncated", cut);
  Bytes header = {0};
  header.insert(header.end(), whole.begin(), whole.begin() + 128);
  Put(h, "raw-header", header);
}

// --- safetensors (safetensors_fuzz.cc: flags, then pad mode's fill, total, prefix) -------------

void SafetensorsEdits(const Bytes& file);

void SafetensorsSeeds() {
  const std::string h = "safetensors";
  const std::string path = g_scratch + "/model.safetensors";
  for (const ShapeInfo& shape : {TinyShape::kInfo, Mnist2dShape::kInfo}) {
    StatusOr<Model> m = ZeroModel(shape);
    Check(m.status());
    Check(ExportSafetensors(path, *m));
    const Bytes file = ReadBack(path);
    const size_t prefix = 8 + static_cast<size_t>(GetLe64(file, 0));
    for (uint8_t fill : {uint8_t{0}, uint8_t{0xff}}) {
      if (fill != 0 && shape.name != "tiny") continue;
      Bytes seed = {static_cast<uint8_t>(fill == 0 ? 2 | 4 : 2), fill};
      PutLe32(seed, static_cast<uint32_t>(file.size()));
      seed.insert(seed.end(), file.begin(), file.begin() + static_cast<ptrdiff_t>(prefix));
      Put(h, std::string(shape.name) + (fill == 0 ? "" : "-nan"), seed);
    }
    if (shape.name == "mnist2d") SafetensorsEdits(file);
  }
}

// A safetensors pad-mode seed from a header text and the buffer's length.
Bytes SafetensorsSeed(const std::string& header, uint64_t buffer_bytes, uint64_t length = 0) {
  Bytes seed = {2, 0};
  const uint64_t len = length != 0 ? length : header.size();
  PutLe32(seed, static_cast<uint32_t>(8 + len + buffer_bytes));
  for (int i = 0; i < 8; ++i) seed.push_back(static_cast<uint8_t>(len >> (8 * i)));
  seed.insert(seed.end(), header.begin(), header.end());
  return seed;
}

// One seed per check of the header that random mutation reaches rarely: the exported header of
// the mnist2d model, edited.
void SafetensorsEdits(const Bytes& file) {
  using Json = nlohmann::json;
  const std::string h = "safetensors";
  const uint64_t len = GetLe64(file, 0);
  const Json base = Json::parse(file.begin() + 8, file.begin() + 8 + static_cast<ptrdiff_t>(len));
  const uint64_t buffer = file.size() - 8 - len;
  const auto put = [&](const std::string& name, Json j, int64_t grow = 0) {
    Put(h, name, SafetensorsSeed(j.dump(), static_cast<uint64_t>(buffer + grow)));
  };
  const auto edited = [&](const std::function<void(Json&)>& change) {
    Json j = base;
    change(j);
    return j;
  };
  const auto offsets = [&](const char* name) {
    return base[name]["data_offsets"].get<std::vector<uint64_t>>();
  };
  put("entry-not-object", edited([](Json& j) { j["fc1.bias"] = 5; }));
  put("dtype-not-string", edited([](Json& j) { j["fc1.bias"]["dtype"] = 1; }));
  put("dtype-f16", edited([](Json& j) { j["fc1.bias"]["dtype"] = "F16"; }));
  put("entry-extra-field", edited([](Json& j) { j["fc1.bias"]["order"] = "C"; }));
  put("shape-negative", edited([](Json& j) { j["fc1.bias"]["shape"] = {-1}; }));
  put("offsets-one", edited([](Json& j) { j["fc1.bias"]["data_offsets"] = {0}; }));
  put("metadata-not-object", edited([](Json& j) { j["__metadata__"] = 5; }));
  put("metadata-number", edited([](Json& j) { j["__metadata__"]["epochs"] = 5; }));
  put("metadata-epochs", edited([](Json& j) { j["__metadata__"]["epochs"] = "x10"; }));
  put("unknown-tensor", edited([](Json& j) { j["fc5.weight"] = j["fc1.bias"]; }));
  put("fc1-one-dimensional", edited([](Json& j) {
        j["fc1.weight"]["shape"] = {uint64_t{784} * 400};
      }));
  put("fc1-swapped", edited([](Json& j) { j["fc1.weight"]["shape"] = {784, 400}; }));
  put("fc3-transposed", edited([](Json& j) { j["fc3.weight"]["shape"] = {2, 400}; }));
  put("overlap", edited([&](Json& j) { j["fc22.bias"]["data_offsets"] = offsets("fc21.bias"); }));
  put("gap-at-end", base, 4);
  put("gap-in-middle", edited([&](Json& j) {
        const std::vector<uint64_t> o = offsets("fc4.bias");
        j["fc4.bias"]["data_offsets"] = {buffer + 4, buffer + 4 + (o[1] - o[0])};
      }), 4 + static_cast<int64_t>(offsets("fc4.bias")[1] - offsets("fc4.bias")[0]));
  put("missing-tensor", edited([](Json& j) { j.erase("fc4.bias"); }));
  Json many = base;
  for (int i = 0; i < 300; ++i) {
    char key[16];  // not "k" + std::to_string(i): GCC 12 warns falsely (-Wrestrict, PR 105329)
    std::snprintf(key, sizeof(key), "k%d", i);
    many["__metadata__"][key] = "v";
  }
  put("metadata-too-many-keys", many);
  Put(h, "header-array", SafetensorsSeed("[]      ", buffer));
  Put(h, "header-not-json", SafetensorsSeed("{\"a\": null, \"b\": [true, 1], \"c\": }", buffer));
  Put(h, "header-too-deep", SafetensorsSeed(std::string(40, '[') + std::string(40, ']'), buffer));
  std::string text = base.dump();  // a tensor named twice
  text.insert(1, "\"fc1.bias\":" + base["fc1.bias"].dump() + ",");
  Put(h, "duplicate-key", SafetensorsSeed(text, buffer));
  // A header length one over the 8 MiB limit, in a file long enough for it (padded).
  Put(h, "header-too-long", SafetensorsSeed("{", 0, (uint64_t{8} << 20) + 1));
}

// --- IDX (idx_fuzz.cc: the file) ----------------------------------------------------------------

Bytes Idx(const std::vector<uint32_t>& dims, size_t drop = 0) {
  Bytes b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  size_t n = 1;
  for (const uint32_t d : dims) {
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(d >> (8 * i)));
    n *= d;
  }
  for (size_t i = 0; i + drop < n; ++i) b.push_back(static_cast<uint8_t>((i * 37) % 256));
  return b;
}

Bytes Gzip(const Bytes& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) Die("deflateInit2");
  Bytes out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) Die("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void IdxSeeds() {
  const std::string h = "idx";
  Put(h, "images-3x4x5", Idx({3, 4, 5}));
  Put(h, "images-2x28x28", Idx({2, 28, 28}));
  Put(h, "labels-6", Idx({6}));
  Put(h, "matrix-3x7", Idx({3, 7}));
  Put(h, "array-2x2x2x3", Idx({2, 2, 2, 3}));
  Put(h, "images-truncated", Idx({3, 4, 5}, 30));
  Put(h, "images-3x4x5.gz", Gzip(Idx({3, 4, 5})));
  Put(h, "labels-6.gz", Gzip(Idx({6})));
  const Bytes gz = Gzip(Idx({4, 6, 6}));
  Put(h, "images-cut.gz", Bytes(gz.begin(), gz.begin() + static_cast<ptrdiff_t>(gz.size() * 2 / 3)));
  // The gzip member's own checks: its CRC, its trailer, what follows it, and inflating to more
  // than the IDX header declares.
  Bytes bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  Put(h, "images-bad-crc.gz", bad_crc);
  Put(h, "images-no-trailer.gz", Bytes(gz.begin(), gz.end() - 8));
  Bytes two = gz;
  two.insert(two.end(), gz.begin(), gz.end());
  Put(h, "images-two-members.gz", two);
  Bytes longer = Idx({2, 3, 3});
  longer.insert(longer.end(), 5, 7);
  Put(h, "images-longer-than-declared.gz", Gzip(longer));
  // The same beyond the reader's first 64 KiB output buffer, where it probes for one more byte
  // once the declared length is reached: more data, and a corrupt trailer after exactly enough.
  Bytes big = Idx({70, 1000});
  Bytes big_longer = big;
  big_longer.insert(big_longer.end(), 100, 7);
  Put(h, "large-longer-than-declared.gz", Gzip(big_longer));
  Bytes big_bad_crc = Gzip(big);
  big_bad_crc[big_bad_crc.size() - 8] ^= 0xff;
  Put(h, "large-bad-crc.gz", big_bad_crc);
  Put(h, "labels-5", Idx({5}));  // odd length: the harness pairs it with 6 images
  // Element types other than u8, each named in the message.
  for (const uint8_t type : {0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x07}) {
    Bytes b = Idx({2, 2});
    b[2] = type;
    char name[16];
    std::snprintf(name, sizeof(name), "type-0x%02x", type);
    Put(h, name, b);
  }
}

// --- PNG and PGM (image_fuzz.cc: flags, then the file) ------------------------------------------

struct PngSpec {
  int width, height, bit_depth, color_type;
  bool interlace = false;
  int palette = 0;  // entries, for PNG_COLOR_TYPE_PALETTE
  bool trns = false;
  bool gama_text = false;
};

Bytes WritePng(const PngSpec& s) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (png == nullptr || info == nullptr) Die("png_create_write_struct");
  Bytes out;
  const int channels = s.color_type == PNG_COLOR_TYPE_RGB         ? 3
                       : s.color_type == PNG_COLOR_TYPE_RGBA      ? 4
                       : s.color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                   : 1;
  const size_t row_bytes = (static_cast<size_t>(s.width) * channels * s.bit_depth + 7) / 8;
  std::vector<Bytes> rows(s.height, Bytes(row_bytes));
  for (int y = 0; y < s.height; ++y) {
    for (size_t x = 0; x < row_bytes; ++x) rows[y][x] = static_cast<uint8_t>(x * 53 + y * 91);
    if (s.color_type == PNG_COLOR_TYPE_PALETTE && s.bit_depth == 4) {
      for (uint8_t& b : rows[y]) b &= 0x33;  // indices below 4: within the palette
    }
  }
  std::vector<png_bytep> pointers;
  for (Bytes& r : rows) pointers.push_back(r.data());
  if (setjmp(png_jmpbuf(png))) Die("libpng failed to write a seed");
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, size_t n) {
        auto* o = static_cast<Bytes*>(png_get_io_ptr(p));
        o->insert(o->end(), data, data + n);
      },
      nullptr);
  png_set_IHDR(png, info, s.width, s.height, s.bit_depth, s.color_type,
               s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> palette(s.palette);
  for (int i = 0; i < s.palette; ++i) {
    palette[i] = {static_cast<png_byte>(i * 60), static_cast<png_byte>(255 - i * 50),
                  static_cast<png_byte>(i * 17)};
  }
  if (s.palette > 0) png_set_PLTE(png, info, palette.data(), s.palette);
  png_byte alphas[4] = {0, 128, 255, 64};
  png_color_16 grey_key{};
  grey_key.gray = 1;
  if (s.trns && s.color_type == PNG_COLOR_TYPE_PALETTE) png_set_tRNS(png, info, alphas, 4, nullptr);
  if (s.trns && s.color_type == PNG_COLOR_TYPE_GRAY) png_set_tRNS(png, info, nullptr, 0, &grey_key);
  if (s.gama_text) {
    png_set_gAMA(png, info, 1.0 / 2.2);
    png_text text{};
    text.compression = PNG_TEXT_COMPRESSION_NONE;
    text.key = const_cast<char*>("Comment");
    text.text = const_cast<char*>("edgevae fuzz seed");
    png_set_text(png, info, &text, 1);
  }
  png_write_info(png, info);
  if (s.interlace) png_set_interlace_handling(png);
  png_write_image(png, pointers.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

void ImageSeeds() {
  const std::string h = "image";
  const auto png = [&](const std::string& name, const PngSpec& s) {
    Bytes b = {1};  // kFixCrc
    const Bytes file = WritePng(s);
    b.insert(b.end(), file.begin(), file.end());
    Put(h, name + ".png", b);
  };
  png("grey8-28x28", {28, 28, 8, PNG_COLOR_TYPE_GRAY});
  png("grey1-interlaced", {5, 7, 1, PNG_COLOR_TYPE_GRAY, true});
  png("grey16-trns", {3, 2, 16, PNG_COLOR_TYPE_GRAY, false, 0, true});
  png("palette4-trns", {6, 4, 4, PNG_COLOR_TYPE_PALETTE, false, 4, true});
  png("rgb8-gama-text", {3, 3, 8, PNG_COLOR_TYPE_RGB, false, 0, false, true});
  png("rgba16", {2, 2, 16, PNG_COLOR_TYPE_RGBA});
  png("grey-alpha8-interlaced", {4, 4, 8, PNG_COLOR_TYPE_GRAY_ALPHA, true});

  const auto pgm = [&](const std::string& name, const std::string& header, size_t pixels,
                       uint8_t maxval) {
    Bytes b = {0};
    b.insert(b.end(), header.begin(), header.end());
    for (size_t i = 0; i < pixels; ++i) b.push_back(static_cast<uint8_t>((i * 7) % (maxval + 1)));
    Put(h, name + ".pgm", b);
  };
  pgm("p5-28x28", "P5\n28 28\n255\n", 28 * 28, 255);
  pgm("p5-comments-maxval15", "P5 # a comment\n4 # width\n3\n15\n", 12, 15);
  pgm("p5-16bit", "P5\n2 2\n65535\n", 8, 255);
}

// --- Frames, requests, options: their inputs are short and listed here ----------------------

void FrameSeeds() {
  const std::string h = "frames";
  // frame code, max_frames code, mode, events (frames_fuzz.cc)
  Put(h, "mnist-frames-pipe", {0xff, 3, 0, 255, 255, 255, 19, 200, 200, 200, 200, 50});
  Put(h, "mnist-frames-memfd", {0xff, 7, 1, 255, 255, 255, 255, 255, 255, 255, 100});
  Put(h, "small-frames-pause", {9, 1, 2, 5, 0, 12, 3, 0, 20, 0, 7});
  Put(h, "small-frames-reset", {7, 4, 0, 3, 0, 9, 30, 0, 2, 1, 1});
  Put(h, "stop-signal", {9, 2, 4, 5, 20, 3});
  Put(h, "stop-signal-idle-timeout", {9, 2, 6, 5, 3});
  Put(h, "unreadable", {9, 1, 8});
}

void RequestSeeds() {
  const std::string h = "digit_handler";
  const char* const requests[] = {
      "/",
      "/index.html",
      "/info",
      "/digit?d=7&seed=42",
      "/digit?d=3",
      "/digit?d=12",
      "/digit?d=3&d=4",
      "/sample?seed=18446744073709551615",
      "/sample",
      "/interpolate?a=4&b=9&t=0.5&mode=lerp&seed=2",
      "/interpolate?a=1&b=7&t=1e-3",
      "/latent2d?x=1.5&y=-2.25",
      "/latent2d?x=nan&y=0",
      "/manifold?grid=3",
      "/manifold?grid=31",
      "/nope?x=%00%ff+1",
      "/info?verbose=1",
      // '!': statistics for digit 3 only, no 2-D model; '~': the 2-D model alone, no statistics.
      "!/digit?d=5",
      "!/digit?d=3&seed=1",
      "!/interpolate?a=3&b=4&t=0.5",
      "!/manifold",
      "!/latent2d?x=0&y=0",
      "~/digit?d=1",
      "~/info",
      "~/sample?seed=3",
  };
  int i = 0;
  for (const char* r : requests) {
    const std::string text = r;
    Put(h, "request-" + std::to_string(i++), Bytes(text.begin(), text.end()));
  }
}

void OptionSeeds() {
  const std::string h = "options";
  PutText(h, "method-elbo", 0, "elbo");
  PutText(h, "method-iw-icr", 0, "iw-icr");
  PutText(h, "method-bce-ic", 0, "bce-ic");
  PutText(h, "method-unknown", 0, "mse-icx");
  PutText(h, "fb-640x480x16", 1, "640x480x16");
  PutText(h, "fb-28x28x32", 1, "28x28x32");
  PutText(h, "fb-bad", 1, "1920x1080x8");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds OUT   (writes OUT/<harness>/<seed>)\n");
    return 2;
  }
  g_out = argv[1];
  MakeDir(g_out);
  std::string scratch = g_out + "/.scratch-XXXXXX";
  if (::mkdtemp(scratch.data()) == nullptr) Die("cannot create a folder in " + g_out);
  g_scratch = scratch;
  ModelSeeds();
  SafetensorsSeeds();
  IdxSeeds();
  ImageSeeds();
  FrameSeeds();
  RequestSeeds();
  OptionSeeds();
  ::rmdir(g_scratch.c_str());
  return 0;
}
