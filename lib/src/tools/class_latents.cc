#include "edgevae/class_latents.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace edgevae {
namespace {

// Mean and covariance (divided by the count) of the rows `members` of mu (n x lat), in double.
ClassLatentStats StatsOf(const std::vector<float>& mu, int lat, const std::vector<int>& members,
                         int label) {
  std::vector<double> mean(lat, 0.0), cov(static_cast<size_t>(lat) * lat, 0.0), d(lat);
  for (int i : members) {
    for (int k = 0; k < lat; ++k) mean[k] += mu[static_cast<size_t>(i) * lat + k];
  }
  for (double& m : mean) m /= static_cast<double>(members.size());
  for (int i : members) {
    for (int k = 0; k < lat; ++k) d[k] = mu[static_cast<size_t>(i) * lat + k] - mean[k];
    for (int r = 0; r < lat; ++r) {
      for (int c = 0; c <= r; ++c) cov[static_cast<size_t>(r) * lat + c] += d[r] * d[c];
    }
  }
  ClassLatentStats s;
  s.label = label;
  s.count = static_cast<int>(members.size());
  s.mean.assign(mean.begin(), mean.end());
  s.cov.resize(static_cast<size_t>(lat) * lat);
  for (int r = 0; r < lat; ++r) {
    for (int c = 0; c <= r; ++c) {
      const float v = static_cast<float>(cov[static_cast<size_t>(r) * lat + c] / s.count);
      s.cov[static_cast<size_t>(r) * lat + c] = v;
      s.cov[static_cast<size_t>(c) * lat + r] = v;
    }
  }
  return s;
}

// Lloyd's k-means over the rows `members` of mu; returns the members of each non-empty cluster.
std::vector<std::vector<int>> KMeans(const std::vector<float>& mu, int lat,
                                     const std::vector<int>& members, int k) {
  const size_t n = members.size();
  k = static_cast<int>(std::min<size_t>(k, n));
  std::vector<double> centre(static_cast<size_t>(k) * lat);
  for (int c = 0; c < k; ++c) {
    const int row = members[static_cast<size_t>(c) * n / k];
    for (int j = 0; j < lat; ++j)
      centre[static_cast<size_t>(c) * lat + j] = mu[static_cast<size_t>(row) * lat + j];
  }
  std::vector<int> assign(n, 0);
  for (int iter = 0; iter < 20; ++iter) {
    for (size_t m = 0; m < n; ++m) {
      const float* x = mu.data() + static_cast<size_t>(members[m]) * lat;
      double best = std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        double d2 = 0;
        for (int j = 0; j < lat; ++j) {
          const double v = x[j] - centre[static_cast<size_t>(c) * lat + j];
          d2 += v * v;
        }
        if (d2 < best) {
          best = d2;
          assign[m] = c;
        }
      }
    }
    std::vector<double> sum(centre.size(), 0.0);
    std::vector<int> count(k, 0);
    for (size_t m = 0; m < n; ++m) {
      ++count[assign[m]];
      for (int j = 0; j < lat; ++j) {
        sum[static_cast<size_t>(assign[m]) * lat + j] +=
            mu[static_cast<size_t>(members[m]) * lat + j];
      }
    }
    for (int c = 0; c < k; ++c) {
      if (count[c] == 0) continue;  // an empty cluster keeps its centre
      for (int j = 0; j < lat; ++j) {
        centre[static_cast<size_t>(c) * lat + j] = sum[static_cast<size_t>(c) * lat + j] / count[c];
      }
    }
  }
  std::vector<std::vector<int>> clusters(k);
  for (size_t m = 0; m < n; ++m) clusters[assign[m]].push_back(members[m]);
  std::erase_if(clusters, [](const std::vector<int>& c) { return c.empty(); });
  return clusters;
}

}  // namespace

StatusOr<std::vector<ClassLatentStats>> ComputeClassLatentStats(Engine& engine,
                                                                const ImageSet& images,
                                                                int components,
                                                                double temperature) {
  const int lat = engine.shape().latent;
  if (components < 1 || components > 64) {
    return InvalidArgument("class latent statistics: components must be in [1, 64], got " +
                           std::to_string(components));
  }
  if (!(temperature > 0 && temperature <= kMaxClassTemperature)) {
    return InvalidArgument("class latent statistics: temperature must be in (0, 4], got " +
                           std::to_string(temperature));
  }
  if (images.count <= 0) return InvalidArgument("class latent statistics: no images");
  if (images.labels.size() != static_cast<size_t>(images.count)) {
    return InvalidArgument("class latent statistics: the images carry " +
                           std::to_string(images.labels.size()) + " labels for " +
                           std::to_string(images.count) + " images (labels are needed)");
  }
  if (images.pixels_per_image() != engine.shape().input) {
    return InvalidArgument("class latent statistics: images of " +
                           std::to_string(images.pixels_per_image()) + " pixels, the model takes " +
                           std::to_string(engine.shape().input));
  }
  // Encode everything once (60,000 x 20 floats is 4.8 MB), then two passes per class.
  const int batch = engine.max_batch();
  std::vector<float> mu(static_cast<size_t>(images.count) * lat);
  std::vector<float> logvar(static_cast<size_t>(batch) * lat);
  for (int i = 0; i < images.count; i += batch) {
    const int n = std::min(batch, images.count - i);
    EVAE_RETURN_IF_ERROR(
        engine.Encode(images.image(i), n, mu.data() + static_cast<size_t>(i) * lat, logvar.data()));
  }

  std::vector<std::vector<int>> members(256);
  for (int i = 0; i < images.count; ++i) members[images.labels[i]].push_back(i);
  std::vector<ClassLatentStats> out;
  for (int label = 0; label < 256; ++label) {
    if (members[label].empty()) continue;
    if (components == 1) {
      out.push_back(StatsOf(mu, lat, members[label], label));
      continue;
    }
    for (const std::vector<int>& cluster : KMeans(mu, lat, members[label], components)) {
      out.push_back(StatsOf(mu, lat, cluster, label));
    }
  }
  if (temperature != 1) {
    const float t2 = static_cast<float>(temperature * temperature);
    for (ClassLatentStats& s : out) {
      for (float& c : s.cov) c *= t2;
    }
  }
  return out;
}

}  // namespace edgevae
