// The bf16 counterpart of gemm::PackedGemm (kernels/gemm.h), for training in reduced precision on
// x86 CPUs with AVX512_BF16 (AMD Zen 4 and later, Intel Cooper Lake, Sapphire Rapids and later):
// C[m][n] = bf16(A)[m][k] . bf16(B)^T, every product exact and accumulated in fp32 by VDPBF16PS,
// which does two multiply-adds per fp32 lane (twice the fp32 FMA's rate on these cores).
//
// Rounding: A and B are rounded to bf16 to nearest, ties to even (VCVTNE2PS2BF16, which also
// treats denormal inputs as zero); the dot product of each k pair is accumulated into fp32
// (VDPBF16PS flushes denormal results to zero). Every element of C is one sequential sum over the
// k pairs in order, in one register lane: the result does not depend on the thread count or how
// m and n are split into tiles (k is never split).
//
// Same interface shape as PackedGemm (no bias or clamp): the trainer (lib/src/tools/backprop.cc)
// can swap it in product by product. Elsewhere (other CPUs, ARM builds) Bf16Available() is false
// and Create returns kUnsupported.
#ifndef EDGEVAE_KERNELS_GEMM_BF16_H_
#define EDGEVAE_KERNELS_GEMM_BF16_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "edgevae/buffer.h"
#include "edgevae/status.h"
#include "kernels/gemm.h"

typedef struct pthreadpool* pthreadpool_t;

namespace edgevae::gemm {

// True when this build has the AVX512_BF16 kernel and the CPU (and the OS) can run it.
bool Bf16Available();

// B rounded to bf16 and packed at Create; A rounded to bf16 inside each Run into a scratch the
// object owns (allocated by the first Run of a given m or larger, reused after). Move-only. Run
// is not reentrant on one object (the scratch): one Run at a time per object, like PackedGemm.
class PackedGemmBf16 {
 public:
  PackedGemmBf16() = default;
  PackedGemmBf16(PackedGemmBf16&& other) noexcept { *this = std::move(other); }
  PackedGemmBf16& operator=(PackedGemmBf16&& other) noexcept;  // leaves `other` empty

  // Rounds and packs B (n x k in `layout`). A rows must be lda >= k floats apart, C rows
  // ldc >= n floats apart. Unlike PackedGemm, A is never read past its k floats per row.
  // kUnsupported when !Bf16Available().
  static StatusOr<PackedGemmBf16> Create(size_t n, size_t k, const float* b, BLayout layout,
                                         size_t lda, size_t ldc);
  // C[m][n] = bf16(A[m][k]) . bf16(B)^T. Writes only the m x n results (not the gaps of ldc).
  Status Run(size_t m, const float* a, float* c, pthreadpool_t pool);

  bool created() const { return !packed_.empty(); }
  size_t n() const { return n_; }
  size_t k() const { return k_; }

 private:
  size_t n_ = 0, k_ = 0, lda_ = 0, ldc_ = 0;
  size_t pairs_ = 0;  // ceil(k / 2): the k pairs VDPBF16PS multiplies at once
  // B as panels of 32 columns (the last one 16 or 32), each panel [pair][column] of dwords
  // holding the bf16 pair (k = 2p low half, k = 2p + 1 high half); zeros past n and past k.
  AlignedBuffer<uint32_t> packed_;
  // A rounded to bf16, row-major, `pairs_` pairs a row (odd k: the last pair's high half 0).
  AlignedBuffer<uint32_t> a_bf16_;
  size_t a_rows_ = 0;  // rows a_bf16_ holds
};

}  // namespace edgevae::gemm

#endif  // EDGEVAE_KERNELS_GEMM_BF16_H_
