#include "edgevae/model.h"

#include <cmath>

#include "edgevae/rng.h"

namespace edgevae {
namespace {
constexpr size_t kAlignFloats = kAlignment / sizeof(float);
size_t RoundUp(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }
}  // namespace

const char* Version() { return EDGEVAE_VERSION; }

ParamLayout ParamLayout::For(const ShapeInfo& s) {
  const size_t in = s.input, hid = s.hidden, lat = s.latent;
  ParamLayout p{};
  size_t at = 0;
  p.w1 = at;
  at = RoundUp(at + hid * in);
  p.b1 = at;
  at = RoundUp(at + hid);
  p.w2 = at;
  at = RoundUp(at + 2 * lat * hid);
  p.b2 = at;
  at = RoundUp(at + 2 * lat);
  p.w3 = at;
  at = RoundUp(at + hid * lat);
  p.b3 = at;
  at = RoundUp(at + hid);
  p.w4 = at;
  at = RoundUp(at + in * hid);
  p.b4 = at;
  at = RoundUp(at + in);
  p.total = at;
  return p;
}

Model::Model(const ShapeInfo& shape) : shape_(shape), layout_(ParamLayout::For(shape)) {
  const int in = shape.input, hid = shape.hidden, lat = shape.latent;
  const ParamLayout& p = layout_;
  tensors_ = {
      {"fc1.weight", hid, in, p.w1},
      {"fc1.bias", hid, 0, p.b1},
      {"fc21.weight", lat, hid, p.w2},
      {"fc21.bias", lat, 0, p.b2},
      {"fc22.weight", lat, hid, p.w2 + static_cast<size_t>(lat) * hid},
      {"fc22.bias", lat, 0, p.b2 + static_cast<size_t>(lat)},
      {"fc3.weight", hid, lat, p.w3},
      {"fc3.bias", hid, 0, p.b3},
      {"fc4.weight", in, hid, p.w4},
      {"fc4.bias", in, 0, p.b4},
  };
}

StatusOr<Model> Model::Create(const ShapeInfo& shape) {
  EVAE_ASSIGN_OR_RETURN(ShapeInfo found, FindShape(shape.input, shape.hidden, shape.latent));
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
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    const RngStream rng(seed, StreamId(RngPurpose::kInit, static_cast<uint32_t>(t)));
    float* data = params_.data() + tv.offset;
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

}  // namespace edgevae
