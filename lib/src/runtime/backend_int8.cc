// The int8 backend: Int8Op per layer (XNNPACK's qs8 operators, or GemvI8 on armv7); activations
// stay int8 between layers, and only mu, logvar, z and the logits cross to f32 (the
// reparameterisation needs real values; the sigmoid is a table). Batch-1 encodes run the first
// layer (the one whose input is pixels) by the lit pixels.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/int8.h"
#include "kernels/parallel.h"
#include "runtime/backend.h"

namespace edgevae {
namespace {

// The smallest output: a ReLU layer's clamps at its zero point (the real value 0).
int32_t OutputMin(const Int8Layer& l) {
  return l.relu ? std::max(-128, l.output.zero_point) : -128;
}

// One int8 fully-connected layer, run by XNNPACK's qs8 operator or, where GemvI8 is the faster
// path (armv7: about twice the multiply-adds per instruction; docs/performance.md, "ARM
// instruction counts"), by GemvI8 one image at a time at every batch size, so that a batch of one
// and of many agree bit for bit. GemvI8 requantizes as XNNPACK does on x86 (fp32, half to even).
class Int8Op {
 public:
  static StatusOr<Int8Op> Create(const Int8Layer& l, bool gemv) {
    Int8Op op;
    op.out_ = static_cast<size_t>(l.out);
    op.in_ = static_cast<size_t>(l.in);
    // GemvI8 sums two int8 products in int16: our quantizer's [-127, 127] keeps them in range.
    if (gemv && std::find(l.weight.begin(), l.weight.end(), int8_t{-128}) == l.weight.end()) {
      op.ldk_ = (op.in_ + 15) / 16 * 16;
      op.w_.Resize(op.out_ * op.ldk_);  // zero-filled: the padding columns
      op.bias_.Resize(op.out_);
      if (op.w_.empty() || op.bias_.empty()) return Internal("out of memory (engine weights)");
      for (size_t o = 0; o < op.out_; ++o) {
        // The input's zero point folded into the bias: sum w (x - zx) = sum w x - zx sum w.
        int32_t row_sum = 0;
        for (size_t k = 0; k < op.in_; ++k) {
          op.w_[o * op.ldk_ + k] = l.weight[o * op.in_ + k];
          row_sum += l.weight[o * op.in_ + k];
        }
        op.bias_[o] = l.bias[o] - l.input.zero_point * row_sum;
      }
      op.scale_ = RequantScale(l);
      op.zero_point_ = l.output.zero_point;
      op.lo_ = OutputMin(l);
      return op;
    }
    const int8_t out_min = static_cast<int8_t>(OutputMin(l));
    EVAE_ASSIGN_OR_RETURN(op.xnn_, gemm::PackedGemm::CreateQs8(
                                       l.out, l.in, l.weight.data(), l.weight_scale, l.bias.data(),
                                       static_cast<int8_t>(l.input.zero_point), l.input.scale,
                                       static_cast<int8_t>(l.output.zero_point), l.output.scale,
                                       out_min, 127, l.in, l.out));
    return op;
  }
  // y (n x out) <- x (n x in). On the GemvI8 path each row of x is read up to ldk (the next
  // multiple of 16), which meets zero weights; the last row's overrun stays within an
  // AlignedBuffer's slack.
  Status Run(size_t n, const int8_t* x, int8_t* y, pthreadpool_t pool) {
    if (ldk_ == 0) return xnn_.RunQs8(n, x, y, pool);
    auto rows = [&](const int8_t* xi, int8_t* yi, size_t r0, size_t r1) {
      simd::GemvI8(w_.data() + r0 * ldk_, r1 - r0, ldk_, xi, bias_.data() + r0, scale_, zero_point_,
                   lo_, 127, yi + r0);
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
  gemm::PackedGemm xnn_;
  AlignedBuffer<int8_t> w_;      // [out][ldk], zero-padded
  AlignedBuffer<int32_t> bias_;  // with the input zero point folded in
  float scale_ = 0;
  int32_t zero_point_ = 0, lo_ = -128;
};

// The first layer of one image by its nonzero pixels, for batch 1. An MNIST digit lights about a
// fifth of its pixels, so this does a fifth of the multiply-adds of XNNPACK's dense qs8 GEMM (the
// instruction counts: docs/performance.md, "ARM instruction counts"). The input
// quantization is the pixel's (scale 1/255, zero point -128), so a zero pixel contributes
// nothing; the sum is the same int32 XNNPACK computes, requantized as XNNPACK does on x86 (fp32;
// on aarch64 XNNPACK's fixed-point rounding can differ by one step on rare near-ties).
class SparsePixelLayer {
 public:
  // False (and nothing allocated) if `l` does not take pixels at their own quantization.
  StatusOr<bool> Prepare(const Int8Layer& l) {
    if (l.input.zero_point != -128 || l.input.scale != 1.0f / 255.0f) return false;
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
    scale_ = RequantScale(l);
    zero_point_ = l.output.zero_point;
    lo_ = OutputMin(l);
    max_nnz_ = static_cast<size_t>(kMaxFraction * static_cast<double>(in));
    in_ = in;
    return true;
  }
  // Runs the layer on one image into `out` if it is sparse enough; false: use the dense GEMM.
  bool Run(const uint8_t* pixels, int8_t* out) {
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
    simd::RequantizeI32(acc_.data(), out_, scale_, zero_point_, lo_, 127, out);
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
  float scale_ = 0;
  int32_t zero_point_ = 0, lo_ = -128;
};

class Int8Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Int8Model& q, size_t max_batch,
                                                   bool sparse_encode) {
    auto b = std::unique_ptr<Int8Backend>(new Int8Backend());
    const ShapeInfo& s = q.shape;
    b->in_ = s.input;
    b->lat_ = s.latent;
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
    if (sparse_encode) EVAE_RETURN_IF_ERROR(b->sparse_.Prepare(q.layers[0]).status());
    b->PrepareProbTable();
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "int8"; }

  Status EncodePixels(const uint8_t* pixels, size_t n, bool logvar, float* mv,
                      pthreadpool_t pool) override {
    if (n != 1 || !sparse_.Run(pixels, act_[0].data())) {
      simd::U8ToI8Centered(pixels, xq_.data(), n * in_);
      EVAE_RETURN_IF_ERROR(ops_[0].Run(n, xq_.data(), act_[0].data(), pool));
    }
    for (size_t i = 1; i < encoders_; ++i) {
      EVAE_RETURN_IF_ERROR(ops_[i].Run(n, act_[i - 1].data(), act_[i].data(), pool));
    }
    const int8_t* h = act_[encoders_ - 1].data();
    EVAE_RETURN_IF_ERROR(ops_[mean_].Run(n, h, act_[mean_].data(), pool));
    if (logvar) EVAE_RETURN_IF_ERROR(ops_[logvar_].Run(n, h, act_[logvar_].data(), pool));
    const QuantRange& mu_range = ranges_[mean_].output;
    const QuantRange& lv_range = ranges_[logvar_].output;
    for (size_t i = 0; i < n; ++i) {
      simd::DequantizeI8(act_[mean_].data() + i * lat_, mu_range.scale, mu_range.zero_point,
                         mv + i * 2 * lat_, lat_);
      if (!logvar) continue;
      simd::DequantizeI8(act_[logvar_].data() + i * lat_, lv_range.scale, lv_range.zero_point,
                         mv + i * 2 * lat_ + lat_, lat_);
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

  // The logits are int8, so their sigmoid takes 256 values: a table made at load by the same
  // kernels (DequantizeI8, Sigmoid) gives the same floats as computing them, for a fraction of
  // the work (about a third of the instructions per pixel on aarch64).
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
  void PrepareProbTable() {
    int8_t values[256];
    for (int i = 0; i < 256; ++i) values[i] = static_cast<int8_t>(i - 128);
    const QuantRange& r = ranges_[logits_].output;
    simd::DequantizeI8(values, r.scale, r.zero_point, prob_table_.data(), 256);
    simd::Sigmoid(prob_table_.data(), prob_table_.data(), 256);
  }

  struct Ranges {
    QuantRange input, output;
  };
  size_t lat_ = 0;
  size_t encoders_ = 0, mean_ = 0, logvar_ = 0, decoder_ = 0, logits_ = 0;  // table indices
  std::vector<Int8Op> ops_;                 // per layer; the weights live here once packed
  std::vector<Ranges> ranges_;              // per layer
  std::vector<AlignedBuffer<int8_t>> act_;  // per layer: its output
  AlignedBuffer<int8_t> xq_, zq_;           // centred pixels; quantized z
  SparsePixelLayer sparse_;
  std::array<float, 256> prob_table_{};  // sigmoid(logit) by int8 value + 128
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateInt8Backend(const Int8Model& model, size_t max_batch,
                                                     bool sparse_encode) {
  return Int8Backend::Create(model, max_batch, sparse_encode);
}

}  // namespace edgevae
