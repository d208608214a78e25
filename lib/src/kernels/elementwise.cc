// Dispatch for the kernels in elementwise-inl.h: compiled once per target in targets.h, the best one the
// CPU supports is chosen on first call.
#include "kernels/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/elementwise-inl.h"

#if HWY_ONCE
#include "kernels/elementwise.h"

namespace edgevae {
HWY_EXPORT(U8ToF32);
HWY_EXPORT(BiasRelu);
HWY_EXPORT(AddBias);
HWY_EXPORT(LeakyRelu);
HWY_EXPORT(Sigmoid);
HWY_EXPORT(BoxMuller);
HWY_EXPORT(SumSquares);
HWY_EXPORT(AllFinite);
HWY_EXPORT(Transpose);
HWY_EXPORT(F32ToF16);
HWY_EXPORT(F16ToF32);
HWY_EXPORT(Target);

namespace simd {

void U8ToF32(const uint8_t* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(U8ToF32)(in, out, n);
}
void BiasRelu(float* x, float bias, size_t n) { HWY_DYNAMIC_DISPATCH(BiasRelu)(x, bias, n); }
void AddBias(float* x, float bias, size_t n) { HWY_DYNAMIC_DISPATCH(AddBias)(x, bias, n); }
void LeakyRelu(float* x, float slope, size_t n) {
  HWY_DYNAMIC_DISPATCH(LeakyRelu)(x, slope, n);
}
void Sigmoid(const float* in, float* out, size_t n) { HWY_DYNAMIC_DISPATCH(Sigmoid)(in, out, n); }
void BoxMuller(const uint32_t* bits, float* out, size_t chunks) {
  HWY_DYNAMIC_DISPATCH(BoxMuller)(bits, out, chunks);
}
float SumSquares(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(SumSquares)(x, n); }
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
