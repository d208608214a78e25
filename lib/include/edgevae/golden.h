// Golden vectors for a converted model (stored by edgevae convert, re-run by edgevae verify and
// CheckGoldenVectors in edgevae/engine.h).
#ifndef EDGEVAE_GOLDEN_H_
#define EDGEVAE_GOLDEN_H_

#include "edgevae/idx.h"
#include "edgevae/model.h"
#include "edgevae/model_file.h"
#include "edgevae/status.h"

namespace edgevae {

// The first `count` images of `images` and the f32 model's reconstructions of them (z = mu);
// for a generator alone (no encoder), its `count` samples of seed 0 (Engine::Sample), as floats
// and rounded to bytes in place of the images. Thresholds are left at 0 for the caller to set.
StatusOr<GoldenVectors> MakeGoldenVectors(const Model& f32_model, const ImageSet& images,
                                          int count);

}  // namespace edgevae

#endif  // EDGEVAE_GOLDEN_H_
