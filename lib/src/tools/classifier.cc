#include "edgevae/classifier.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "edgevae/buffer.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "tools/log_mean_exp.h"

namespace edgevae {
namespace {

class ClassifierImpl final : public Classifier {
 public:
  ClassifierImpl(const ShapeInfo& shape, Runtime* runtime, size_t max_batch)
      : shape_(shape), rt_(runtime), b_(max_batch) {}

  Status Init(const Model& model) {
    const float kInf = std::numeric_limits<float>::infinity();
    in_.Resize(b_ * static_cast<size_t>(shape_.input));
    if (in_.empty()) return Internal("out of memory allocating classifier buffers");
    for (size_t l = 0; l < shape_.layers.size(); ++l) {
      const LayerInfo& info = shape_.layers[l];
      const LayerParams& p = model.layout().layers[l];
      EVAE_ASSIGN_OR_RETURN(
          gemm::PackedGemm op,
          gemm::PackedGemm::Create(info.out, info.in, model.params() + p.weight,
                                   gemm::BLayout::kNK, model.params() + p.bias,
                                   info.activation == Activation::kRelu ? 0.0f : -kInf, kInf,
                                   info.in, info.out));
      ops_.push_back(std::move(op));
      act_.emplace_back(b_ * static_cast<size_t>(info.out));
      if (act_.back().empty()) return Internal("out of memory allocating classifier buffers");
    }
    return Status::Ok();
  }

  const ShapeInfo& shape() const override { return shape_; }

  Status Run(const float* x, size_t n, float* probs, float* features) override {
    const size_t input = static_cast<size_t>(shape_.input);
    const size_t classes = static_cast<size_t>(shape_.latent);
    const size_t last = shape_.layers.size() - 1;
    const size_t width = static_cast<size_t>(shape_.layers[last].in);
    for (size_t first = 0; first < n; first += b_) {
      const size_t m = std::min(b_, n - first);
      // XNNPACK reads up to 16 bytes past A's end: run from our own padded buffer.
      std::copy(x + first * input, x + (first + m) * input, in_.data());
      const float* a = in_.data();
      for (size_t l = 0; l <= last; ++l) {
        EVAE_RETURN_IF_ERROR(ops_[l].Run(m, a, act_[l].data(), rt_->pool()));
        a = act_[l].data();
      }
      if (features != nullptr) {
        std::copy(act_[last - 1].data(), act_[last - 1].data() + m * width,
                  features + first * width);
      }
      std::vector<double> row(classes);
      for (size_t i = 0; i < m; ++i) {
        const float* logits = act_[last].data() + i * classes;
        std::copy(logits, logits + classes, row.begin());
        LogMeanExp(row.data(), classes, probs + (first + i) * classes);  // the softmax
      }
    }
    return Status::Ok();
  }

 private:
  ShapeInfo shape_;
  Runtime* rt_;
  size_t b_;
  AlignedBuffer<float> in_;
  std::vector<gemm::PackedGemm> ops_;
  std::vector<AlignedBuffer<float>> act_;
};

}  // namespace

StatusOr<std::unique_ptr<Classifier>> Classifier::Create(const Model& model, Runtime* runtime,
                                                         int max_batch) {
  if (model.shape().family != Family::kClassifier) {
    return Unsupported("shape '" + std::string(model.shape().name) + "' is a " +
                       FamilyName(model.shape().family) + ", not a classifier");
  }
  if (runtime == nullptr || max_batch < 1) {
    return InvalidArgument("Classifier::Create: a runtime and max_batch >= 1 are needed");
  }
  if (const std::string bad = model.FirstNonFinite(); !bad.empty()) {
    return DataError("classifier has a non-finite parameter: " + bad);
  }
  auto c = std::make_unique<ClassifierImpl>(model.shape(), runtime, static_cast<size_t>(max_batch));
  EVAE_RETURN_IF_ERROR(c->Init(model));
  return std::unique_ptr<Classifier>(std::move(c));
}

Status Classifier::RunImages(const ImageSet& images, float* probs, float* features) {
  if (images.pixels_per_image() != shape().input) {
    return InvalidArgument("images have " + std::to_string(images.rows) + "x" +
                           std::to_string(images.cols) + " pixels; the classifier takes " +
                           std::to_string(shape().input));
  }
  // In slices, so that the floats of a large set are never all in memory at once.
  constexpr int kSlice = 1024;
  const size_t input = static_cast<size_t>(shape().input);
  std::vector<float> x(kSlice * input);
  for (int first = 0; first < images.count; first += kSlice) {
    const int m = std::min(kSlice, images.count - first);
    simd::U8ToF32(images.image(first), x.data(), static_cast<size_t>(m) * input);
    EVAE_RETURN_IF_ERROR(
        Run(x.data(), static_cast<size_t>(m),
            probs + static_cast<size_t>(first) * classes(),
            features == nullptr ? nullptr : features + static_cast<size_t>(first) * this->features()));
  }
  return Status::Ok();
}

StatusOr<ClassifierScore> ScoreClassifier(Classifier& classifier, const ImageSet& images) {
  if (images.count <= 0) return InvalidArgument("no images to score the classifier on");
  if (images.labels.size() != static_cast<size_t>(images.count)) {
    return InvalidArgument("scoring a classifier needs labelled images; these " +
                           std::to_string(images.count) + " images have " +
                           std::to_string(images.labels.size()) + " labels");
  }
  const size_t classes = static_cast<size_t>(classifier.classes());
  std::vector<float> probs(static_cast<size_t>(images.count) * classes);
  EVAE_RETURN_IF_ERROR(classifier.RunImages(images, probs.data(), nullptr));
  ClassifierScore s;
  s.images = images.count;
  double loss = 0;
  int right = 0;
  for (int i = 0; i < images.count; ++i) {
    const float* p = probs.data() + static_cast<size_t>(i) * classes;
    const size_t label = images.labels[i];
    if (label >= classes) {
      return InvalidArgument("image " + std::to_string(i) + " has label " +
                             std::to_string(label) + ", beyond the classifier's " +
                             std::to_string(classes) + " classes");
    }
    loss -= std::log(std::max(static_cast<double>(p[label]), 1e-300));
    right += static_cast<size_t>(std::max_element(p, p + classes) - p) == label;
  }
  s.loss = loss / images.count;
  s.accuracy = static_cast<double>(right) / images.count;
  return s;
}

}  // namespace edgevae
