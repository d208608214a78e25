// Reading model files: the container located and checked (container.cc), the metadata parsed
// (metadata_reader.cc), every tensor the shape's table and the dtype call for vetted, then one
// loader per kind of file: f32 and f16 into a Model, int8 as views into the file's bytes.
#include "edgevae/model_file.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/packed_i16.h"
#include "runtime/container.h"
#include "runtime/file_util.h"
#include "runtime/metadata_reader.h"
#include "runtime/model_format.h"

namespace edgevae {
namespace {

using namespace format;  // NOLINT: the layout constants are this file's vocabulary
using io::Quoted;

// Larger than any model of a compiled shape (an f32 checkpoint of mnist-deep is ~13 MB).
constexpr uint64_t kMaxModelFileBytes = uint64_t{1} << 30;

enum class Kind { kF32, kF16, kInt8 };

// What the metadata and the tensor table say a file holds, checked before any tensor is read.
struct Vetted {
  ShapeInfo shape;
  Kind kind = Kind::kF32;
  ParsedMetadata metadata;
  bool has_adam = false;
  bool per_row = false;  // int8 with a weight scale per output row
  bool packed = false;   // int8 with weights in Cortex-M's packed i16 layout (WeightLayout)
  std::optional<GoldenVectors> golden;  // count and thresholds only, so far
};

struct ExpectedTensor {
  std::string name;
  DType dtype;
  std::vector<uint32_t> dims;
};

// Present, with the expected dims, dtype and byte length, at an aligned offset.
Status CheckTensor(const std::string& path, const ModelFileInfo& info, const ExpectedTensor& want,
                   bool has_adam) {
  const ModelFileInfo::Tensor* t = FindTensor(info, want.name);
  if (t == nullptr) {
    return DataError(path + ": missing tensor '" + want.name + "'" +
                     (has_adam && (want.name == kAdamM || want.name == kAdamV)
                          ? " (optimizer state needs both adam.m and adam.v)"
                          : ""));
  }
  const std::string type = DTypeText(want.dtype);
  if (t->dims != want.dims || t->dtype != want.dtype) {
    return DataError(path + ": tensor " + want.name + ": expected " + DimsText(want.dims) + " " +
                     type + ", found " + DimsText(t->dims) + " " + DTypeText(t->dtype));
  }
  const uint64_t want_bytes = *ElementCount(want.dims) * DTypeBytes(want.dtype);
  if (t->bytes != want_bytes) {
    return DataError(path + ": tensor " + want.name + ": byte length " + std::to_string(t->bytes) +
                     ", expected " + std::to_string(want_bytes) + " for " + DimsText(want.dims) +
                     " " + type);
  }
  if (t->offset % kDataAlignment != 0) {
    return DataError(path + ": tensor " + want.name + ": data offset " + std::to_string(t->offset) +
                     " is not a multiple of " + std::to_string(kDataAlignment));
  }
  return Status::Ok();
}

// The "dtype" key (absent in v1 files: f32), against the file's version and what the caller takes.
StatusOr<Kind> ReadKind(const std::string& path, const MetadataReader& r, uint32_t version,
                        bool f32_only) {
  if (!r.Has("dtype")) return Kind::kF32;
  std::string dtype;
  EVAE_RETURN_IF_ERROR(r.String("dtype", &dtype));
  Kind kind = Kind::kF32;
  if (dtype == "int8") {
    kind = Kind::kInt8;
  } else if (dtype == "f16") {
    kind = Kind::kF16;
  } else if (dtype != "f32") {
    return r.Wrong("dtype", "\"f32\", \"f16\" or \"int8\"", Json(dtype));
  }
  if (kind != Kind::kF32 && version < kFirstVersionWithInt8) {
    return DataError(path + ": metadata key 'dtype' is \"" + dtype +
                     "\", which needs file version " + std::to_string(kFirstVersionWithInt8) +
                     "; this file is version " + std::to_string(version));
  }
  if (kind != Kind::kF32 && f32_only) {
    return DataError(path + ": is an " + dtype + " model (dtype " + dtype +
                     "); this needs an f32 model");
  }
  return kind;
}

// Every table entry names a tensor this kind of file may hold, once, in a dtype its version has.
Status CheckTensorNames(const std::string& path, const ModelFileInfo& info, const ShapeInfo& shape,
                        Kind kind, bool per_row) {
  std::vector<std::string> known;
  for (const LayerInfo& l : shape.layers) {
    known.push_back(std::string(l.name) + ".weight");
    known.push_back(std::string(l.name) + ".bias");
    if (per_row) known.push_back(std::string(l.name) + kRowScalesSuffix);
  }
  if (kind == Kind::kF32) {
    known.push_back(kAdamM);
    known.push_back(kAdamV);
  }
  known.push_back(kGoldenPixels);
  known.push_back(kGoldenReconstruction);
  const std::string in_kind = kind == Kind::kInt8  ? " in an int8 model"
                              : kind == Kind::kF16 ? " in an f16 model"
                                                   : "";
  for (size_t i = 0; i < info.tensors.size(); ++i) {
    const ModelFileInfo::Tensor& t = info.tensors[i];
    if (std::find(known.begin(), known.end(), t.name) == known.end()) {
      return DataError(path + ": tensor table entry " + std::to_string(i) + ": unknown tensor " +
                       Quoted(t.name) + in_kind);
    }
    for (size_t k = 0; k < i; ++k) {
      if (info.tensors[k].name == t.name) {
        return DataError(path + ": tensor table entries " + std::to_string(k) + " and " +
                         std::to_string(i) + " are both " + Quoted(t.name));
      }
    }
    const uint32_t needs = t.dtype == DType::kI16  ? kFirstVersionWithI16
                           : t.dtype != DType::kF32 ? kFirstVersionWithInt8
                                                    : 1;
    if (info.version < needs) {
      return DataError(path + ": tensor " + t.name + ": " + DTypeText(t.dtype) +
                       " needs file version " + std::to_string(needs) + "; this file is version " +
                       std::to_string(info.version));
    }
  }
  return Status::Ok();
}

// Golden vectors: both tensors or neither, and the metadata that goes with them.
StatusOr<std::optional<GoldenVectors>> VetGolden(const std::string& path, const MetadataReader& r,
                                                 const ModelFileInfo& info, int input) {
  const bool has_pixels = FindTensor(info, kGoldenPixels) != nullptr;
  const bool has_reconstruction = FindTensor(info, kGoldenReconstruction) != nullptr;
  if (has_pixels != has_reconstruction) {
    return DataError(path + ": tensor '" + (has_pixels ? kGoldenPixels : kGoldenReconstruction) +
                     "' without '" + (has_pixels ? kGoldenReconstruction : kGoldenPixels) +
                     "': golden vectors need both");
  }
  if (!has_pixels) {
    if (r.Has("golden")) {
      return DataError(path + ": metadata key 'golden' is present, but the file has no tensors '" +
                       kGoldenPixels + "' and '" + kGoldenReconstruction + "'");
    }
    return std::optional<GoldenVectors>();
  }
  GoldenVectors golden;
  EVAE_RETURN_IF_ERROR(ParseGolden(path, r, &golden));
  for (const char* name : {kGoldenPixels, kGoldenReconstruction}) {
    const ModelFileInfo::Tensor* t = FindTensor(info, name);
    if (t->dims.size() != 2 || t->dims[0] != static_cast<uint32_t>(golden.count)) {
      return DataError(path + ": tensor " + name + " is " + DimsText(t->dims) +
                       ", but metadata golden.count is " + std::to_string(golden.count) +
                       " (expected [" + std::to_string(golden.count) + ", " +
                       std::to_string(input) + "])");
    }
  }
  return std::optional<GoldenVectors>(std::move(golden));
}

// The tensors the shape's table, the dtype, an optimizer state and golden vectors call for.
std::vector<ExpectedTensor> ExpectedTensors(const Vetted& v) {
  const DType weight = v.kind == Kind::kInt8  ? (v.packed ? DType::kI16 : DType::kI8)
                       : v.kind == Kind::kF16 ? DType::kF16
                                              : DType::kF32;
  const DType bias = v.kind == Kind::kInt8 ? DType::kI32 : weight;
  std::vector<ExpectedTensor> expected;
  for (const LayerInfo& l : v.shape.layers) {
    // Every layer in the layout of the first: a packed one holds its padding too.
    const int rows = v.packed ? static_cast<int>(simd::PackedRows(static_cast<size_t>(l.out))) : l.out;
    const int cols = v.packed ? static_cast<int>(simd::PackedCols(static_cast<size_t>(l.in))) : l.in;
    expected.push_back({std::string(l.name) + ".weight", weight, Dims(rows, cols)});
    expected.push_back({std::string(l.name) + ".bias", bias, Dims(l.out, 0)});
    if (v.per_row) {
      expected.push_back({std::string(l.name) + kRowScalesSuffix, DType::kF32, Dims(l.out, 0)});
    }
  }
  if (v.has_adam) {
    // Model::Create's flat array length, without allocating it before the file is vetted.
    const auto floats = static_cast<uint32_t>(ParamLayout::For(v.shape).total);
    expected.push_back({kAdamM, DType::kF32, {floats}});
    expected.push_back({kAdamV, DType::kF32, {floats}});
  }
  if (v.golden) {
    expected.push_back({kGoldenPixels, DType::kU8, Dims(v.golden->count, v.shape.input)});
    expected.push_back({kGoldenReconstruction, DType::kF32, Dims(v.golden->count, v.shape.input)});
  }
  return expected;
}

// Everything LoadModel and LoadAnyModel share, up to reading tensors; `f32_only` rejects an int8
// or f16 file as soon as its dtype is known.
StatusOr<Vetted> Vet(const std::string& path, const Container& f, bool f32_only,
                     const LoadOptions& options) {
  const ModelFileInfo& info = f.info;
  EVAE_RETURN_IF_ERROR(CheckChecksum(path, info));
  Vetted v;
  EVAE_ASSIGN_OR_RETURN(v.shape, CheckShape(path, info));
  // The metadata says what kind of model this is, so it is parsed before the tensors are judged.
  EVAE_ASSIGN_OR_RETURN(v.metadata, ParseMetadataJson(path, f.metadata, f.metadata_offset,
                                                      v.shape.latent, options));
  const MetadataReader r(path, v.metadata.json);
  EVAE_ASSIGN_OR_RETURN(v.kind, ReadKind(path, r, info.version, f32_only));
  if (v.kind != Kind::kF32) {
    // What a device does not run (a classifier, a GAN with its discriminator) is stored as f32.
    if (Status s = RequireDeployable(v.shape, "its metadata's dtype (int8 or f16; f32 only)");
        !s.ok()) {
      return DataError(path + ": " + s.message());
    }
  }
  if (v.kind == Kind::kInt8) {
    EVAE_ASSIGN_OR_RETURN(v.per_row, ParseWeightScheme(r));
    const ModelFileInfo::Tensor* first =
        FindTensor(info, std::string(v.shape.layers[0].name) + ".weight");
    v.packed = first != nullptr && first->dtype == DType::kI16;
  }
  EVAE_RETURN_IF_ERROR(CheckTensorNames(path, info, v.shape, v.kind, v.per_row));
  v.has_adam = FindTensor(info, kAdamM) != nullptr || FindTensor(info, kAdamV) != nullptr;
  EVAE_ASSIGN_OR_RETURN(v.golden, VetGolden(path, r, info, v.shape.input));
  for (const ExpectedTensor& want : ExpectedTensors(v)) {
    EVAE_RETURN_IF_ERROR(CheckTensor(path, info, want, v.has_adam));
  }
  EVAE_RETURN_IF_ERROR(CheckNoOverlap(path, f));
  return v;
}

// A tensor's elements from the file's little-endian bytes into `dst`.
void Copy(const Container& f, std::string_view name, DType dtype, void* dst) {
  const ModelFileInfo::Tensor* t = FindTensor(f.info, name);
  LoadElements(dst, dtype, f.bytes.data() + t->offset, t->bytes / DTypeBytes(dtype));
}

// f32 and f16 files: weights (f16 widened exactly) and any Adam state into a Model.
StatusOr<Model> LoadFloat(const std::string& path, const Container& f, const Vetted& v,
                          ModelMetadata metadata, int64_t adam_step) {
  EVAE_ASSIGN_OR_RETURN(Model model, Model::Create(v.shape));
  model.metadata() = std::move(metadata);
  std::vector<uint16_t> halves;
  for (const TensorView& tv : model.tensors()) {
    if (v.kind == Kind::kF16) {  // widened exactly; the engine rounds back to the same halves
      halves.resize(tv.size());
      Copy(f, tv.name, DType::kF16, halves.data());
      simd::F16ToF32(halves.data(), model.params() + tv.offset, tv.size());
    } else {
      Copy(f, tv.name, DType::kF32, model.params() + tv.offset);
    }
  }
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": non-finite weight " + bad);
  }
  if (!v.has_adam) return model;
  model.EnsureOptimizer();
  model.optimizer().step = adam_step;
  const size_t n = model.param_floats();
  for (const auto& [name, m] : {std::pair{kAdamM, model.optimizer().m.data()},
                                std::pair{kAdamV, model.optimizer().v.data()}}) {
    Copy(f, name, DType::kF32, m);
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(m[i])) {
        return DataError(path + ": non-finite optimizer state " + name + "[" + std::to_string(i) +
                         "]");
      }
    }
  }
  return model;
}

// A layer whose weights are packed i16 (WeightLayout::kCortexM): every weight in [-127, 127]
// and the padding zero, checked in place. A bare-metal build reads them there (l.packed); a host
// unpacks them into int8 rows, so that every int8 path runs such a file as the same model.
Status LoadPackedLayer(const std::string& path, const Container& f, const std::string& name,
                       const ModelFileInfo::Tensor& w, const ModelFileInfo::Tensor& b,
                       const ModelFileInfo::Tensor* s, bool in_place, Int8Model* m, size_t i) {
  const size_t rows = static_cast<size_t>(m->shape.layers[i].out);
  const size_t cols = static_cast<size_t>(m->shape.layers[i].in);
  const size_t n = static_cast<size_t>(w.bytes / 2);
  std::vector<int16_t> copy;
  const int16_t* packed = reinterpret_cast<const int16_t*>(f.bytes.data() + w.offset);
  if (!in_place) {
    copy.resize(n);
    Copy(f, name + ".weight", DType::kI16, copy.data());
    packed = copy.data();
  }
  size_t bad = 0;
#if defined(EDGEVAE_BARE_METAL)
  int8_t* unpacked = nullptr;
#else
  std::vector<int8_t> weight(rows * cols);
  int8_t* unpacked = weight.data();
#endif
  if (!simd::UnpackI16(packed, rows, cols, unpacked, &bad)) {
    return DataError(path + ": tensor " + name + ".weight (i16, packed for Cortex-M): value " +
                     std::to_string(packed[bad]) + " at element " + std::to_string(bad) + " (byte " +
                     std::to_string(w.offset + 2 * bad) +
                     "): weights lie in [-127, 127] and the padding is 0");
  }
#if defined(EDGEVAE_BARE_METAL)
  if (in_place) {
    Int8Layer& l = m->layers[i];
    l.packed = {packed, n};
    l.bias = {reinterpret_cast<const int32_t*>(f.bytes.data() + b.offset),
              static_cast<size_t>(b.bytes / 4)};
    if (s != nullptr) {
      l.channel_scales = {reinterpret_cast<const float*>(f.bytes.data() + s->offset),
                          static_cast<size_t>(s->bytes / 4)};
    }
    return Status::Ok();
  }
  std::vector<int8_t> weight(rows * cols);
  simd::UnpackI16(packed, rows, cols, weight.data(), &bad);
#endif
  std::vector<int32_t> bias(b.bytes / 4);
  std::vector<float> scales(s != nullptr ? s->bytes / 4 : 0);
  Copy(f, name + ".bias", DType::kI32, bias.data());
  if (s != nullptr) Copy(f, name + kRowScalesSuffix, DType::kF32, scales.data());
  SetOwnedTensors(m, i, std::move(weight), std::move(bias), std::move(scales));
  return Status::Ok();
}

// int8 files: the layers' weights and biases are views into the file's bytes, which `owner`
// keeps alive (on a big-endian host, or bytes not aligned for int32, they are copied).
StatusOr<Int8Model> LoadInt8(const std::string& path, const Container& f, const Vetted& v,
                             ModelMetadata metadata, std::shared_ptr<const void> owner) {
  Int8Model m;
  m.shape = v.shape;
  m.metadata = std::move(metadata);
  const MetadataReader r(path, v.metadata.json);
  EVAE_RETURN_IF_ERROR(ParseQuantization(path, r, v.shape, v.per_row, &m));
  m.layout = v.packed ? WeightLayout::kCortexM : WeightLayout::kRows;
  const bool in_place = std::endian::native == std::endian::little &&
                        reinterpret_cast<uintptr_t>(f.bytes.data()) % alignof(int32_t) == 0;
  for (size_t i = 0; i < v.shape.layers.size(); ++i) {
    const std::string name(v.shape.layers[i].name);
    const ModelFileInfo::Tensor* w = FindTensor(f.info, name + ".weight");
    const ModelFileInfo::Tensor* b = FindTensor(f.info, name + ".bias");
    const ModelFileInfo::Tensor* s =
        v.per_row ? FindTensor(f.info, name + kRowScalesSuffix) : nullptr;
    Int8Layer& l = m.layers[i];
    if (v.packed) {
      EVAE_RETURN_IF_ERROR(LoadPackedLayer(path, f, name, *w, *b, s, in_place, &m, i));
    } else if (in_place) {
      // The sizes were checked against the bytes in memory, so they fit a size_t (32 bits on a
      // microcontroller).
      l.weight = {reinterpret_cast<const int8_t*>(f.bytes.data() + w->offset),
                  static_cast<size_t>(w->bytes)};
      l.bias = {reinterpret_cast<const int32_t*>(f.bytes.data() + b->offset),
                static_cast<size_t>(b->bytes / 4)};
      if (s != nullptr) {
        l.channel_scales = {reinterpret_cast<const float*>(f.bytes.data() + s->offset),
                            static_cast<size_t>(s->bytes / 4)};
      }
    } else {
      std::vector<int8_t> weight(w->bytes);
      std::vector<int32_t> bias(b->bytes / 4);
      std::vector<float> scales(s != nullptr ? s->bytes / 4 : 0);
      Copy(f, name + ".weight", DType::kI8, weight.data());
      Copy(f, name + ".bias", DType::kI32, bias.data());
      if (s != nullptr) Copy(f, name + kRowScalesSuffix, DType::kF32, scales.data());
      SetOwnedTensors(&m, i, std::move(weight), std::move(bias), std::move(scales));
    }
    // Per-layer scales were checked with the metadata; per-row ones can be checked now.
    if (const std::string why = Int8LayerProblem(l); s != nullptr && !why.empty()) {
      return DataError(path + ": tensor " + name + kRowScalesSuffix + " (with metadata key " +
                       "'quantization.layers." + name + "'): " + why);
    }
  }
  if (in_place && owner) m.storage.push_back(std::move(owner));
  EVAE_RETURN_IF_ERROR(CheckInt8Model(m, path + ": metadata key 'quantization.layers'"));
  return m;
}

// Checks every stored reconstruction lies in [0, 1]; copies the vectors out only if `keep` (a
// microcontroller has no RAM to spare for them: 31 KB for a shipped model's eight).
StatusOr<std::optional<GoldenVectors>> LoadGolden(const std::string& path, const Container& f,
                                                  GoldenVectors golden, int input, bool keep) {
  const size_t n = static_cast<size_t>(golden.count) * static_cast<size_t>(input);
  const ModelFileInfo::Tensor* r = FindTensor(f.info, kGoldenReconstruction);
  for (size_t i = 0; i < n; ++i) {
    float x;
    LoadElements(&x, DType::kF32, f.bytes.data() + r->offset + 4 * i, 1);
    if (!(x >= 0.0f && x <= 1.0f)) {
      return DataError(path + ": golden.reconstruction[" + std::to_string(i) + "] is " +
                       std::to_string(x) + ", expected a finite value in [0, 1]");
    }
  }
  if (!keep) return std::optional<GoldenVectors>();
  golden.pixels.resize(n);
  golden.reconstruction.resize(n);
  Copy(f, kGoldenPixels, DType::kU8, golden.pixels.data());
  Copy(f, kGoldenReconstruction, DType::kF32, golden.reconstruction.data());
  return std::optional<GoldenVectors>(std::move(golden));
}

// Locates, vets and loads whatever `bytes` hold; `owner` keeps them alive.
StatusOr<AnyModel> LoadBytes(const std::string& path, std::span<const uint8_t> bytes,
                             std::shared_ptr<const void> owner, bool f32_only,
                             const LoadOptions& options = {}) {
  EVAE_ASSIGN_OR_RETURN(const Container f, LocateContainer(bytes, path));
  EVAE_ASSIGN_OR_RETURN(Vetted v, Vet(path, f, f32_only, options));
  ModelMetadata metadata;
  int64_t adam_step = 0;
  EVAE_RETURN_IF_ERROR(ParseMetadata(MetadataReader(path, v.metadata.json), v.shape.latent,
                                     v.has_adam, &metadata, &adam_step));
  metadata.class_latents = std::move(v.metadata.class_latents);
  AnyModel out;
  if (v.kind == Kind::kInt8) {
    EVAE_ASSIGN_OR_RETURN(out.int8, LoadInt8(path, f, v, std::move(metadata), std::move(owner)));
  } else {
    EVAE_ASSIGN_OR_RETURN(Model model, LoadFloat(path, f, v, std::move(metadata), adam_step));
    out.f32.emplace(std::move(model));
    out.f16 = v.kind == Kind::kF16;
  }
  if (v.golden) {
    EVAE_ASSIGN_OR_RETURN(out.golden, LoadGolden(path, f, std::move(*v.golden), v.shape.input,
                                                 options.golden));
  }
  return out;
}

// The whole file in memory: mapped where there are files, or nothing on bare metal.
StatusOr<io::FileBytes> ReadModelFile(const std::string& path) {
#if defined(EDGEVAE_BARE_METAL)
  return Unsupported(path + ": this build has no file system; embed the model "
                            "(LoadEmbeddedModel)");
#else
  return io::ReadWholeFile(path, kMaxModelFileBytes, "a model file");
#endif
}

StatusOr<AnyModel> LoadPath(const std::string& path, bool f32_only) {
  EVAE_ASSIGN_OR_RETURN(io::FileBytes file, ReadModelFile(path));
  return LoadBytes(path, file.bytes, std::move(file.owner), f32_only);
}

// The bytes copied once into an aligned buffer the model keeps, so they may be freed after.
StatusOr<AnyModel> LoadCopy(const uint8_t* data, size_t size, const std::string& name,
                            const LoadOptions& options) {
  auto copy = std::make_shared<AlignedBuffer<uint8_t>>(size);
  if (size != 0 && copy->empty()) return Internal(name + ": out of memory");
  if (size != 0) std::memcpy(copy->data(), data, size);
  const std::span<const uint8_t> bytes(copy->data(), size);
  return LoadBytes(name, bytes, std::move(copy), /*f32_only=*/false, options);
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kI8:
      return "i8";
    case DType::kI32:
      return "i32";
    case DType::kU8:
      return "u8";
    case DType::kF16:
      return "f16";
    case DType::kI16:
      return "i16";
  }
  return "unknown";
}

StatusOr<ModelFileInfo> InspectModelFile(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(io::FileBytes file, ReadModelFile(path));
  EVAE_ASSIGN_OR_RETURN(Container f, LocateContainer(file.bytes, path));
  f.info.metadata_json.assign(f.metadata);
  if (Status st = CheckMetadataText(path, f.metadata, f.metadata_offset); !st.ok()) {
    f.info.metadata_problem = st.message();
  }
  return std::move(f.info);
}

StatusOr<Model> LoadModel(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(AnyModel any, LoadPath(path, /*f32_only=*/true));
  return std::move(*any.f32);
}

StatusOr<AnyModel> LoadAnyModel(const std::string& path) {
  return LoadPath(path, /*f32_only=*/false);
}

StatusOr<AnyModel> LoadAnyModelFromBytes(const uint8_t* data, size_t size,
                                         const std::string& name) {
  return LoadCopy(data, size, name, LoadOptions{});
}

StatusOr<AnyModel> LoadEmbeddedModel(std::span<const uint8_t> bytes, const std::string& name,
                                     const LoadOptions& options) {
  if (reinterpret_cast<uintptr_t>(bytes.data()) % kDataAlignment != 0) {
    return LoadCopy(bytes.data(), bytes.size(), name, options);
  }
  return LoadBytes(name, bytes, nullptr, /*f32_only=*/false, options);
}

}  // namespace edgevae
