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
  EVAE_ASSIGN_OR_RETURN(AnyModel any, LoadEmbeddedModel(bytes, "the embedded model", o));
  if (!any.int8) {
    return Unsupported(std::string("the embedded model is ") + any.dtype() +
                       "; the micro programs run int8 models (edgevae convert --dtype int8)");
  }
  MicroModel out{std::move(*any.int8), {}};
  out.class_latents = std::move(out.model.metadata.class_latents);
  out.model.metadata.class_latents.clear();
  return out;
}

StatusOr<std::unique_ptr<Engine>> CreateMicroEngine(const Int8Model& model) {
  return Engine::Create(model, EngineOptions{.max_batch = 1, .threads = 1});
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
