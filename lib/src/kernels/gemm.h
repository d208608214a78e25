// The XNNPACK wrapper: every inference product in edgevae goes through an XNNPACK operator (the
// fully-connected one for f32 and f16, a 1x1 qc8 convolution for int8), which computes
// C[M][N] = A[M][K] * B^T (+ bias, clamped) with B, the "weights", packed into its micro-kernel
// layout when the operator is created.
//
// Inference packs the weights once per model load and reuses the operators. Training, whose
// operands all change every step, does not use this wrapper: its products run on
// kernels/matmul.h, which packs nothing.
#ifndef EDGEVAE_KERNELS_GEMM_H_
#define EDGEVAE_KERNELS_GEMM_H_

#include <cstddef>
#include <utility>
#include <cstdint>

#include "edgevae/status.h"

typedef struct pthreadpool* pthreadpool_t;
typedef struct xnn_operator* xnn_operator_t;

namespace edgevae::gemm {

// How the packed operand B is laid out in memory.
enum class BLayout {
  kNK,  // B[n][k]: rows are output channels (PyTorch's [out, in] weights)
  kKN,  // B[k][n]: XNNPACK's XNN_FLAG_TRANSPOSE_WEIGHTS
};

// A created (packed) fully-connected operator. Move-only; deletes its operator.
class PackedGemm {
 public:
  PackedGemm() = default;
  ~PackedGemm();
  PackedGemm(PackedGemm&& other) noexcept { *this = std::move(other); }
  PackedGemm& operator=(PackedGemm&& other) noexcept;

  // Packs B (n x k in `layout`), optional bias[n], output clamp [out_min, out_max]. A rows must
  // be lda >= k floats apart, C rows ldc >= n floats apart. A must be readable 16 bytes past its
  // last element (XNN_EXTRA_BYTES); edgevae's AlignedBuffer guarantees that.
  static StatusOr<PackedGemm> Create(size_t n, size_t k, const float* b, BLayout layout,
                                     const float* bias, float out_min, float out_max,
                                     size_t lda, size_t ldc);
  // C[m][n] = A[m][k] * B^T (+ bias).
  Status Run(size_t m, const float* a, float* c, pthreadpool_t pool);

  // The int8 form: B is n x k int8 in [n][k] layout with one symmetric scale per row
  // (b_scales[n]), the bias int32 in units of a_scale * b_scales[r]; A and C are affine int8
  // (real = scale * (q - zp)), C clamped to [c_min, c_max] (c_min = c_zero_point is a fused ReLU).
  // XNNPACK's qc8 operator, a 1x1 convolution over m pixels; its requantization is fp32 (round
  // half to even) on every architecture, unlike the qs8 fully-connected operator's fixed point on
  // aarch64.
  static StatusOr<PackedGemm> CreateQc8(size_t n, size_t k, const int8_t* b, const float* b_scales,
                                        const int32_t* bias, int8_t a_zero_point, float a_scale,
                                        int8_t c_zero_point, float c_scale, int8_t c_min,
                                        int8_t c_max, size_t lda, size_t ldc);
  Status RunQc8(size_t m, const int8_t* a, int8_t* c, pthreadpool_t pool);

  // The IEEE half-precision form (XNNPACK f16): B [n][k], bias, A and C as raw binary16 bits.
  // Cores without fp16 arithmetic (a Pi 4's Cortex-A72) refuse it: kUnsupported.
  static StatusOr<PackedGemm> CreateF16(size_t n, size_t k, const uint16_t* b,
                                        const uint16_t* bias, float out_min, float out_max,
                                        size_t lda, size_t ldc);
  Status RunF16(size_t m, const uint16_t* a, uint16_t* c, pthreadpool_t pool);

  bool created() const { return op_ != nullptr; }
  size_t n() const { return n_; }
  size_t k() const { return k_; }

 private:
  // Calls `setup` unless the operator is already set up for these arguments (XNNPACK's setup
  // recomputes the tiling every time, a measurable share of a batch-1 call on a Pi), then runs
  // the operator.
  template <typename SetupFn>
  Status SetupAndRun(const char* kind, size_t m, const void* a, void* c, pthreadpool_t pool,
                     SetupFn setup);
  xnn_operator_t op_ = nullptr;
  size_t n_ = 0, k_ = 0;
  // The arguments of the last successful setup (m == 0: none).
  size_t set_m_ = 0;
  const void* set_a_ = nullptr;
  void* set_c_ = nullptr;
  pthreadpool_t set_pool_ = nullptr;
};

}  // namespace edgevae::gemm

#endif  // EDGEVAE_KERNELS_GEMM_H_
