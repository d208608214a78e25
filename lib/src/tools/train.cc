// Training: epochs of shuffled minibatches, each a loss and gradient (tools/backprop.h) and one
// Adam step, with the gradient checked for non-finite values before it is applied.
#include "edgevae/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "edgevae/rng.h"
#include "kernels/denormals.h"
#include "kernels/elementwise.h"
#include "kernels/gemm_bf16.h"
#include "tools/adam.h"
#include "tools/backprop.h"
#include "tools/epoch_order.h"
#include "tools/adversarial_trainer.h"
#include "tools/since.h"

namespace edgevae {
namespace {

class TrainerImpl final : public Trainer {
 public:
  TrainerImpl(Model* model, Runtime* runtime, const TrainOptions& options,
              std::unique_ptr<Backprop> backprop)
      : model_(model),
        rt_(runtime),
        opt_(options),
        b_(static_cast<size_t>(options.batch)),
        in_(static_cast<size_t>(model->shape().input)),
        backprop_(std::move(backprop)) {}

  StatusOr<EpochResult> TrainEpoch(const ImageSet& data, const ProgressFn& progress) override {
    const ScopedFlushDenormals flush;  // every entry point (train.h)
    if (static_cast<size_t>(data.pixels_per_image()) != in_) {
      return InvalidArgument("training images have " + std::to_string(data.pixels_per_image()) +
                             " pixels, the model's input is " + std::to_string(in_));
    }
    if (data.count <= 0) return InvalidArgument("no training images");
    uint8_t* labels = backprop_->label_rows();
    if (labels != nullptr && data.labels.size() != static_cast<size_t>(data.count)) {
      return InvalidArgument("a classifier trains on labelled images; these " +
                             std::to_string(data.count) + " images have " +
                             std::to_string(data.labels.size()) + " labels");
    }
    const int epoch = model_->metadata().epochs + 1;
    const size_t count = static_cast<size_t>(data.count);

    const std::vector<uint32_t> order = EpochOrder(count, opt_.seed, epoch);

    const int batches = static_cast<int>((count + b_ - 1) / b_);
    const auto start = Clock::now();
    double total = 0;
    for (int step = 0; step < batches; ++step) {
      const size_t first = static_cast<size_t>(step) * b_;
      const size_t n = std::min(b_, count - first);
      float* rows = backprop_->input_rows();
      for (size_t i = 0; i < n; ++i) {
        const uint32_t index = order[first + i];
        const uint8_t* image = data.image(static_cast<int>(index));
        if (opt_.binarization != Binarization::kNone) {
          BinarizeImage(image, in_, opt_.seed, TrainingPass(opt_.binarization, epoch), index,
                        binarized_.data());
          image = binarized_.data();
        }
        simd::U8ToF32(image, rows + i * in_, in_);
        if (labels != nullptr) labels[i] = data.labels[index];
      }
      EVAE_ASSIGN_OR_RETURN(double loss, StepOnRows(n, epoch, step));
      total += loss;
      if (progress) {
        BatchProgress p;
        p.epoch = epoch;
        p.batch = step + 1;
        p.batches = batches;
        p.seconds = Since(start);
        p.loss = total / static_cast<double>(first + n);
        p.images_per_s = static_cast<double>(first + n) / std::max(p.seconds, 1e-9);
        progress(p);
      }
    }
    EpochResult result;
    result.epoch = epoch;
    result.seconds = Since(start);
    result.train_loss = total / static_cast<double>(count);
    ModelMetadata& meta = model_->metadata();
    meta.epochs = epoch;
    meta.train_loss = result.train_loss;
    meta.seed = opt_.seed;
    meta.batch = opt_.batch;
    meta.lr = opt_.lr;
    meta.lr_decay = opt_.lr_decay;
    return result;
  }

  StatusOr<double> Step(const uint8_t* pixels, int n, int epoch, int step,
                        const uint8_t* labels) override {
    const ScopedFlushDenormals flush;
    EVAE_RETURN_IF_ERROR(CheckBatch(n));
    EVAE_RETURN_IF_ERROR(SetLabels(labels, n));
    simd::U8ToF32(pixels, backprop_->input_rows(), static_cast<size_t>(n) * in_);
    return StepOnRows(static_cast<size_t>(n), epoch, step);
  }

  StatusOr<double> LossAndGradient(const float* x, int n, int epoch, int step, float* grad,
                                   const uint8_t* labels) override {
    const ScopedFlushDenormals flush;
    EVAE_RETURN_IF_ERROR(CheckBatch(n));
    EVAE_RETURN_IF_ERROR(SetLabels(labels, n));
    std::copy(x, x + static_cast<size_t>(n) * in_, backprop_->input_rows());
    EVAE_ASSIGN_OR_RETURN(double loss, ForwardBackward(static_cast<size_t>(n), epoch, step));
    std::copy(backprop_->grad(), backprop_->grad() + model_->param_floats(), grad);
    return loss;
  }

  const StepProfile& profile() const override { return profile_; }
  Precision precision() const override { return opt_.precision; }
  void EnableProfile(bool on) override {
    profiling_ = on;
    profile_ = StepProfile();
  }

 private:
  // A classifier's step needs the batch's labels; a VAE's ignores them.
  Status SetLabels(const uint8_t* labels, int n) {
    uint8_t* rows = backprop_->label_rows();
    if (rows == nullptr) return Status::Ok();
    if (labels == nullptr) return InvalidArgument("a classifier's step needs the batch's labels");
    std::copy(labels, labels + n, rows);
    return Status::Ok();
  }

  Status CheckBatch(int n) const {
    if (n <= 0 || static_cast<size_t>(n) > b_) {
      return InvalidArgument("batch of " + std::to_string(n) + " images; the trainer takes 1.." +
                             std::to_string(b_));
    }
    return Status::Ok();
  }

  StatusOr<double> StepOnRows(size_t n, int epoch, int step) {
    EVAE_ASSIGN_OR_RETURN(double loss, ForwardBackward(n, epoch, step));
    if (!std::isfinite(loss)) {
      return DataError("training diverged: loss is " + std::to_string(loss) + " at epoch " +
                       std::to_string(epoch) + ", step " + std::to_string(step + 1) +
                       " (parameters left at the previous step)");
    }
    // XNNPACK's output clamp turns NaN into a finite value, and a ReLU then hides it, so a NaN
    // parameter need not show in the loss; the gradient is checked before Adam applies it. Adam
    // is then one pass that reads and writes each parameter, moment and gradient entry once.
    const auto t0 = Clock::now();
    EVAE_RETURN_IF_ERROR(CheckGradient(epoch, step));
    AdamState& adam = model_->optimizer();
    adam.step += 1;
    const double lr = opt_.lr * std::pow(opt_.lr_decay, epoch - 1);  // 1.0^k is exactly 1
    AdamStep(opt_, lr, adam.step, model_->params(), adam.m.data(), adam.v.data(),
             backprop_->grad(), model_->param_floats(), rt_->pool());
    if (profiling_) profile_.optimizer_s += Since(t0);
    return loss;
  }

  // The backward pass checked the gradient as it produced it; if it is not finite, name the
  // first tensor that is not.
  Status CheckGradient(int epoch, int step) {
    if (backprop_->gradient_finite()) return Status::Ok();
    const float* g = backprop_->grad();
    std::string where = "a parameter";
    for (const TensorView& tv : model_->tensors()) {
      if (!simd::AllFinite(g + tv.offset, tv.size())) {
        where = tv.name;
        break;
      }
    }
    return DataError("training diverged: the gradient of " + where + " is not finite at epoch " +
                     std::to_string(epoch) + ", step " + std::to_string(step + 1) +
                     " (parameters left at the previous step)");
  }

  // Loss (summed over the batch) and gradient, for the first n input rows.
  StatusOr<double> ForwardBackward(size_t n, int epoch, int step) {
    return backprop_->Run(model_->params(), n, epoch, step, profiling_ ? &profile_ : nullptr);
  }

  Model* model_;
  Runtime* rt_;
  TrainOptions opt_;
  size_t b_;
  size_t in_;
  std::unique_ptr<Backprop> backprop_;
  std::vector<uint8_t> binarized_ = std::vector<uint8_t>(in_);  // one image's draw
  bool profiling_ = false;
  StepProfile profile_;
};

}  // namespace

const char* PrecisionName(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

const char* ObjectiveName(Objective o) { return o == Objective::kIwae ? "iwae" : "elbo"; }

const char* AliLossName(AliLoss l) { return l == AliLoss::kStandard ? "standard" : "su"; }

bool Bf16TrainingAvailable() { return gemm::Bf16Available(); }

double TrainingFlopsPerImage(const ShapeInfo& shape) {
  // Forward products (as many multiply-adds as the weight gradients) and the input gradients of
  // every layer but the first.
  double forward = 0, input_grads = 0;
  for (size_t i = 0; i < shape.layers.size(); ++i) {
    const double macs = static_cast<double>(shape.layers[i].in) * shape.layers[i].out;
    forward += macs;
    if (i > 0) input_grads += macs;
  }
  return 2 * (2 * forward + input_grads);
}

StatusOr<std::unique_ptr<Trainer>> CreateTrainer(Model* model, Runtime* runtime,
                                                 const TrainOptions& options) {
  if (model == nullptr || runtime == nullptr) return InvalidArgument("CreateTrainer: null model");
  if (model->shape().family == Family::kClassifier &&
      (options.objective != Objective::kElbo || options.precision != Precision::kFp32 ||
       options.binarization != Binarization::kNone)) {
    return InvalidArgument("shape '" + std::string(model->shape().name) + "' is a " +
                           FamilyName(model->shape().family) +
                           ": it trains in fp32 on its cross-entropy over grey images (no "
                           "objective, precision or binarization to choose)");
  }
  if (model->shape().is_vae() && !model->shape().has_encoder()) {
    return Unsupported("shape '" + std::string(model->shape().name) +
                       "' is a VAE's decoder alone, cut from a trained model for a device: train "
                       "the whole VAE");
  }
  if (options.batch < 1 || options.batch > kMaxTrainBatch) {
    return InvalidArgument("batch size " + std::to_string(options.batch) + " is outside 1.." +
                           std::to_string(kMaxTrainBatch));
  }
  if (!(options.lr_decay > 0 && options.lr_decay <= 1)) {
    return InvalidArgument("learning-rate decay must be in (0, 1], got " +
                           std::to_string(options.lr_decay));
  }
  if (!(options.lr > 0) || !std::isfinite(options.lr)) {
    return InvalidArgument("learning rate must be a positive number, got " +
                           std::to_string(options.lr));
  }
  if (const std::string bad = model->FirstNonFinite(); !bad.empty()) {
    return DataError("cannot train a model with a non-finite parameter: " + bad);
  }
  if (options.objective == Objective::kIwae &&
      (options.iw_samples < 1 || options.iw_samples > kMaxIwSamples ||
       options.batch * options.iw_samples > kMaxTrainBatch * 16)) {
    return InvalidArgument("importance samples per image must be in 1.." +
                           std::to_string(kMaxIwSamples) + ", and batch x samples at most " +
                           std::to_string(kMaxTrainBatch * 16) + "; got " +
                           std::to_string(options.iw_samples) + " with a batch of " +
                           std::to_string(options.batch));
  }
  model->EnsureOptimizer();
  const Family family = model->shape().family;
  if (family == Family::kGan || family == Family::kAli || family == Family::kAae) {
    return CreateAdversarialTrainer(model, runtime, options);
  }
  TrainOptions effective = options;
  if (!Bf16TrainingAvailable()) effective.precision = Precision::kFp32;
  const size_t iw = options.objective == Objective::kIwae
                        ? static_cast<size_t>(options.iw_samples) : 0;
  EVAE_ASSIGN_OR_RETURN(
      std::unique_ptr<Backprop> backprop,
      Backprop::Create(*model, runtime, static_cast<size_t>(options.batch), options.seed,
                       FirstLayer::kAuto, effective.precision == Precision::kBf16, iw));
  return std::unique_ptr<Trainer>(
      new TrainerImpl(model, runtime, effective, std::move(backprop)));
}

}  // namespace edgevae
