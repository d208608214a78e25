// The product of a sparse matrix (compressed rows) with a dense one, for the layer whose input is
// pixels: most MNIST pixels are exactly 0, so the first layer's forward product and its weight
// gradient run over the lit pixels only (lib/src/tools/backprop.h). Highway, dispatched like
// elementwise.h; a plain reference is in tests/kernels/sparse_test.cc.
#ifndef EDGEVAE_KERNELS_SPARSE_H_
#define EDGEVAE_KERNELS_SPARSE_H_

#include <cstddef>
#include <cstdint>

namespace edgevae::simd {

// Writes the positions (index) and values of the non-zero entries of x[0, width), in order, and
// adds one to counts[p] for each; returns how many. index and value may be written up to one
// vector past the last entry (give them that slack).
size_t CompressNonZero(const float* x, size_t width, uint32_t* index, float* value,
                       uint32_t* counts);

// The row stride (in floats) that SparseTimesDense's dense operand and output need for `width`
// columns: `width` rounded up to whole vectors of the dispatched target. The columns past `width`
// are computed too and must hold finite values (zero them once); callers never read them.
size_t SparseStride(size_t width);

// For each sparse row r in [begin, end): the entries j in [start[r], start[r + 1]) select dense
// rows index[j] with weights value[j], and
//   out[r][c] = act(bias[c] + sum_j value[j] * dense[index[j]][c])   for c < stride,
// summed in entry order after the bias, act = ReLU when `relu`. bias (null: 0) has `stride`
// entries; dense and out rows are `stride` floats apart (SparseStride(width)). The result of a row depends only on that row, so
// any split of the rows between threads gives the same bits.
void SparseTimesDense(const uint32_t* start, const uint32_t* index, const float* value,
                      size_t begin, size_t end, const float* dense, size_t stride,
                      const float* bias, bool relu, float* out);

}  // namespace edgevae::simd

#endif  // EDGEVAE_KERNELS_SPARSE_H_
