// A classifier's training step: softmax cross-entropy over its class logits, the forward and
// backward pass batch-major ([batch][features]) with every product through XNNPACK.
//
//   forward      H_l = act(H_{l-1} . W_l^T + b_l)   (packs W_l, bias and ReLU fused)
//   input grads  dH_{l-1} = dY_l . W_l             (packs W_l as [k][n])
//   weight grads dW_l = dY_l^T . H_{l-1}            (a transpose of dY_l, packs H_{l-1})
//
// A classifier is small beside the VAEs (the judge: 784-256-10) and trains in seconds per epoch,
// so this path is the plain one, without the VAE's per-shape product plan or sparse first layer.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "edgevae/buffer.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/loss.h"
#include "tools/backprop.h"
#include "tools/log_mean_exp.h"

namespace edgevae {
namespace {

class ClassifierBackprop final : public Backprop {
 public:
  ClassifierBackprop(const Model& model, Runtime* runtime, size_t max_batch)
      : shape_(model.shape()), layout_(model.layout()), rt_(runtime), b_(max_batch) {
    x_.Resize(b_ * static_cast<size_t>(shape_.input));
    labels_.resize(b_);
    size_t widest = static_cast<size_t>(shape_.input);
    for (const LayerInfo& l : shape_.layers) {
      h_.emplace_back(b_ * static_cast<size_t>(l.out));
      widest = std::max(widest, static_cast<size_t>(l.out));
    }
    dy_.Resize(b_ * widest);
    dx_.Resize(b_ * widest);
    dyt_.Resize(b_ * widest);
    grad_.Resize(model.param_floats());
  }

  bool allocated() const {
    if (x_.empty() || dy_.empty() || dx_.empty() || dyt_.empty() || grad_.empty()) return false;
    for (const AlignedBuffer<float>& h : h_) {
      if (h.empty()) return false;
    }
    return true;
  }

  float* input_rows() override { return x_.data(); }
  uint8_t* label_rows() override { return labels_.data(); }

  StatusOr<double> Run(const float* params, size_t n, int /*epoch*/, int /*step*/,
                       StepProfile* /*profile*/) override {
    if (n == 0 || n > b_) return InvalidArgument("classifier step: batch of " + std::to_string(n));
    const size_t layers = shape_.layers.size();
    const size_t classes = static_cast<size_t>(shape_.latent);
    for (size_t i = 0; i < n; ++i) {
      if (labels_[i] >= classes) {
        return InvalidArgument("label " + std::to_string(labels_[i]) + " of row " +
                               std::to_string(i) + " is not a class of shape '" +
                               std::string(shape_.name) + "' (0.." +
                               std::to_string(classes - 1) + ")");
      }
    }
    // Forward.
    const float* in = x_.data();
    for (size_t l = 0; l < layers; ++l) {
      const LayerInfo& info = shape_.layers[l];
      const bool relu = info.activation == Activation::kRelu;
      EVAE_ASSIGN_OR_RETURN(
          gemm::PackedGemm op,
          gemm::PackedGemm::Create(info.out, info.in, params + layout_.layers[l].weight,
                                   gemm::BLayout::kNK, params + layout_.layers[l].bias,
                                   relu ? 0.0f : -std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::infinity(), info.in, info.out));
      EVAE_RETURN_IF_ERROR(op.Run(n, in, h_[l].data(), rt_->pool()));
      in = h_[l].data();
    }
    // Softmax cross-entropy log sum exp(l) - l_label, and its gradient softmax - onehot into dy_.
    double loss = 0;
    const float* logits = h_[layers - 1].data();
    std::vector<double> row(classes);
    for (size_t i = 0; i < n; ++i) {
      std::copy(logits + i * classes, logits + (i + 1) * classes, row.begin());
      float* g = dy_.data() + i * classes;
      const double lse = LogMeanExp(row.data(), classes, g) + std::log(double(classes));
      loss += lse - row[labels_[i]];
      g[labels_[i]] -= 1.0f;
    }
    // Backward, last layer first; dy_ holds the gradient of the layer's output.
    finite_ = true;
    for (size_t l = layers; l-- > 0;) {
      const LayerInfo& info = shape_.layers[l];
      const size_t out = static_cast<size_t>(info.out), lin = static_cast<size_t>(info.in);
      const float* h_in = l == 0 ? x_.data() : h_[l - 1].data();
      float* dw = grad_.data() + layout_.layers[l].weight;
      float* db = grad_.data() + layout_.layers[l].bias;
      // dW = dY^T . H_in: A = dY^T [out][n], B = H_in given as [k = n][n' = in].
      simd::Transpose(dy_.data(), n, out, out, dyt_.data(), n);
      EVAE_RETURN_IF_ERROR(
          gemm::Gemm(out, lin, n, dyt_.data(), h_in, gemm::BLayout::kKN, dw, rt_->pool()));
      for (size_t o = 0; o < out; ++o) {
        const float* col = dyt_.data() + o * n;
        double s = 0;
        for (size_t i = 0; i < n; ++i) s += col[i];
        db[o] = static_cast<float>(s);
      }
      if (l == 0) break;
      // dH_in = dY . W: A = dY [n][out], B = W given as [k = out][n' = in].
      EVAE_RETURN_IF_ERROR(gemm::Gemm(n, lin, out, dy_.data(), params + layout_.layers[l].weight,
                                      gemm::BLayout::kKN, dx_.data(), rt_->pool()));
      // Through the previous layer's ReLU (every layer before the logits has one).
      simd::ReluBackward(dx_.data(), h_in, n * lin);
      std::swap(dy_, dx_);
    }
    finite_ = simd::AllFinite(grad_.data(), grad_.size());
    return loss;
  }

  const float* grad() const override { return grad_.data(); }
  bool gradient_finite() const override { return finite_; }

 private:
  ShapeInfo shape_;
  ParamLayout layout_;
  Runtime* rt_;
  size_t b_;
  AlignedBuffer<float> x_;
  std::vector<uint8_t> labels_;
  std::vector<AlignedBuffer<float>> h_;  // each layer's output, batch-major
  AlignedBuffer<float> dy_, dx_, dyt_, grad_;
  bool finite_ = true;
};

}  // namespace

StatusOr<std::unique_ptr<Backprop>> CreateClassifierBackprop(const Model& model, Runtime* runtime,
                                                             size_t max_batch, bool vae_options) {
  if (vae_options) {
    return Unsupported("a classifier trains in fp32 on its cross-entropy (no bf16, no importance "
                       "weights)");
  }
  if (model.shape().family != Family::kClassifier) {
    return Internal("CreateClassifierBackprop: shape '" + std::string(model.shape().name) +
                    "' is not a classifier");
  }
  auto b = std::make_unique<ClassifierBackprop>(model, runtime, max_batch);
  if (!b->allocated()) return Internal("out of memory allocating training buffers");
  return std::unique_ptr<Backprop>(std::move(b));
}

}  // namespace edgevae
