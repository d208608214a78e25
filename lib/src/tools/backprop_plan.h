// How each product of a VAE training step runs in bf16 (backprop.h has the layouts): the step's
// units (a layer of the table, or the two heads as one matrix) with the operand each of their
// three products packs, chosen once per shape, and the packing of several operators at once. (The
// fp32 step packs nothing: kernels/matmul.h.)
// Internal to the tools library.
#ifndef EDGEVAE_TOOLS_BACKPROP_PLAN_H_
#define EDGEVAE_TOOLS_BACKPROP_PLAN_H_

#include <cstddef>
#include <functional>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/shape.h"
#include "edgevae/status.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/parallel.h"

namespace edgevae {

enum class UnitKind { kHidden, kHeads, kLogits };

// One product of the network: a layer of the table, or the two heads as one matrix.
struct Unit {
  UnitKind kind;
  size_t in, out;
  size_t w, b;        // parameter offsets of the weight [out][in] and bias [out]
  bool takes_pixels;  // the first layer: no input gradient
  bool takes_z;       // the first decoder layer
  // How each product runs (backprop.h): with the weight packed, or the activation.
  bool fwd_on_weight;    // forward batch-major on the packed weight
  bool igrad_on_weight;  // input gradient batch-major on the packed weight
  bool wgrad_packs_dy;   // weight gradient packs dY and transposes its result into place
};

// The units of shape `s` with parameters laid out as `layout`, each packing the smaller operand
// of each product at the default minibatch (any batch size gives the same loss and gradient).
std::vector<Unit> Plan(const ShapeInfo& s, const ParamLayout& layout);

// One product's packed operator (the bf16 kernel).
struct Product {
  gemm::PackedGemmBf16 bf16;
  Status Run(size_t m, const float* a, float* c, pthreadpool_t pool) {
    return bf16.Run(m, a, c, pool);
  }
};

// An operator to create whose packed operand is `b` (n x k in `layout`), dense strides.
struct PackJob {
  size_t n, k;
  const float* b;
  gemm::BLayout layout;
  Product* op;
};

// Creates the jobs' operators concurrently over `pool`'s threads: a create packs on the calling
// thread only, so a lone create leaves the other cores idle. `other` (may be empty) runs as one
// more task beside the packing. The first failure, if any.
Status PackConcurrently(const std::vector<PackJob>& jobs, pthreadpool_t pool,
                        const std::function<void()>& other);

}  // namespace edgevae

#endif  // EDGEVAE_TOOLS_BACKPROP_PLAN_H_
