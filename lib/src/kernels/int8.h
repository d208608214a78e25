// int8 inference kernels (Highway; NEON intrinsics where Highway 1.0.3 lacks an operation),
// dispatched like elementwise.h: input centring, quantization and dequantization, requantization
// as XNNPACK computes it, a sparse first layer and an int8 GEMV. Plain scalar references in
// tests/kernels/int8_test.cc. Activations are affine: real = scale * (q - zero_point).
#ifndef EDGEVAE_KERNELS_INT8_H_
#define EDGEVAE_KERNELS_INT8_H_

#include <cstddef>
#include <cstdint>

namespace edgevae::simd {

// int8 activations, real = scale * (q - zero_point):
// out[i] = in[i] - 128, i.e. pixel / 255 at scale 1/255 and zero point -128, exactly.
void U8ToI8Centered(const uint8_t* in, int8_t* out, size_t n);

// out[i] = clamp(round_half_even(in[i] / scale) + zero_point, -128, 127).
void QuantizeI8(const float* in, float scale, int32_t zero_point, int8_t* out, size_t n);

// out[i] = scale * (in[i] - zero_point).
void DequantizeI8(const int8_t* in, float scale, int32_t zero_point, float* out, size_t n);

// Sparse int8 matrix-vector product, for a layer whose input is mostly zero (an MNIST image has
// about 19 % nonzero pixels). `wt` holds the weights transposed, one column of `ldw` int8 per
// input, ldw a multiple of SparseI8Block() (pad with zeros); offs[t] is the offset of the t-th
// nonzero input's column (its index times ldw); acc has ldw int32 and receives
//   acc[i] += sum_t wt[offs[t] + i] * vals[t]   for i < ldw,
// exactly (products in int16: |w| <= 127 and 0 <= vals[t] <= 255 keep each within 32,385).
void SparseI8Columns(const int8_t* wt, size_t ldw, const uint32_t* offs, const int16_t* vals,
                     size_t nnz, int32_t* acc);

// The granularity of SparseI8Columns' ldw on the running target (16 on NEON).
size_t SparseI8Block();

// out[i] = clamp(round_half_even(acc[i] * scales[i]) + zero_point, lo, hi): XNNPACK's fp32
// requantization of a qs8 / qc8 fully-connected accumulator (so the sparse path matches its
// output), with one scale per output (a layer's rows).
void RequantizeI32(const int32_t* acc, size_t n, const float* scales, int32_t zero_point,
                   int32_t lo, int32_t hi, int8_t* out);

// An int8 fully-connected layer for one input vector:
//   out[r] = requantize(bias[r] + sum_{k < ldk} w[r * ldk + k] * x[k]),   r < rows,
// with RequantizeI32's rounding and row r's scale, scales[r]. w is row-major with ldk a multiple of GemvI8RowMultiple() (pad
// with zeros), every weight in [-127, 127] (int8 products are summed in pairs in int16); x is the
// raw int8 input, so the caller folds its zero point into the bias (bias[r] - zx * sum_k w[r][k]).
void GemvI8(const int8_t* w, size_t rows, size_t ldk, const int8_t* x, const int32_t* bias,
            const float* scales, int32_t zero_point, int32_t lo, int32_t hi, int8_t* out);

// What GemvI8's ldk must be a multiple of on the running target: 16 for its NEON loops, 1 where
// it runs plain C++ (or Cortex-M DSP instructions), which reads a layer's weights in place.
size_t GemvI8RowMultiple();

// Whether GemvI8 is the target's fast path: armv7 NEON (~2.9 multiply-adds per instruction,
// XNNPACK's qs8 kernels there ~1.4). On aarch64 XNNPACK's hand-written kernel is ahead, and
// elsewhere GemvI8 is a plain loop next to XNNPACK's VNNI / AVX-512 kernels.
bool GemvI8Preferred();

}  // namespace edgevae::simd

#endif  // EDGEVAE_KERNELS_INT8_H_
