#include "edgevae/shape.h"

#include <array>
#include <string>

namespace edgevae {
namespace {

#if defined(EDGEVAE_BARE_METAL)
// A microcontroller trains nothing: it compiles in the shapes a device runs (every 2 KB of its
// flash counts, docs/micro.md).
constexpr std::array<ShapeInfo, 7> kShapes = {
    MnistShape::kInfo,        Mnist2dShape::kInfo,      MnistDeepShape::kInfo,
    TinyShape::kInfo,         MnistDecoderShape::kInfo, GanGeneratorShape::kInfo,
    AliDeployedShape::kInfo};
#else
constexpr std::array<ShapeInfo, 19> kShapes = {
    MnistShape::kInfo,            Mnist2dShape::kInfo,         MnistDeepShape::kInfo,
    VaeDeepShape::kInfo,          TinyShape::kInfo,            MnistDecoderShape::kInfo,
    JudgeShape::kInfo,            GanShape::kInfo,             GanGeneratorShape::kInfo,
    GanDeepShape::kInfo,          GanDeepGeneratorShape::kInfo, AliShape::kInfo,
    AliDeployedShape::kInfo,      AliDeepShape::kInfo,         AliDeepDeployedShape::kInfo,
    AaeShape::kInfo,              AaeDeployedShape::kInfo,     AaeDeepShape::kInfo,
    AaeDeepDeployedShape::kInfo};
#endif
constexpr Family kFamilies[] = {Family::kVae, Family::kClassifier, Family::kGan, Family::kAli,
                                Family::kAae};

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
    case LayerRole::kCritic:
      return "critic";
    case LayerRole::kCriticLogit:
      return "critic-logit";
  }
  return "?";
}

// A chain of layers of `roles[0]` (one or more, `hidden` activation) then one of `roles[1]` (no
// activation), from `width` inputs to `out` outputs, starting at layers[*at].
Status ValidateChain(const ShapeInfo& s, const std::string& where, size_t* at,
                     const LayerRole (&roles)[2], Activation hidden, int width, int out) {
  const size_t first = *at;
  for (; *at < s.layers.size(); ++*at) {
    const LayerInfo& l = s.layers[*at];
    const bool last = l.role == roles[1];
    if (!last && l.role != roles[0]) break;
    const int want_out = last ? out : l.out;
    if (l.in != width || l.out != want_out || l.in <= 0 || l.out <= 0) {
      return Internal(where + "layer " + std::string(l.name) + " is " + std::to_string(l.in) +
                      " -> " + std::to_string(l.out) + ", expected " + std::to_string(width) +
                      " -> " + std::to_string(want_out));
    }
    if (l.activation != (last ? Activation::kNone : hidden)) {
      return Internal(where + "layer " + std::string(l.name) +
                      (last ? " must have no activation"
                            : " has the wrong activation for a " + RoleName(l.role) + " layer"));
    }
    width = l.out;
    if (last) {
      if (*at == first) break;  // no hidden layer before it
      ++*at;
      return Status::Ok();
    }
  }
  return Internal(where + "expected one or more " + RoleName(roles[0]) + " layers and then one " +
                  RoleName(roles[1]) + " layer at layer " + std::to_string(first));
}

// A GAN's form: the generator (decoders from z, then the logits over the pixels), then the
// discriminator (critics from the pixels, then one logit), which the deployed table leaves out.
Status ValidateGan(const ShapeInfo& s, const std::string& where) {
  size_t at = 0;
  EVAE_RETURN_IF_ERROR(ValidateChain(s, where, &at, {LayerRole::kDecoder, LayerRole::kLogits},
                                     Activation::kRelu, s.latent, s.input));
  if (at == s.layers.size()) return Status::Ok();  // the generator alone (what it deploys)
  EVAE_RETURN_IF_ERROR(ValidateChain(s, where, &at,
                                     {LayerRole::kCritic, LayerRole::kCriticLogit},
                                     Activation::kLeakyRelu, s.input, 1));
  if (at != s.layers.size()) {
    return Internal(where + "layers after the discriminator's logit at " + std::to_string(at));
  }
  return Status::Ok();
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

// A VAE's form over layers [0, count): encoders, mean, log-variance (none for a deterministic
// encoder), decoders, logits.
Status ValidateVaeForm(const ShapeInfo& s, size_t count, bool deterministic,
                       const std::string& where) {
  // The roles in table order: encoders, mean, log-variance, decoders, logits.
  const LayerRole order[] = {LayerRole::kEncoder, LayerRole::kMean, LayerRole::kLogVar,
                             LayerRole::kDecoder, LayerRole::kLogits};
  const int want_count[] = {-1, 1, deterministic ? 0 : 1, -1, 1};  // -1: one or more
  size_t at = 0;
  for (size_t r = 0; r < 5; ++r) {
    int n = 0;
    while (at < count && s.layers[at].role == order[r]) ++at, ++n;
    if ((want_count[r] < 0 && n == 0) || (want_count[r] >= 0 && n != want_count[r])) {
      return Internal(where + std::to_string(n) + " " + RoleName(order[r]) +
                      " layer(s) where the table's form needs " +
                      (want_count[r] < 0 ? "one or more"
                       : want_count[r] == 0 ? "none (a deterministic encoder)"
                                            : "exactly one"));
    }
  }
  if (at != count) return Internal(where + "layers out of order at " + std::to_string(at));
  // Sizes chain: each layer takes what feeds it.
  int encoded = s.input, decoded = s.latent;  // the width of the last encoder / decoder output
  for (const LayerInfo& l : s.layers.first(count)) {
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
      case LayerRole::kCritic:
      case LayerRole::kCriticLogit:
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

}  // namespace

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kVae:
      return "vae";
    case Family::kClassifier:
      return "classifier";
    case Family::kGan:
      return "gan";
    case Family::kAli:
      return "ali";
    case Family::kAae:
      return "aae";
  }
  return "?";
}

StatusOr<Family> FindFamily(std::string_view name) {
  std::string names;
  for (Family f : kFamilies) {
    if (name == FamilyName(f)) return f;
    names += names.empty() ? "" : ", ";
    names += FamilyName(f);
  }
  return Unsupported("family '" + std::string(name) + "' is not one of " + names);
}

ShapeInfo DefaultShape(Family family) {
  switch (family) {
    case Family::kClassifier:
      return JudgeShape::kInfo;
    case Family::kGan:
      return GanShape::kInfo;
    case Family::kAli:
      return AliShape::kInfo;
    case Family::kAae:
      return AaeShape::kInfo;
    case Family::kVae:
      break;
  }
  return MnistShape::kInfo;
}

std::string ShapeInfo::SizesText() const {
  if (family == Family::kGan || (is_vae() && !has_encoder())) {
    // "20-400-784 / 784-400-1": the generator (or a VAE's decoder alone), the discriminator
    std::string out = std::to_string(latent);
    for (const LayerInfo& l : layers) {
      if (l.role == LayerRole::kCritic && l.in == input) out += " / " + std::to_string(input);
      out += "-" + std::to_string(l.out);
    }
    return out;
  }
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


Status ValidateShape(const ShapeInfo& s) {
  const std::string where = "shape '" + std::string(s.name) + "': ";
  if (s.name.empty() || s.name.size() > 15) return Internal(where + "name must be 1 to 15 bytes");
  if (s.layers.empty()) return Internal(where + "no layers");
  if (s.hidden != s.layers[0].out) {
    return Internal(where + "hidden is " + std::to_string(s.hidden) + ", the first layer's width " +
                    std::to_string(s.layers[0].out));
  }
  if (!s.deploy.empty()) {
    StatusOr<ShapeInfo> d = FindShape(s.deploy);
    if (!d.ok()) return Internal(where + "its deployed shape: " + d.status().message());
  }
  if (s.family == Family::kClassifier) return ValidateClassifier(s, where);
  if (s.family == Family::kGan) return ValidateGan(s, where);
  if (s.family == Family::kVae && s.Find(LayerRole::kDecoder) == 0) {  // a decoder alone
    size_t at = 0;
    EVAE_RETURN_IF_ERROR(ValidateChain(s, where, &at, {LayerRole::kDecoder, LayerRole::kLogits},
                                       Activation::kRelu, s.latent, s.input));
    if (at != s.layers.size()) return Internal(where + "layers after the logits");
    return Status::Ok();
  }
  // A VAE's form, ALI's or an AAE's: a VAE's layers (an AAE's without the log-variance head),
  // then (in training) ALI's joint discriminator of (x, z) pairs or the AAE's of codes z.
  size_t vae_layers = s.layers.size();
  if (s.family == Family::kAli || s.family == Family::kAae) {
    const int critic = s.Find(LayerRole::kCritic);
    if (critic >= 0) vae_layers = static_cast<size_t>(critic);
  }
  EVAE_RETURN_IF_ERROR(ValidateVaeForm(s, vae_layers, s.family == Family::kAae, where));
  if (vae_layers == s.layers.size()) return Status::Ok();
  size_t at = vae_layers;
  const int critic_input = s.family == Family::kAae ? s.latent : s.input + s.latent;
  EVAE_RETURN_IF_ERROR(ValidateChain(s, where, &at,
                                     {LayerRole::kCritic, LayerRole::kCriticLogit},
                                     Activation::kLeakyRelu, critic_input, 1));
  if (at != s.layers.size()) {
    return Internal(where + "layers after the discriminator's logit at " + std::to_string(at));
  }
  return Status::Ok();
}

Status RequireDeployable(const ShapeInfo& shape, std::string_view what) {
  if (shape.has_decoder() && !shape.has_critic()) return Status::Ok();
  // One message for both cases: a microcontroller's flash pays for every string (docs/micro.md).
  return Unsupported("shape '" + std::string(shape.name) + "' (a " + FamilyName(shape.family) +
                     ") is not what a device runs: " + std::string(what) +
                     " takes a VAE or a generator" +
                     (shape.deploy.empty() ? std::string()
                                           : ", such as its '" + std::string(shape.deploy) +
                                                 "' (edgevae convert extracts it)"));
}

Status RequireVae(const ShapeInfo& shape, std::string_view what) {
  if (shape.is_vae()) return Status::Ok();
  return Unsupported("shape '" + std::string(shape.name) + "' is a " + FamilyName(shape.family) +
                     (shape.has_decoder() ? ", which has no encoder: " : ", which has no encoder or decoder: ") +
                     std::string(what) +
                     " needs a VAE");
}

}  // namespace edgevae
