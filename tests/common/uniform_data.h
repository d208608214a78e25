// Reproducible test operands for the product kernels' tests: uniform in [-1, 1) from
// std::mt19937 (specified bit for bit) with our own mapping (std::uniform_real_distribution is
// not specified bit for bit).
#ifndef EDGEVAE_TESTS_COMMON_UNIFORM_DATA_H_
#define EDGEVAE_TESTS_COMMON_UNIFORM_DATA_H_

#include <cstdint>
#include <random>

namespace edgevae::testutil {

class UniformData {
 public:
  explicit UniformData(uint32_t seed) : gen_(seed) {}
  float Next() { return static_cast<float>(gen_() >> 8) * 0x1p-23f - 1.0f; }

 private:
  std::mt19937 gen_;
};

}  // namespace edgevae::testutil

#endif  // EDGEVAE_TESTS_COMMON_UNIFORM_DATA_H_
