// Per-class statistics of a trained VAE's encodings, stored in a converted model's metadata
// (metadata.class_latents) so that an unconditional model can be asked for "a 7"
// (edgevae/latent.h draws from them). Host tooling: a pass over a labelled data set.
#ifndef EDGEVAE_CLASS_LATENTS_H_
#define EDGEVAE_CLASS_LATENTS_H_

#include <vector>

#include "edgevae/engine.h"
#include "edgevae/idx.h"
#include "edgevae/model.h"
#include "edgevae/status.h"

namespace edgevae {

// Mean and covariance of the encoder's mu over the images of each label present in `images`
// (which must carry labels), in increasing label order. The covariance divides by the count (the
// maximum-likelihood estimate), accumulated in double over a second pass around the mean. Images
// are encoded in batches of engine.max_batch(). Errors: no labels, no images, a label > 255.
//
// With components > 1 each class is split by k-means (Lloyd's algorithm, 20 iterations, the
// centres started at the class's encodings of rank j * count / components in image order, so the
// result is deterministic) and one entry per non-empty cluster is returned: several entries with
// one label form a Gaussian mixture weighted by their counts (LatentMixture). A single Gaussian
// per class covers regions between a class's styles where the decoder draws other digits (with
// the shipped model, 79 % of "5"s drawn from one Gaussian were read as 5, 92 % with three
// components; docs/digits-demo.md).
//
// With temperature T != 1 every covariance is multiplied by T^2, so that draws land T times as
// far from their component's mean (T < 1: the "truncation" of sampling, more typical digits);
// the caller records T in metadata.class_temperature. T in (0, kMaxClassTemperature].
StatusOr<std::vector<ClassLatentStats>> ComputeClassLatentStats(Engine& engine,
                                                                const ImageSet& images,
                                                                int components = 1,
                                                                double temperature = 1);

}  // namespace edgevae

#endif  // EDGEVAE_CLASS_LATENTS_H_
