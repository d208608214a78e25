#include "kernels/gemm.h"

#include <xnnpack.h>

#include <string>

namespace edgevae::gemm {
namespace {
std::string Describe(xnn_status s) {
  switch (s) {
    case xnn_status_uninitialized: return "XNNPACK is not initialised (create a Runtime first)";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
    default: return "status " + std::to_string(static_cast<int>(s));
  }
}
Status CheckStrides(size_t n, size_t k, size_t lda, size_t ldc) {
  if (lda < k || ldc < n) {
    return InvalidArgument("GEMM strides too short: lda " + std::to_string(lda) + " < k " +
                           std::to_string(k) + " or ldc " + std::to_string(ldc) + " < n " +
                           std::to_string(n));
  }
  return Status::Ok();
}

}  // namespace

PackedGemm::~PackedGemm() {
  if (op_ != nullptr) xnn_delete_operator(op_);
}

PackedGemm& PackedGemm::operator=(PackedGemm&& other) noexcept {
  if (this != &other) {
    if (op_ != nullptr) xnn_delete_operator(op_);
    op_ = other.op_;
    n_ = other.n_;
    k_ = other.k_;
    set_m_ = other.set_m_;  // the setup belongs to the operator, which moves
    set_a_ = other.set_a_;
    set_c_ = other.set_c_;
    set_pool_ = other.set_pool_;
    other.op_ = nullptr;
    other.set_m_ = 0;
  }
  return *this;
}

StatusOr<PackedGemm> PackedGemm::Create(size_t n, size_t k, const float* b, BLayout layout,
                                        const float* bias, float out_min, float out_max,
                                        size_t lda, size_t ldc) {
  EVAE_RETURN_IF_ERROR(CheckStrides(n, k, lda, ldc));
  PackedGemm g;
  g.n_ = n;
  g.k_ = k;
  const uint32_t flags = layout == BLayout::kKN ? XNN_FLAG_TRANSPOSE_WEIGHTS : 0;
  const xnn_status s =
      xnn_create_fully_connected_nc_f32(k, n, lda, ldc, b, bias, out_min, out_max, flags, &g.op_);
  if (s != xnn_status_success) {
    return Internal("XNNPACK fully-connected create (" + std::to_string(n) + "x" +
                    std::to_string(k) + ") failed: " + Describe(s));
  }
  return g;
}

Status PackedGemm::Run(size_t m, const float* a, float* c, pthreadpool_t pool) {
  if (m == 0) return Status::Ok();
  return SetupAndRun("", m, a, c, pool,
                     [&] { return xnn_setup_fully_connected_nc_f32(op_, m, a, c, pool); });
}

template <typename SetupFn>
Status PackedGemm::SetupAndRun(const char* kind, size_t m, const void* a, void* c,
                               pthreadpool_t pool, SetupFn setup) {
  xnn_status s = xnn_status_success;
  if (m != set_m_ || a != set_a_ || c != set_c_ || pool != set_pool_) {
    set_m_ = 0;
    s = setup();
    if (s == xnn_status_success) {
      set_m_ = m;
      set_a_ = a;
      set_c_ = c;
      set_pool_ = pool;
    }
  }
  if (s == xnn_status_success) s = xnn_run_operator(op_, pool);
  if (s != xnn_status_success) {
    return Internal(std::string("XNNPACK ") + kind + "fully-connected run (" + std::to_string(m) +
                    "x" + std::to_string(n_) + "x" + std::to_string(k_) + ") failed: " +
                    Describe(s));
  }
  return Status::Ok();
}

StatusOr<PackedGemm> PackedGemm::CreateQc8(size_t n, size_t k, const int8_t* b,
                                           const float* b_scales, const int32_t* bias,
                                           int8_t a_zero_point, float a_scale,
                                           int8_t c_zero_point, float c_scale, int8_t c_min,
                                           int8_t c_max, size_t lda, size_t ldc) {
  EVAE_RETURN_IF_ERROR(CheckStrides(n, k, lda, ldc));
  PackedGemm g;
  g.n_ = n;
  g.k_ = k;
  const xnn_status s = xnn_create_convolution2d_nhwc_qc8(
      /*padding=*/0, 0, 0, 0, /*kernel=*/1, 1, /*subsampling=*/1, 1, /*dilation=*/1, 1,
      /*groups=*/1, k, n, lda, ldc, a_zero_point, a_scale, b_scales, b, bias, c_zero_point,
      c_scale, c_min, c_max, /*flags=*/0, &g.op_);
  if (s != xnn_status_success) {
    return Internal("XNNPACK qc8 1x1 convolution create (" + std::to_string(n) + "x" +
                    std::to_string(k) + ", input scale " + std::to_string(a_scale) +
                    ", output scale " + std::to_string(c_scale) + ") failed: " + Describe(s));
  }
  return g;
}

Status PackedGemm::RunQc8(size_t m, const int8_t* a, int8_t* c, pthreadpool_t pool) {
  if (m == 0) return Status::Ok();
  return SetupAndRun("qc8 ", m, a, c, pool, [&] {
    return xnn_setup_convolution2d_nhwc_qc8(op_, m, /*height=*/1, /*width=*/1, a, c, pool);
  });
}

StatusOr<PackedGemm> PackedGemm::CreateF16(size_t n, size_t k, const uint16_t* b,
                                           const uint16_t* bias, float out_min, float out_max,
                                           size_t lda, size_t ldc) {
  EVAE_RETURN_IF_ERROR(CheckStrides(n, k, lda, ldc));
  PackedGemm g;
  g.n_ = n;
  g.k_ = k;
  const xnn_status s = xnn_create_fully_connected_nc_f16(k, n, lda, ldc, b, bias, out_min,
                                                         out_max, /*flags=*/0, &g.op_);
  if (s == xnn_status_unsupported_hardware) {
    return Unsupported("this CPU has no fp16 arithmetic that XNNPACK uses (f16 models are for "
                       "cores such as the Pi 5's Cortex-A76); use the f32 or int8 model");
  }
  if (s != xnn_status_success) {
    return Internal("XNNPACK f16 fully-connected create (" + std::to_string(n) + "x" +
                    std::to_string(k) + ") failed: " + Describe(s));
  }
  return g;
}

Status PackedGemm::RunF16(size_t m, const uint16_t* a, uint16_t* c, pthreadpool_t pool) {
  if (m == 0) return Status::Ok();
  return SetupAndRun("f16 ", m, a, c, pool,
                     [&] { return xnn_setup_fully_connected_nc_f16(op_, m, a, c, pool); });
}

}  // namespace edgevae::gemm
