// Seconds elapsed on the monotonic clock, for the trainers' epoch times and step profiles.
// Internal to the tools library.
#ifndef EDGEVAE_TOOLS_SINCE_H_
#define EDGEVAE_TOOLS_SINCE_H_

#include <chrono>

namespace edgevae {

using Clock = std::chrono::steady_clock;

// Seconds from `t` to now.
inline double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_SINCE_H_
