// The model the micro programs run, compiled in by the project's embedder (cmake/EmbedModel.cmake)
// and read in place, and what the programs share around it.
#ifndef EDGEVAE_FIRMWARE_MICRO_MICRO_MODEL_H_
#define EDGEVAE_FIRMWARE_MICRO_MICRO_MODEL_H_

#include <memory>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae::micro {

// The embedded int8 model, validated like a file (checksum, shape, quantization parameters),
// in an engine for one image at a time on one thread. Every allocation of the programs happens
// here, at start-up; decoding and scoring then use no heap.
// `options` says which class statistics to keep (the programs keep what they draw from); they
// are returned beside the engine rather than in its metadata.
struct MicroModel {
  std::unique_ptr<Engine> engine;
  std::vector<ClassLatentStats> class_latents;
};
StatusOr<MicroModel> LoadMicroModel(const LoadOptions& options);

// Prints `s` as one line on stderr; returns the exit status for it (1).
int Fail(const Status& s);

// On a microcontroller: the stack and heap peaks and the core (micro_platform.h) on stderr.
void PrintMemoryStats();

}  // namespace edgevae::micro

#endif  // EDGEVAE_FIRMWARE_MICRO_MICRO_MODEL_H_
