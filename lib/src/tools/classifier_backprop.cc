// A classifier's training step: softmax cross-entropy over its class logits, the forward and
// backward pass through its layers as one MlpChain (tools/mlp.h).
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgevae/buffer.h"
#include "kernels/elementwise.h"
#include "tools/backprop.h"
#include "tools/log_mean_exp.h"
#include "tools/mlp.h"

namespace edgevae {
namespace {

class ClassifierBackprop final : public Backprop {
 public:
  ClassifierBackprop(const Model& model, Runtime* runtime, size_t max_batch, MlpChain chain)
      : shape_(model.shape()), rt_(runtime), b_(max_batch), chain_(std::move(chain)) {
    x_.Resize(b_ * static_cast<size_t>(shape_.input));
    labels_.resize(b_);
    dy_.Resize(b_ * chain_.out());
    grad_.Resize(model.param_floats());
  }

  bool allocated() const { return !x_.empty() && !dy_.empty() && !grad_.empty(); }

  float* input_rows() override { return x_.data(); }
  uint8_t* label_rows() override { return labels_.data(); }

  StatusOr<double> Run(const float* params, size_t n, int /*epoch*/, int /*step*/,
                       StepProfile* /*profile*/) override {
    if (n == 0 || n > b_) return InvalidArgument("classifier step: batch of " + std::to_string(n));
    const size_t classes = static_cast<size_t>(shape_.latent);
    for (size_t i = 0; i < n; ++i) {
      if (labels_[i] >= classes) {
        return InvalidArgument("label " + std::to_string(labels_[i]) + " of row " +
                               std::to_string(i) + " is not a class of shape '" +
                               std::string(shape_.name) + "' (0.." +
                               std::to_string(classes - 1) + ")");
      }
    }
    EVAE_RETURN_IF_ERROR(chain_.Forward(params, x_.data(), n, rt_->pool()));
    // Softmax cross-entropy log sum exp(l) - l_label, and its gradient softmax - onehot into dy_.
    double loss = 0;
    const float* logits = chain_.output();
    std::vector<double> row(classes);
    for (size_t i = 0; i < n; ++i) {
      std::copy(logits + i * classes, logits + (i + 1) * classes, row.begin());
      float* g = dy_.data() + i * classes;
      const double lse = LogMeanExp(row.data(), classes, g) + std::log(double(classes));
      loss += lse - row[labels_[i]];
      g[labels_[i]] -= 1.0f;
    }
    EVAE_RETURN_IF_ERROR(chain_.Backward(params, x_.data(), n, dy_.data(), grad_.data(),
                                         /*dx=*/nullptr, rt_->pool()));
    finite_ = simd::AllFinite(grad_.data(), grad_.size());
    return loss;
  }

  const float* grad() const override { return grad_.data(); }
  bool gradient_finite() const override { return finite_; }

 private:
  ShapeInfo shape_;
  Runtime* rt_;
  size_t b_;
  MlpChain chain_;
  AlignedBuffer<float> x_;
  std::vector<uint8_t> labels_;
  AlignedBuffer<float> dy_, grad_;
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
  EVAE_ASSIGN_OR_RETURN(MlpChain chain, MlpChain::Create(model.shape(), model.layout(), 0,
                                                         model.shape().layers.size(), max_batch));
  auto b = std::make_unique<ClassifierBackprop>(model, runtime, max_batch, std::move(chain));
  if (!b->allocated()) return Internal("out of memory allocating training buffers");
  return std::unique_ptr<Backprop>(std::move(b));
}

}  // namespace edgevae
