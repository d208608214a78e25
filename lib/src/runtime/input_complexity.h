// L(x), the input complexity of Serra et al. 2020 that the "-ic" and "-icr" scores correct by: the
// length of the image's zlib deflate (level 9) in nats (edgevae/score.h). Internal to the runtime.
#ifndef EDGEVAE_RUNTIME_INPUT_COMPLEXITY_H_
#define EDGEVAE_RUNTIME_INPUT_COMPLEXITY_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "edgevae/status.h"

namespace edgevae {

// A deflate stream made once and reset per image, so that scoring allocates nothing per image.
// Bare-metal builds have no zlib: Init refuses there, naming the scores that need it.
class ComplexityCoder {
 public:
  ComplexityCoder();
  ~ComplexityCoder();
  ComplexityCoder(const ComplexityCoder&) = delete;
  ComplexityCoder& operator=(const ComplexityCoder&) = delete;

  // For images of `pixels` bytes.
  Status Init(size_t pixels);
  // L(x) of one image, as InputComplexityNats computes it.
  StatusOr<double> Nats(const uint8_t* image);

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  size_t pixels_ = 0;
};

}  // namespace edgevae

#endif  // EDGEVAE_RUNTIME_INPUT_COMPLEXITY_H_
