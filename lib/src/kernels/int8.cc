// Dispatch for the kernels in int8-inl.h: compiled once per target in targets.h, the best one the
// CPU supports is chosen on first call.
#include "kernels/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/int8.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/int8-inl.h"

#if HWY_ONCE
#include "kernels/int8.h"

namespace edgevae {
HWY_EXPORT(U8ToI8Centered);
HWY_EXPORT(QuantizeI8);
HWY_EXPORT(SparseI8Columns);
HWY_EXPORT(SparseI8Block);
HWY_EXPORT(RequantizeI32);
HWY_EXPORT(GemvI8);
HWY_EXPORT(GemvI8Preferred);
HWY_EXPORT(GemvI8RowMultiple);
HWY_EXPORT(DequantizeI8);

namespace simd {

void U8ToI8Centered(const uint8_t* in, int8_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(U8ToI8Centered)(in, out, n);
}
void SparseI8Columns(const int8_t* wt, size_t ldw, const uint32_t* offs, const int16_t* vals,
                     size_t nnz, int32_t* acc) {
  HWY_DYNAMIC_DISPATCH(SparseI8Columns)(wt, ldw, offs, vals, nnz, acc);
}
size_t SparseI8Block() { return HWY_DYNAMIC_DISPATCH(SparseI8Block)(); }
void RequantizeI32(const int32_t* acc, size_t n, const float* scales, int32_t zero_point,
                   int32_t lo, int32_t hi, int8_t* out) {
  HWY_DYNAMIC_DISPATCH(RequantizeI32)(acc, n, scales, zero_point, lo, hi, out);
}
void GemvI8(const int8_t* w, size_t rows, size_t ldk, const int8_t* x, const int32_t* bias,
            const float* scales, int32_t zero_point, int32_t lo, int32_t hi, int8_t* out) {
  HWY_DYNAMIC_DISPATCH(GemvI8)(w, rows, ldk, x, bias, scales, zero_point, lo, hi, out);
}
bool GemvI8Preferred() { return HWY_DYNAMIC_DISPATCH(GemvI8Preferred)(); }
size_t GemvI8RowMultiple() { return HWY_DYNAMIC_DISPATCH(GemvI8RowMultiple)(); }
void QuantizeI8(const float* in, float scale, int32_t zero_point, int8_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(QuantizeI8)(in, scale, zero_point, out, n);
}
void DequantizeI8(const int8_t* in, float scale, int32_t zero_point, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(DequantizeI8)(in, scale, zero_point, out, n);
}

}  // namespace simd
}  // namespace edgevae
#endif  // HWY_ONCE
