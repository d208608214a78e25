// The order an epoch visits the training images in, the same for every trainer. Internal to the
// tools library.
#ifndef EDGEVAE_TOOLS_EPOCH_ORDER_H_
#define EDGEVAE_TOOLS_EPOCH_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "edgevae/rng.h"

namespace edgevae {

// A permutation of [0, count) by Fisher-Yates with draws keyed by (seed, epoch): the same
// permutation on any machine, and the same for a resumed run as for an uninterrupted one.
inline std::vector<uint32_t> EpochOrder(size_t count, uint64_t seed, int epoch) {
  std::vector<uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  const RngStream shuffle(seed, StreamId(RngPurpose::kShuffle, static_cast<uint32_t>(epoch)));
  for (size_t i = count; i-- > 1;) {
    std::swap(order[i], order[shuffle.Below(i, static_cast<uint32_t>(i + 1))]);
  }
  return order;
}

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_EPOCH_ORDER_H_
