// The int8 backend: Int8Op per layer (XNNPACK's qc8 operators, or GemvI8 on armv7); activations
// stay int8 between layers, and only mu, logvar, z and the logits cross to f32 (the
// reparameterisation needs real values; the sigmoid is a table). Batch-1 encodes run the first
// layer (the one whose input is pixels) by the lit pixels.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/int8.h"
#include "kernels/packed_i16.h"
#if !defined(EDGEVAE_BARE_METAL)
#include "kernels/gemm.h"
#endif
#include "kernels/parallel.h"
#include "runtime/backend.h"
#include "runtime/patch_error.h"

namespace edgevae {
namespace {

// The smallest output: a ReLU layer's clamps at its zero point (the real value 0).
int32_t OutputMin(const Int8Layer& l) {
  return l.relu ? std::max<int32_t>(-128, l.output.zero_point) : -128;
}

// How the packed kernels requantize `l`'s rows: RequantScale's factors, the output range.
simd::PackedRequant PackedRequantOf(const Int8Layer& l) {
  return simd::PackedRequant{
      .input_scale = l.input.scale,
      .output_scale = l.output.scale,
      .row_scales = l.channel_scales.empty() ? nullptr : l.channel_scales.data(),
      .weight_scale = l.weight_scale,
      .zero_point = l.output.zero_point,
      .lo = OutputMin(l),
      .hi = 127};
}

// Row r's requantization scale, RequantScale(l, r), for every row of `l`.
Status RequantScales(const Int8Layer& l, AlignedBuffer<float>* scales) {
  const size_t rows = static_cast<size_t>(l.out);
  scales->Resize(rows);
  if (scales->empty()) return Internal("out of memory (engine weights)");
  for (size_t r = 0; r < rows; ++r) (*scales)[r] = RequantScale(l, r);
  return Status::Ok();
}

// One int8 fully-connected layer, run by XNNPACK's qc8 operator (one weight scale per row; a
// per-layer scale is the same scale on every row) or, where GemvI8 is the faster
// path (armv7: about twice the multiply-adds per instruction; docs/performance.md, "ARM
// instruction counts") or the only one (bare metal: no XNNPACK), by GemvI8 one image at a time at
// every batch size, so that a batch of one and of many agree bit for bit. GemvI8 requantizes as
// XNNPACK's qc8 operator does (fp32, half to even), on every architecture. It reads the weights in place (a mapped or embedded
// file: a microcontroller has no RAM for a copy) unless its NEON loops need rows padded to 16.
class Int8Op {
 public:
  static StatusOr<Int8Op> Create(const Int8Layer& l, bool gemv) {
    Int8Op op;
    op.out_ = static_cast<size_t>(l.out);
    op.in_ = static_cast<size_t>(l.in);
    if (!l.packed.empty()) {
      // A bare-metal build reading a cortex-m file in place (hosts unpack those into `weight`).
      if (op.in_ > simd::kMaxPackedCols) {
        return Unsupported("a layer of " + std::to_string(op.in_) + " inputs in the cortex-m "
                           "layout: its kernel takes at most " +
                           std::to_string(simd::kMaxPackedCols));
      }
      op.bias_.Resize(simd::PackedRows(op.out_));  // the kernel reads the padding rows' (zeros)
      if (op.bias_.empty()) return Internal("out of memory (engine weights)");
      simd::PackedI16RowSums(l.packed.data(), op.out_, op.in_, op.bias_.data());
      for (size_t o = 0; o < op.out_; ++o) {
        op.bias_[o] = l.bias[o] - l.input.zero_point * op.bias_[o];  // as below
      }
      op.packed_ = l.packed.data();
      op.ldk_ = op.in_;
      op.layer_ = l;
      op.requant_ = PackedRequantOf(l);
      return op;
    }
    // GemvI8 sums two int8 products in int16: our quantizer's [-127, 127] keeps them in range.
    const bool has_min = std::find(l.weight.begin(), l.weight.end(), int8_t{-128}) != l.weight.end();
#if defined(EDGEVAE_BARE_METAL)
    if (has_min) {
      return Unsupported("int8 weight -128 in a layer: the integer kernels of a bare-metal build "
                         "take [-127, 127], as edgevae's quantizer writes");
    }
    gemv = true;
#endif
    if (gemv && !has_min) {
      op.bias_.Resize(op.out_);
      if (op.bias_.empty()) return Internal("out of memory (engine weights)");
      if (op.in_ % simd::GemvI8RowMultiple() == 0) {
        op.ldk_ = op.in_;
        op.w_ = l.weight.data();
      } else {
        op.ldk_ = (op.in_ + 15) / 16 * 16;
        op.w_copy_.Resize(op.out_ * op.ldk_);  // zero-filled: the padding columns
        if (op.w_copy_.empty()) return Internal("out of memory (engine weights)");
        for (size_t o = 0; o < op.out_; ++o) {
          std::copy_n(l.weight.data() + o * op.in_, op.in_, op.w_copy_.data() + o * op.ldk_);
        }
        op.w_ = op.w_copy_.data();
      }
      for (size_t o = 0; o < op.out_; ++o) {
        // The input's zero point folded into the bias: sum w (x - zx) = sum w x - zx sum w.
        int32_t row_sum = 0;
        for (size_t k = 0; k < op.in_; ++k) row_sum += l.weight[o * op.in_ + k];
        op.bias_[o] = l.bias[o] - l.input.zero_point * row_sum;
      }
      op.layer_ = l;
      op.zero_point_ = l.output.zero_point;
      op.lo_ = OutputMin(l);
      return op;
    }
#if defined(EDGEVAE_BARE_METAL)
    return Internal("unreachable: bare-metal layers run on GemvI8");
#else
    const int8_t out_min = static_cast<int8_t>(OutputMin(l));
    std::vector<float> weight_scales(op.out_);
    for (size_t r = 0; r < op.out_; ++r) weight_scales[r] = WeightScale(l, r);
    EVAE_ASSIGN_OR_RETURN(op.xnn_, gemm::PackedGemm::CreateQc8(
                                       l.out, l.in, l.weight.data(), weight_scales.data(),
                                       l.bias.data(), static_cast<int8_t>(l.input.zero_point),
                                       l.input.scale, static_cast<int8_t>(l.output.zero_point),
                                       l.output.scale, out_min, 127, l.in, l.out));
    return op;
#endif
  }
  // y (n x out) <- x (n x in). On the GemvI8 path each row of x is read up to ldk (the next
  // multiple of 16 where rows are padded), which meets zero weights; the last row's overrun stays
  // within an AlignedBuffer's slack.
  Status Run(size_t n, const int8_t* x, int8_t* y, pthreadpool_t pool) {
#if !defined(EDGEVAE_BARE_METAL)
    if (ldk_ == 0) return xnn_.RunQc8(n, x, y, pool);
#endif
    if (packed_ != nullptr) {  // bare metal: one core, one image at a time
      for (size_t i = 0; i < n; ++i) {
        simd::GemvPackedI16(packed_, out_, in_, x + i * in_, bias_.data(), requant_, y + i * out_);
      }
      return Status::Ok();
    }
    // The requantization scales of up to 256 rows at a time, on the stack: a table of them would
    // cost a microcontroller 6 KB of RAM for the 20-D model (fewer rows per call cost more
    // instructions: each GemvI8 call widens its input again on Cortex-M).
    auto rows = [&](const int8_t* xi, int8_t* yi, size_t r0, size_t r1) {
      constexpr size_t kChunk = 256;
      float scales[kChunk];
      // RequantScale(layer_, r), in its order of operations, without its per-row test.
      const float in_scale = layer_.input.scale, out_scale = layer_.output.scale;
      const float* row_scales = layer_.channel_scales.data();
      for (size_t c0 = r0; c0 < r1; c0 += kChunk) {
        const size_t c1 = std::min(r1, c0 + kChunk);
        if (row_scales != nullptr) {
          for (size_t r = c0; r < c1; ++r) scales[r - c0] = in_scale * row_scales[r] / out_scale;
        } else {
          const float s = RequantScale(layer_, 0);
          for (size_t r = c0; r < c1; ++r) scales[r - c0] = s;
        }
        simd::GemvI8(w_ + c0 * ldk_, c1 - c0, ldk_, xi, bias_.data() + c0, scales, zero_point_,
                     lo_, 127, yi + c0);
      }
    };
    if (n == 1) {  // threads split the rows
      ParallelTiles(pool, out_, 64, [&](size_t r0, size_t r1) { rows(x, y, r0, r1); });
    } else {
      ParallelTiles(pool, n, 1, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) rows(x + i * in_, y + i * out_, 0, out_);
      });
    }
    return Status::Ok();
  }

 private:
  size_t out_ = 0, in_ = 0;
  size_t ldk_ = 0;  // 0: XNNPACK's operator
#if !defined(EDGEVAE_BARE_METAL)
  gemm::PackedGemm xnn_;
#endif
  const int8_t* w_ = nullptr;    // [out][ldk]: the layer's own weights, or w_copy_
  const int16_t* packed_ = nullptr;  // or the layer's weights in the cortex-m layout
  simd::PackedRequant requant_;      // with packed_
  AlignedBuffer<int8_t> w_copy_;  // rows zero-padded to ldk, where GemvI8 needs it
  AlignedBuffer<int32_t> bias_;  // with the input zero point folded in
  Int8Layer layer_;              // its scales, viewing bytes the backend keeps alive
  int32_t zero_point_ = 0, lo_ = -128;
};

// The first layer of one image by its nonzero pixels, for batch 1. An MNIST digit lights about a
// fifth of its pixels, so this does a fifth of the multiply-adds of XNNPACK's dense qc8 GEMM (the
// instruction counts: docs/performance.md, "ARM instruction counts"). The input
// quantization is the pixel's (scale 1/255, zero point -128), so a zero pixel contributes
// nothing; the sum is the same int32 XNNPACK computes, requantized as XNNPACK's qc8 operator
// does (fp32, half to even). A bare-metal build has no RAM for the transposed copy (~0.3 MB); on
// a file in the cortex-m layout it skips the blank groups of four pixels in place instead
// (GemvPackedI16Pixels).
class SparsePixelLayer {
 public:
  // False (and nothing allocated) if `l` does not take pixels at their own quantization.
  StatusOr<bool> Prepare(const Int8Layer& l) {
    if (l.input.zero_point != -128 || l.input.scale != 1.0f / 255.0f) return false;
    if (!l.packed.empty()) {
      if (static_cast<size_t>(l.in) > simd::kMaxPackedCols) return false;
      out_ = static_cast<size_t>(l.out);
      in_ = static_cast<size_t>(l.in);
      bias_.Resize(simd::PackedRows(out_));  // the kernel reads the padding rows' (zeros)
      if (bias_.empty()) return Internal("out of memory (engine buffers)");
      std::copy(l.bias.begin(), l.bias.end(), bias_.data());
      packed_ = l.packed.data();
      requant_ = PackedRequantOf(l);
      return true;
    }
#if defined(EDGEVAE_BARE_METAL)
    return false;
#endif
    const size_t in = l.in, out = l.out, block = simd::SparseI8Block();
    ldw_ = (out + block - 1) / block * block;
    out_ = out;
    wt_.Resize(in * ldw_);
    bias_.Resize(ldw_);
    acc_.Resize(ldw_);
    offs_.Resize(in);
    vals_.Resize(in);
    if (wt_.empty() || acc_.empty() || offs_.empty()) {
      return Internal("out of memory (engine buffers)");
    }
    std::fill(wt_.data(), wt_.data() + wt_.size(), int8_t{0});
    std::fill(bias_.data(), bias_.data() + bias_.size(), 0);
    for (size_t o = 0; o < out; ++o) {
      for (size_t j = 0; j < in; ++j) wt_[j * ldw_ + o] = l.weight[o * in + j];
      bias_[o] = l.bias[o];
    }
    EVAE_RETURN_IF_ERROR(RequantScales(l, &scales_));
    zero_point_ = l.output.zero_point;
    lo_ = OutputMin(l);
    max_nnz_ = static_cast<size_t>(kMaxFraction * static_cast<double>(in));
    in_ = in;
    return true;
  }
  // Runs the layer on one image into `out` if it is sparse enough; false: use the dense GEMM.
  bool Run(const uint8_t* pixels, int8_t* out) {
    if (packed_ != nullptr) {
      simd::GemvPackedI16Pixels(packed_, out_, in_, pixels, bias_.data(), requant_, out);
      return true;
    }
    if (ldw_ == 0) return false;
    size_t nnz = 0;
    size_t j = 0;
    const uint32_t ldw = static_cast<uint32_t>(ldw_);
    for (; j + 8 <= in_; j += 8) {  // most 8-pixel runs of a digit are blank
      uint64_t word;
      std::memcpy(&word, pixels + j, 8);
      if (word == 0) continue;
      for (size_t k = j; k < j + 8; ++k) {
        offs_[nnz] = static_cast<uint32_t>(k) * ldw;
        vals_[nnz] = pixels[k];
        nnz += pixels[k] != 0;
      }
    }
    for (; j < in_; ++j) {
      offs_[nnz] = static_cast<uint32_t>(j) * ldw;
      vals_[nnz] = pixels[j];
      nnz += pixels[j] != 0;
    }
    if (nnz > max_nnz_) return false;
    std::copy(bias_.data(), bias_.data() + ldw_, acc_.data());
    simd::SparseI8Columns(wt_.data(), ldw_, offs_.data(), vals_.data(), nnz, acc_.data());
    simd::RequantizeI32(acc_.data(), out_, scales_.data(), zero_point_, lo_, 127, out);
    return true;
  }

 private:
  // Above this share of nonzero pixels the dense GEMM may be cheaper: on aarch64 the crossover is
  // near half the pixels (docs/performance.md); armv7 and x86 were not measured, so the bound
  // stays where the first kernel put it. MNIST digits light a fifth, Fashion-MNIST items about
  // half.
  static constexpr double kMaxFraction = 0.3;

  size_t ldw_ = 0;  // 0: not prepared
  size_t in_ = 0, out_ = 0, max_nnz_ = 0;
  AlignedBuffer<int8_t> wt_;
  AlignedBuffer<int32_t> bias_, acc_;
  AlignedBuffer<uint32_t> offs_;
  AlignedBuffer<int16_t> vals_;
  AlignedBuffer<float> scales_;  // per row: RequantScale
  int32_t zero_point_ = 0, lo_ = -128;
  const int16_t* packed_ = nullptr;  // or the layer's weights in the cortex-m layout
  simd::PackedRequant requant_;      // with packed_
};

class Int8Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Int8Model& q, size_t max_batch,
                                                   bool sparse_encode) {
    auto b = std::unique_ptr<Int8Backend>(new Int8Backend());
    const ShapeInfo& s = q.shape;
    b->in_ = s.input;
    b->lat_ = s.latent;
    b->has_encoder_ = s.has_encoder();
    b->has_logvar_ = s.has_logvar();
    b->encoders_ = static_cast<size_t>(s.Count(LayerRole::kEncoder));
    b->mean_ = static_cast<size_t>(s.Find(LayerRole::kMean));
    b->logvar_ = static_cast<size_t>(s.Find(LayerRole::kLogVar));
    b->decoder_ = static_cast<size_t>(s.Find(LayerRole::kDecoder));
    b->logits_ = static_cast<size_t>(s.Find(LayerRole::kLogits));
    const bool gemv = simd::GemvI8Preferred();
    b->ops_.resize(q.layers.size());
    b->act_.resize(q.layers.size());
    b->ranges_.resize(q.layers.size());
    for (size_t i = 0; i < q.layers.size(); ++i) {
      const Int8Layer& l = q.layers[i];
      EVAE_ASSIGN_OR_RETURN(b->ops_[i], Int8Op::Create(l, gemv));
      b->act_[i].Resize(max_batch * static_cast<size_t>(l.out));
      if (b->act_[i].empty()) return Internal("out of memory (engine buffers)");
      b->ranges_[i] = {l.input, l.output};
    }
    b->xq_.Resize(max_batch * s.input);
    b->zq_.Resize(max_batch * s.latent);
    if (b->xq_.empty() || b->zq_.empty()) return Internal("out of memory (engine buffers)");
    if (sparse_encode && b->has_encoder_) {
      EVAE_RETURN_IF_ERROR(b->sparse_.Prepare(q.layers[0]).status());
    }
    b->PrepareProbTable();
    // Layers that read their weights in place (GemvI8) keep the model's bytes -- a mapped file or
    // a copy -- alive for as long as the engine, which may outlive the model it was made from.
    b->storage_ = q.storage;
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "int8"; }

  Status EncodePixels(const uint8_t* pixels, size_t n, bool logvar, float* mv,
                      pthreadpool_t pool) override {
    if (!has_encoder_) return Unsupported("a generator alone has no encoder");
    if (n != 1 || !sparse_.Run(pixels, act_[0].data())) {
      simd::U8ToI8Centered(pixels, xq_.data(), n * in_);
      EVAE_RETURN_IF_ERROR(ops_[0].Run(n, xq_.data(), act_[0].data(), pool));
    }
    for (size_t i = 1; i < encoders_; ++i) {
      EVAE_RETURN_IF_ERROR(ops_[i].Run(n, act_[i - 1].data(), act_[i].data(), pool));
    }
    const int8_t* h = act_[encoders_ - 1].data();
    EVAE_RETURN_IF_ERROR(ops_[mean_].Run(n, h, act_[mean_].data(), pool));
    if (logvar && has_logvar_) {
      EVAE_RETURN_IF_ERROR(ops_[logvar_].Run(n, h, act_[logvar_].data(), pool));
    }
    const QuantRange& mu_range = ranges_[mean_].output;
    for (size_t i = 0; i < n; ++i) {
      simd::DequantizeI8(act_[mean_].data() + i * lat_, mu_range.scale, mu_range.zero_point,
                         mv + i * 2 * lat_, lat_);
      if (!logvar) continue;
      float* lv = mv + i * 2 * lat_ + lat_;
      if (!has_logvar_) {  // a deterministic encoder: a point mass
        std::fill(lv, lv + lat_, -std::numeric_limits<float>::infinity());
        continue;
      }
      const QuantRange& lv_range = ranges_[logvar_].output;
      simd::DequantizeI8(act_[logvar_].data() + i * lat_, lv_range.scale, lv_range.zero_point,
                         lv, lat_);
    }
    return Status::Ok();
  }

  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) override {
    EVAE_RETURN_IF_ERROR(DecodeInt8(z, n, pool));
    const QuantRange& r = ranges_[logits_].output;
    const int8_t* lq = act_[logits_].data();
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      simd::DequantizeI8(lq + b * in_, r.scale, r.zero_point, logits + b * in_, (e - b) * in_);
    });
    return Status::Ok();
  }

  // The logits are int8, so their sigmoid takes 256 values: a table made at load gives them for a
  // fraction of the work (about a third of the instructions per pixel on aarch64).
  // The int8 logits of each image's reconstruction (z = mu: its mu dequantized, then quantized
  // for the decoder, as Engine::Encode + DecodeLogits do) against its pixels, in integers:
  //   bce: sum_i sp[q_i] / 2^16 - s / 255 * sum_i pixel_i (q_i - zp), sp[q] = softplus(s (q - zp))
  //        in 2^-16 steps, s and zp the logits' scale and zero point;
  //   mse: sum_i (257 pixel_i - pr[q_i])^2 / 65535^2, pr[q] = sigmoid in 1/65535 steps
  //        (257 pixel = 65535 pixel / 255 exactly);
  //   mse3x3: the same residuals' SquaredPatchSums / 65535^2.
  // Sums of integers are exact in any order, so a Pi, a PC and a microcontroller agree exactly.
  Status ReconstructionError(const uint8_t* pixels, size_t n, ReconstructionLoss loss, float* mv,
                             float* z, double* out, pthreadpool_t pool) override {
    EVAE_RETURN_IF_ERROR(EncodePixels(pixels, n, /*logvar=*/false, mv, pool));
    for (size_t i = 0; i < n; ++i) std::copy_n(mv + i * 2 * lat_, lat_, z + i * lat_);
    EVAE_RETURN_IF_ERROR(DecodeInt8(z, n, pool));
    const QuantRange& r = ranges_[logits_].output;
    const size_t side = PatchSide(in_);
    if (loss == ReconstructionLoss::kMse3x3 && side == 0) {
      return Unsupported("mse3x3 needs a square image of at most 64 x 64 pixels");
    }
    for (size_t img = 0; img < n; ++img) {
      const int8_t* q = act_[logits_].data() + img * in_;
      const uint8_t* x = pixels + img * in_;
      if (loss == ReconstructionLoss::kMse3x3) {
        const int64_t sum = SquaredPatchSums<int64_t>(side, [&](size_t i) {
          return 257 * int32_t{x[i]} - int32_t{prob16_[q[i] + 128]};
        });
        out[img] = static_cast<double>(sum) / (65535.0 * 65535.0);
      } else if (loss == ReconstructionLoss::kMse) {
        uint64_t sum = 0;
        for (size_t i = 0; i < in_; ++i) {
          const int32_t d = 257 * int32_t{x[i]} - int32_t{prob16_[q[i] + 128]};
          sum += static_cast<uint64_t>(static_cast<int64_t>(d) * d);
        }
        out[img] = static_cast<double>(sum) / (65535.0 * 65535.0);
      } else {
        int64_t sp = 0, xl = 0;
        for (size_t i = 0; i < in_; ++i) {
          sp += softplus16_[q[i] + 128];
          xl += int64_t{x[i]} * (int32_t{q[i]} - r.zero_point);
        }
        out[img] = static_cast<double>(sp) / 65536.0 -
                   static_cast<double>(r.scale) / 255.0 * static_cast<double>(xl);
      }
    }
    return Status::Ok();
  }

  Status DecodeProbs(const float* z, size_t n, float* out, pthreadpool_t pool) override {
    EVAE_RETURN_IF_ERROR(DecodeInt8(z, n, pool));
    const float* table = prob_table_.data() + 128;  // indexed by the int8 value
    const int8_t* lq = act_[logits_].data();
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      const int8_t* l = lq + b * in_;
      float* o = out + b * in_;
      const size_t m = (e - b) * in_;
      size_t i = 0;
      for (; i + 4 <= m; i += 4) {  // unrolled: half the instructions per pixel on aarch64
        o[i] = table[l[i]];
        o[i + 1] = table[l[i + 1]];
        o[i + 2] = table[l[i + 2]];
        o[i + 3] = table[l[i + 3]];
      }
      for (; i < m; ++i) o[i] = table[l[i]];
    });
    return Status::Ok();
  }

 private:
  Int8Backend() = default;
  // The decoder's int8 logits of n latent vectors into act_[logits_].
  Status DecodeInt8(const float* z, size_t n, pthreadpool_t pool) {
    const QuantRange& zr = ranges_[decoder_].input;
    simd::QuantizeI8(z, zr.scale, zr.zero_point, zq_.data(), n * lat_);
    const int8_t* in = zq_.data();
    for (size_t i = decoder_; i <= logits_; ++i) {
      EVAE_RETURN_IF_ERROR(ops_[i].Run(n, in, act_[i].data(), pool));
      in = act_[i].data();
    }
    return Status::Ok();
  }
  // The table in double precision, rounded once to float: the correctly rounded sigmoid (but for
  // a libm's last-bit slip in double, which rounding to float absorbs), so the same on every
  // platform. simd::Sigmoid's last bit depends on whether the target fuses multiply-adds (x86 and
  // NEON do, a Cortex-M's portable Highway target does not), and a microcontroller must draw the
  // same pixels as the Pi (docs/micro.md).
  // The fixed-point tables of ReconstructionError come from the same doubles.
  void PrepareProbTable() {
    const QuantRange& r = ranges_[logits_].output;
    for (int i = 0; i < 256; ++i) {
      const float logit = r.scale * static_cast<float>(i - 128 - r.zero_point);  // DequantizeI8's
      const double l = logit;
      const double p = 1.0 / (1.0 + std::exp(-l));
      prob_table_[i] = static_cast<float>(p);
      prob16_[i] = static_cast<uint16_t>(std::lround(p * 65535.0));
      // softplus(l) = max(l, 0) + log1p(exp(-|l|)), without overflow. Capped at 2^52 steps so
      // that an absurd (but finite) logit scale can neither overflow the conversion nor a sum of
      // up to 2^10 pixels; a real model's logits stay far below (|l| < 255 * scale).
      const double softplus = std::max(l, 0.0) + std::log1p(std::exp(-std::fabs(l)));
      softplus16_[i] = std::llround(std::min(softplus * 65536.0, 0x1p52));
    }
  }

  struct Ranges {
    QuantRange input, output;
  };
  size_t lat_ = 0;
  bool has_encoder_ = false;  // a generator alone has none (and no mean or logvar layer)
  bool has_logvar_ = false;   // an AAE's deterministic encoder has no logvar layer
  size_t encoders_ = 0, mean_ = 0, logvar_ = 0, decoder_ = 0, logits_ = 0;  // table indices
  std::vector<Int8Op> ops_;                 // per layer; the weights live here once packed
  std::vector<Ranges> ranges_;              // per layer
  std::vector<AlignedBuffer<int8_t>> act_;  // per layer: its output
  AlignedBuffer<int8_t> xq_, zq_;           // centred pixels; quantized z
  SparsePixelLayer sparse_;
  std::array<float, 256> prob_table_{};  // sigmoid(logit) by int8 value + 128
  std::array<uint16_t, 256> prob16_{};     // the same in 1/65535 steps
  std::array<int64_t, 256> softplus16_{};  // softplus(logit) in 2^-16 steps
  std::vector<std::shared_ptr<const void>> storage_;  // the bytes in-place weights point into
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateInt8Backend(const Int8Model& model, size_t max_batch,
                                                     bool sparse_encode) {
  return Int8Backend::Create(model, max_batch, sparse_encode);
}

}  // namespace edgevae
