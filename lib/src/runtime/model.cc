#include "edgevae/model.h"

#include <algorithm>
#include <cmath>

#include "edgevae/rng.h"

namespace edgevae {
namespace {
constexpr size_t kAlignFloats = kAlignment / sizeof(float);
size_t RoundUp(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }
}  // namespace

const char* Version() { return EDGEVAE_VERSION; }

ParamLayout ParamLayout::For(const ShapeInfo& s) {
  ParamLayout p;
  p.layers.resize(s.layers.size());
  size_t at = 0;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerInfo& l = s.layers[i];
    const size_t w = static_cast<size_t>(l.out) * l.in, b = static_cast<size_t>(l.out);
    // The mean head and the log-variance head after it (if the encoder is Gaussian), as one
    // matrix.
    if (l.role == LayerRole::kMean && i + 1 < s.layers.size() &&
        s.layers[i + 1].role == LayerRole::kLogVar) {
      const LayerInfo& lv = s.layers[i + 1];
      const size_t lw = static_cast<size_t>(lv.out) * lv.in;
      p.layers[i].weight = at;
      p.layers[i + 1].weight = at + w;
      at = RoundUp(at + w + lw);
      p.layers[i].bias = at;
      p.layers[i + 1].bias = at + b;
      at = RoundUp(at + b + static_cast<size_t>(lv.out));
      ++i;
      continue;
    }
    p.layers[i].weight = at;
    at = RoundUp(at + w);
    p.layers[i].bias = at;
    at = RoundUp(at + b);
  }
  p.total = at;
  return p;
}

Model::Model(const ShapeInfo& shape) : shape_(shape), layout_(ParamLayout::For(shape)) {
  for (size_t i = 0; i < shape.layers.size(); ++i) {
    const LayerInfo& l = shape.layers[i];
    const std::string name(l.name);
    tensors_.push_back({name + ".weight", l.out, l.in, layout_.layers[i].weight});
    tensors_.push_back({name + ".bias", l.out, 0, layout_.layers[i].bias});
  }
}

StatusOr<Model> Model::Create(const ShapeInfo& shape) {
  EVAE_ASSIGN_OR_RETURN(ShapeInfo found, FindShape(shape.name));
  Model model(found);
  model.params_.Resize(model.layout_.total);
  if (model.params_.empty()) return Internal("out of memory allocating model parameters");
  model.metadata_.edgevae_version = Version();
  return model;
}

void Model::InitializeLikeTorch(uint64_t seed) {
  for (size_t t = 0; t < tensors_.size(); ++t) {
    const TensorView& tv = tensors_[t];
    // Fan-in of the layer: a weight's column count, or its weight's for a bias.
    const int fan_in = tv.cols != 0 ? tv.cols : tensors_[t - 1].cols;
    float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    float* data = params_.data() + tv.offset;
    if (shape_.init == WeightInit::kKaiming) {
      if (tv.cols == 0) {  // a bias
        std::fill(data, data + tv.size(), 0.0f);
        continue;
      }
      const Activation act = shape_.layers[t / 2].activation;
      const double gain = act == Activation::kRelu ? std::sqrt(2.0)
                          : act == Activation::kLeakyRelu
                              ? std::sqrt(2.0 / (1.0 + kLeakySlope * kLeakySlope))
                              : 1.0;
      bound = static_cast<float>(gain * std::sqrt(3.0 / fan_in));
    }
    const RngStream rng(seed, StreamId(RngPurpose::kInit, static_cast<uint32_t>(t)));
    for (size_t i = 0; i < tv.size(); ++i) data[i] = (2.0f * rng.Uniform(i) - 1.0f) * bound;
  }
  metadata_.seed = seed;
}

void Model::EnsureOptimizer() {
  if (has_optimizer()) return;
  adam_.m.Resize(layout_.total);
  adam_.v.Resize(layout_.total);
  adam_.step = 0;
}

std::string Model::FirstNonFinite() const {
  for (const TensorView& tv : tensors_) {
    const float* data = params_.data() + tv.offset;
    for (size_t i = 0; i < tv.size(); ++i) {
      if (!std::isfinite(data[i])) return tv.name + "[" + std::to_string(i) + "]";
    }
  }
  return {};
}

Model Model::Clone() const {
  Model copy(shape_);
  copy.params_ = params_.Clone();
  copy.metadata_ = metadata_;
  copy.adam_.m = adam_.m.Clone();
  copy.adam_.v = adam_.v.Clone();
  copy.adam_.step = adam_.step;
  return copy;
}

StatusOr<Model> DeployableModel(const Model& model) {
  const ShapeInfo& s = model.shape();
  if (s.deploy.empty()) {
    Model copy = model.Clone();
    copy.DropOptimizer();
    return copy;
  }
  EVAE_ASSIGN_OR_RETURN(ShapeInfo target, FindShape(s.deploy));
  EVAE_ASSIGN_OR_RETURN(Model out, Model::Create(target));
  for (const TensorView& to : out.tensors()) {
    const TensorView* from = nullptr;
    for (const TensorView& tv : model.tensors()) {
      if (tv.name == to.name) from = &tv;
    }
    if (from == nullptr || from->rows != to.rows || from->cols != to.cols) {
      return Internal("shape '" + std::string(s.name) + "' has no tensor " + to.name + " of " +
                      std::string(target.name) + "'s size");
    }
    std::copy(model.params() + from->offset, model.params() + from->offset + from->size(),
              out.params() + to.offset);
  }
  out.metadata() = model.metadata();
  return out;
}

}  // namespace edgevae
