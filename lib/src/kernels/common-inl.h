// Helpers shared by the kernel families' -inl.h files: whole-vector iteration with a tail, tail
// loads and stores through a stack buffer, aarch64's multi-register load, and the
// softplus/sigmoid pair. Included once per Highway target, hence the toggling include guard.
#if defined(EDGEVAE_KERNELS_COMMON_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEVAE_KERNELS_COMMON_INL_H_
#undef EDGEVAE_KERNELS_COMMON_INL_H_
#else
#define EDGEVAE_KERNELS_COMMON_INL_H_
#endif

#include <cstddef>
#include <cstring>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace edgevae {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Visits [0, n) in whole vectors, then once more for the tail with a mask of the valid lanes.
// body(i, mask, full): `full` tells whether all lanes are valid (plain loads and stores).
template <class D, class Body>
HWY_INLINE void ForEachVector(D d, size_t n, const Body& body) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  const auto all = hn::FirstN(d, N);
  for (; i + N <= n; i += N) body(i, all, true);
  if (i < n) body(i, hn::FirstN(d, n - i), false);
}

// The tail goes through a stack buffer: Highway 1.0's MaskedLoad wants an aligned pointer and
// reads the whole vector (SSE4, NEON), and its NEON BlendedStore rewrites the lanes past n.
template <class D, class M>
HWY_INLINE hn::Vec<D> Load(D d, M m, bool full, const hn::TFromD<D>* p) {
  if (full) return hn::LoadU(d, p);
  HWY_ALIGN hn::TFromD<D> buf[hn::MaxLanes(d)] = {};
  std::memcpy(buf, p, hn::CountTrue(d, m) * sizeof(*p));
  return hn::Load(d, buf);
}
template <class D, class M>
HWY_INLINE void Store(D d, M m, bool full, hn::Vec<D> v, hn::TFromD<D>* p) {
  if (full) return hn::StoreU(v, d, p);
  HWY_ALIGN hn::TFromD<D> buf[hn::MaxLanes(d)];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, hn::CountTrue(d, m) * sizeof(*p));
}

#if HWY_ARCH_ARM_A64
// K consecutive vectors (K <= 4) from p in one LD1 of K registers, and p advanced by `stride`
// floats in the same instruction (post-index). Separate loads would take an instruction each
// (GCC addresses them by register offsets, which LDP cannot pair) and the advance another.
// The asm reads memory the compiler cannot see through its operands: the "memory" clobber keeps
// it after the stores before it.
template <size_t K, class D>
HWY_INLINE void LoadVectorsAndAdvance(D, const float* HWY_RESTRICT& p, size_t stride,
                                      hn::Vec<D>* v) {
  const size_t bytes = stride * sizeof(float);
  if constexpr (K == 1) {
    float32x4_t r0;
    asm("ld1 {%0.4s}, [%1], %2" : "=w"(r0), "+r"(p) : "r"(bytes) : "memory");
    v[0] = hn::Vec<D>(r0);
  } else if constexpr (K == 2) {
    // A two-vector type takes two consecutive registers, as LD1's list needs (%S, %T: its
    // first and second).
    float32x4x2_t r;
    asm("ld1 {%S0.4s, %T0.4s}, [%1], %2" : "=w"(r), "+r"(p) : "r"(bytes) : "memory");
    v[0] = hn::Vec<D>(r.val[0]);
    v[1] = hn::Vec<D>(r.val[1]);
  } else if constexpr (K == 3) {
    float32x4x3_t r;
    asm("ld1 {%S0.4s, %T0.4s, %U0.4s}, [%1], %2" : "=w"(r), "+r"(p) : "r"(bytes) : "memory");
    v[0] = hn::Vec<D>(r.val[0]);
    v[1] = hn::Vec<D>(r.val[1]);
    v[2] = hn::Vec<D>(r.val[2]);
  } else {
    static_assert(K == 4, "at most 4 registers");
    float32x4x4_t r;
    asm("ld1 {%S0.4s, %T0.4s, %U0.4s, %V0.4s}, [%1], %2"
        : "=w"(r), "+r"(p)
        : "r"(bytes)
        : "memory");
    for (size_t i = 0; i < 4; ++i) v[i] = hn::Vec<D>(r.val[i]);
  }
}
#endif  // HWY_ARCH_ARM_A64

// e = exp(-|l|); softplus(l) = max(l, 0) + log1p(e); sigmoid(l) = (l >= 0 ? 1 : e) / (1 + e).
template <class D, class V>
HWY_INLINE void SoftplusSigmoid(D d, V l, V& softplus, V& sigmoid) {
  const V zero = hn::Zero(d);
  const V one = hn::Set(d, 1.0f);
  const V e = hn::Exp(d, hn::Neg(hn::Abs(l)));
  softplus = hn::Add(hn::Max(l, zero), hn::Log1p(d, e));
  const V num = hn::IfThenElse(hn::Ge(l, zero), one, e);
  sigmoid = hn::Div(num, hn::Add(one, e));
}

}  // namespace HWY_NAMESPACE
}  // namespace edgevae
HWY_AFTER_NAMESPACE();

#endif  // include guard
