// safetensors import and export for the PyTorch VAE example's state_dict.
//
// The reader is as strict as the reference implementation (huggingface/safetensors, Rust): the
// tensors' byte ranges must tile the buffer exactly (no overlap, no gap, nothing after the last),
// since a file that breaks this was not written by it and may be a crafted or damaged one. It is
// stricter where the file's purpose allows: exactly the ten VAE tensors, all F32.
#include "edgevae/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/file_util.h"
#include "runtime/json_util.h"

namespace edgevae {
namespace {

using io::GetU32;
using io::GetU64;
using io::PutU32;
using io::PutU64;
using io::Quoted;

using Json = nlohmann::json;

constexpr uint64_t kLengthBytes = 8;  // the u64 header length that starts the file
// A real header for ten tensors is ~1 KB; the reference implementation allows 100 MB, but parsing
// that much JSON takes about a gigabyte, more than a Pi Zero has. The same limit as a model file's
// metadata.
constexpr uint64_t kMaxHeaderBytes = 8 << 20;
constexpr uint64_t kHeaderAlignment = 8;
// Far larger than a state_dict of any compiled shape (mnist-deep's is 4.4 MB).
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;  // writers pad the JSON with spaces to this
constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kF32 = "F32";
constexpr uint64_t kF32Bytes = 4;

void StoreFloats(uint8_t* dst, const float* src, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) PutU32(dst + 4 * i, std::bit_cast<uint32_t>(src[i]));
  }
}
void LoadFloats(float* dst, const uint8_t* src, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(GetU32(src + 4 * i));
  }
}

// --- Message helpers ----------------------------------------------------------------------------

template <typename T>
std::string ListText(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(v[i]);
  }
  return out + "]";
}

std::string ShapeText(const ShapeInfo& s) {
  return std::string(s.name) + " (" + s.SizesText() + ")";
}

// The tensor names of a shape's state_dict, in the order Model::tensors() has them: its table's
// layer names (the PyTorch VAE example's fc1, fc21, fc22, fc3, fc4 for mnist and mnist2d).
std::vector<std::string> TensorNames(const ShapeInfo& shape) {
  std::vector<std::string> names;
  for (const LayerInfo& l : shape.layers) {
    names.push_back(std::string(l.name) + ".weight");
    names.push_back(std::string(l.name) + ".bias");
  }
  return names;
}

// The compiled shapes that share `names` as their state_dict, e.g. "mnist, mnist2d".
std::string ShapesNamed(const std::vector<std::string>& names) {
  std::string out;
  for (const ShapeInfo& s : CompiledShapes()) {
    if (!s.is_vae() || TensorNames(s) != names) continue;
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

// The compiled shape whose state_dict names the file's tensors match best (the most in common;
// the first shape on a tie), so that a message can say what was expected. Only VAEs: the format
// carries PyTorch VAE state_dicts.
ShapeInfo ClosestShape(const std::vector<std::string>& found) {
  ShapeInfo best = CompiledShapes()[0];
  size_t best_common = 0;
  for (const ShapeInfo& s : CompiledShapes()) {
    if (!s.is_vae()) continue;
    const std::vector<std::string> names = TensorNames(s);
    size_t common = 0;
    for (const std::string& n : found) common += std::count(names.begin(), names.end(), n);
    if (common > best_common) {
      best_common = common;
      best = s;
    }
  }
  return best;
}

std::string ListNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// --- Reading ------------------------------------------------------------------------------------

// One tensor entry of the header, checked for form but not yet against the model.
struct Entry {
  std::string name;
  std::vector<uint64_t> shape;
  uint64_t begin = 0, end = 0;  // in the buffer
};

const Entry* FindEntry(const std::vector<Entry>& entries, std::string_view name) {
  for (const Entry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// A JSON array of non-negative integers, or nullopt.
std::optional<std::vector<uint64_t>> Unsigneds(const Json& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<uint64_t> out;
  for (const Json& e : v) {
    if (!e.is_number_unsigned()) return std::nullopt;
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

StatusOr<Entry> ParseEntry(const std::string& path, const std::string& name, const Json& v,
                           uint64_t buffer_bytes, uint64_t buffer_offset) {
  const std::string what = path + ": tensor " + Quoted(name);
  if (!v.is_object()) {
    return DataError(what + ": expected an object with dtype, shape and data_offsets, found " +
                     io::JsonExcerpt(v));
  }
  for (const auto& [key, value] : v.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return DataError(what + ": unexpected field " + Quoted(key) +
                       "; expected dtype, shape and data_offsets");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) return DataError(what + ": missing field '" + key + "'");
  }
  const Json& dtype = v["dtype"];
  if (!dtype.is_string()) {
    return DataError(what + ": dtype: expected a string, found " + io::JsonExcerpt(dtype));
  }
  if (dtype.get<std::string>() != kF32) {
    return DataError(what + ": dtype " + Quoted(dtype.get<std::string>()) + ", expected " + kF32 +
                     " (save the state_dict after model.float())");
  }
  Entry e;
  e.name = name;
  std::optional<std::vector<uint64_t>> shape = Unsigneds(v["shape"]);
  if (!shape) {
    return DataError(what + ": shape: expected an array of non-negative integers, found " +
                     io::JsonExcerpt(v["shape"]));
  }
  e.shape = std::move(*shape);
  std::optional<std::vector<uint64_t>> offsets = Unsigneds(v["data_offsets"]);
  if (!offsets || offsets->size() != 2) {
    return DataError(what +
                     ": data_offsets: expected [begin, end] (non-negative integers), found " +
                     io::JsonExcerpt(v["data_offsets"]));
  }
  e.begin = (*offsets)[0];
  e.end = (*offsets)[1];
  if (e.begin > e.end) {
    return DataError(what + ": data_offsets " + ListText(*offsets) +
                     " are reversed: begin is after end");
  }
  if (e.end > buffer_bytes) {
    return DataError(what + ": data_offsets " + ListText(*offsets) +
                     " extend beyond the byte buffer (" + std::to_string(buffer_bytes) +
                     " bytes at file offset " + std::to_string(buffer_offset) +
                     "); truncated file?");
  }
  uint64_t want = kF32Bytes;
  bool overflow = false;
  for (const uint64_t d : e.shape) overflow |= __builtin_mul_overflow(want, d, &want);
  if (overflow || e.end - e.begin != want) {
    return DataError(what + ": byte length " + std::to_string(e.end - e.begin) + " (data_offsets " +
                     ListText(*offsets) + "), expected " +
                     (overflow ? std::string("more than 2^64") : std::to_string(want)) +
                     " for shape " + ListText(e.shape) + " F32");
  }
  return e;
}

Status ParseMetadata(const std::string& path, const Json& v, ModelMetadata* md) {
  const std::string what = path + ": " + kMetadataKey;
  if (!v.is_object()) {
    return DataError(what + ": expected an object of strings, found " + io::JsonExcerpt(v));
  }
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) {
      return DataError(what + " key " + Quoted(key) + ": expected a string, found " +
                       io::JsonExcerpt(value));
    }
  }
  md->dataset = "mnist";
  md->epochs = 0;
  if (v.contains("epochs")) {
    const std::string text = v["epochs"].get<std::string>();
    const bool digits = !text.empty() && text.size() <= 10 &&
                        text.find_first_not_of("0123456789") == std::string::npos;
    const uint64_t n = digits ? std::stoull(text) : 0;
    if (!digits || n > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
      return DataError(what + " key 'epochs': expected a decimal integer from 0 to " +
                       std::to_string(std::numeric_limits<int>::max()) + ", found " + Quoted(text));
    }
    md->epochs = static_cast<int>(n);
  }
  return Status::Ok();
}

// Every byte of the buffer belongs to exactly one tensor.
Status CheckTiling(const std::string& path, std::vector<const Entry*> entries,
                   uint64_t buffer_bytes) {
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  // Overlaps first: a tensor moved onto another's bytes also leaves a gap, and the overlap is
  // what to report.
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry* a = entries[i - 1];
    const Entry* b = entries[i];
    if (b->begin < a->end) {
      return DataError(path + ": tensor " + Quoted(b->name) + " at [" + std::to_string(b->begin) +
                       ", " + std::to_string(b->end) + ") overlaps tensor " + Quoted(a->name) +
                       " at [" + std::to_string(a->begin) + ", " + std::to_string(a->end) +
                       ") in the byte buffer");
    }
  }
  uint64_t covered = 0;  // bytes [0, covered) belong to the tensors so far
  for (const Entry* e : entries) {
    if (e->begin > covered) {
      return DataError(path + ": bytes [" + std::to_string(covered) + ", " +
                       std::to_string(e->begin) + ") of the byte buffer belong to no tensor");
    }
    covered = e->end;
  }
  if (covered != buffer_bytes) {
    return DataError(path + ": bytes [" + std::to_string(covered) + ", " +
                     std::to_string(buffer_bytes) +
                     ") at the end of the byte buffer belong to no tensor");
  }
  return Status::Ok();
}

// The file split into its parts: the header's JSON and the byte buffer after it.
struct Parts {
  Json header;
  uint64_t header_bytes = 0;
  uint64_t buffer_offset = 0;
  std::span<const uint8_t> buffer;
};

// The length prefix, the header's limits (size, NUL, depth, keys) and its JSON, with repeated
// top-level keys refused.
StatusOr<Parts> SplitFile(const std::string& path, std::span<const uint8_t> bytes) {
  const uint64_t size = bytes.size();
  if (size < kLengthBytes) {
    return DataError(path + ": truncated: " + std::to_string(size) +
                     " bytes, shorter than the 8-byte header length of a safetensors file");
  }
  Parts parts;
  parts.header_bytes = GetU64(bytes.data());
  const uint64_t header_bytes = parts.header_bytes;
  if (header_bytes > size - kLengthBytes) {
    return DataError(path + ": header length " + std::to_string(header_bytes) +
                     " (bytes 0-7, little-endian) is larger than the file allows (" +
                     std::to_string(size) + " bytes, so at most " +
                     std::to_string(size - kLengthBytes) +
                     "); not a safetensors file, or truncated");
  }
  if (header_bytes > kMaxHeaderBytes) {
    return DataError(path + ": header length " + std::to_string(header_bytes) +
                     " (bytes 0-7) is above this reader's limit of " +
                     std::to_string(kMaxHeaderBytes));
  }
  const char* text = reinterpret_cast<const char*>(bytes.data() + kLengthBytes);
  const char* text_end = text + header_bytes;
  parts.buffer_offset = kLengthBytes + header_bytes;
  parts.buffer = bytes.subspan(parts.buffer_offset);

  // A NUL (the reference reader refuses it too: padding is spaces), depth and key counts.
  EVAE_RETURN_IF_ERROR(io::CheckJsonStructure(
      std::string_view(text, header_bytes),
      path + ": header (" + std::to_string(header_bytes) + " bytes at offset 8)", kLengthBytes));
  // nlohmann keeps the last of two equal keys; a file with two entries for one tensor is
  // ambiguous, so note repeats of top-level keys (depth 1) as they are parsed.
  std::set<std::string> keys;
  std::string repeated;
  const Json::parser_callback_t on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!keys.insert(parsed.get<std::string>()).second && repeated.empty()) {
        repeated = parsed.get<std::string>();
      }
    }
    return true;
  };
  parts.header = Json::parse(text, text_end, on_event, /*allow_exceptions=*/false);
  if (parts.header.is_discarded()) {
    return DataError(path + ": header (" + std::to_string(header_bytes) +
                     " bytes at offset 8) is not JSON: " + io::JsonSyntaxError(text, text_end));
  }
  if (!parts.header.is_object()) {
    return DataError(path + ": header (offset 8): expected a JSON object, found " +
                     parts.header.type_name());
  }
  if (!repeated.empty()) {
    return DataError(path + ": header: key " + Quoted(repeated) + " appears more than once");
  }
  return parts;
}

// The header's entries: exactly the state_dict names of the closest compiled shape, each well
// formed, together tiling the buffer. The __metadata__ object goes to *metadata.
StatusOr<std::vector<Entry>> ReadEntries(const std::string& path, const Parts& parts,
                                         const std::vector<std::string>& names,
                                         ModelMetadata* metadata) {
  const std::string expected =
      "expected exactly the state_dict of " + ShapesNamed(names) + ": " + ListNames(names);
  const uint64_t buffer_bytes = parts.buffer.size();
  std::vector<Entry> entries;
  for (const auto& [name, value] : parts.header.items()) {
    if (name == kMetadataKey) {
      EVAE_RETURN_IF_ERROR(ParseMetadata(path, value, metadata));
      continue;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return DataError(path + ": unexpected tensor " + Quoted(name) + "; " + expected);
    }
    EVAE_ASSIGN_OR_RETURN(Entry e,
                          ParseEntry(path, name, value, buffer_bytes, parts.buffer_offset));
    entries.push_back(std::move(e));
  }
  for (const std::string& name : names) {
    if (FindEntry(entries, name) == nullptr) {
      return DataError(path + ": missing tensor '" + name + "'; " + expected);
    }
  }
  std::vector<const Entry*> all;
  for (const Entry& e : entries) all.push_back(&e);
  EVAE_RETURN_IF_ERROR(CheckTiling(path, std::move(all), buffer_bytes));
  return entries;
}

// The compiled shape of these entries: the first layer's weight is [hidden, input], the mean
// head's [latent, ...], and the shape of those sizes must have `closest`'s names.
StatusOr<ShapeInfo> ShapeOf(const std::string& path, const std::vector<Entry>& entries,
                            const ShapeInfo& closest) {
  const Entry* first = FindEntry(entries, std::string(closest.layers[0].name) + ".weight");
  const Entry* mean = FindEntry(
      entries, std::string(closest.layers[closest.Find(LayerRole::kMean)].name) + ".weight");
  for (const Entry* e : {first, mean}) {
    if (e->shape.size() != 2) {
      return DataError(path + ": tensor '" + e->name + "': shape " + ListText(e->shape) +
                       ", expected 2-D [out_features, in_features]");
    }
  }
  const auto as_int = [](uint64_t v) {
    return static_cast<int>(std::min<uint64_t>(v, std::numeric_limits<int>::max()));
  };
  const int input = as_int(first->shape[1]), hidden = as_int(first->shape[0]),
            latent = as_int(mean->shape[0]);
  StatusOr<ShapeInfo> shape = Unsupported(
      "shape " + std::to_string(input) + "-" + std::to_string(hidden) + "-" +
      std::to_string(latent) + " is not compiled in; compiled shapes: " + CompiledShapeList());
  for (const ShapeInfo& s : CompiledShapes()) {
    if (s.is_vae() && s.has_encoder() && s.input == input && s.hidden == hidden &&
        s.latent == latent) {
      shape = s;
      break;
    }
  }
  if (shape.ok() && TensorNames(*shape) != TensorNames(closest)) {
    shape = Unsupported("a shape of these sizes has other tensor names: " +
                        ListNames(TensorNames(*shape)));
  }
  if (!shape.ok()) {
    return Unsupported(path + ": " + first->name + " " + ListText(first->shape) + " and " +
                       mean->name + " " + ListText(mean->shape) +
                       " (input-hidden-latent): " + shape.status().message());
  }
  return shape;
}

}  // namespace

StatusOr<Model> ImportSafetensors(const std::string& path) {
  EVAE_ASSIGN_OR_RETURN(const io::FileBytes file,
                        io::ReadWholeFile(path, kMaxFileBytes, "a safetensors file"));
  EVAE_ASSIGN_OR_RETURN(const Parts parts, SplitFile(path, file.bytes));
  std::vector<std::string> found;
  for (const auto& [name, value] : parts.header.items()) {
    if (name != kMetadataKey) found.push_back(name);
  }
  const ShapeInfo closest = ClosestShape(found);
  ModelMetadata metadata;
  EVAE_ASSIGN_OR_RETURN(const std::vector<Entry> entries,
                        ReadEntries(path, parts, TensorNames(closest), &metadata));
  EVAE_ASSIGN_OR_RETURN(const ShapeInfo shape, ShapeOf(path, entries, closest));
  EVAE_ASSIGN_OR_RETURN(Model model, Model::Create(shape));
  for (const TensorView& tv : model.tensors()) {
    std::vector<uint64_t> want = {static_cast<uint64_t>(tv.rows)};
    if (tv.cols != 0) want.push_back(static_cast<uint64_t>(tv.cols));
    const Entry* e = FindEntry(entries, tv.name);
    if (e->shape != want) {
      return DataError(path + ": tensor '" + tv.name + "': shape " + ListText(e->shape) +
                       ", expected " + ListText(want) + " for shape " + ShapeText(shape));
    }
    LoadFloats(model.params() + tv.offset, parts.buffer.data() + e->begin, tv.size());
  }
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": non-finite value in " + bad);
  }
  metadata.edgevae_version = model.metadata().edgevae_version;
  model.metadata() = metadata;
  return model;
}

Status ExportSafetensors(const std::string& path, const Model& model) {
  // Never write a file that ImportSafetensors would refuse.
  EVAE_RETURN_IF_ERROR(RequireVae(model.shape(), "safetensors export"));
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError(path + ": not exporting a model with a non-finite weight " + bad);
  }
  std::vector<const TensorView*> order;
  for (const TensorView& tv : model.tensors()) order.push_back(&tv);
  std::sort(order.begin(), order.end(),
            [](const TensorView* a, const TensorView* b) { return a->name < b->name; });

  // The reference writer's layout: "__metadata__" first, then the tensors by name, each entry's
  // fields in the order dtype, shape, data_offsets; the data in the same order, contiguous.
  using OJson = nlohmann::ordered_json;
  OJson header = OJson::object();
  header[kMetadataKey] = {{"format", "pt"},
                          {"dataset", model.metadata().dataset},
                          {"epochs", std::to_string(model.metadata().epochs)}};
  uint64_t at = 0;
  for (const TensorView* tv : order) {
    std::vector<uint64_t> shape = {static_cast<uint64_t>(tv->rows)};
    if (tv->cols != 0) shape.push_back(static_cast<uint64_t>(tv->cols));
    const uint64_t bytes = tv->size() * kF32Bytes;
    OJson entry = OJson::object();
    entry["dtype"] = kF32;
    entry["shape"] = shape;
    entry["data_offsets"] = {at, at + bytes};
    header[tv->name] = std::move(entry);
    at += bytes;
  }
  // replace: a dataset name that is not UTF-8 must not make dump() throw.
  std::string text = header.dump(-1, ' ', false, OJson::error_handler_t::replace);
  text.resize((text.size() + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment, ' ');

  std::vector<uint8_t> out(kLengthBytes + text.size() + at);
  PutU64(out.data(), text.size());
  std::memcpy(out.data() + kLengthBytes, text.data(), text.size());
  uint8_t* dst = out.data() + kLengthBytes + text.size();
  for (const TensorView* tv : order) {
    StoreFloats(dst, model.params() + tv->offset, tv->size());
    dst += tv->size() * kF32Bytes;
  }
  return io::WriteFileAtomic(path, out);
}

}  // namespace edgevae
