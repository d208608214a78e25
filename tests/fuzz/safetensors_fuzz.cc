// Fuzz harness: ImportSafetensors (`edgevae convert --in model.safetensors`), on a memfd since it
// reads by path. An imported model must be fully finite and, exported again and re-imported,
// give the same parameters (kRoundTrip).
//
// Input: byte 0 holds flags; the rest is the file or, in pad mode (kPad), a short description:
//   u8 fill, u32 total (little-endian, at most kMaxPaddedBytes), then the file's first bytes
// (the 8-byte header length and the JSON header: about 1 KB), extended to `total` bytes with
// `fill` (0: zero weights; 0xff: NaNs). mnist2d's ten F32 tensors are 2.5 MB (the `tiny` shape's
// 54 KB), which libFuzzer would otherwise have to carry and mutate in every input.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/safetensors.h"
#include "edgevae/status.h"
#include "fuzz_util.h"

namespace {

using edgevae::fuzz::GetLe32;

constexpr uint8_t kPad = 2;
constexpr uint8_t kRoundTrip = 4;
// mnist (784-400-20) is 2.6 MB; the header length limit (8 MiB) needs a little more.
constexpr uint64_t kMaxPaddedBytes = 10 << 20;
constexpr size_t kPadHeader = 5;               // fill, total

// A private folder for the round trip's file (the writer is atomic: temp file, rename).
const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::string tmpl = (::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    tmpl += "/edgevae-fuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp %s failed", tmpl.c_str());
    std::atexit([] { ::rmdir(ScratchDir().c_str()); });
    return tmpl;
  }();
  return dir;
}

void RoundTrip(const edgevae::Model& model) {
  using namespace edgevae;
  const std::string path = ScratchDir() + "/roundtrip.safetensors";
  const Status written = ExportSafetensors(path, model);
  FUZZ_CHECK(written.ok(), "an imported model does not export: %s", written.message().c_str());
  StatusOr<Model> again = ImportSafetensors(path);
  ::unlink(path.c_str());
  FUZZ_CHECK(again.ok(), "an exported model does not import: %s",
             again.status().message().c_str());
  FUZZ_CHECK(again->shape() == model.shape() && again->param_floats() == model.param_floats(),
             "the round trip changed the shape");
  FUZZ_CHECK(std::memcmp(again->params(), model.params(), model.param_floats() * 4) == 0,
             "the round trip changed the parameters");
  FUZZ_CHECK(again->metadata().epochs == model.metadata().epochs, "epochs %d, then %d",
             model.metadata().epochs, again->metadata().epochs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgevae;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  ++data;
  --size;
  std::vector<uint8_t> file;
  if ((flags & kPad) == 0) {
    file.assign(data, data + size);
  } else {
    if (size < kPadHeader) return 0;
    const uint8_t fill = data[0];
    const uint64_t total = GetLe32(data + 1);
    file.assign(data + kPadHeader, data + size);
    if (total > file.size() && total <= kMaxPaddedBytes) file.resize(total, fill);
  }
  const fuzz::MemFile mem(file.data(), file.size());
  StatusOr<Model> model = ImportSafetensors(mem.path());
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%zu bytes: %s\n", file.size(),
                 model.ok() ? "imported" : model.status().message().c_str());
  }
  if (!model.ok()) {
    FUZZ_CHECK(!model.status().message().empty(), "an error without a message");
    return 0;
  }
  FUZZ_CHECK(model->FirstNonFinite().empty(), "imported a non-finite weight %s",
             model->FirstNonFinite().c_str());
  FUZZ_CHECK(!model->has_optimizer(), "an import with optimizer state");
  if ((flags & kRoundTrip) != 0) RoundTrip(*model);
  return 0;
}
