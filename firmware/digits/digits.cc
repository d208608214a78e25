#include "digits.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "edgevae/latent.h"

namespace edgevae::digits {
namespace {

Status CheckCount(const char* what, int n, int max) {
  if (n < 1 || n > max) {
    return InvalidArgument(std::string(what) + " must be in [1, " + std::to_string(max) +
                           "], got " + std::to_string(n));
  }
  return Status::Ok();
}

StatusOr<LatentMixture> ClassMixture(const ModelMetadata& metadata, int dim, int digit) {
  if (digit < 0 || digit > 9) {
    return InvalidArgument("digit must be in [0, 9], got " + std::to_string(digit));
  }
  const ClassLatentStats* stats = FindClassLatents(metadata.class_latents, digit);
  if (stats == nullptr) {
    return DataError("the model has no latent statistics for digit " + std::to_string(digit) +
                     " (metadata.class_latents holds " +
                     std::to_string(metadata.class_latents.size()) +
                     " entries; 'edgevae convert' stores them)");
  }
  if (static_cast<int>(stats->mean.size()) != dim) {
    return DataError("metadata.class_latents for digit " + std::to_string(digit) + " has " +
                     std::to_string(stats->mean.size()) + " dimensions, the model's latent has " +
                     std::to_string(dim));
  }
  StatusOr<LatentMixture> m = LatentMixture::ForLabel(metadata.class_latents, digit);
  if (!m.ok()) return DataError(m.status().message());
  return m;
}

}  // namespace

StatusOr<LatentGrid> SampleGrid(int dim, int n, uint64_t seed) {
  EVAE_RETURN_IF_ERROR(CheckCount("-n", n, kMaxDigits));
  LatentGrid g{.dim = dim, .count = n, .grid_cols = std::min(n, 10)};
  g.z.resize(static_cast<size_t>(n) * dim);
  LatentGaussian::StandardNormal(dim).Sample(seed, n, g.z.data());
  return g;
}

StatusOr<LatentGrid> DigitGrid(const ModelMetadata& metadata, int dim, int digit, int n,
                               uint64_t seed) {
  EVAE_RETURN_IF_ERROR(CheckCount("-n", n, kMaxDigits));
  EVAE_ASSIGN_OR_RETURN(LatentMixture gauss, ClassMixture(metadata, dim, digit));
  LatentGrid g{.dim = dim, .count = n, .grid_cols = std::min(n, 10)};
  g.z.resize(static_cast<size_t>(n) * dim);
  gauss.Sample(seed, n, g.z.data());
  return g;
}

StatusOr<LatentGrid> InterpolationGrid(const ModelMetadata& metadata, int dim, int from, int to,
                                       int steps, uint64_t seed) {
  EVAE_RETURN_IF_ERROR(CheckCount("--steps", steps, 100));
  if (steps < 2) return InvalidArgument("--steps must be at least 2, got " + std::to_string(steps));
  EVAE_ASSIGN_OR_RETURN(LatentMixture a, ClassMixture(metadata, dim, from));
  EVAE_ASSIGN_OR_RETURN(LatentMixture b, ClassMixture(metadata, dim, to));
  std::vector<float> za(dim), zb(dim);
  a.Sample(seed, 1, za.data());
  b.Sample(seed, 1, zb.data());
  LatentGrid g{.dim = dim, .count = 2 * steps, .grid_cols = steps};
  g.z.resize(static_cast<size_t>(g.count) * dim);
  for (int i = 0; i < steps; ++i) {
    const float t = static_cast<float>(i) / (steps - 1);
    LerpLatent(za.data(), zb.data(), t, dim, g.z.data() + static_cast<size_t>(i) * dim);
    SlerpLatent(za.data(), zb.data(), t, dim, g.z.data() + static_cast<size_t>(steps + i) * dim);
  }
  return g;
}

StatusOr<LatentGrid> ManifoldGrid(int dim, int grid) {
  if (dim != 2) {
    return InvalidArgument(
        "the manifold needs a model with a 2-D latent space (mnist2d), this "
        "one has " +
        std::to_string(dim));
  }
  EVAE_RETURN_IF_ERROR(CheckCount("--grid", grid, 100));
  LatentGrid g{.dim = 2, .count = grid * grid, .grid_cols = grid};
  g.z.resize(static_cast<size_t>(g.count) * 2);
  for (int r = 0; r < grid; ++r) {
    for (int c = 0; c < grid; ++c) {
      float* z = g.z.data() + (static_cast<size_t>(r) * grid + c) * 2;
      z[0] = static_cast<float>(InverseNormalCdf((c + 0.5) / grid));
      z[1] = static_cast<float>(InverseNormalCdf(1.0 - (r + 0.5) / grid));
    }
  }
  return g;
}

StatusOr<LatentGrid> PerturbationGrid(const std::vector<float>& mu, const std::vector<float>& sd,
                                      int index, int steps, uint64_t seed) {
  const int dim = static_cast<int>(mu.size());
  if (sd.size() != mu.size()) return InvalidArgument("perturbation: mu and sd sizes differ");
  if (index < 0 || index >= dim) {
    return InvalidArgument("--dim must be in [0, " + std::to_string(dim - 1) + "], got " +
                           std::to_string(index));
  }
  EVAE_RETURN_IF_ERROR(CheckCount("--steps", steps, 100));
  if (steps < 2) return InvalidArgument("--steps must be at least 2, got " + std::to_string(steps));
  LatentGrid g{.dim = dim, .count = 2 * steps, .grid_cols = steps};
  g.z.resize(static_cast<size_t>(g.count) * dim);
  for (int i = 0; i < g.count; ++i) {
    std::copy(mu.begin(), mu.end(), g.z.begin() + static_cast<size_t>(i) * dim);
  }
  for (int i = 0; i < steps; ++i) {
    const float t = -3.0f + 6.0f * static_cast<float>(i) / (steps - 1);
    g.z[static_cast<size_t>(i) * dim + index] = mu[index] + t * sd[index];
  }
  std::vector<float> eps(steps);
  LatentGaussian::StandardNormal(1).Sample(seed, steps, eps.data());
  std::sort(eps.begin(), eps.end());
  for (int i = 0; i < steps; ++i) {
    g.z[static_cast<size_t>(steps + i) * dim + index] = mu[index] + eps[i] * sd[index];
  }
  return g;
}

Status DecodeGrid(Engine& engine, const LatentGrid& grid, std::vector<float>* images) {
  if (grid.dim != engine.shape().latent) {
    return InvalidArgument("latent codes of " + std::to_string(grid.dim) +
                           " dimensions for a model with " + std::to_string(engine.shape().latent));
  }
  const size_t input = engine.shape().input;
  images->resize(static_cast<size_t>(grid.count) * input);
  for (int i = 0; i < grid.count; i += engine.max_batch()) {
    const int n = std::min(engine.max_batch(), grid.count - i);
    EVAE_RETURN_IF_ERROR(engine.Decode(grid.z.data() + static_cast<size_t>(i) * grid.dim, n,
                                       images->data() + i * input));
  }
  return Status::Ok();
}

std::vector<uint8_t> ToBytes(const std::vector<float>& images) {
  std::vector<uint8_t> out(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const float v = std::clamp(images[i], 0.0f, 1.0f);
    out[i] = static_cast<uint8_t>(std::lround(v * 255.0f));
  }
  return out;
}

}  // namespace edgevae::digits
