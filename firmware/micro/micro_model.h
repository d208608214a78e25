// The model the micro programs run, compiled in by the project's embedder (cmake/EmbedModel.cmake)
// and read in place, and what the programs share around it.
#ifndef EDGEVAE_FIRMWARE_MICRO_MICRO_MODEL_H_
#define EDGEVAE_FIRMWARE_MICRO_MICRO_MODEL_H_

#include <memory>
#include <vector>

#include "edgevae/engine.h"
#include "edgevae/int8_model.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae::micro {

// The embedded int8 model, validated like a file (checksum, shape, quantization parameters).
// `options` says which class statistics to keep (the programs keep what they draw from); they
// are returned beside the model rather than in its metadata, so that a program can draw its
// latent codes and free them before it creates the engine: the heap then never holds both.
struct MicroModel {
  Int8Model model;
  std::vector<ClassLatentStats> class_latents;
};
StatusOr<MicroModel> LoadMicroModel(const LoadOptions& options);
// An engine for one image at a time on one thread. Every allocation of the programs happens
// at start-up, in these two; decoding and scoring then use no heap.
StatusOr<std::unique_ptr<Engine>> CreateMicroEngine(const Int8Model& model);

// Prints `s` as one line on stderr; returns the exit status for it (1).
int Fail(const Status& s);

// On a microcontroller: the stack and heap peaks and the core (micro_platform.h) on stderr.
void PrintMemoryStats();

}  // namespace edgevae::micro

#endif  // EDGEVAE_FIRMWARE_MICRO_MICRO_MODEL_H_
