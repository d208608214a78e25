// Fuzz harness: the .evae model file (docs/model-format.md), every version and dtype, through
// LoadAnyModelFromBytes (what edgevae-digits does with its embedded models), InspectModelFile and
// optionally LoadModel on the same bytes as a file (what `edgevae info` and the loaders do with
// --model FILE), and optionally what the programs then do with a loaded model: build the class
// mixtures from its metadata (edgevae-digits), create an engine and run it, re-run its golden
// vectors (`edgevae verify`), set up the web demo's handler (`edgevae-digits serve --model`).
//
// Input: byte 0 holds flags (below); the rest is the file, or, in pad mode, a short description
// of it. Two flags exist because mutations rarely get far in a real model file:
//  - kRepairChecksum: the XXH64 at offset 24 is recomputed after padding, so a mutated file gets
//    past the checksum to the metadata and tensor checks instead of stopping at the first one.
//  - kPad: even the smallest compiled shape's model (`tiny`, 784-8-2) is 16 KB (int8) to 160 KB
//    (f32 with Adam state), and mnist2d's 0.6 to 7.5 MB, mostly tensor data that only the
//    finiteness checks look at. In pad mode the input is
//      u8 fill, u32 fill_from (little-endian), then the file's first bytes (header, table and
//      metadata: 1 to 5 KB)
//    and the file is extended to the length its header declares (file_bytes, offset 16; at most
//    kMaxPaddedBytes) with zero bytes, except that bytes from offset fill_from on take `fill`
//    (0xff: NaN floats, 0x7f: huge ones), so that the weight, optimizer and golden-vector checks
//    are reached too. A model written with zero weights is exactly such a prefix plus zeros.
// The seeds (tests/fuzz/make_seeds.cc) are pad-mode files of every kind the writers make.
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/latent.h"
#include "edgevae/model.h"
#include "edgevae/status.h"
#include "fuzz_util.h"
#include "serve.h"

namespace {

using edgevae::fuzz::GetLe32;
using edgevae::fuzz::GetLe64;
using edgevae::fuzz::PutLe64;

constexpr uint8_t kRepairChecksum = 1;
constexpr uint8_t kPad = 2;
constexpr uint8_t kUseModel = 4;   // mixtures, engine, golden vectors of a loaded model
constexpr uint8_t kLoadModel = 8;  // also LoadModel (f32 only) and LoadAnyModel by path

// The largest file pad mode makes: mnist (784-400-20) f32 with Adam state is 7.8 MB, and the
// metadata size limit (8 MiB) needs a little more to be reached.
constexpr uint64_t kMaxPaddedBytes = 10 << 20;
constexpr size_t kPadHeader = 5;  // fill, fill_from

std::vector<uint8_t> MakeFile(uint8_t flags, const uint8_t* data, size_t size) {
  std::vector<uint8_t> file;
  if ((flags & kPad) == 0) {
    file.assign(data, data + size);
  } else if (size >= kPadHeader) {
    const uint8_t fill = data[0];
    const uint64_t fill_from = GetLe32(data + 1);
    file.assign(data + kPadHeader, data + size);
    const size_t prefix = file.size();
    if (prefix >= 24) {
      const uint64_t declared = GetLe64(file.data() + 16);
      if (declared > prefix && declared <= kMaxPaddedBytes) {
        file.resize(declared, 0);
        const size_t from = static_cast<size_t>(std::max<uint64_t>(fill_from, prefix));
        if (from < file.size()) std::memset(file.data() + from, fill, file.size() - from);
      }
    }
  }
  if ((flags & kRepairChecksum) != 0 && file.size() >= 32) {
    PutLe64(file.data() + 24, XXH64(file.data() + 32, file.size() - 32, 0));
  }
  return file;
}

// What edgevae-digits, `edgevae verify` and the scorers do with a model that loaded.
void UseModel(const edgevae::AnyModel& model) {
  using namespace edgevae;
  const ModelMetadata& md = model.int8 ? model.int8->metadata : model.f32->metadata();
  const ShapeInfo& shape = model.int8 ? model.int8->shape : model.f32->shape();
  std::vector<float> z(static_cast<size_t>(shape.latent), 0.0f);
  for (const ClassLatentStats& c : md.class_latents) {
    StatusOr<LatentMixture> mixture = LatentMixture::ForLabel(md.class_latents, c.label);
    if (!mixture.ok()) continue;
    FUZZ_CHECK(mixture->dim() == shape.latent, "mixture of %d dimensions, latent %d",
               mixture->dim(), shape.latent);
    mixture->Sample(1, 1, z.data());
  }
  EngineOptions options;
  options.f16 = model.f16;
  StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(model, options);
  if (!engine.ok()) return;
  std::vector<float> pixels(static_cast<size_t>(shape.input));
  std::vector<uint8_t> image(static_cast<size_t>(shape.input), 128);
  std::vector<float> mu(static_cast<size_t>(shape.latent)), logvar(mu.size());
  FUZZ_CHECK((*engine)->Decode(z.data(), 1, pixels.data()).ok(), "Decode failed");
  // A generator alone (a GAN's) has no encoder: encoding is refused, not attempted.
  const Status encoded = (*engine)->Encode(image.data(), 1, mu.data(), logvar.data());
  FUZZ_CHECK(shape.has_encoder() ? encoded.ok() : encoded.code() == StatusCode::kUnsupported,
             "Encode: %s", encoded.message().c_str());
  FUZZ_CHECK((*engine)->Sample(1, 7, pixels.data()).ok(), "Sample failed");
  if (model.golden) (void)CheckGoldenVectors(**engine, *model.golden);
  // edgevae-digits serve --model FILE: the class mixtures and the 2-D model's checks.
  if (shape.input == 784) {
    const digits::ServeOptions serve;
    (void)digits::DigitHandler::Create(serve, model, nullptr);
    (void)digits::DigitHandler::Create(serve, model, &model);  // as the 2-D model too
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgevae;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::vector<uint8_t> file = MakeFile(flags, data + 1, size - 1);

  StatusOr<AnyModel> loaded = LoadAnyModelFromBytes(file.data(), file.size(), "fuzz.evae");
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%zu bytes: %s\n", file.size(),
                 loaded.ok() ? loaded->dtype() : loaded.status().message().c_str());
  }
  if (loaded.ok()) {
    FUZZ_CHECK(loaded->f32.has_value() != loaded->int8.has_value(), "f32 and int8 both %s",
               loaded->f32 ? "set" : "unset");
  } else {
    FUZZ_CHECK(!loaded.status().message().empty(), "an error without a message");
  }

  const fuzz::MemFile mem(file.data(), file.size());
  StatusOr<ModelFileInfo> info = InspectModelFile(mem.path());
  if (loaded.ok()) {
    FUZZ_CHECK(info.ok(), "loads, but InspectModelFile says: %s",
               info.status().message().c_str());
    FUZZ_CHECK(info->checksum_ok && info->metadata_problem.empty(),
               "loads, but inspection finds checksum_ok=%d, metadata problem '%s'",
               info->checksum_ok, info->metadata_problem.c_str());
  }
  if (info.ok() && info->metadata_problem.empty()) {
    // `edgevae info` parses and prints metadata that passed the structure check.
    const nlohmann::json j = nlohmann::json::parse(info->metadata_json, nullptr, false);
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  if ((flags & kLoadModel) != 0) {
    StatusOr<AnyModel> by_path = LoadAnyModel(mem.path());
    FUZZ_CHECK(by_path.ok() == loaded.ok(), "LoadAnyModel %d, LoadAnyModelFromBytes %d: %s",
               by_path.ok(), loaded.ok(),
               (by_path.ok() ? loaded.status() : by_path.status()).message().c_str());
    StatusOr<Model> f32 = LoadModel(mem.path());
    const bool f32_file = loaded.ok() && loaded->f32 && !loaded->f16;
    FUZZ_CHECK(f32.ok() == f32_file, "LoadModel %d on a file that loads as %s", f32.ok(),
               loaded.ok() ? loaded->dtype() : "nothing");
  }
  if ((flags & kUseModel) != 0 && loaded.ok()) UseModel(*loaded);
  return 0;
}
