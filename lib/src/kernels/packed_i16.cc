#include "kernels/packed_i16.h"

#include <algorithm>
#include <cmath>
#include <cstring>


#if defined(EDGEVAE_BARE_METAL) && defined(__ARM_FEATURE_DSP) && defined(__thumb2__)
#define EDGEVAE_PACKED_DSP 1
// edgevae_packed_i16_dot_dsp(w, xs, groups, blocks, init, sums, skip): for each of `blocks`
// blocks of three rows (the packed layout, from w), sums[3b + i] = init[3b + i] + the dot product
// of row i's `groups` groups of four weights with the input, whose groups xs holds as two words
// each: (x[4g], x[4g+1]) and (x[4g+2], x[4g+3]), halfwords low to high; then `skip` bytes of
// weights are skipped to the next block (the groups of another call). init may be sums.
// 1 <= groups <= 100.
//
// Per group and block: one LDM of the three rows' six words, one of the input's two, six SMLAD
// (twelve multiply-adds): 8 instructions. The loop over groups is unrolled 100 times and entered
// at the body that leaves `groups` to run (Duff's device), so it needs neither a counter nor an
// end pointer: with r0 (weights), r1 (input), three accumulators and eight data registers, all
// fourteen general registers are taken. Each body is 32 bytes (LDM.W and SMLAD are 32-bit); 100
// of them (a layer of 400 inputs in one call, 784 in two) are 3.2 KB of flash.
extern "C" void edgevae_packed_i16_dot_dsp(const int16_t* w, const uint32_t* xs, uint32_t groups,
                                           uint32_t blocks, const int32_t* init, int32_t* sums,
                                           uint32_t skip);
__asm__(R"(
  .syntax unified
  .thumb
  .section .text.edgevae_packed_i16_dot_dsp,"ax",%progbits
  .p2align 2
  .global edgevae_packed_i16_dot_dsp
  .type edgevae_packed_i16_dot_dsp, %function
  .thumb_func
edgevae_packed_i16_dot_dsp:
  push {r4-r11, lr}
  ldr r4, [sp, #36]
  ldr r5, [sp, #40]
  ldr r6, [sp, #44]
  sub sp, sp, #24
  str r1, [sp, #0]
  str r3, [sp, #4]
  str r5, [sp, #8]
  str r6, [sp, #16]
  str r4, [sp, #20]
  ldr r5, =.Lpacked_i16_end
  orr r5, r5, #1
  sub r5, r5, r2, lsl #5
  str r5, [sp, #12]
.Lpacked_i16_block:
  ldr r1, [sp, #0]
  ldr r4, [sp, #20]
  ldmia r4!, {r3, r12, lr}
  str r4, [sp, #20]
  ldr r4, [sp, #12]
  bx r4
  .ltorg
  .p2align 2
  .rept 100
  ldm.w r0!, {r4-r9}
  ldm.w r1!, {r10, r11}
  smlad r3, r4, r10, r3
  smlad r3, r5, r11, r3
  smlad r12, r6, r10, r12
  smlad r12, r7, r11, r12
  smlad lr, r8, r10, lr
  smlad lr, r9, r11, lr
  .endr
.Lpacked_i16_end:
  ldr r4, [sp, #8]
  stmia r4!, {r3, r12, lr}
  str r4, [sp, #8]
  ldr r4, [sp, #16]
  add r0, r0, r4
  ldr r4, [sp, #4]
  subs r4, r4, #1
  str r4, [sp, #4]
  bne .Lpacked_i16_block
  add sp, sp, #24
  pop {r4-r11, pc}
  .size edgevae_packed_i16_dot_dsp, . - edgevae_packed_i16_dot_dsp
  .text
)");

// edgevae_packed_i16_groups_dsp(w, list, entries, blocks, init, sums, block_bytes): the same for
// listed groups only. Each of the `entries` entries of `list` is three words: the byte offset of
// a group within a block (24 g), and its input pair words as xs holds them. For each of `blocks`
// blocks from w (block_bytes apart), sums[3b + i] = init[3b + i] + the listed groups' products.
// 1 <= entries <= 32 (a call per 32 entries: the unrolled loop is 32 bodies of 36 bytes).
//
// Per listed group: one LDM of the entry, an ADD for the group's address, one LDM of the three
// rows' six words, six SMLAD: 9 instructions for 12 multiply-adds.
extern "C" void edgevae_packed_i16_groups_dsp(const int16_t* w, const uint32_t* list,
                                              uint32_t entries, uint32_t blocks,
                                              const int32_t* init, int32_t* sums,
                                              uint32_t block_bytes);
__asm__(R"(
  .syntax unified
  .thumb
  .section .text.edgevae_packed_i16_groups_dsp,"ax",%progbits
  .p2align 2
  .global edgevae_packed_i16_groups_dsp
  .type edgevae_packed_i16_groups_dsp, %function
  .thumb_func
edgevae_packed_i16_groups_dsp:
  push {r4-r11, lr}
  ldr r4, [sp, #36]
  ldr r5, [sp, #40]
  ldr r6, [sp, #44]
  sub sp, sp, #24
  str r1, [sp, #0]
  str r3, [sp, #4]
  str r5, [sp, #8]
  str r6, [sp, #16]
  str r4, [sp, #20]
  ldr r5, =.Lpacked_i16_groups_end
  orr r5, r5, #1
  mov r6, #36
  mls r5, r2, r6, r5
  str r5, [sp, #12]
.Lpacked_i16_groups_block:
  ldr r1, [sp, #0]
  ldr r4, [sp, #20]
  ldmia r4!, {r3, r12, lr}
  str r4, [sp, #20]
  ldr r4, [sp, #12]
  bx r4
  .ltorg
  .p2align 2
  .rept 32
  ldm.w r1!, {r2, r10, r11}
  add.w r2, r2, r0
  ldm.w r2, {r4-r9}
  smlad r3, r4, r10, r3
  smlad r3, r5, r11, r3
  smlad r12, r6, r10, r12
  smlad r12, r7, r11, r12
  smlad lr, r8, r10, lr
  smlad lr, r9, r11, lr
  .endr
.Lpacked_i16_groups_end:
  ldr r4, [sp, #8]
  stmia r4!, {r3, r12, lr}
  str r4, [sp, #8]
  ldr r4, [sp, #16]
  add r0, r0, r4
  ldr r4, [sp, #4]
  subs r4, r4, #1
  str r4, [sp, #4]
  bne .Lpacked_i16_groups_block
  add sp, sp, #24
  pop {r4-r11, pc}
  .size edgevae_packed_i16_groups_dsp, . - edgevae_packed_i16_groups_dsp
  .text
)");
#endif

namespace edgevae::simd {
namespace {

constexpr size_t kMaxGroups = kMaxPackedCols / kPackedCols;
constexpr size_t kGroupsPerCall = 100;  // the DSP loop's unrolling

#if !defined(EDGEVAE_PACKED_DSP)
// What the DSP loop does, in plain arithmetic (the reference it is tested against): x holds the
// call's groups of inputs, `skip` counts int16 values.
void DotBlocks(const int16_t* w, const int8_t* x, size_t groups, size_t blocks,
               const int32_t* init, int32_t* sums, size_t skip) {
  for (size_t b = 0; b < blocks; ++b) {
    int32_t acc[kPackedRows];
    std::copy_n(init + b * kPackedRows, kPackedRows, acc);
    for (size_t g = 0; g < groups; ++g) {
      for (size_t i = 0; i < kPackedRows; ++i) {
        for (size_t c = 0; c < kPackedCols; ++c) acc[i] += int32_t{w[c]} * x[g * kPackedCols + c];
        w += kPackedCols;
      }
    }
    std::copy_n(acc, kPackedRows, sums + b * kPackedRows);
    w += skip;
  }
}
#endif

// x rounded to the nearest integer, half to even; |x| <= 2^22.
inline int32_t RoundHalfEven(float x) {
#if defined(__ARM_ARCH) && __ARM_ARCH >= 8 && defined(__ARM_FP) && !defined(__aarch64__)
  // Armv8-M's FPU converts with that rounding in one instruction.
  __asm__("vcvtn.s32.f32 %0, %1" : "=t"(x) : "t"(x));
  int32_t r;
  std::memcpy(&r, &x, sizeof(r));
  return r;
#else
  // Adding and subtracting 1.5 * 2^23 rounds half to even in the default rounding mode.
  return static_cast<int32_t>((x + 12582912.0f) - 12582912.0f);
#endif
}

// sums[i] * scale, clamped to [flo, fhi], rounded, plus zp (RequantizeI32's arithmetic).
inline int8_t RequantizeOne(int32_t sum, float scale, float flo, float fhi, int32_t zp) {
  float v = static_cast<float>(sum) * scale;
#if defined(__ARM_ARCH) && __ARM_ARCH >= 8 && defined(__ARM_FP) && !defined(__aarch64__)
  v = std::fminf(std::fmaxf(v, flo), fhi);  // VMAXNM, VMINNM; v is never NaN
#else
  v = std::min(std::max(v, flo), fhi);
#endif
  return static_cast<int8_t>(RoundHalfEven(v) + zp);
}

// RequantizeI32 (int8.h) of rows r0.. of a layer, with their scales from `rq`: the same float
// operations in the same order, so the same bytes.
// Inlined: called once per chunk of rows, and out of line it costs a decode ~1,400 instructions.
__attribute__((always_inline)) inline void Requantize(const int32_t* sums, size_t m, size_t r0,
                                                      const PackedRequant& rq, int8_t* out) {
  const float in = rq.input_scale, os = rq.output_scale;
  const float flo = static_cast<float>(rq.lo - rq.zero_point);
  const float fhi = static_cast<float>(rq.hi - rq.zero_point);
  const int32_t zp = rq.zero_point;
  if (rq.row_scales != nullptr) {
    const float* ws = rq.row_scales + r0;
    for (size_t i = 0; i < m; ++i) out[i] = RequantizeOne(sums[i], in * ws[i] / os, flo, fhi, zp);
  } else {
    const float scale = in * rq.weight_scale / os;
    for (size_t i = 0; i < m; ++i) out[i] = RequantizeOne(sums[i], scale, flo, fhi, zp);
  }
}

}  // namespace

void PackI16(const int8_t* w, size_t rows, size_t cols, int16_t* packed) {
  std::fill_n(packed, PackedRows(rows) * PackedCols(cols), int16_t{0});
  for (size_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < cols; ++k) packed[PackedIndex(r, k, cols)] = w[r * cols + k];
  }
}

bool UnpackI16(const int16_t* packed, size_t rows, size_t cols, int8_t* w, size_t* bad) {
  // In the order of the packed array (a microcontroller checks its flash this way at start-up).
  const size_t groups = PackedCols(cols) / kPackedCols;
  size_t at = 0;
  constexpr size_t kGroupValues = kPackedRows * kPackedCols;
  for (size_t r0 = 0; r0 < PackedRows(rows); r0 += kPackedRows) {
    for (size_t k0 = 0; k0 < groups * kPackedCols; k0 += kPackedCols) {
      if (r0 + kPackedRows <= rows && k0 + kPackedCols <= cols) {  // no padding: weights only
        for (size_t j = 0; j < kGroupValues; ++j) {
          if (static_cast<uint16_t>(packed[at + j] + 127) > 254) {  // outside [-127, 127]
            if (bad != nullptr) *bad = at + j;
            return false;
          }
        }
        for (size_t j = 0; w != nullptr && j < kGroupValues; ++j) {
          w[(r0 + j / kPackedCols) * cols + k0 + j % kPackedCols] = static_cast<int8_t>(packed[at + j]);
        }
        at += kGroupValues;
        continue;
      }
      for (size_t r = r0; r < r0 + kPackedRows; ++r) {
        for (size_t k = k0; k < k0 + kPackedCols; ++k, ++at) {
          const int16_t v = packed[at];
          const bool inside = r < rows && k < cols;
          if (inside ? (v < -127 || v > 127) : v != 0) {
            if (bad != nullptr) *bad = at;
            return false;
          }
          if (inside && w != nullptr) w[r * cols + k] = static_cast<int8_t>(v);
        }
      }
    }
  }
  return true;
}

void PackedI16RowSums(const int16_t* packed, size_t rows, size_t cols, int32_t* sums) {
  for (size_t r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (size_t k = 0; k < cols; ++k) s += packed[PackedIndex(r, k, cols)];
    sums[r] = s;
  }
}

void GemvPackedI16(const int16_t* packed, size_t rows, size_t cols, const int8_t* x,
                   const int32_t* bias, const PackedRequant& rq, int8_t* out) {
  const size_t groups = PackedCols(cols) / kPackedCols;
  if (rows == 0 || groups == 0 || groups > kMaxGroups) return;  // callers check cols
  constexpr size_t kGroupValues = kPackedRows * kPackedCols;
  const size_t block_values = groups * kGroupValues;
  // Rows are summed a chunk of blocks at a time into the stack (from their biases), then
  // requantized together (few at a time: a microcontroller's stack is part of its RAM budget).
  constexpr size_t kChunkBlocks = 21;
  int32_t sums[kChunkBlocks * kPackedRows];
#if defined(EDGEVAE_PACKED_DSP)
  // The input widened once, in the pairs SMLAD takes; the padding columns read zeros.
  uint32_t xs[2 * kMaxGroups];
  auto pair = [](int32_t lo, int32_t hi) {
    return (static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16);
  };
  const size_t full = cols / 2;
  for (size_t i = 0; i < full; ++i) xs[i] = pair(x[2 * i], x[2 * i + 1]);
  if (cols % 2 != 0) xs[full] = pair(x[cols - 1], 0);
  for (size_t i = (cols + 1) / 2; i < 2 * groups; ++i) xs[i] = 0;
#else
  // The input with its padding columns zero.
  int8_t xp[kMaxPackedCols];
  std::copy_n(x, cols, xp);
  std::fill(xp + cols, xp + groups * kPackedCols, int8_t{0});
#endif
  const size_t blocks = PackedRows(rows) / kPackedRows;
  for (size_t b0 = 0; b0 < blocks; b0 += kChunkBlocks) {
    const size_t nb = std::min(kChunkBlocks, blocks - b0);
    const size_t r0 = b0 * kPackedRows;
    const size_t m = std::min(nb * kPackedRows, rows - r0);
    for (size_t g0 = 0; g0 < groups; g0 += kGroupsPerCall) {
      const size_t gc = std::min(kGroupsPerCall, groups - g0);
      const int16_t* w = packed + b0 * block_values + g0 * kGroupValues;
      const int32_t* init = g0 == 0 ? bias + r0 : sums;
#if defined(EDGEVAE_PACKED_DSP)
      edgevae_packed_i16_dot_dsp(w, xs + 2 * g0, static_cast<uint32_t>(gc),
                                 static_cast<uint32_t>(nb), init, sums,
                                 static_cast<uint32_t>((groups - gc) * kGroupValues * 2));
#else
      DotBlocks(w, xp + g0 * kPackedCols, gc, nb, init, sums, (groups - gc) * kGroupValues);
#endif
    }
    Requantize(sums, m, r0, rq, out + r0);
  }
}

void GemvPackedI16Pixels(const int16_t* packed, size_t rows, size_t cols, const uint8_t* pixels,
                         const int32_t* bias, const PackedRequant& rq, int8_t* out) {
  const size_t groups = PackedCols(cols) / kPackedCols;
  if (rows == 0 || groups == 0 || groups > kMaxGroups) return;  // callers check cols
  constexpr size_t kGroupValues = kPackedRows * kPackedCols;
  const size_t block_values = groups * kGroupValues;
  // The groups with a lit pixel, in order.
  auto pixel = [&](size_t k) { return k < cols ? int32_t{pixels[k]} : 0; };
#if defined(EDGEVAE_PACKED_DSP)
  // Per listed group: its byte offset in a block and its pixels as SMLAD's pairs.
  uint32_t list[3 * kMaxGroups];
  auto pair = [](int32_t lo, int32_t hi) { return static_cast<uint32_t>(lo | (hi << 16)); };
#else
  uint32_t list[kMaxGroups];
#endif
  size_t listed = 0;
  for (size_t g = 0; g < groups; ++g) {
    const size_t k = g * kPackedCols;
    const int32_t p0 = pixel(k), p1 = pixel(k + 1), p2 = pixel(k + 2), p3 = pixel(k + 3);
    if ((p0 | p1 | p2 | p3) == 0) continue;
#if defined(EDGEVAE_PACKED_DSP)
    list[3 * listed] = static_cast<uint32_t>(g * kGroupValues * sizeof(int16_t));
    list[3 * listed + 1] = pair(p0, p1);
    list[3 * listed + 2] = pair(p2, p3);
#else
    list[listed] = static_cast<uint32_t>(g);
#endif
    ++listed;
  }
  constexpr size_t kChunkBlocks = 21;
  int32_t sums[kChunkBlocks * kPackedRows];
  const size_t blocks = PackedRows(rows) / kPackedRows;
  for (size_t b0 = 0; b0 < blocks; b0 += kChunkBlocks) {
    const size_t nb = std::min(kChunkBlocks, blocks - b0);
    const size_t r0 = b0 * kPackedRows;
    const size_t m = std::min(nb * kPackedRows, rows - r0);
    const int16_t* w = packed + b0 * block_values;
    if (listed == 0) std::copy_n(bias + r0, nb * kPackedRows, sums);
#if defined(EDGEVAE_PACKED_DSP)
    constexpr size_t kEntriesPerCall = 32;  // the DSP loop's unrolling
    for (size_t e0 = 0; e0 < listed; e0 += kEntriesPerCall) {
      edgevae_packed_i16_groups_dsp(
          w, list + 3 * e0, static_cast<uint32_t>(std::min(kEntriesPerCall, listed - e0)),
          static_cast<uint32_t>(nb), e0 == 0 ? bias + r0 : sums, sums,
          static_cast<uint32_t>(block_values * sizeof(int16_t)));
    }
#else
    for (size_t b = 0; b < nb; ++b, w += block_values) {
      for (size_t i = 0; i < kPackedRows; ++i) {
        int32_t acc = bias[r0 + b * kPackedRows + i];
        for (size_t e = 0; e < listed; ++e) {
          const size_t g = list[e];
          const int16_t* wg = w + g * kGroupValues + i * kPackedCols;
          for (size_t c = 0; c < kPackedCols; ++c) acc += int32_t{wg[c]} * pixel(g * kPackedCols + c);
        }
        sums[b * kPackedRows + i] = acc;
      }
    }
#endif
    Requantize(sums, m, r0, rq, out + r0);
  }
}

bool PackedI16UsesDsp() {
#if defined(EDGEVAE_PACKED_DSP)
  return true;
#else
  return false;
#endif
}

}  // namespace edgevae::simd
