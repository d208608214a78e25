// The adversarial families' training loop (../shared/generative-family.md): per iteration,
// d_steps discriminator steps, each on the next batch of real images and as many generated ones,
// then g_steps steps of the generator side (a GAN's generator; ALI's and the AAE's encoder and
// generator, on the last discriminator step's real batch), each player with its own Adam step count over its
// own parameter range. The players' losses are tools/players.h's (GanStep, AliStep, AaeStep).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/rng.h"
#include "kernels/denormals.h"
#include "kernels/elementwise.h"
#include "tools/aae_step.h"
#include "tools/adam.h"
#include "tools/adversarial_trainer.h"
#include "tools/ali_step.h"
#include "tools/epoch_order.h"
#include "tools/gan_step.h"
#include "tools/players.h"
#include "tools/since.h"

namespace edgevae {
namespace {

class AdversarialTrainer final : public Trainer {
 public:
  AdversarialTrainer(Model* model, Runtime* runtime, const TrainOptions& options,
                     std::unique_ptr<Players> players)
      : model_(model),
        rt_(runtime),
        opt_(options),
        b_(static_cast<size_t>(options.batch)),
        in_(static_cast<size_t>(model->shape().input)),
        latent_(static_cast<size_t>(model->shape().latent)),
        players_(std::move(players)) {
    real_.Resize(b_ * in_);
    z_.Resize(b_ * latent_);
    eps_.Resize(b_ * latent_);
    grad_.Resize(model->param_floats());
    old_.Resize(players_->generator_floats());
  }

  bool allocated() const {
    return !real_.empty() && !z_.empty() && !eps_.empty() && !grad_.empty() && !old_.empty();
  }

  StatusOr<EpochResult> TrainEpoch(const ImageSet& data, const ProgressFn& progress) override {
    const ScopedFlushDenormals flush;  // every entry point (train.h)
    if (static_cast<size_t>(data.pixels_per_image()) != in_) {
      return InvalidArgument("training images have " + std::to_string(data.pixels_per_image()) +
                             " pixels, the model's input is " + std::to_string(in_));
    }
    const size_t d = static_cast<size_t>(opt_.adversarial.d_steps);
    const size_t count = data.count > 0 ? static_cast<size_t>(data.count) : 0;
    // Whole iterations of full batches: each player's Adam step count is then the iterations
    // so far times its steps per iteration. The images left over (fewer than one iteration's)
    // differ from epoch to epoch with the shuffle.
    const size_t iterations = count / (b_ * d);
    if (iterations == 0) {
      return InvalidArgument(std::to_string(count) + " training images; one iteration takes " +
                             std::to_string(b_ * d) + " (batch " + std::to_string(b_) + " x " +
                             std::to_string(d) + " discriminator steps)");
    }
    const int epoch = model_->metadata().epochs + 1;
    const std::vector<uint32_t> order = EpochOrder(count, opt_.seed, epoch);
    StartEpoch();
    const auto start = Clock::now();
    double d_total = 0, g_total = 0;
    for (size_t it = 0; it < iterations; ++it) {
      EpochTotals totals;
      EVAE_RETURN_IF_ERROR(Iteration(epoch, static_cast<int>(it), [&](size_t s) {
        const size_t first = (it * d + s) * b_;
        for (size_t i = 0; i < b_; ++i) {
          simd::U8ToF32(data.image(static_cast<int>(order[first + i])), real_.data() + i * in_,
                        in_);
        }
      }, &totals));
      d_total += totals.d;
      g_total += totals.g;
      if (progress) {
        BatchProgress p;
        p.epoch = epoch;
        p.batch = static_cast<int>(it + 1);
        p.batches = static_cast<int>(iterations);
        p.seconds = Since(start);
        p.loss = d_total / static_cast<double>((it + 1) * d * b_);
        p.images_per_s = static_cast<double>((it + 1) * d * b_) / std::max(p.seconds, 1e-9);
        progress(p);
      }
    }
    EpochResult result;
    result.epoch = epoch;
    result.seconds = Since(start);
    const double d_rows = static_cast<double>(iterations * d * b_);
    const double g_rows = static_cast<double>(iterations * opt_.adversarial.g_steps * b_);
    result.train_loss = d_total / d_rows;
    result.players = {{"discriminator", d_total / d_rows},
                      {model_->shape().family == Family::kGan ? "generator" : "encoder-generator",
                       g_total / g_rows}};
    ModelMetadata& meta = model_->metadata();
    meta.epochs = epoch;
    meta.train_loss = result.train_loss;
    meta.seed = opt_.seed;
    meta.batch = opt_.batch;
    meta.lr = opt_.lr;
    meta.lr_decay = opt_.lr_decay;
    meta.gan_reg = opt_.adversarial.gan_reg;
    meta.d_steps = opt_.adversarial.d_steps;
    meta.g_steps = opt_.adversarial.g_steps;
    meta.ali_loss =
        model_->shape().family == Family::kAli ? AliLossName(opt_.adversarial.ali_loss) : "";
    meta.aae_lambda = model_->shape().family == Family::kAae ? opt_.adversarial.aae_lambda : 0;
    return result;
  }

  // One iteration on the n images of `pixels`, which every discriminator step of it takes as its
  // real batch; returns the discriminator's summed loss.
  StatusOr<double> Step(const uint8_t* pixels, int n, int epoch, int step,
                        const uint8_t* /*labels*/) override {
    const ScopedFlushDenormals flush;
    if (n != static_cast<int>(b_)) {
      return InvalidArgument("an adversarial step takes a full batch of " + std::to_string(b_) +
                             " images, got " + std::to_string(n));
    }
    simd::U8ToF32(pixels, real_.data(), b_ * in_);
    if (step == 0) StartEpoch();
    EpochTotals totals;
    EVAE_RETURN_IF_ERROR(Iteration(epoch, step, [](size_t) {}, &totals));
    return totals.d;
  }

  StatusOr<double> LossAndGradient(const float*, int, int, int, float*,
                                   const uint8_t*) override {
    return Unsupported("an adversarial family has no single loss: its players' gradients are "
                       "tools/players.h's (GanStep, AliStep)");
  }

  const StepProfile& profile() const override { return profile_; }
  Precision precision() const override { return Precision::kFp32; }
  void EnableProfile(bool) override {}

 private:
  struct EpochTotals {
    double d = 0, g = 0;
  };

  // G_old starts each epoch as the generator itself (AdversarialOptions::gan_reg).
  void StartEpoch() {
    std::copy(model_->params(), model_->params() + old_.size(), old_.data());
  }

  // z ~ N(0, I) and the reparameterisation noise eps for b_ rows, keyed by (epoch, the step's
  // number within the epoch); eps's stream has bit 23 of the epoch counter set.
  void DrawLatents(int epoch, uint32_t step) {
    const uint32_t e = static_cast<uint32_t>(epoch);
    FillNormal(RngStream(opt_.seed, StreamId(RngPurpose::kPlayerNoise, e, step)), 0, z_.data(),
               b_ * latent_);
    FillNormal(RngStream(opt_.seed, StreamId(RngPurpose::kPlayerNoise, e | (1u << 23), step)), 0,
               eps_.data(), b_ * latent_);
  }

  Status Diverged(const char* player, int epoch, int iteration, const std::string& what) {
    return DataError("training diverged: the " + std::string(player) + "'s " + what +
                     " at epoch " + std::to_string(epoch) + ", iteration " +
                     std::to_string(iteration + 1) + " (parameters left at the previous step)");
  }

  // One iteration: d_steps discriminator steps (fill_real(s) puts the s-th one's real images in
  // real_), then g_steps generator steps.
  template <typename FillReal>
  Status Iteration(int epoch, int iteration, const FillReal& fill_real, EpochTotals* totals) {
    const AdversarialOptions& a = opt_.adversarial;
    const uint32_t steps_per = static_cast<uint32_t>(a.d_steps + a.g_steps);
    AdamState& adam = model_->optimizer();
    const double lr = opt_.lr * std::pow(opt_.lr_decay, epoch - 1);
    float* w = model_->params();
    const size_t g_floats = players_->generator_floats();
    const PlayerBatch batch{real_.data(), z_.data(), eps_.data(), b_};
    const size_t d_floats = model_->param_floats() - g_floats;
    for (int s = 0; s < a.d_steps; ++s) {
      fill_real(static_cast<size_t>(s));
      DrawLatents(epoch, static_cast<uint32_t>(iteration) * steps_per + static_cast<uint32_t>(s));
      EVAE_ASSIGN_OR_RETURN(double loss,
                            players_->DiscriminatorStep(w, batch, grad_.data(), rt_->pool()));
      if (!std::isfinite(loss)) return Diverged("discriminator", epoch, iteration, "loss is not finite");
      if (!simd::AllFinite(grad_.data() + g_floats, d_floats)) {
        return Diverged("discriminator", epoch, iteration, "gradient is not finite");
      }
      AdamStep(opt_, lr, adam.step * a.d_steps + s + 1, w + g_floats, adam.m.data() + g_floats,
               adam.v.data() + g_floats, grad_.data() + g_floats, d_floats, rt_->pool());
      totals->d += loss;
    }
    for (int s = 0; s < a.g_steps; ++s) {
      DrawLatents(epoch, static_cast<uint32_t>(iteration) * steps_per +
                             static_cast<uint32_t>(a.d_steps + s));
      EVAE_ASSIGN_OR_RETURN(double loss, players_->GeneratorStep(w, old_.data(), batch,
                                                                 grad_.data(), rt_->pool()));
      if (!std::isfinite(loss)) return Diverged("generator", epoch, iteration, "loss is not finite");
      if (!simd::AllFinite(grad_.data(), g_floats)) {
        return Diverged("generator", epoch, iteration, "gradient is not finite");
      }
      std::copy(w, w + g_floats, old_.data());  // the next step's G_old: this step's generator
      AdamStep(opt_, lr, adam.step * a.g_steps + s + 1, w, adam.m.data(), adam.v.data(),
               grad_.data(), g_floats, rt_->pool());
      totals->g += loss;
    }
    adam.step += 1;  // iterations: each player's count is this times its steps per iteration
    return Status::Ok();
  }

  Model* model_;
  Runtime* rt_;
  TrainOptions opt_;
  size_t b_, in_, latent_;
  std::unique_ptr<Players> players_;
  AlignedBuffer<float> real_, z_, eps_, grad_, old_;
  StepProfile profile_;
};

}  // namespace

StatusOr<std::unique_ptr<Trainer>> CreateAdversarialTrainer(Model* model, Runtime* runtime,
                                                            const TrainOptions& options) {
  const AdversarialOptions& a = options.adversarial;
  const Family family = model->shape().family;
  if (a.d_steps < 1 || a.d_steps > kMaxPlayerSteps || a.g_steps < 1 ||
      a.g_steps > kMaxPlayerSteps) {
    return InvalidArgument("discriminator and generator steps per iteration must be in 1.." +
                           std::to_string(kMaxPlayerSteps) + ", got " +
                           std::to_string(a.d_steps) + " and " + std::to_string(a.g_steps));
  }
  if (!(a.gan_reg >= 0) || !std::isfinite(a.gan_reg)) {
    return InvalidArgument("the GAN regulariser's lambda must be a finite number >= 0, got " +
                           std::to_string(a.gan_reg));
  }
  if (family != Family::kGan && family != Family::kAli && a.gan_reg != 0) {
    return InvalidArgument("the regulariser (gan_reg) is a GAN's or ALI's generator's; shape '" +
                           std::string(model->shape().name) + "' is " + FamilyName(family));
  }
  if (options.objective != Objective::kElbo || options.precision != Precision::kFp32 ||
      options.binarization != Binarization::kNone) {
    return InvalidArgument("an adversarial family trains in fp32 on grey images (no objective, "
                           "precision or binarization to choose)");
  }
  if (!model->shape().has_critic()) {
    return InvalidArgument("shape '" + std::string(model->shape().name) + "' has no "
                           "discriminator to train against (train the shape it was deployed "
                           "from)");
  }
  const size_t batch = static_cast<size_t>(options.batch);
  std::unique_ptr<Players> players;
  if (family == Family::kGan) {
    EVAE_ASSIGN_OR_RETURN(GanStep step, GanStep::Create(*model, batch, a.gan_reg));
    players = std::make_unique<GanStep>(std::move(step));
  } else if (family == Family::kAli) {
    EVAE_ASSIGN_OR_RETURN(AliStep step, AliStep::Create(*model, batch, a.ali_loss, a.gan_reg));
    players = std::make_unique<AliStep>(std::move(step));
  } else if (family == Family::kAae) {
    EVAE_ASSIGN_OR_RETURN(AaeStep step, AaeStep::Create(*model, batch, a.aae_lambda));
    players = std::make_unique<AaeStep>(std::move(step));
  } else {
    return Internal("CreateAdversarialTrainer: shape '" + std::string(model->shape().name) +
                    "' is not adversarial");
  }
  auto t = std::make_unique<AdversarialTrainer>(model, runtime, options, std::move(players));
  if (!t->allocated()) return Internal("out of memory allocating training buffers");
  return std::unique_ptr<Trainer>(std::move(t));
}

}  // namespace edgevae
