// What edgevae-digits draws: each mode turns into a set of latent vectors laid out as a grid, and
// one decode pass turns those into images. Only the library's public API is used.
#ifndef EDGEVAE_FIRMWARE_DIGITS_DIGITS_H_
#define EDGEVAE_FIRMWARE_DIGITS_DIGITS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "edgevae/idx.h"
#include "edgevae/engine.h"
#include "edgevae/image.h"
#include "edgevae/model.h"
#include "edgevae/status.h"

namespace edgevae::digits {

// Latent vectors (count x dim, row-major) and how to lay their images out.
struct LatentGrid {
  int dim = 0;
  int count = 0;
  int grid_cols = 1;
  std::vector<float> z;
};

// Largest number of digits one call draws (a 100 x 100 grid).
inline constexpr int kMaxDigits = 10000;

// n draws from the prior N(0, I) (LatentGaussian::StandardNormal), grid_cols = min(n, 10).
StatusOr<LatentGrid> SampleGrid(int dim, int n, uint64_t seed);
// n draws from the latent distribution of `digit` (LatentMixture of metadata.class_latents; a
// model without statistics for that class is a DataError).
StatusOr<LatentGrid> DigitGrid(const ModelMetadata& metadata, int dim, int digit, int n,
                               uint64_t seed);
// Two rows of `steps` (>= 2) codes from a draw of class `from` to a draw of class `to` (the
// first draw of each class's LatentMixture for seed): the first row linear, the second spherical.
StatusOr<LatentGrid> InterpolationGrid(const ModelMetadata& metadata, int dim, int from, int to,
                                       int steps, uint64_t seed);
// The AEVB paper's figure 4 for a 2-D latent space: grid x grid codes
// z = (Phi^-1((c + 0.5) / grid), Phi^-1(1 - (r + 0.5) / grid)) at column c and row r, so that z1
// grows to the right and z2 upwards.
StatusOr<LatentGrid> ManifoldGrid(int dim, int grid);
// One latent dimension varied around a code `mu` with spread `sd` (dim entries each): the first
// row moves z[index] linearly from mu - 3 sd to mu + 3 sd (mean perturbation); the second draws
// z[index] ~ N(mu, sd^2) `steps` times, keyed by seed and sorted, with the other dimensions at mu
// (variance perturbation).
StatusOr<LatentGrid> PerturbationGrid(const std::vector<float>& mu, const std::vector<float>& sd,
                                      int index, int steps, uint64_t seed);

// Decodes every code of `grid` in batches of engine.max_batch() into pixel probabilities
// (count x input).
Status DecodeGrid(Engine& engine, const LatentGrid& grid, std::vector<float>* images);

// Pixel probabilities to bytes (round(255 p), clamped), the form of MNIST's IDX files.
std::vector<uint8_t> ToBytes(const std::vector<float>& images);

}  // namespace edgevae::digits

#endif  // EDGEVAE_FIRMWARE_DIGITS_DIGITS_H_
