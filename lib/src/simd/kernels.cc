// Dispatch for the kernels in kernels-inl.h: compiled once per target in targets.h, the best one
// the CPU supports is chosen on first call.
#include "simd/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "simd/kernels-inl.h"

#if HWY_ONCE
#include "simd/kernels.h"

namespace edgevae {
HWY_EXPORT(U8ToF32);
HWY_EXPORT(BiasRelu);
HWY_EXPORT(AddBias);
HWY_EXPORT(Sigmoid);
HWY_EXPORT(BceWithLogits);
HWY_EXPORT(BceWithLogitsGrad);
HWY_EXPORT(ReparamForward);
HWY_EXPORT(ReparamBackward);
HWY_EXPORT(ReluBackward);
HWY_EXPORT(AdamUpdate);
HWY_EXPORT(BoxMuller);
HWY_EXPORT(SumSquares);
HWY_EXPORT(AllFinite);
HWY_EXPORT(Transpose);
HWY_EXPORT(F32ToF16);
HWY_EXPORT(F16ToF32);
HWY_EXPORT(U8ToI8Centered);
HWY_EXPORT(QuantizeI8);
HWY_EXPORT(SparseI8Columns);
HWY_EXPORT(SparseI8Block);
HWY_EXPORT(RequantizeI32);
HWY_EXPORT(GemvI8);
HWY_EXPORT(GemvI8Preferred);
HWY_EXPORT(DequantizeI8);
HWY_EXPORT(Target);

namespace simd {

void U8ToF32(const uint8_t* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(U8ToF32)(in, out, n);
}
void BiasRelu(float* x, float bias, size_t n) { HWY_DYNAMIC_DISPATCH(BiasRelu)(x, bias, n); }
void AddBias(float* x, float bias, size_t n) { HWY_DYNAMIC_DISPATCH(AddBias)(x, bias, n); }
void Sigmoid(const float* in, float* out, size_t n) { HWY_DYNAMIC_DISPATCH(Sigmoid)(in, out, n); }
float BceWithLogits(const float* logits, const float* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(BceWithLogits)(logits, x, n);
}
float BceWithLogitsGrad(float* logits, const float* x, float bias, size_t n, float* grad_sum) {
  return HWY_DYNAMIC_DISPATCH(BceWithLogitsGrad)(logits, x, bias, n, grad_sum);
}
float ReparamForward(const float* mu, const float* logvar, const float* eps, float* z, float* std,
                     size_t n) {
  return HWY_DYNAMIC_DISPATCH(ReparamForward)(mu, logvar, eps, z, std, n);
}
void ReparamBackward(const float* dz, const float* mu, const float* logvar, const float* eps,
                     const float* std, float* dmu, float* dlogvar, size_t n, float* dmu_sum,
                     float* dlogvar_sum) {
  HWY_DYNAMIC_DISPATCH(ReparamBackward)(dz, mu, logvar, eps, std, dmu, dlogvar, n, dmu_sum,
                                        dlogvar_sum);
}
float ReluBackward(float* dh, const float* h, size_t n) {
  return HWY_DYNAMIC_DISPATCH(ReluBackward)(dh, h, n);
}
void AdamUpdate(float* w, float* m, float* v, const float* g, size_t n, float beta1, float beta2,
                float step_size, float inv_sqrt_bc2, float eps) {
  HWY_DYNAMIC_DISPATCH(AdamUpdate)(w, m, v, g, n, beta1, beta2, step_size, inv_sqrt_bc2, eps);
}
void BoxMuller(const uint32_t* bits, float* out, size_t chunks) {
  HWY_DYNAMIC_DISPATCH(BoxMuller)(bits, out, chunks);
}
float SumSquares(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(SumSquares)(x, n); }
void U8ToI8Centered(const uint8_t* in, int8_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(U8ToI8Centered)(in, out, n);
}
void SparseI8Columns(const int8_t* wt, size_t ldw, const uint32_t* offs, const int16_t* vals,
                     size_t nnz, int32_t* acc) {
  HWY_DYNAMIC_DISPATCH(SparseI8Columns)(wt, ldw, offs, vals, nnz, acc);
}
size_t SparseI8Block() { return HWY_DYNAMIC_DISPATCH(SparseI8Block)(); }
void RequantizeI32(const int32_t* acc, size_t n, float scale, int32_t zero_point, int32_t lo,
                   int32_t hi, int8_t* out) {
  HWY_DYNAMIC_DISPATCH(RequantizeI32)(acc, n, scale, zero_point, lo, hi, out);
}
void GemvI8(const int8_t* w, size_t rows, size_t ldk, const int8_t* x, const int32_t* bias,
            float scale, int32_t zero_point, int32_t lo, int32_t hi, int8_t* out) {
  HWY_DYNAMIC_DISPATCH(GemvI8)(w, rows, ldk, x, bias, scale, zero_point, lo, hi, out);
}
bool GemvI8Preferred() { return HWY_DYNAMIC_DISPATCH(GemvI8Preferred)(); }
void QuantizeI8(const float* in, float scale, int32_t zero_point, int8_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(QuantizeI8)(in, scale, zero_point, out, n);
}
void DequantizeI8(const int8_t* in, float scale, int32_t zero_point, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(DequantizeI8)(in, scale, zero_point, out, n);
}
void F32ToF16(const float* in, uint16_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(F32ToF16)(in, out, n);
}
void F16ToF32(const uint16_t* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(F16ToF32)(in, out, n);
}
void Transpose(const float* in, size_t rows, size_t cols, size_t ld_in, float* out, size_t ld_out) {
  HWY_DYNAMIC_DISPATCH(Transpose)(in, rows, cols, ld_in, out, ld_out);
}
bool AllFinite(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(AllFinite)(x, n); }
const char* TargetName() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(Target)()); }

}  // namespace simd
}  // namespace edgevae
#endif  // HWY_ONCE
