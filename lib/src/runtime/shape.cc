#include "edgevae/shape.h"

#include <array>
#include <string>

namespace edgevae {
namespace {

constexpr std::array<ShapeInfo, 5> kShapes = {MnistShape::kInfo, Mnist2dShape::kInfo,
                                              MnistDeepShape::kInfo, TinyShape::kInfo,
                                              JudgeShape::kInfo};

std::string RoleName(LayerRole role) {
  switch (role) {
    case LayerRole::kEncoder:
      return "encoder";
    case LayerRole::kMean:
      return "mean";
    case LayerRole::kLogVar:
      return "log-variance";
    case LayerRole::kDecoder:
      return "decoder";
    case LayerRole::kLogits:
      return "logits";
    case LayerRole::kHidden:
      return "hidden";
    case LayerRole::kClassLogits:
      return "class-logits";
  }
  return "?";
}

// A classifier's form: hidden layers (ReLU) chained from the pixels, then the class logits.
Status ValidateClassifier(const ShapeInfo& s, const std::string& where) {
  int width = s.input;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerInfo& l = s.layers[i];
    const bool last = i + 1 == s.layers.size();
    const LayerRole want = last ? LayerRole::kClassLogits : LayerRole::kHidden;
    if (l.role != want) {
      return Internal(where + "layer " + std::string(l.name) + " is a " + RoleName(l.role) +
                      " layer where the table's form needs a " + RoleName(want) + " layer");
    }
    const int want_out = last ? s.latent : l.out;
    if (l.in != width || l.out != want_out || l.in <= 0 || l.out <= 0) {
      return Internal(where + "layer " + std::string(l.name) + " is " + std::to_string(l.in) +
                      " -> " + std::to_string(l.out) + ", expected " + std::to_string(width) +
                      " -> " + std::to_string(want_out));
    }
    if ((l.activation == Activation::kRelu) == last) {
      return Internal(where + "layer " + std::string(l.name) +
                      (last ? " must have no activation" : " needs a ReLU (a hidden layer)"));
    }
    width = l.out;
  }
  return Status::Ok();
}

}  // namespace

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kVae:
      return "vae";
    case Family::kClassifier:
      return "classifier";
  }
  return "?";
}

std::string ShapeInfo::SizesText() const {
  std::string out = std::to_string(input);
  for (const LayerInfo& l : layers) {
    if (l.role == LayerRole::kEncoder || l.role == LayerRole::kHidden) {
      out += '-';
      out += std::to_string(l.out);
    }
  }
  return out + "-" + std::to_string(latent);
}

std::span<const ShapeInfo> CompiledShapes() { return kShapes; }

std::string CompiledShapeList() {
  std::string out;
  for (const ShapeInfo& s : kShapes) {
    if (!out.empty()) out += ", ";
    out += std::string(s.name) + " (" + s.SizesText() + ")";
  }
  return out;
}

StatusOr<ShapeInfo> FindShape(std::string_view name) {
  for (const ShapeInfo& s : kShapes) {
    if (s.name == name) return s;
  }
  return Unsupported("shape '" + std::string(name) +
                     "' is not compiled in; compiled shapes: " + CompiledShapeList());
}

StatusOr<ShapeInfo> FindShape(int input, int hidden, int latent) {
  for (const ShapeInfo& s : kShapes) {
    if (s.input == input && s.hidden == hidden && s.latent == latent) return s;
  }
  return Unsupported("shape " + std::to_string(input) + "-" + std::to_string(hidden) + "-" +
                     std::to_string(latent) +
                     " is not compiled in; compiled shapes: " + CompiledShapeList());
}

Status ValidateShape(const ShapeInfo& s) {
  const std::string where = "shape '" + std::string(s.name) + "': ";
  if (s.name.empty() || s.name.size() > 15) return Internal(where + "name must be 1 to 15 bytes");
  if (s.layers.empty()) return Internal(where + "no layers");
  if (s.hidden != s.layers[0].out) {
    return Internal(where + "hidden is " + std::to_string(s.hidden) + ", the first layer's width " +
                    std::to_string(s.layers[0].out));
  }
  if (s.family == Family::kClassifier) return ValidateClassifier(s, where);
  // The roles in table order: encoders, mean, log-variance, decoders, logits.
  const LayerRole order[] = {LayerRole::kEncoder, LayerRole::kMean, LayerRole::kLogVar,
                             LayerRole::kDecoder, LayerRole::kLogits};
  const int want_count[] = {-1, 1, 1, -1, 1};  // -1: one or more
  size_t at = 0;
  for (size_t r = 0; r < 5; ++r) {
    int n = 0;
    while (at < s.layers.size() && s.layers[at].role == order[r]) ++at, ++n;
    if (n == 0 || (want_count[r] > 0 && n != want_count[r])) {
      return Internal(where + std::to_string(n) + " " + RoleName(order[r]) +
                      " layer(s) where the table's form needs " +
                      (want_count[r] > 0 ? "exactly one" : "one or more"));
    }
  }
  if (at != s.layers.size())
    return Internal(where + "layers out of order at " + std::to_string(at));
  // Sizes chain: each layer takes what feeds it.
  int encoded = s.input, decoded = s.latent;  // the width of the last encoder / decoder output
  for (const LayerInfo& l : s.layers) {
    int want_in = encoded, want_out = l.out;
    switch (l.role) {
      case LayerRole::kEncoder:
        encoded = l.out;
        break;
      case LayerRole::kMean:
      case LayerRole::kLogVar:
        want_out = s.latent;
        break;
      case LayerRole::kDecoder:
        want_in = decoded;
        decoded = l.out;
        break;
      case LayerRole::kLogits:
        want_in = decoded;
        want_out = s.input;
        break;
      case LayerRole::kHidden:
      case LayerRole::kClassLogits:
        return Internal(where + "layer " + std::string(l.name) + " is a " + RoleName(l.role) +
                        " layer, which a VAE's table has none of");
    }
    if (l.in != want_in || l.out != want_out || l.in <= 0 || l.out <= 0) {
      return Internal(where + "layer " + std::string(l.name) + " is " + std::to_string(l.in) +
                      " -> " + std::to_string(l.out) + ", expected " + std::to_string(want_in) +
                      " -> " + std::to_string(want_out));
    }
    const bool hidden = l.role == LayerRole::kEncoder || l.role == LayerRole::kDecoder;
    if ((l.activation == Activation::kRelu) != hidden) {
      return Internal(where + "layer " + std::string(l.name) +
                      (hidden ? " needs a ReLU (a hidden layer)" : " must have no activation"));
    }
  }
  return Status::Ok();
}

Status RequireVae(const ShapeInfo& shape, std::string_view what) {
  if (shape.is_vae()) return Status::Ok();
  return Unsupported("shape '" + std::string(shape.name) + "' is a " + FamilyName(shape.family) +
                     ", which has no encoder or decoder: " + std::string(what) +
                     " needs a VAE");
}

}  // namespace edgevae
