#include "model/inference.h"

#include <limits>

namespace edgevae {

StatusOr<F32Inference> F32Inference::Create(const Model& model, size_t max_rows) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  using gemm::BLayout;
  using gemm::PackedGemm;
  F32Inference inf;
  const ShapeInfo& s = model.shape();
  inf.in_ = s.input;
  inf.hid_ = s.hidden;
  inf.lat_ = s.latent;
  inf.max_rows_ = max_rows;
  const ParamLayout& p = model.layout();
  const float* w = model.params();
  const size_t in = inf.in_, hid = inf.hid_, lat2 = 2 * inf.lat_;
  EVAE_ASSIGN_OR_RETURN(inf.fc1_, PackedGemm::Create(hid, in, w + p.w1, BLayout::kNK, w + p.b1,
                                                     0.0f, kInf, in, hid));
  EVAE_ASSIGN_OR_RETURN(inf.fc2_, PackedGemm::Create(lat2, hid, w + p.w2, BLayout::kNK, w + p.b2,
                                                     -kInf, kInf, hid, lat2));
  EVAE_ASSIGN_OR_RETURN(inf.fc3_, PackedGemm::Create(hid, inf.lat_, w + p.w3, BLayout::kNK,
                                                     w + p.b3, 0.0f, kInf, inf.lat_, hid));
  EVAE_ASSIGN_OR_RETURN(inf.fc4_, PackedGemm::Create(in, hid, w + p.w4, BLayout::kNK, w + p.b4,
                                                     -kInf, kInf, hid, in));
  inf.hidden_.Resize(max_rows * hid);
  if (inf.hidden_.empty() && max_rows != 0) return Internal("out of memory (inference buffers)");
  return inf;
}

Status F32Inference::Encode(const float* x, size_t n, float* mv, pthreadpool_t pool) {
  EVAE_RETURN_IF_ERROR(fc1_.Run(n, x, hidden_.data(), pool));
  return fc2_.Run(n, hidden_.data(), mv, pool);
}

Status F32Inference::DecodeLogits(const float* z, size_t n, float* logits, pthreadpool_t pool) {
  EVAE_RETURN_IF_ERROR(fc3_.Run(n, z, hidden_.data(), pool));
  return fc4_.Run(n, hidden_.data(), logits, pool);
}

}  // namespace edgevae
