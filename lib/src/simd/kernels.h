// Element-wise SIMD kernels (Highway), dynamically dispatched on x86. Every kernel takes
// contiguous, possibly unaligned arrays of any length (0 included) and has a plain scalar
// reference in tests/simd/kernels_test.cc. Sums are accumulated in float lanes and reduced at the
// end, so their rounding depends on the vector width (deterministic for a given CPU).
//
// Approximations (Highway contrib/math, documented there): Exp and Log1p are within a few ULP over
// the float range; sigmoid and softplus below are built from one Exp and one Log1p of -|x|, so
// they do not overflow for any finite x. Max error against double precision, measured over every
// float in [-90, 90] on AVX-512, AVX2, SSE4 and scalar (tests/simd/kernels_test.cc, the disabled
// exhaustive test): softplus 2.3e-7 relative (1 subnormal ulp absolute below x = -87.3), sigmoid
// 9e-8 absolute / 1.8e-7 relative. The tests assert 2.5e-7, 1e-7 and 2e-7. armv7 NEON flushes
// subnormals to zero and has no division (Highway refines a reciprocal estimate): there softplus
// is within 2.9e-7 relative (results below FLT_MIN become 0) and sigmoid 1.5e-7 absolute /
// 2.5e-7 relative (every 41st float in [-90, 90] under qemu-arm); the tests assert 4e-7, 2e-7
// and 3.5e-7. aarch64 NEON matches the x86 targets' bounds.
//
// Tails shorter than a vector go through a stack buffer: Highway 1.0.3's MaskedLoad reads the
// whole vector (aligned on SSE4, so it faults on an unaligned tail) and its NEON BlendedStore
// rewrites lanes past the end, which races with a thread working on the adjacent row.
#ifndef EDGEVAE_SIMD_KERNELS_H_
#define EDGEVAE_SIMD_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace edgevae::simd {

// out[i] = in[i] / 255.
void U8ToF32(const uint8_t* in, float* out, size_t n);
// x[i] = max(x[i] + bias, 0); NaN stays NaN.
void BiasRelu(float* x, float bias, size_t n);
// x[i] += bias.
void AddBias(float* x, float bias, size_t n);
// out[i] = 1 / (1 + exp(-in[i])).
void Sigmoid(const float* in, float* out, size_t n);

// Bernoulli negative log-likelihood with logits, in the stable softplus form:
// sum_i softplus(l_i) - x_i * l_i, with softplus(l) = max(l, 0) + log1p(exp(-|l|)).
float BceWithLogits(const float* logits, const float* x, size_t n);
// The same for logits + bias, and in place the gradient: l[i] <- sigmoid(l[i] + bias) - x[i].
// Returns the loss sum; *grad_sum receives the sum of the gradient (the bias gradient).
float BceWithLogitsGrad(float* logits, const float* x, float bias, size_t n, float* grad_sum);

// Reparameterisation z = mu + exp(logvar / 2) * eps, with std = exp(logvar / 2) kept for the
// backward pass. Returns this slice's KL term -1/2 sum(1 + logvar - mu^2 - exp(logvar)).
float ReparamForward(const float* mu, const float* logvar, const float* eps, float* z, float* std,
                     size_t n);
// Gradients of (decoder loss + KL) with respect to mu and logvar given dz:
// dmu = dz + mu, dlogvar = dz * eps * std / 2 + (std^2 - 1) / 2. Returns their sums in *dmu_sum,
// *dlogvar_sum (the bias gradients).
void ReparamBackward(const float* dz, const float* mu, const float* logvar, const float* eps,
                     const float* std, float* dmu, float* dlogvar, size_t n, float* dmu_sum,
                     float* dlogvar_sum);
// dh[i] = h[i] > 0 ? dh[i] : 0 (ReLU's gradient, h being the ReLU's output). Returns sum of dh.
float ReluBackward(float* dh, const float* h, size_t n);

// One Adam step (Kingma & Ba), in PyTorch's form:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   w -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps),
// with step_size = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t).
void AdamUpdate(float* w, float* m, float* v, const float* g, size_t n, float beta1, float beta2,
                float step_size, float inv_sqrt_bc2, float eps);

// Box-Muller: `chunks` chunks of 32 words -> 32 standard normals each (pairing in edgevae/rng.h).
void BoxMuller(const uint32_t* bits, float* out, size_t chunks);

// Sum of squares.
float SumSquares(const float* x, size_t n);

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
// out[i] = clamp(round_half_even(acc[i] * scale) + zero_point, lo, hi): XNNPACK's fp32
// requantization of a qs8 fully-connected accumulator (so the sparse path matches its output).
void RequantizeI32(const int32_t* acc, size_t n, float scale, int32_t zero_point, int32_t lo,
                   int32_t hi, int8_t* out);
// An int8 fully-connected layer for one input vector:
//   out[r] = requantize(bias[r] + sum_{k < ldk} w[r * ldk + k] * x[k]),   r < rows,
// with RequantizeI32's rounding. w is row-major with ldk a multiple of 16 (pad with zeros), every
// weight in [-127, 127] (int8 products are summed in pairs in int16); x is the raw int8 input, so
// the caller folds its zero point into the bias (bias[r] - zx * sum_k w[r][k]).
void GemvI8(const int8_t* w, size_t rows, size_t ldk, const int8_t* x, const int32_t* bias,
            float scale, int32_t zero_point, int32_t lo, int32_t hi, int8_t* out);
// Whether GemvI8 is the target's fast path: armv7 NEON (~2.9 multiply-adds per instruction,
// XNNPACK's qs8 kernels there ~1.4). On aarch64 XNNPACK's hand-written kernel is ahead, and
// elsewhere GemvI8 is a plain loop next to XNNPACK's VNNI / AVX-512 kernels.
bool GemvI8Preferred();

// IEEE binary16 as raw bits: round to nearest (values beyond the range become infinity), and
// back exactly. On targets without native conversion (x86 without F16C: SSE4, scalar), Highway
// 1.0.3 emulates it; we repair its infinities, NaN and signed zero, but it rounds toward zero
// (within one half step) instead of to nearest. The f16 engine needs native fp16 anyway (F16C on
// x86, ARMv8.2 on ARM), where the conversion rounds to nearest.
void F32ToF16(const float* in, uint16_t* out, size_t n);
void F16ToF32(const uint16_t* in, float* out, size_t n);

// out[c][r] = in[r][c] for a rows x cols matrix with leading dimensions ld_in and ld_out; the
// padding between rows of `out` is left untouched.
void Transpose(const float* in, size_t rows, size_t cols, size_t ld_in, float* out, size_t ld_out);

// True if no element is inf or NaN.
bool AllFinite(const float* x, size_t n);

// The Highway target the dispatcher picked ("AVX3", "AVX2", "NEON", ...).
const char* TargetName();

}  // namespace edgevae::simd

#endif  // EDGEVAE_SIMD_KERNELS_H_
