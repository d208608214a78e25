// Cortex-M's layout of an int8 layer's weights ("packed i16", docs/model-format.md) and the
// matrix-vector product that reads it. On a Cortex-M with the DSP extension, SMLAD multiplies two
// pairs of 16-bit values and adds both products in one instruction; with int8 weights in place,
// every pair must first be widened (SXTB16), so a multiply-add costs at least one instruction.
// Stored widened, the weights feed SMLAD directly, and grouped so that one LDM loads what three
// rows need from four inputs: about 0.68 instructions per multiply-add (docs/micro.md), at twice
// the bytes. The arithmetic is GemvI8's, exactly: the same int32 sums, requantized alike.
//
// The layout: rows in blocks of kPackedRows, inputs in groups of kPackedCols, both padded with
// zero weights. Block b's groups follow one another; group g holds, for each of the block's rows
// in order, that row's kPackedCols weights of the group. Every weight lies in [-127, 127].
#ifndef EDGEVAE_KERNELS_PACKED_I16_H_
#define EDGEVAE_KERNELS_PACKED_I16_H_

#include <cstddef>
#include <cstdint>

namespace edgevae::simd {

inline constexpr size_t kPackedRows = 3;
inline constexpr size_t kPackedCols = 4;
// The widest layer the product takes: its input, widened, sits on the stack (2 KB).
inline constexpr size_t kMaxPackedCols = 1024;

constexpr size_t PackedRows(size_t rows) {
  return (rows + kPackedRows - 1) / kPackedRows * kPackedRows;
}
constexpr size_t PackedCols(size_t cols) {
  return (cols + kPackedCols - 1) / kPackedCols * kPackedCols;
}
// Where weight (r, k) of a rows x cols layer sits in its packed array.
constexpr size_t PackedIndex(size_t r, size_t k, size_t cols) {
  const size_t groups = PackedCols(cols) / kPackedCols;
  return ((r / kPackedRows * groups + k / kPackedCols) * kPackedRows + r % kPackedRows) *
             kPackedCols +
         k % kPackedCols;
}

// w (rows x cols, row-major, each in [-127, 127]) -> packed (PackedRows(rows) * PackedCols(cols)).
void PackI16(const int8_t* w, size_t rows, size_t cols, int16_t* packed);

// packed -> w (rows x cols, row-major; null to only check). False, and the position of the first
// offending value in *bad (its index in `packed`), if a weight lies outside [-127, 127] or a
// padding value is not zero.
bool UnpackI16(const int16_t* packed, size_t rows, size_t cols, int8_t* w, size_t* bad);

// sums[r] = sum_k W[r][k] for r < rows (the input's zero point is folded into the bias with it).
void PackedI16RowSums(const int16_t* packed, size_t rows, size_t cols, int32_t* sums);

// How GemvPackedI16 requantizes row r: scale = input_scale * (row_scales ? row_scales[r] :
// weight_scale) / output_scale, computed in that order as Int8Layer's RequantScale does (the
// product is requantized with it as RequantizeI32 does); outputs clamped to [lo, hi].
struct PackedRequant {
  float input_scale = 1, output_scale = 1;
  const float* row_scales = nullptr;
  float weight_scale = 1;
  int32_t zero_point = 0, lo = -128, hi = 127;
};

// GemvI8 (int8.h) on packed weights: out[r] = requantize(bias[r] + sum_{k < cols} W[r][k] x[k])
// for r < rows, with RequantizeI32's arithmetic and `rq`'s scale of row r; cols <=
// kMaxPackedCols. `packed` must be 4-byte aligned, and bias hold PackedRows(rows) values (the
// padding rows' are read, not used). The scales are computed on the fly: a table
// of them would cost a microcontroller RAM, and computing them in a loop of their own costs it
// instructions.
void GemvPackedI16(const int16_t* packed, size_t rows, size_t cols, const int8_t* x,
                   const int32_t* bias, const PackedRequant& rq, int8_t* out);

// The same product for a layer whose input is raw pixels, zero where blank (a layer taking pixels
// at their own quantization, zero point -128, with `bias` not folded: bias[r] + sum_k W[r][k] *
// pixels[k] is the same int32 as the folded sum of the centred input). Groups of four blank
// pixels are skipped: an MNIST digit leaves about three quarters of them blank, and a group
// costs 9 instructions instead of 8 on Cortex-M, so a dense image costs little more than
// GemvPackedI16.
void GemvPackedI16Pixels(const int16_t* packed, size_t rows, size_t cols, const uint8_t* pixels,
                         const int32_t* bias, const PackedRequant& rq, int8_t* out);

// Whether GemvPackedI16 runs the Cortex-M DSP assembly (else plain C++, the reference).
bool PackedI16UsesDsp();

}  // namespace edgevae::simd

#endif  // EDGEVAE_KERNELS_PACKED_I16_H_
