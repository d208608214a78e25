// The networks edgevae compiles in, written down once: a table of layers per shape. Everything
// that depends on a network's topology is derived from its table: the parameter layout, the model
// file's tensors and their validation, the int8 model's layers, the safetensors names, calibration
// and quantization, every backend's forward pass and the trainer's backward pass. A new shape is
// a table entry below; a new role or activation is code in the places that switch on them.
//
// A shape belongs to a family, which fixes the form of its table. A VAE's table lists, in order: one or more encoder layers (pixels -> hidden, hidden -> hidden),
// the mean head and the log-variance head (both from the last encoder layer to the latent size;
// they run as one product), one or more decoder layers (z -> hidden, hidden -> hidden), and the
// output layer (hidden -> the Bernoulli logits of the pixels). ValidateShape() checks that form.
// `mnist` is the canonical PyTorch VAE example (fc1; fc21 / fc22; fc3; fc4), whose layer names
// are also its safetensors import names. A classifier's table lists one or more hidden layers
// (pixels -> hidden, hidden -> hidden) and the class-logits layer (the last hidden layer -> one
// logit per class); the project's sample-quality judge (edgevae/judge.h) is one. Only VAEs have
// an encoder, a decoder and an inference engine; a classifier trains, saves and loads as f32.
// A GAN's table lists its generator (one or more decoder layers from z, then the logits layer
// over the pixels) and then its discriminator (one or more critic layers from the pixels, LeakyReLU,
// then one logit); what it deploys is the generator alone, a table of its own (`deploy`), which
// runs in the engine as a decoder without an encoder. ALI's table is a VAE's followed by a
// discriminator whose input is the pair (x, z), input + latent wide; it deploys its encoder and
// generator (`ali-eg`), which the engine runs as it runs a VAE. An AAE's table is a VAE's without
// the log-variance head (its encoder is deterministic: z = E(x), a point mass, so the engine
// reports its log-variance as -infinity), followed by a discriminator of codes, latent wide; it
// deploys its encoder and decoder (`aae-eg`). The header's three sizes (input, first layer's width, latent) need not be
// unique across shapes (gan and mnist are both 784-400-20): a file names its shape.
#ifndef EDGEVAE_SHAPE_H_
#define EDGEVAE_SHAPE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "edgevae/status.h"

namespace edgevae {

// What a network is; the form of its table (ValidateShape) follows from it.
enum class Family : uint8_t {
  kVae,         // encoder, Gaussian posterior heads, decoder to Bernoulli logits
  kClassifier,  // hidden layers to one logit per class (softmax)
  kGan,         // a generator (decoder layers to Bernoulli logits) and a discriminator (critic
                // layers from the pixels to one logit), trained against each other
  kAli,         // ALI / BiGAN: a VAE's encoder and decoder (the generator), trained against a
                // discriminator of (x, z) pairs
  kAae,         // adversarial autoencoder: a deterministic encoder (no log-variance head) and a
                // decoder, trained on reconstruction against a discriminator of codes z
};
const char* FamilyName(Family f);  // "vae", "classifier", "gan", "ali", "aae"
// The family a name names ("vae", ...), or an error listing them.
StatusOr<Family> FindFamily(std::string_view name);

enum class Activation : uint8_t {
  kNone,
  kRelu,
  kLeakyRelu,  // x < 0 ? kLeakySlope * x : x (the discriminators' hidden layers)
};
inline constexpr float kLeakySlope = 0.2f;

// How a shape's parameters start (Model::InitializeLikeTorch).
enum class WeightInit : uint8_t {
  kTorchLinear,  // nn.Linear's default: weights and biases U(-1/sqrt(in), 1/sqrt(in))
  kKaiming,      // torch.nn.init.kaiming_uniform_ with the gain of each layer's activation
                 // (sqrt(2) for ReLU, sqrt(2 / (1 + 0.2^2)) for LeakyReLU, 1 for none), zero
                 // biases: keeps the spread of activations through a deep ReLU stack, where the
                 // default shrinks it about sixfold per layer
};

// What a layer does in the network; the order of a table is the order of this enum.
enum class LayerRole : uint8_t {
  kEncoder,  // pixels or the previous encoder layer -> hidden
  kMean,     // the last encoder layer -> mu
  kLogVar,   // the last encoder layer -> log sigma^2 (listed right after kMean)
  kDecoder,  // z or the previous decoder layer -> hidden
  kLogits,   // the last decoder layer -> Bernoulli logits over the pixels
  // A classifier's:
  kHidden,       // pixels or the previous hidden layer -> hidden
  kClassLogits,  // the last hidden layer -> one logit per class
  // A discriminator's (after its generator's layers in the table):
  kCritic,       // the discriminator's input or previous critic layer -> hidden (LeakyReLU)
  kCriticLogit,  // the last critic layer -> one logit, log D / (1 - D)
};

struct LayerInfo {
  std::string_view name;  // its tensors are "<name>.weight" [out, in] and "<name>.bias" [out]
  LayerRole role;
  int in, out;            // inputs and outputs
  Activation activation;  // applied after the bias
};

struct ShapeInfo {
  std::string_view name;  // at most 15 bytes (the model file's header field)
  int input;              // pixels per image
  int hidden;             // the first layer's width (recorded in the file header)
  int latent;             // a VAE's latent size; a classifier's number of classes (the header's
                          // third size, so that the three sizes name one compiled shape)
  std::span<const LayerInfo> layers;
  Family family = Family::kVae;
  // The shape a device runs, if not this one: the table without the layers only training needs
  // (a GAN's discriminator), with the same names and sizes (DeployableModel copies them).
  std::string_view deploy = {};
  WeightInit init = WeightInit::kTorchLinear;

  bool is_vae() const { return family == Family::kVae; }
  // Whether the network has a decoder (z -> Bernoulli logits over the pixels): a VAE's, or an
  // adversarial family's generator.
  bool has_decoder() const { return Find(LayerRole::kLogits) >= 0; }
  // Whether it encodes images (a VAE's Gaussian posterior): a generator or a decoder alone does
  // not.
  bool has_encoder() const { return Find(LayerRole::kMean) >= 0; }
  // Whether its encoder is Gaussian (a log-variance head): an AAE's is deterministic.
  bool has_logvar() const { return Find(LayerRole::kLogVar) >= 0; }
  // Whether it carries a discriminator, which only training needs.
  bool has_critic() const { return Find(LayerRole::kCriticLogit) >= 0; }

  // Trainable parameters: out * in + out per layer.
  constexpr size_t ParamCount() const {
    size_t n = 0;
    for (const LayerInfo& l : layers) n += static_cast<size_t>(l.out) * (l.in + 1);
    return n;
  }
  // Index of the `nth` layer (0-based) with `role`, or -1.
  constexpr int Find(LayerRole role, int nth = 0) const {
    for (size_t i = 0; i < layers.size(); ++i) {
      if (layers[i].role == role && nth-- == 0) return static_cast<int>(i);
    }
    return -1;
  }
  constexpr int Count(LayerRole role) const {
    int n = 0;
    for (const LayerInfo& l : layers) n += l.role == role;
    return n;
  }
  // "784-400-20" (input, hidden widths of the encoder or classifier, latent or classes): for
  // messages.
  std::string SizesText() const;

  friend constexpr bool operator==(const ShapeInfo& a, const ShapeInfo& b) {
    return a.name == b.name;
  }
};

// --- The compiled shapes ------------------------------------------------------------------------

inline constexpr LayerInfo kMnistLayers[] = {
    {"fc1", LayerRole::kEncoder, 784, 400, Activation::kRelu},
    {"fc21", LayerRole::kMean, 400, 20, Activation::kNone},
    {"fc22", LayerRole::kLogVar, 400, 20, Activation::kNone},
    {"fc3", LayerRole::kDecoder, 20, 400, Activation::kRelu},
    {"fc4", LayerRole::kLogits, 400, 784, Activation::kNone},
};
inline constexpr LayerInfo kMnist2dLayers[] = {
    {"fc1", LayerRole::kEncoder, 784, 400, Activation::kRelu},
    {"fc21", LayerRole::kMean, 400, 2, Activation::kNone},
    {"fc22", LayerRole::kLogVar, 400, 2, Activation::kNone},
    {"fc3", LayerRole::kDecoder, 2, 400, Activation::kRelu},
    {"fc4", LayerRole::kLogits, 400, 784, Activation::kNone},
};
// Two hidden layers per side.
inline constexpr LayerInfo kMnistDeepLayers[] = {
    {"enc1", LayerRole::kEncoder, 784, 512, Activation::kRelu},
    {"enc2", LayerRole::kEncoder, 512, 256, Activation::kRelu},
    {"mu", LayerRole::kMean, 256, 32, Activation::kNone},
    {"logvar", LayerRole::kLogVar, 256, 32, Activation::kNone},
    {"dec1", LayerRole::kDecoder, 32, 256, Activation::kRelu},
    {"dec2", LayerRole::kDecoder, 256, 512, Activation::kRelu},
    {"out", LayerRole::kLogits, 512, 784, Activation::kNone},
};

// A VAE of `aae-deep`'s encoder and decoder widths and its 3-D code (784-512-256-3, decoder
// 3-256-512-1024-784), Kaiming init: the VAE whose prior samples the judge recognises most
// (docs/judge.md, "A VAE over 90 %"). A small code and the wider decoder together took the VAE
// from 52 % (`mnist`) and 67 % (`mnist-deep`) to about 90 %.
inline constexpr LayerInfo kVaeDeepLayers[] = {
    {"e1", LayerRole::kEncoder, 784, 512, Activation::kRelu},
    {"e2", LayerRole::kEncoder, 512, 256, Activation::kRelu},
    {"mu", LayerRole::kMean, 256, 3, Activation::kNone},
    {"logvar", LayerRole::kLogVar, 256, 3, Activation::kNone},
    {"g1", LayerRole::kDecoder, 3, 256, Activation::kRelu},
    {"g2", LayerRole::kDecoder, 256, 512, Activation::kRelu},
    {"g3", LayerRole::kDecoder, 512, 1024, Activation::kRelu},
    {"g4", LayerRole::kLogits, 1024, 784, Activation::kNone},
};

// For tests and fuzzing, not for real use: one hidden layer of 8 per side and a 2-D latent. Its
// files are 1/47 of mnist2d's (13,396 parameters against 631,188), so a model-file fuzzer or a
// test that writes and reads models runs that much faster.
inline constexpr LayerInfo kTinyLayers[] = {
    {"enc", LayerRole::kEncoder, 784, 8, Activation::kRelu},
    {"mu", LayerRole::kMean, 8, 2, Activation::kNone},
    {"logvar", LayerRole::kLogVar, 8, 2, Activation::kNone},
    {"dec", LayerRole::kDecoder, 2, 8, Activation::kRelu},
    {"out", LayerRole::kLogits, 8, 784, Activation::kNone},
};

// The sample-quality judge: an MNIST digit classifier (edgevae/judge.h), whose penultimate
// layer's 256 features also give the Fréchet distance between samples and test images.
inline constexpr LayerInfo kJudgeLayers[] = {
    {"hid", LayerRole::kHidden, 784, 256, Activation::kRelu},
    {"cls", LayerRole::kClassLogits, 256, 10, Activation::kNone},
};

// The GAN of the seed paper's experiment (../shared/generative-family.md): the generator is the
// `mnist` VAE's decoder, 20-400-784 with sigmoid outputs; the discriminator 784-400-1.
inline constexpr LayerInfo kGanLayers[] = {
    {"fc3", LayerRole::kDecoder, 20, 400, Activation::kRelu},
    {"fc4", LayerRole::kLogits, 400, 784, Activation::kNone},
    {"d1", LayerRole::kCritic, 784, 400, Activation::kLeakyRelu},
    {"d2", LayerRole::kCriticLogit, 400, 1, Activation::kNone},
};

// A deeper GAN, for sample quality (docs/gan.md, "A deeper GAN"): the generator 20-256-512-1024-784
// and the discriminator 784-512-256-1, the widths of the MLP GANs usual on MNIST. The one-hidden-
// layer `gan` generator's samples stayed at or below 71 % recognised by the judge in every run;
// this one's reach 90 %. It starts from Kaiming weights (WeightInit): at nn.Linear's default its
// generator's output barely depends on z, and training collapses at once.
inline constexpr LayerInfo kGanDeepLayers[] = {
    {"g1", LayerRole::kDecoder, 20, 256, Activation::kRelu},
    {"g2", LayerRole::kDecoder, 256, 512, Activation::kRelu},
    {"g3", LayerRole::kDecoder, 512, 1024, Activation::kRelu},
    {"g4", LayerRole::kLogits, 1024, 784, Activation::kNone},
    {"d1", LayerRole::kCritic, 784, 512, Activation::kLeakyRelu},
    {"d2", LayerRole::kCritic, 512, 256, Activation::kLeakyRelu},
    {"d3", LayerRole::kCriticLogit, 256, 1, Activation::kNone},
};

// ALI (Dumoulin et al. 2017; the seed paper's loss, ../shared/generative-family.md): the mnist
// VAE's Gaussian encoder and decoder, and a discriminator of the pair (x, z), (784 + 20)-400-1.
inline constexpr LayerInfo kAliLayers[] = {
    {"fc1", LayerRole::kEncoder, 784, 400, Activation::kRelu},
    {"fc21", LayerRole::kMean, 400, 20, Activation::kNone},
    {"fc22", LayerRole::kLogVar, 400, 20, Activation::kNone},
    {"fc3", LayerRole::kDecoder, 20, 400, Activation::kRelu},
    {"fc4", LayerRole::kLogits, 400, 784, Activation::kNone},
    {"d1", LayerRole::kCritic, 804, 400, Activation::kLeakyRelu},
    {"d2", LayerRole::kCriticLogit, 400, 1, Activation::kNone},
};

// The adversarial autoencoder (Makhzani et al. 2016; the seed paper's loss,
// ../shared/generative-family.md): the mnist VAE's encoder with one deterministic head (z = E(x),
// 784-400-20), its decoder, and a discriminator of codes, 20-400-1.
inline constexpr LayerInfo kAaeLayers[] = {
    {"fc1", LayerRole::kEncoder, 784, 400, Activation::kRelu},
    {"fc21", LayerRole::kMean, 400, 20, Activation::kNone},
    {"fc3", LayerRole::kDecoder, 20, 400, Activation::kRelu},
    {"fc4", LayerRole::kLogits, 400, 784, Activation::kNone},
    {"d1", LayerRole::kCritic, 20, 400, Activation::kLeakyRelu},
    {"d2", LayerRole::kCriticLogit, 400, 1, Activation::kNone},
};

// Deeper ALI and AAE, for sample quality (docs/gan.md, "Deeper ALI and AAE"): `gan-deep`'s
// generator (z-256-512-1024-784) and discriminator widths, an encoder of `mnist-deep`'s widths
// (784-512-256, then the latent heads), Kaiming init as for `gan-deep`. Both latents are 3-D.
// The AAE's discriminator of codes is 3-512-256-1: measured with latents of 20, 8, 4, 3 and 2,
// the AAE's prior samples were recognised most often at 3 (about 90 %, against 68 % at 20, which
// is closer to the test images by the Fréchet distance and reconstructs better). ALI's
// discriminator sees the pair (x, z), (784 + 3)-512-256-1: with a 20-D latent its discriminator
// won within 5-8 epochs and the generator collapsed to one image in every setting tried.
inline constexpr LayerInfo kAliDeepLayers[] = {
    {"e1", LayerRole::kEncoder, 784, 512, Activation::kRelu},
    {"e2", LayerRole::kEncoder, 512, 256, Activation::kRelu},
    {"mu", LayerRole::kMean, 256, 3, Activation::kNone},
    {"logvar", LayerRole::kLogVar, 256, 3, Activation::kNone},
    {"g1", LayerRole::kDecoder, 3, 256, Activation::kRelu},
    {"g2", LayerRole::kDecoder, 256, 512, Activation::kRelu},
    {"g3", LayerRole::kDecoder, 512, 1024, Activation::kRelu},
    {"g4", LayerRole::kLogits, 1024, 784, Activation::kNone},
    {"d1", LayerRole::kCritic, 787, 512, Activation::kLeakyRelu},
    {"d2", LayerRole::kCritic, 512, 256, Activation::kLeakyRelu},
    {"d3", LayerRole::kCriticLogit, 256, 1, Activation::kNone},
};
inline constexpr LayerInfo kAaeDeepLayers[] = {
    {"e1", LayerRole::kEncoder, 784, 512, Activation::kRelu},
    {"e2", LayerRole::kEncoder, 512, 256, Activation::kRelu},
    {"mu", LayerRole::kMean, 256, 3, Activation::kNone},
    {"g1", LayerRole::kDecoder, 3, 256, Activation::kRelu},
    {"g2", LayerRole::kDecoder, 256, 512, Activation::kRelu},
    {"g3", LayerRole::kDecoder, 512, 1024, Activation::kRelu},
    {"g4", LayerRole::kLogits, 1024, 784, Activation::kNone},
    {"d1", LayerRole::kCritic, 3, 512, Activation::kLeakyRelu},
    {"d2", LayerRole::kCritic, 512, 256, Activation::kLeakyRelu},
    {"d3", LayerRole::kCriticLogit, 256, 1, Activation::kNone},
};

struct MnistShape {
  static constexpr ShapeInfo kInfo{"mnist", 784, 400, 20, kMnistLayers};
};
struct Mnist2dShape {
  static constexpr ShapeInfo kInfo{"mnist2d", 784, 400, 2, kMnist2dLayers};
};
struct MnistDeepShape {
  static constexpr ShapeInfo kInfo{"mnist-deep", 784, 512, 32, kMnistDeepLayers};
};
struct VaeDeepShape {
  static constexpr ShapeInfo kInfo{"vae-deep", 784, 512, 3, kVaeDeepLayers, Family::kVae, {},
                                   WeightInit::kKaiming};
};
struct TinyShape {
  static constexpr ShapeInfo kInfo{"tiny", 784, 8, 2, kTinyLayers};
};
struct JudgeShape {
  static constexpr ShapeInfo kInfo{"judge", 784, 256, 10, kJudgeLayers, Family::kClassifier};
};
struct GanShape {
  static constexpr ShapeInfo kInfo{"gan", 784, 400, 20, kGanLayers, Family::kGan,
                                   "gan-generator"};
};
struct GanDeepShape {
  static constexpr ShapeInfo kInfo{"gan-deep", 784, 256, 20, kGanDeepLayers, Family::kGan,
                                   "gan-deep-gen", WeightInit::kKaiming};
};
struct AliShape {
  static constexpr ShapeInfo kInfo{"ali", 784, 400, 20, kAliLayers, Family::kAli, "ali-eg"};
};
struct AliDeployedShape {
  // The encoder and generator: the layers of `mnist`.
  static constexpr ShapeInfo kInfo{"ali-eg", 784, 400, 20, kMnistLayers, Family::kAli};
};
struct AaeShape {
  static constexpr ShapeInfo kInfo{"aae", 784, 400, 20, kAaeLayers, Family::kAae, "aae-eg"};
};
struct AaeDeployedShape {
  // The deterministic encoder and the decoder.
  static constexpr ShapeInfo kInfo{"aae-eg", 784, 400, 20,
                                   std::span<const LayerInfo>(kAaeLayers).first(4), Family::kAae};
};
struct AliDeepShape {
  static constexpr ShapeInfo kInfo{"ali-deep", 784, 512, 3, kAliDeepLayers, Family::kAli,
                                   "ali-deep-eg", WeightInit::kKaiming};
};
struct AliDeepDeployedShape {
  static constexpr ShapeInfo kInfo{"ali-deep-eg", 784, 512, 3,
                                   std::span<const LayerInfo>(kAliDeepLayers).first(8),
                                   Family::kAli};
};
struct AaeDeepShape {
  static constexpr ShapeInfo kInfo{"aae-deep", 784, 512, 3, kAaeDeepLayers, Family::kAae,
                                   "aae-deep-eg", WeightInit::kKaiming};
};
struct AaeDeepDeployedShape {
  static constexpr ShapeInfo kInfo{"aae-deep-eg", 784, 512, 3,
                                   std::span<const LayerInfo>(kAaeDeepLayers).first(7),
                                   Family::kAae};
};
struct MnistDecoderShape {
  // `mnist`'s decoder alone, for a device that only draws digits (edgevae convert
  // --decoder-only cuts it from an int8 file, keeping the class statistics).
  static constexpr ShapeInfo kInfo{"mnist-decoder", 784, 400, 20,
                                   std::span<const LayerInfo>(kMnistLayers).subspan(3)};
};
struct GanGeneratorShape {
  // What a GAN deploys: its generator alone, the decoder of `mnist` (edgevae convert extracts
  // it, DeployableModel).
  static constexpr ShapeInfo kInfo{"gan-generator", 784, 400, 20,
                                   std::span<const LayerInfo>(kMnistLayers).subspan(3),
                                   Family::kGan};
};

struct GanDeepGeneratorShape {
  // What the deeper GAN deploys: its generator alone.
  static constexpr ShapeInfo kInfo{"gan-deep-gen", 784, 256, 20,
                                   std::span<const LayerInfo>(kGanDeepLayers).first(4),
                                   Family::kGan};
};

// Every shape compiled into this build, of every family.
std::span<const ShapeInfo> CompiledShapes();
// "mnist (784-400-20), mnist2d (784-400-2), ...": for messages.
std::string CompiledShapeList();
// Looks a shape up by name; the error lists the compiled shapes.
StatusOr<ShapeInfo> FindShape(std::string_view name);
// The shape a family trains by default (`train --family`): mnist, judge, gan, ali, aae.
ShapeInfo DefaultShape(Family family);
// Whether `shape`'s table has the form its family needs (the top of this file), naming what is
// wrong.
Status ValidateShape(const ShapeInfo& shape);
// kUnsupported unless `shape` has a decoder and no discriminator (a VAE, or a generator alone):
// for what a device runs (`what`: "an int8 file", ...).
Status RequireDeployable(const ShapeInfo& shape, std::string_view what);
// kUnsupported unless `shape` is a VAE: for what only a VAE can do (`what`: "an engine",
// "int8 conversion", ...), so that a classifier's file is refused with a message, not misread.
Status RequireVae(const ShapeInfo& shape, std::string_view what);

}  // namespace edgevae

#endif  // EDGEVAE_SHAPE_H_
