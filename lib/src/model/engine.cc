#include "edgevae/engine.h"

#include <algorithm>
#include <array>
#include <limits>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "edgevae/file.h"
#include "edgevae/rng.h"
#include "gemm/gemm.h"
#include "model/inference.h"
#include "simd/kernels.h"

namespace edgevae {
namespace {

// The layers in one dtype: pixels -> [mu | logvar] rows (f32), z (f32) -> logits (f32).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* dtype() const = 0;
  // Rows [mu | logvar] of n images into mv; without `logvar` a backend may leave that half
  // unwritten (a reconstruction with z = mu needs only mu).
  virtual Status EncodePixels(const uint8_t* pixels, size_t n, bool logvar, float* mv,
                              pthreadpool_t pool) = 0;
  // z must be readable XNNPACK's slack past its end (an AlignedBuffer).
  virtual Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) = 0;
  // Pixel probabilities, sigmoid(logits).
  virtual Status DecodeProbs(const float* z, size_t n, float* out, pthreadpool_t pool) {
    EVAE_RETURN_IF_ERROR(DecodeLogits(z, n, out, pool));
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      simd::Sigmoid(out + b * in_, out + b * in_, (e - b) * in_);
    });
    return Status::Ok();
  }

 protected:
  size_t in_ = 0;  // pixels per image
};

class F32Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Model& model, size_t max_batch) {
    auto b = std::unique_ptr<F32Backend>(new F32Backend());
    b->in_ = model.shape().input;
    EVAE_ASSIGN_OR_RETURN(b->inf_, F32Inference::Create(model, max_batch));
    b->x_.Resize(max_batch * b->in_);
    if (b->x_.empty()) return Internal("out of memory (engine buffers)");
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "f32"; }
  Status EncodePixels(const uint8_t* pixels, size_t n, bool /*logvar*/, float* mv,
                      pthreadpool_t pool) override {
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      simd::U8ToF32(pixels + b * in_, x_.data() + b * in_, (e - b) * in_);
    });
    return inf_.Encode(x_.data(), n, mv, pool);
  }
  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) override {
    return inf_.DecodeLogits(z, n, logits, pool);
  }

 private:
  F32Backend() = default;
  F32Inference inf_;
  AlignedBuffer<float> x_;
};

// XNNPACK f16 operators: weights rounded to half precision at load, activations in half
// precision between layers; mu, logvar, z and the logits cross to f32.
class F16Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Model& model, size_t max_batch) {
    auto b = std::unique_ptr<F16Backend>(new F16Backend());
    const ShapeInfo& s = model.shape();
    b->in_ = s.input;
    b->hid_ = s.hidden;
    b->lat_ = s.latent;
    const ParamLayout& p = model.layout();
    const float* w = model.params();
    constexpr float kInf = std::numeric_limits<float>::infinity();
    auto make = [&](size_t out, size_t in, size_t wo, size_t bo, float lo) {
      std::vector<uint16_t> wh(out * in), bh(out);
      simd::F32ToF16(w + wo, wh.data(), wh.size());
      simd::F32ToF16(w + bo, bh.data(), bh.size());
      return gemm::PackedGemm::CreateF16(out, in, wh.data(), bh.data(), lo, kInf, in, out);
    };
    const size_t in = b->in_, hid = b->hid_, lat2 = 2 * b->lat_;
    EVAE_ASSIGN_OR_RETURN(b->fc1_, make(hid, in, p.w1, p.b1, 0.0f));
    EVAE_ASSIGN_OR_RETURN(b->fc2_, make(lat2, hid, p.w2, p.b2, -kInf));
    EVAE_ASSIGN_OR_RETURN(b->fc3_, make(hid, b->lat_, p.w3, p.b3, 0.0f));
    EVAE_ASSIGN_OR_RETURN(b->fc4_, make(in, hid, p.w4, p.b4, -kInf));
    b->x_.Resize(max_batch * in);
    b->xh_.Resize(max_batch * in);
    b->h_.Resize(max_batch * hid);
    b->mvh_.Resize(max_batch * lat2);
    b->zh_.Resize(max_batch * b->lat_);
    b->lh_.Resize(max_batch * in);
    if (b->lh_.empty() || b->x_.empty()) return Internal("out of memory (engine buffers)");
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "f16"; }
  Status EncodePixels(const uint8_t* pixels, size_t n, bool /*logvar*/, float* mv,
                      pthreadpool_t pool) override {
    simd::U8ToF32(pixels, x_.data(), n * in_);
    simd::F32ToF16(x_.data(), xh_.data(), n * in_);
    EVAE_RETURN_IF_ERROR(fc1_.RunF16(n, xh_.data(), h_.data(), pool));
    EVAE_RETURN_IF_ERROR(fc2_.RunF16(n, h_.data(), mvh_.data(), pool));
    simd::F16ToF32(mvh_.data(), mv, n * 2 * lat_);
    return Status::Ok();
  }
  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) override {
    simd::F32ToF16(z, zh_.data(), n * lat_);
    EVAE_RETURN_IF_ERROR(fc3_.RunF16(n, zh_.data(), h_.data(), pool));
    EVAE_RETURN_IF_ERROR(fc4_.RunF16(n, h_.data(), lh_.data(), pool));
    simd::F16ToF32(lh_.data(), logits, n * in_);
    return Status::Ok();
  }

 private:
  F16Backend() = default;
  size_t hid_ = 0, lat_ = 0;
  gemm::PackedGemm fc1_, fc2_, fc3_, fc4_;
  AlignedBuffer<float> x_;
  AlignedBuffer<uint16_t> xh_, h_, mvh_, zh_, lh_;
};

// The smallest output: a ReLU layer's clamps at its zero point (the real value 0).
int32_t OutputMin(const Int8Layer& l) {
  return l.relu ? std::max(-128, l.output.zero_point) : -128;
}

// One int8 fully-connected layer, run by XNNPACK's qs8 operator or, where GemvI8 is the faster
// path (armv7: ~2.9 multiply-adds per instruction against XNNPACK's ~1.4), by GemvI8 one image
// at a time at every batch size, so that a batch of one and of many agree bit for bit. GemvI8
// requantizes as XNNPACK does on x86 (fp32, half to even).
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

// int8 layers (Int8Op: XNNPACK's qs8 operators, or GemvI8 on armv7); activations stay int8
// between layers, and only mu, logvar, z and the logits cross to f32 (the reparameterisation
// needs real values; the sigmoid is a table).
class Int8Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Int8Model& q, size_t max_batch,
                                                   bool sparse_encode) {
    auto b = std::unique_ptr<Int8Backend>(new Int8Backend());
    b->q_ = &b->model_;
    b->model_ = q;
    const size_t in = q.shape.input, hid = q.shape.hidden, lat = q.shape.latent;
    b->in_ = in;
    const bool gemv = simd::GemvI8Preferred();
    EVAE_ASSIGN_OR_RETURN(b->fc1_, Int8Op::Create(q.fc1, gemv));
    EVAE_ASSIGN_OR_RETURN(b->fc21_, Int8Op::Create(q.fc21, gemv));
    EVAE_ASSIGN_OR_RETURN(b->fc22_, Int8Op::Create(q.fc22, gemv));
    EVAE_ASSIGN_OR_RETURN(b->fc3_, Int8Op::Create(q.fc3, gemv));
    EVAE_ASSIGN_OR_RETURN(b->fc4_, Int8Op::Create(q.fc4, gemv));
    b->xq_.Resize(max_batch * in);
    b->h_.Resize(max_batch * hid);
    b->muq_.Resize(max_batch * lat);
    b->lvq_.Resize(max_batch * lat);
    b->zq_.Resize(max_batch * lat);
    b->lq_.Resize(max_batch * in);
    if (b->lq_.empty() || b->xq_.empty()) return Internal("out of memory (engine buffers)");
    if (sparse_encode) EVAE_RETURN_IF_ERROR(b->PrepareSparseFc1());
    b->PrepareProbTable();
    // The weights now live in the operators (packed by XNNPACK, or GemvI8's copy).
    for (Int8Layer* l : {&b->model_.fc1, &b->model_.fc21, &b->model_.fc22, &b->model_.fc3,
                         &b->model_.fc4}) {
      l->weight = {};
      l->bias = {};
    }
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "int8"; }

  Status EncodePixels(const uint8_t* pixels, size_t n, bool logvar, float* mv,
                      pthreadpool_t pool) override {
    const Int8Model& q = *q_;
    const size_t in = q.shape.input, lat = q.shape.latent;
    if (n != 1 || !SparseFc1(pixels)) {
      simd::U8ToI8Centered(pixels, xq_.data(), n * in);
      EVAE_RETURN_IF_ERROR(fc1_.Run(n, xq_.data(), h_.data(), pool));
    }
    EVAE_RETURN_IF_ERROR(fc21_.Run(n, h_.data(), muq_.data(), pool));
    if (logvar) EVAE_RETURN_IF_ERROR(fc22_.Run(n, h_.data(), lvq_.data(), pool));
    for (size_t i = 0; i < n; ++i) {
      simd::DequantizeI8(muq_.data() + i * lat, q.fc21.output.scale, q.fc21.output.zero_point,
                         mv + i * 2 * lat, lat);
      if (!logvar) continue;
      simd::DequantizeI8(lvq_.data() + i * lat, q.fc22.output.scale, q.fc22.output.zero_point,
                         mv + i * 2 * lat + lat, lat);
    }
    return Status::Ok();
  }

  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) override {
    const Int8Model& q = *q_;
    const size_t in = q.shape.input;
    EVAE_RETURN_IF_ERROR(DecodeInt8(z, n, pool));
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      simd::DequantizeI8(lq_.data() + b * in, q.fc4.output.scale, q.fc4.output.zero_point,
                         logits + b * in, (e - b) * in);
    });
    return Status::Ok();
  }

  // fc4's output is int8, so its sigmoid takes 256 values: a table made at load by the same
  // kernels (DequantizeI8, Sigmoid) gives the same floats as computing them, for a fraction of
  // the work (aarch64: ~10 instructions per pixel computed, ~3 looked up).
  Status DecodeProbs(const float* z, size_t n, float* out, pthreadpool_t pool) override {
    const size_t in = q_->shape.input;
    EVAE_RETURN_IF_ERROR(DecodeInt8(z, n, pool));
    const float* table = prob_table_.data() + 128;  // indexed by the int8 value
    ParallelTiles(pool, n, 16, [&](size_t b, size_t e) {
      const int8_t* l = lq_.data() + b * in;
      float* o = out + b * in;
      const size_t m = (e - b) * in;
      size_t i = 0;
      for (; i + 4 <= m; i += 4) {  // unrolled: ~3.5 instructions per pixel on aarch64, not 6
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
  // The decoder's int8 logits of n latent vectors into lq_.
  Status DecodeInt8(const float* z, size_t n, pthreadpool_t pool) {
    const Int8Model& q = *q_;
    simd::QuantizeI8(z, q.fc3.input.scale, q.fc3.input.zero_point, zq_.data(),
                     n * q.shape.latent);
    EVAE_RETURN_IF_ERROR(fc3_.Run(n, zq_.data(), h_.data(), pool));
    return fc4_.Run(n, h_.data(), lq_.data(), pool);
  }
  // fc1 of one image by its nonzero pixels, for batch 1. An MNIST digit has ~150 nonzero pixels
  // of 784, so this does a fifth of the multiply-adds of XNNPACK's dense qs8 GEMM (aarch64,
  // Cortex-A72 model, real test digits: ~31k instructions instead of ~95k). The input
  // quantization is the pixel's (scale 1/255, zero point -128), so a zero pixel contributes
  // nothing; the sum is the same int32 XNNPACK computes, requantized as XNNPACK does on x86 (fp32;
  // on aarch64 XNNPACK's fixed-point rounding can differ by one step on rare near-ties).
  Status PrepareSparseFc1() {
    const Int8Layer& l = model_.fc1;
    if (l.input.zero_point != -128 || l.input.scale != 1.0f / 255.0f) return Status::Ok();
    const size_t in = l.in, hid = l.out, block = simd::SparseI8Block();
    ldw1_ = (hid + block - 1) / block * block;
    wt1_.Resize(in * ldw1_);
    bias1_.Resize(ldw1_);
    acc1_.Resize(ldw1_);
    offs_.Resize(in);
    vals_.Resize(in);
    if (wt1_.empty() || acc1_.empty() || offs_.empty()) {
      return Internal("out of memory (engine buffers)");
    }
    std::fill(wt1_.data(), wt1_.data() + wt1_.size(), int8_t{0});
    std::fill(bias1_.data(), bias1_.data() + bias1_.size(), 0);
    for (size_t o = 0; o < hid; ++o) {
      for (size_t j = 0; j < in; ++j) wt1_[j * ldw1_ + o] = l.weight[o * in + j];
      bias1_[o] = l.bias[o];
    }
    fc1_scale_ = RequantScale(l);
    fc1_lo_ = OutputMin(l);
    sparse_max_nnz_ = static_cast<size_t>(kSparseMaxFraction * static_cast<double>(in));
    return Status::Ok();
  }
  // Runs fc1 of one image into h_ if it is sparse enough; false: use the dense GEMM.
  bool SparseFc1(const uint8_t* pixels) {
    if (ldw1_ == 0) return false;
    const Int8Layer& l = model_.fc1;
    const size_t in = l.in;
    size_t nnz = 0;
    size_t j = 0;
    const uint32_t ldw = static_cast<uint32_t>(ldw1_);
    for (; j + 8 <= in; j += 8) {  // most 8-pixel runs of a digit are blank
      uint64_t word;
      std::memcpy(&word, pixels + j, 8);
      if (word == 0) continue;
      for (size_t k = j; k < j + 8; ++k) {
        offs_[nnz] = static_cast<uint32_t>(k) * ldw;
        vals_[nnz] = pixels[k];
        nnz += pixels[k] != 0;
      }
    }
    for (; j < in; ++j) {
      offs_[nnz] = static_cast<uint32_t>(j) * ldw;
      vals_[nnz] = pixels[j];
      nnz += pixels[j] != 0;
    }
    if (nnz > sparse_max_nnz_) return false;
    std::copy(bias1_.data(), bias1_.data() + ldw1_, acc1_.data());
    simd::SparseI8Columns(wt1_.data(), ldw1_, offs_.data(), vals_.data(), nnz, acc1_.data());
    simd::RequantizeI32(acc1_.data(), l.out, fc1_scale_, l.output.zero_point, fc1_lo_, 127,
                        h_.data());
    return true;
  }
  void PrepareProbTable() {
    int8_t values[256];
    for (int i = 0; i < 256; ++i) values[i] = static_cast<int8_t>(i - 128);
    const QuantRange& r = model_.fc4.output;
    simd::DequantizeI8(values, r.scale, r.zero_point, prob_table_.data(), 256);
    simd::Sigmoid(prob_table_.data(), prob_table_.data(), 256);
  }
  // Above this share of nonzero pixels the dense GEMM may be cheaper. On aarch64 the sparse loop
  // costs ~225 instructions per lit pixel and XNNPACK's dense fc1 ~95k in all (crossover ~50 %;
  // armv7 and x86 were not measured, so the bound stays where the first kernel put it). MNIST
  // digits light 19 % on average, Fashion-MNIST items about half.
  static constexpr double kSparseMaxFraction = 0.3;

  Int8Model model_;  // ranges (the weights are dropped once packed)
  const Int8Model* q_ = nullptr;
  size_t ldw1_ = 0;  // 0: no sparse fc1
  AlignedBuffer<int8_t> wt1_;
  AlignedBuffer<int32_t> bias1_, acc1_;
  AlignedBuffer<uint32_t> offs_;
  AlignedBuffer<int16_t> vals_;
  std::array<float, 256> prob_table_{};  // sigmoid(fc4 logit) by int8 value + 128
  float fc1_scale_ = 0;
  int32_t fc1_lo_ = -128;
  size_t sparse_max_nnz_ = 0;
  Int8Op fc1_, fc21_, fc22_, fc3_, fc4_;
  AlignedBuffer<int8_t> xq_, h_, muq_, lvq_, zq_, lq_;
};

}  // namespace

// Everything a call needs, allocated at load.
struct Engine::Impl {
  ShapeInfo shape;
  ModelMetadata metadata;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Backend> backend;
  size_t max_batch = 0;
  AlignedBuffer<float> mv, z, sd, eps;

  Status CheckCount(int n) const {
    if (n < 0 || static_cast<size_t>(n) > max_batch) {
      return InvalidArgument("batch of " + std::to_string(n) +
                             " images; this engine was loaded for at most " +
                             std::to_string(max_batch) + " (EngineOptions::max_batch)");
    }
    return Status::Ok();
  }

  Status Allocate() {
    const size_t b = max_batch, lat = shape.latent;
    mv.Resize(b * 2 * lat);
    z.Resize(b * lat);
    sd.Resize(b * lat);
    eps.Resize(b * lat);
    if (eps.empty()) return Internal("out of memory (engine buffers)");
    return Status::Ok();
  }

  // out <- sigmoid(decoder(z[0..n))).
  Status DecodeInternal(size_t n, float* out) {
    return backend->DecodeProbs(z.data(), n, out, runtime->pool());
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Load(const std::string& path,
                                               const EngineOptions& options) {
  EVAE_ASSIGN_OR_RETURN(AnyModel model, LoadAnyModel(path));
  return Create(model, options);
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(const AnyModel& model,
                                                 const EngineOptions& options) {
  if (model.int8) return Create(*model.int8, options);
  if (model.f32) {
    EngineOptions o = options;
    o.f16 = o.f16 || model.f16;  // an f16 file runs in half precision
    return Create(*model.f32, o);
  }
  return InvalidArgument("no model to create an engine from");
}

namespace {
Status CheckOptions(const EngineOptions& options) {
  if (options.max_batch < 1) {
    return InvalidArgument("max_batch must be at least 1, got " +
                           std::to_string(options.max_batch));
  }
  return Status::Ok();
}
}  // namespace

StatusOr<std::unique_ptr<Engine>> Engine::Create(const Model& model,
                                                 const EngineOptions& options) {
  EVAE_RETURN_IF_ERROR(CheckOptions(options));
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError("model has a non-finite parameter: " + bad);
  }
  auto impl = std::make_unique<Impl>();
  impl->shape = model.shape();
  impl->metadata = model.metadata();
  impl->max_batch = static_cast<size_t>(options.max_batch);
  EVAE_ASSIGN_OR_RETURN(impl->runtime, Runtime::Create(options.threads));
  if (options.f16) {
    EVAE_ASSIGN_OR_RETURN(impl->backend, F16Backend::Create(model, impl->max_batch));
  } else {
    EVAE_ASSIGN_OR_RETURN(impl->backend, F32Backend::Create(model, impl->max_batch));
  }
  EVAE_RETURN_IF_ERROR(impl->Allocate());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(const Int8Model& model,
                                                 const EngineOptions& options) {
  EVAE_RETURN_IF_ERROR(CheckOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->shape = model.shape;
  impl->metadata = model.metadata;
  impl->max_batch = static_cast<size_t>(options.max_batch);
  EVAE_ASSIGN_OR_RETURN(impl->runtime, Runtime::Create(options.threads));
  EVAE_ASSIGN_OR_RETURN(impl->backend,
                        Int8Backend::Create(model, impl->max_batch, options.sparse_encode));
  EVAE_RETURN_IF_ERROR(impl->Allocate());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const ShapeInfo& Engine::shape() const { return impl_->shape; }
const char* Engine::dtype() const { return impl_->backend->dtype(); }
int Engine::max_batch() const { return static_cast<int>(impl_->max_batch); }
int Engine::threads() const { return impl_->runtime->threads(); }
const ModelMetadata& Engine::metadata() const { return impl_->metadata; }

Status Engine::Encode(const uint8_t* pixels, int n, float* mu, float* logvar) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  const size_t lat = m.shape.latent;
  EVAE_RETURN_IF_ERROR(
      m.backend->EncodePixels(pixels, n, /*logvar=*/true, m.mv.data(), m.runtime->pool()));
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    const float* row = m.mv.data() + i * 2 * lat;
    std::copy(row, row + lat, mu + i * lat);
    std::copy(row + lat, row + 2 * lat, logvar + i * lat);
  }
  return Status::Ok();
}

Status Engine::Decode(const float* z, int n, float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  // Through the engine's own buffer: XNNPACK reads past the end of its input.
  std::copy(z, z + static_cast<size_t>(n) * m.shape.latent, m.z.data());
  return m.DecodeInternal(n, out);
}

Status Engine::DecodeLogits(const float* z, int n, float* logits) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  std::copy(z, z + static_cast<size_t>(n) * m.shape.latent, m.z.data());
  return m.backend->DecodeLogits(m.z.data(), n, logits, m.runtime->pool());
}

Status Engine::Sample(int n, uint64_t seed, float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  FillNormal(RngStream(seed, StreamId(RngPurpose::kSample)), 0, m.z.data(),
             static_cast<size_t>(n) * m.shape.latent);
  return m.DecodeInternal(n, out);
}

Status Engine::Reconstruct(const uint8_t* pixels, int n, bool sample_z, uint64_t seed,
                           float* out) {
  Impl& m = *impl_;
  EVAE_RETURN_IF_ERROR(m.CheckCount(n));
  const size_t lat = m.shape.latent;
  EVAE_RETURN_IF_ERROR(
      m.backend->EncodePixels(pixels, n, sample_z, m.mv.data(), m.runtime->pool()));
  if (sample_z) {
    FillNormal(RngStream(seed, StreamId(RngPurpose::kSample, 1)), 0, m.eps.data(),
               static_cast<size_t>(n) * lat);
  }
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    const float* row = m.mv.data() + i * 2 * lat;
    if (sample_z) {
      simd::ReparamForward(row, row + lat, m.eps.data() + i * lat, m.z.data() + i * lat,
                           m.sd.data() + i * lat, lat);
    } else {
      std::copy(row, row + lat, m.z.data() + i * lat);
    }
  }
  return m.DecodeInternal(n, out);
}

StatusOr<GoldenVectors> MakeGoldenVectors(const Model& f32_model, const ImageSet& images,
                                          int count) {
  if (images.pixels_per_image() != f32_model.shape().input) {
    return InvalidArgument("golden images have " + std::to_string(images.pixels_per_image()) +
                           " pixels; the model takes " + std::to_string(f32_model.shape().input));
  }
  count = std::min(count, images.count);
  if (count <= 0) return InvalidArgument("no images for golden vectors");
  EVAE_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                        Engine::Create(f32_model, EngineOptions{.max_batch = count, .threads = 1}));
  GoldenVectors g;
  g.count = count;
  const size_t n = static_cast<size_t>(count) * f32_model.shape().input;
  g.pixels.assign(images.pixels.begin(), images.pixels.begin() + n);
  g.reconstruction.resize(n);
  EVAE_RETURN_IF_ERROR(engine->Reconstruct(g.pixels.data(), count, false, 0, g.reconstruction.data()));
  return g;
}

StatusOr<GoldenCheck> CheckGoldenVectors(Engine& engine, const GoldenVectors& golden) {
  const size_t in = engine.shape().input;
  if (golden.count <= 0 || golden.pixels.size() != golden.count * in ||
      golden.reconstruction.size() != golden.count * in) {
    return DataError("golden vectors do not match the model's input size");
  }
  if (golden.count > engine.max_batch()) {
    return InvalidArgument("the engine takes " + std::to_string(engine.max_batch()) +
                           " images per call; the golden vectors hold " +
                           std::to_string(golden.count));
  }
  std::vector<float> out(golden.reconstruction.size());
  EVAE_RETURN_IF_ERROR(engine.Reconstruct(golden.pixels.data(), golden.count, false, 0, out.data()));
  GoldenCheck c;
  c.count = golden.count;
  double sum = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double e = std::fabs(static_cast<double>(out[i]) - golden.reconstruction[i]);
    c.max_abs_error = std::max(c.max_abs_error, e);
    sum += e;
  }
  c.mean_abs_error = sum / static_cast<double>(out.size());
  c.pass = c.max_abs_error <= golden.max_abs_error && c.mean_abs_error <= golden.mean_abs_error;
  return c;
}

}  // namespace edgevae
