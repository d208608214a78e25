// Training: minibatch Adam on the summed negative ELBO (Bernoulli decoder, one reparameterised
// sample per image), exactly the PyTorch VAE example's objective, or on the importance-weighted
// bound (IWAE, Burda et al. 2015: k samples per image); a classifier's shape (edgevae/shape.h)
// on the summed softmax cross-entropy of its labels; a GAN's or ALI's two players in turn on their
// own losses (AdversarialOptions), each with its own Adam step count. Every random draw (shuffle,
// noise) is keyed by (seed, epoch, step), so the same seed, thread count and CPU give
// bit-identical weights, and resuming from a checkpoint continues the same sequence.
#ifndef EDGEVAE_TRAIN_H_
#define EDGEVAE_TRAIN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "edgevae/binarize.h"
#include "edgevae/idx.h"
#include "edgevae/model.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"

namespace edgevae {

// The largest minibatch CreateTrainer takes (its buffers are sized by the batch).
inline constexpr int kMaxTrainBatch = 4096;

// The arithmetic of the training step's dense matrix products. kBf16: operands rounded to bf16
// (round to nearest even), products accumulated in fp32 (AVX512_BF16's VDPBF16PS), parameters,
// gradients and Adam state kept in fp32; only on CPUs with AVX512_BF16 (elsewhere the trainer
// runs fp32 and says so: Trainer::precision()).
enum class Precision { kFp32, kBf16 };
const char* PrecisionName(Precision p);  // "fp32", "bf16"
// Whether this build and CPU can train in bf16.
bool Bf16TrainingAvailable();

// What a step minimises, per image: the negative ELBO with its analytic KL term (kElbo), or the
// negative importance-weighted bound -log (1/k) sum_j p(x, z_j) / q(z_j | x) over k samples
// (kIwae; with k = 1 a one-sample ELBO), whose gradient weights each sample by its normalised
// importance weight.
enum class Objective { kElbo, kIwae };
const char* ObjectiveName(Objective o);  // "elbo", "iwae"
inline constexpr int kMaxIwSamples = 5000;

// ALI's encoder-and-generator loss (../shared/generative-family.md): kSu, the seed paper's (both
// sides push the discriminator towards 1), or kStandard (the non-saturating ALI loss; the
// default: with kSu the encoder helps the discriminator and ALI did not learn here, docs/gan.md).
enum class AliLoss { kSu, kStandard };
const char* AliLossName(AliLoss l);  // "su", "standard"

// The adversarial families' settings (../shared/generative-family.md).
struct AdversarialOptions {
  // lambda of the generator's ||G(z) - G_old(z)||^2 term, G_old being the generator as it was
  // before its previous step (at G_old = G the term and its gradient vanish, so the one-step-old
  // generator is the nearest that has an effect with one generator step per iteration; the first
  // generator step of each epoch starts from G_old = G, so that a resumed run repeats an
  // uninterrupted one bit for bit). 0: the standard non-saturating GAN. ALI's generator takes
  // the same term (its E-and-G loss, with G_old the generator side one step earlier).
  double gan_reg = 0;
  int d_steps = 1;  // discriminator steps per iteration, each on its own batch of real images
  int g_steps = 1;  // generator steps per iteration (ALI's: encoder-and-generator steps, each on
                    // the real batch of the iteration's last discriminator step)
  AliLoss ali_loss = AliLoss::kStandard;  // ALI's
  // The AAE's weight of the reconstruction term lambda ||x - G(E(x))||^2 (pixels in [0, 1],
  // summed over the image) beside the encoder's -log D(E(x)); > 0.
  double aae_lambda = 1;
};
inline constexpr int kMaxPlayerSteps = 100;

struct TrainOptions {
  Objective objective = Objective::kElbo;
  int iw_samples = 1;  // k, for kIwae (1..kMaxIwSamples; batch * k at most 16 * kMaxTrainBatch)
  Precision precision = Precision::kFp32;
  // kDynamic: each epoch trains on a new Bernoulli draw of every image (edgevae/binarize.h);
  // kStatic: on one fixed draw; kNone: on the grey values.
  Binarization binarization = Binarization::kNone;
  int batch = 128;  // 1..kMaxTrainBatch
  double lr = 1e-3;
  double lr_decay = 1.0;  // epoch e (1-based) steps with lr * lr_decay^(e - 1); in (0, 1]
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  uint64_t seed = 1;
  AdversarialOptions adversarial;  // a GAN's or ALI's
};

struct BatchProgress {
  int epoch = 0;           // 1-based
  int batch = 0;           // batches done in this epoch
  int batches = 0;         // batches per epoch
  double loss = 0;         // mean loss per image so far this epoch (TrainOptions::objective)
  double images_per_s = 0;
  double seconds = 0;      // elapsed in this epoch
};
using ProgressFn = std::function<void(const BatchProgress&)>;

// An adversarial player's mean loss over an epoch's steps, per row.
struct PlayerLoss {
  const char* player;  // "discriminator", "generator" (ALI: "encoder-generator")
  double loss;
};

struct EpochResult {
  int epoch = 0;
  double train_loss = 0;  // mean loss per training image (negative ELBO, as the PyTorch example
                          // reports, or the negative IW bound; a GAN's discriminator loss)
  double seconds = 0;     // wall time of the epoch's training (no evaluation)
  std::vector<PlayerLoss> players;  // an adversarial family's, one per player
};

// Where the time of a training step goes, accumulated over steps (for docs/performance.md's breakdown).
struct StepProfile {
  double gemm_s = 0, pack_s = 0, elementwise_s = 0, optimizer_s = 0, other_s = 0;
  int64_t steps = 0;
  int64_t sparse_steps = 0;  // steps whose first layer ran over the lit pixels only
};

// Floating-point operations of the matrix products that train one image (forward, input
// gradients except the input's own, weight gradients): 2 * multiply-adds.
double TrainingFlopsPerImage(const ShapeInfo& shape);

// Every entry point below runs with subnormal floats flushed to zero, on the calling thread and
// the runtime's (kernels/denormals.h: on Intel cores an operation on a subnormal costs a
// microcode assist, and training produces them); the caller's mode is restored on return.
class Trainer {
 public:
  virtual ~Trainer() = default;
  // Trains one epoch, the model's (metadata.epochs + 1)-th: a fresh permutation of `data`,
  // batches of options.batch (the last one smaller), one Adam step each. Updates the model's
  // parameters, Adam state and metadata.epochs/train_loss. `progress` (may be empty) is called
  // after every batch. Fails on a non-finite loss, naming the epoch and step.
  virtual StatusOr<EpochResult> TrainEpoch(const ImageSet& data, const ProgressFn& progress) = 0;

  // One step on images [0, n) of `pixels` (n x input bytes) with noise keyed by (epoch, step),
  // step counted from 0 (messages count from 1, like BatchProgress); returns the summed loss.
  // A classifier needs the n `labels`. Exposed for tests and benchmarks.
  virtual StatusOr<double> Step(const uint8_t* pixels, int n, int epoch, int step,
                                const uint8_t* labels = nullptr) = 0;

  // Summed loss and the gradient (flat parameter layout) of a batch given as floats in [0, 1],
  // with noise keyed by (epoch, step); does not update anything. For gradient checks. A
  // classifier needs the n `labels`.
  virtual StatusOr<double> LossAndGradient(const float* x, int n, int epoch, int step, float* grad,
                                           const uint8_t* labels = nullptr) = 0;

  virtual const StepProfile& profile() const = 0;
  // The precision the products run in: TrainOptions::precision, or kFp32 where bf16 is not
  // available.
  virtual Precision precision() const = 0;
  virtual void EnableProfile(bool on) = 0;
};

// A trainer for `model` (which must outlive it; the Adam state is created if absent).
StatusOr<std::unique_ptr<Trainer>> CreateTrainer(Model* model, Runtime* runtime,
                                                 const TrainOptions& options);

}  // namespace edgevae

#endif  // EDGEVAE_TRAIN_H_
