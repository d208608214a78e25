#include "tools/mlp.h"

#include <algorithm>
#include <string>
#include <utility>

#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/matmul.h"

namespace edgevae {
namespace {

// The gradient through a layer's activation, from its output h.
void ActivationBackward(Activation a, float* dy, const float* h, size_t count) {
  if (a == Activation::kRelu) simd::ReluBackward(dy, h, count);
  if (a == Activation::kLeakyRelu) simd::LeakyReluBackward(dy, h, kLeakySlope, count);
}

}  // namespace

StatusOr<MlpChain> MlpChain::Create(const ShapeInfo& shape, const ParamLayout& layout,
                                    size_t first, size_t end, size_t max_rows) {
  if (first >= end || end > shape.layers.size() || max_rows == 0) {
    return Internal("MlpChain: layers [" + std::to_string(first) + ", " + std::to_string(end) +
                    ") of shape '" + std::string(shape.name) + "'");
  }
  MlpChain c;
  c.rows_ = max_rows;
  size_t widest = 0;
  for (size_t i = first; i < end; ++i) {
    const LayerInfo& l = shape.layers[i];
    if (i > first && static_cast<size_t>(l.in) != c.layers_.back().out) {
      return Internal("MlpChain: layer " + std::string(l.name) + " does not take the previous "
                      "layer's output");
    }
    size_t out = static_cast<size_t>(l.out);
    // A VAE's two heads are one [2 latent x in] matrix in the layout (ParamLayout): one layer
    // whose rows are mu and then logvar.
    const bool heads = l.role == LayerRole::kMean && i + 1 < end &&
                       shape.layers[i + 1].role == LayerRole::kLogVar;
    if (heads) out += static_cast<size_t>(shape.layers[i + 1].out);
    c.layers_.push_back({static_cast<size_t>(l.in), out, layout.layers[i].weight,
                         layout.layers[i].bias, l.activation});
    c.h_.emplace_back(max_rows * out);
    widest = std::max({widest, static_cast<size_t>(l.in), out});
    if (heads) ++i;
  }
  c.in_ = c.layers_.front().in;
  c.out_ = c.layers_.back().out;
  c.dy_.Resize(max_rows * widest);
  c.dx_.Resize(max_rows * widest);
  c.xt_.Resize(max_rows * widest);
  c.ht_[0].Resize(max_rows * widest);
  c.ht_[1].Resize(max_rows * widest);
  bool ok = !c.dy_.empty() && !c.dx_.empty() && !c.xt_.empty() && !c.ht_[0].empty() &&
            !c.ht_[1].empty();
  for (const AlignedBuffer<float>& h : c.h_) ok = ok && !h.empty();
  if (!ok) return Internal("out of memory allocating training buffers");
  return c;
}

Status MlpChain::Forward(const float* params, const float* x, size_t n, pthreadpool_t pool) {
  if (n == 0 || n > rows_) return Internal("MlpChain: " + std::to_string(n) + " rows");
  // Feature-major inside the chain: H_l^T = W_l . H_{l-1}^T reads W_l as stored; the input is
  // transposed once, each output back to batch-major rows for the caller and the backward pass.
  simd::Transpose(x, n, in_, in_, xt_.data(), n);
  const float* in_t = xt_.data();
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    float* ht = ht_[l % 2].data();
    simd::MatMul(L.out, n, L.in, params + L.w, L.in, simd::ALayout::kRowMajor, in_t, n, ht, n,
                 pool);
    const float* bias = params + L.b;
    for (size_t o = 0; o < L.out; ++o) {
      if (L.activation == Activation::kRelu) {
        simd::BiasRelu(ht + o * n, bias[o], n);
      } else {
        simd::AddBias(ht + o * n, bias[o], n);
      }
    }
    if (L.activation == Activation::kLeakyRelu) simd::LeakyRelu(ht, kLeakySlope, L.out * n);
    simd::Transpose(ht, L.out, n, n, h_[l].data(), L.out);
    in_t = ht;
  }
  return Status::Ok();
}

Status MlpChain::Backward(const float* params, const float* x, size_t n, float* dy, float* grad,
                          float* dx, pthreadpool_t pool) {
  if (n == 0 || n > rows_) return Internal("MlpChain: " + std::to_string(n) + " rows");
  // g: the gradient of layer l's output, first the caller's dy, then our ping-pong buffers.
  float* g = dy;
  float* spare[2] = {dy_.data(), dx_.data()};
  int next = 0;
  for (size_t l = layers_.size(); l-- > 0;) {
    const Layer& L = layers_[l];
    ActivationBackward(L.activation, g, h_[l].data(), n * L.out);
    const float* h_in = l == 0 ? x : h_[l - 1].data();
    if (grad != nullptr) {
      // dW = dY^T . H_in: dY [n][out] read transposed, H_in [n][in] as k rows.
      simd::MatMul(L.out, L.in, n, g, L.out, simd::ALayout::kTransposed, h_in, L.in, grad + L.w,
                   L.in, pool);
      for (size_t o = 0; o < L.out; ++o) {
        double s = 0;
        for (size_t i = 0; i < n; ++i) s += g[i * L.out + o];
        grad[L.b + o] = static_cast<float>(s);
      }
    }
    if (l == 0 && dx == nullptr) break;
    // dH_in = dY . W: W [out][in] as k rows.
    float* target = l == 0 ? dx : spare[next];
    simd::MatMul(n, L.in, L.out, g, L.out, simd::ALayout::kRowMajor, params + L.w, L.in, target,
                 L.in, pool);
    g = target;
    next ^= 1;
  }
  return Status::Ok();
}

StatusOr<EncoderGeneratorCritic> EncoderGeneratorCritic::Create(const ShapeInfo& shape,
                                                                const ParamLayout& layout,
                                                                size_t max_batch) {
  const size_t decoder = static_cast<size_t>(shape.Find(LayerRole::kDecoder));
  const size_t critic = static_cast<size_t>(shape.Find(LayerRole::kCritic));
  EncoderGeneratorCritic n;
  EVAE_ASSIGN_OR_RETURN(n.enc, MlpChain::Create(shape, layout, 0, decoder, max_batch));
  EVAE_ASSIGN_OR_RETURN(n.gen, MlpChain::Create(shape, layout, decoder, critic, max_batch));
  EVAE_ASSIGN_OR_RETURN(n.disc,
                        MlpChain::Create(shape, layout, critic, shape.layers.size(), 2 * max_batch));
  n.eg_floats = layout.layers[critic].weight;
  return n;
}

}  // namespace edgevae
