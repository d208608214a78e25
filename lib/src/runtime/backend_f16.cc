// The f16 backend: XNNPACK's f16 operators, weights rounded to half precision at load, activations
// in half precision between layers; pixels, mu, logvar, z and the logits cross to f32. The
// encoder's two heads run as one operator, as in the f32 backend.
#include <limits>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "runtime/backend.h"
#include "runtime/deterministic_encoder.h"

namespace edgevae {
namespace {

class F16Backend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<Backend>> Create(const Model& model, size_t max_batch) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    auto b = std::unique_ptr<F16Backend>(new F16Backend());
    const ShapeInfo& s = model.shape();
    b->in_ = s.input;
    b->lat_ = s.latent;
    const float* w = model.params();
    for (size_t i = 0; i < s.layers.size(); ++i) {
      const LayerInfo& l = s.layers[i];
      if (l.role == LayerRole::kLogVar) continue;  // runs with the mean head
      if (l.role == LayerRole::kCritic || l.role == LayerRole::kCriticLogit) continue;
      const size_t out =
          l.out + (l.role == LayerRole::kMean && s.has_logvar() ? s.layers[i + 1].out : 0);
      const size_t in = l.in;
      const LayerParams& p = model.layout().layers[i];
      std::vector<uint16_t> wh(out * in), bh(out);
      simd::F32ToF16(w + p.weight, wh.data(), wh.size());
      simd::F32ToF16(w + p.bias, bh.data(), bh.size());
      const float lo = l.activation == Activation::kRelu ? 0.0f : -kInf;
      Op op;
      EVAE_ASSIGN_OR_RETURN(
          op.gemm, gemm::PackedGemm::CreateF16(out, in, wh.data(), bh.data(), lo, kInf, in, out));
      op.out.Resize(max_batch * out);
      if (op.out.empty()) return Internal("out of memory (engine buffers)");
      const bool encoding = l.role == LayerRole::kEncoder || l.role == LayerRole::kMean;
      (encoding ? b->encoder_ : b->decoder_).push_back(std::move(op));
    }
    b->x_.Resize(max_batch * s.input);
    b->xh_.Resize(max_batch * s.input);
    b->zh_.Resize(max_batch * s.latent);
    b->stochastic_ = s.has_logvar();
    b->codes_.Resize(max_batch * s.latent);
    if (b->x_.empty() || b->xh_.empty() || b->zh_.empty() || b->codes_.empty()) {
      return Internal("out of memory (engine buffers)");
    }
    return std::unique_ptr<Backend>(std::move(b));
  }
  const char* dtype() const override { return "f16"; }
  Status EncodePixels(const uint8_t* pixels, size_t n, bool /*logvar*/, float* mv,
                      pthreadpool_t pool) override {
    if (encoder_.empty()) return Unsupported("a generator alone has no encoder");
    simd::U8ToF32(pixels, x_.data(), n * in_);
    simd::F32ToF16(x_.data(), xh_.data(), n * in_);
    EVAE_ASSIGN_OR_RETURN(const uint16_t* mvh, Run(encoder_, xh_.data(), n, pool));
    if (stochastic_) {
      simd::F16ToF32(mvh, mv, n * 2 * lat_);
      return Status::Ok();
    }
    simd::F16ToF32(mvh, codes_.data(), n * lat_);
    SpreadDeterministic(codes_.data(), n, lat_, mv);
    return Status::Ok();
  }
  Status DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) override {
    simd::F32ToF16(z, zh_.data(), n * lat_);
    EVAE_ASSIGN_OR_RETURN(const uint16_t* lh, Run(decoder_, zh_.data(), n, pool));
    simd::F16ToF32(lh, logits, n * in_);
    return Status::Ok();
  }

 private:
  struct Op {
    gemm::PackedGemm gemm;
    AlignedBuffer<uint16_t> out;
  };
  F16Backend() = default;
  // Runs `ops` in turn from `in`; returns the last one's output.
  static StatusOr<const uint16_t*> Run(std::vector<Op>& ops, const uint16_t* in, size_t n,
                                       pthreadpool_t pool) {
    for (Op& op : ops) {
      EVAE_RETURN_IF_ERROR(op.gemm.RunF16(n, in, op.out.data(), pool));
      in = op.out.data();
    }
    return in;
  }

  size_t lat_ = 0;
  std::vector<Op> encoder_, decoder_;
  AlignedBuffer<float> x_;
  AlignedBuffer<float> codes_;  // a deterministic encoder's, before SpreadDeterministic
  AlignedBuffer<uint16_t> xh_, zh_;
  bool stochastic_ = true;      // a log-variance head (not an AAE's encoder)
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateF16Backend(const Model& model, size_t max_batch) {
  return F16Backend::Create(model, max_batch);
}

}  // namespace edgevae
