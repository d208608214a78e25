// Element-wise SIMD kernels (Highway), dynamically dispatched on x86: conversions, bias and
// activation, sigmoid, sums, Box-Muller normals, f16 conversion, transposition. Every kernel takes
// contiguous, possibly unaligned arrays of any length (0 included) and has a plain scalar
// reference in tests/kernels/elementwise_test.cc. Sums are accumulated in float lanes and reduced
// at the end, so their rounding depends on the vector width (deterministic for a given CPU).
//
// Approximations (Highway contrib/math, documented there): Exp and Log1p are within a few ULP over
// the float range; sigmoid is built from one Exp of -|x|, so it does not overflow for any finite
// x. Max error against double precision over every float in [-90, 90] on AVX-512, AVX2, SSE4 and
// scalar: 9e-8 absolute / 1.8e-7 relative (the tests assert 1e-7 and 2e-7); armv7 NEON, which has
// no division (Highway refines a reciprocal estimate): 1.5e-7 absolute / 2.5e-7 relative (every
// 41st float in [-90, 90] under qemu-arm; the tests assert 2e-7 and 3.5e-7). aarch64 NEON matches
// the x86 targets' bounds.
//
// Tails shorter than a vector go through a stack buffer: Highway 1.0.3's MaskedLoad reads the
// whole vector (aligned on SSE4, so it faults on an unaligned tail) and its NEON BlendedStore
// rewrites lanes past the end, which races with a thread working on the adjacent row.
#ifndef EDGEVAE_KERNELS_ELEMENTWISE_H_
#define EDGEVAE_KERNELS_ELEMENTWISE_H_

#include <cstddef>
#include <cstdint>

namespace edgevae::simd {

// out[i] = in[i] / 255.
void U8ToF32(const uint8_t* in, float* out, size_t n);
// x[i] = max(x[i] + bias, 0); NaN stays NaN.
void BiasRelu(float* x, float bias, size_t n);
// x[i] = x[i] < 0 ? slope * x[i] : x[i] (the discriminators' LeakyReLU); NaN stays NaN.
void LeakyRelu(float* x, float slope, size_t n);
// x[i] += bias.
void AddBias(float* x, float bias, size_t n);
// out[i] = 1 / (1 + exp(-in[i])).
void Sigmoid(const float* in, float* out, size_t n);

// Box-Muller: `chunks` chunks of 32 words -> 32 standard normals each (pairing in edgevae/rng.h).
void BoxMuller(const uint32_t* bits, float* out, size_t chunks);

// Sum of squares.
float SumSquares(const float* x, size_t n);

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

#endif  // EDGEVAE_KERNELS_ELEMENTWISE_H_
