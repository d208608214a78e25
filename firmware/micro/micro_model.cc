#include "micro_model.h"

#include <cstdint>
#include <cstdio>
#include <span>
#include <utility>

#include "edgevae/model_file.h"
#if defined(EDGEVAE_BARE_METAL)
#include "micro_platform.h"
#endif

// cmake/EmbedModel.cmake's array: EDGEVAE_MICRO_MODEL names the model file (firmware/micro).
alignas(64) extern const uint8_t edgevae_micro_model[];
extern const size_t edgevae_micro_model_size;

namespace edgevae::micro {

StatusOr<MicroModel> LoadMicroModel(const LoadOptions& options) {
  const std::span<const uint8_t> bytes(edgevae_micro_model, edgevae_micro_model_size);
  LoadOptions o = options;
  o.golden = false;  // nothing here re-runs them, and they would take 31 KB of RAM
  EVAE_ASSIGN_OR_RETURN(AnyModel model, LoadEmbeddedModel(bytes, "the embedded model", o));
  if (!model.int8) {
    return Unsupported(std::string("the embedded model is ") + model.dtype() +
                       "; the micro programs run int8 models (edgevae convert --dtype int8)");
  }
  MicroModel out;
  // Moved out before the engine copies the metadata, so that they are held once.
  out.class_latents = std::move(model.int8->metadata.class_latents);
  model.int8->metadata.class_latents.clear();
  EVAE_ASSIGN_OR_RETURN(out.engine,
                        Engine::Create(*model.int8, EngineOptions{.max_batch = 1, .threads = 1}));
  return out;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

void PrintMemoryStats() {
#if defined(EDGEVAE_BARE_METAL)
  std::fprintf(stderr, "core %s: stack peak %u bytes, heap peak %u bytes\n", MicroCpuName(),
               static_cast<unsigned>(MicroStackPeakBytes()),
               static_cast<unsigned>(MicroHeapPeakBytes()));
#endif
}

}  // namespace edgevae::micro
