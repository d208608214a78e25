// Dispatch for the kernel in sparse-inl.h: compiled once per target in targets.h, the best one the
// CPU supports is chosen on first call.
#include "kernels/targets.h"  // must precede every Highway header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/sparse.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/sparse-inl.h"

#if HWY_ONCE
#include "kernels/sparse.h"

namespace edgevae {
HWY_EXPORT(CompressNonZero);
HWY_EXPORT(SparseStride);
HWY_EXPORT(SparseTimesDense);

namespace simd {

size_t CompressNonZero(const float* x, size_t width, uint32_t* index, float* value,
                       uint32_t* counts) {
  return HWY_DYNAMIC_DISPATCH(CompressNonZero)(x, width, index, value, counts);
}
size_t SparseStride(size_t width) { return HWY_DYNAMIC_DISPATCH(SparseStride)(width); }

void SparseTimesDense(const uint32_t* start, const uint32_t* index, const float* value,
                      size_t begin, size_t end, const float* dense, size_t stride,
                      const float* bias, bool relu, float* out) {
  HWY_DYNAMIC_DISPATCH(SparseTimesDense)(start, index, value, begin, end, dense, stride, bias,
                                         relu, out);
}

}  // namespace simd
}  // namespace edgevae
#endif  // HWY_ONCE
