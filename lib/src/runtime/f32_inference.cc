#include "runtime/f32_inference.h"

#include <limits>

#include "runtime/deterministic_encoder.h"

namespace edgevae {

StatusOr<F32Inference> F32Inference::Create(const Model& model, size_t max_rows) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const ShapeInfo& s = model.shape();
  if (!s.has_decoder()) return RequireVae(s, "f32 inference");
  F32Inference inf;
  inf.in_ = s.input;
  inf.lat_ = s.latent;
  inf.max_rows_ = max_rows;
  inf.stochastic_ = s.has_logvar();
  inf.act_.resize(s.layers.size());
  const float* w = model.params();
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerInfo& l = s.layers[i];
    const LayerParams& p = model.layout().layers[i];
    size_t out = l.out;
    // The heads, as one operator (a deterministic encoder's mean head alone).
    if (l.role == LayerRole::kMean && s.has_logvar()) out += s.layers[i + 1].out;
    if (l.role == LayerRole::kLogVar) continue;
    // A GAN's discriminator: training's alone (tools/gan_step.h).
    if (l.role == LayerRole::kCritic || l.role == LayerRole::kCriticLogit) continue;
    const float lo = l.activation == Activation::kRelu ? 0.0f : -kInf;
    EVAE_ASSIGN_OR_RETURN(gemm::PackedGemm op,
                          gemm::PackedGemm::Create(out, l.in, w + p.weight, gemm::BLayout::kNK,
                                                   w + p.bias, lo, kInf, l.in, out));
    const bool encoding = l.role == LayerRole::kEncoder || l.role == LayerRole::kMean;
    (encoding ? inf.encoder_ : inf.decoder_).push_back({std::move(op), i});
    if (l.activation != Activation::kNone || (l.role == LayerRole::kMean && !s.has_logvar())) {
      inf.act_[i].Resize(max_rows * out);
      if (inf.act_[i].empty() && max_rows != 0)
        return Internal("out of memory (inference buffers)");
    }
  }
  return inf;
}

Status F32Inference::Run(std::vector<Op>& ops, const float* in, size_t n, float* out,
                         pthreadpool_t pool) {
  for (size_t k = 0; k < ops.size(); ++k) {
    float* dst = k + 1 == ops.size() ? out : act_[ops[k].layer].data();
    EVAE_RETURN_IF_ERROR(ops[k].gemm.Run(n, in, dst, pool));
    in = dst;
  }
  return Status::Ok();
}

Status F32Inference::Encode(const float* x, size_t n, float* mv, pthreadpool_t pool) {
  if (encoder_.empty()) return Unsupported("a generator alone has no encoder");
  if (stochastic_) return Run(encoder_, x, n, mv, pool);
  // A deterministic encoder: its codes, then rows [z | -infinity] (a point mass).
  const size_t mean = encoder_.back().layer;
  EVAE_RETURN_IF_ERROR(Run(encoder_, x, n, act_[mean].data(), pool));
  SpreadDeterministic(act_[mean].data(), n, lat_, mv);
  return Status::Ok();
}

Status F32Inference::DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) {
  return Run(decoder_, z, n, logits, pool);
}

}  // namespace edgevae
