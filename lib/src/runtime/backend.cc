// What every backend (backend.h) has unless it does better: the sigmoid after DecodeLogits, and
// no exact reconstruction error.
#include "runtime/backend.h"

#include "kernels/elementwise.h"
#include "kernels/parallel.h"

namespace edgevae {

Status Backend::DecodeProbs(const float* z, size_t n, float* out, pthreadpool_t pool) {
  EVAE_RETURN_IF_ERROR(DecodeLogits(z, n, out, pool));
  ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
    simd::Sigmoid(out + b * in_, out + b * in_, (e - b) * in_);
  });
  return Status::Ok();
}

Status Backend::ReconstructionError(const uint8_t*, size_t, ReconstructionLoss, float*, float*,
                                    double*, pthreadpool_t) {
  return Unsupported(std::string("exact reconstruction errors are computed by int8 engines; this "
                                 "one is ") + dtype());
}

}  // namespace edgevae
