// The training step. Layout choice (the reason this file looks the way it does):
//
// XNNPACK's fully-connected operator packs its "weights" operand when it is created, and in
// training every operand changes every step, so each of the 11 GEMMs of a step creates an
// operator. Packing costs a pass over the packed operand, so we pack the smaller one: the batch's
// activations (<= 128 x 784) rather than the weights (up to 784 x 400). Keeping activations
// feature-major ([features][batch], written "^T" below) makes that work for every product:
//
//   forward     H1^T = W1 . X^T      MV^T = W2 . H1^T     H3^T = W3 . Z^T     L^T = W4 . H3^T
//   input grads dH3^T = W4^T . dL^T  dZ^T = W3^T . dH3^T  dH1^T = W2^T . dMV^T
//   weight grads dW4 = dL^T . H3     dW3 = dH3^T . Z      dW2 = dMV^T . H1    dW1 = dH1^T . X
//
// The left factor is XNNPACK's streamed input (weights, or a gradient, row-major), the right one
// the packed operand (an activation, given [k][n] or [n][k]); the outputs land feature-major or,
// for weight gradients, directly in PyTorch's [out][in] layout inside the flat gradient array.
// The three input-gradient products need W^T as a streamed input: a blocked transpose of W4 (one
// read and one write of 1.25 MB) is cheaper than letting XNNPACK pack it. Biases, ReLU, the loss
// and the reparameterisation are per-row Highway kernels over contiguous batch rows.
#include <cmath>
#include <chrono>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "edgevae/rng.h"
#include "edgevae/train.h"
#include "gemm/gemm.h"
#include "simd/kernels.h"

namespace edgevae {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

template <class S>
class TrainerImpl final : public Trainer {
 public:
  static constexpr size_t kIn = S::kIn, kHid = S::kHid, kLat = S::kLat;

  TrainerImpl(Model* model, Runtime* runtime, const TrainOptions& options)
      : model_(model), rt_(runtime), opt_(options), b_(static_cast<size_t>(options.batch)) {
    xrows_.Resize(b_ * kIn);
    xt_.Resize(kIn * b_);
    h1t_.Resize(kHid * b_);
    mvt_.Resize(2 * kLat * b_);
    eps_.Resize(kLat * b_);
    zt_.Resize(kLat * b_);
    std_.Resize(kLat * b_);
    h3t_.Resize(kHid * b_);
    lt_.Resize(kIn * b_);
    dh3t_.Resize(kHid * b_);
    dzt_.Resize(kLat * b_);
    dmvt_.Resize(2 * kLat * b_);
    dh1t_.Resize(kHid * b_);
    w4t_.Resize(kHid * kIn);
    w3t_.Resize(kLat * kHid);
    w2t_.Resize(kHid * 2 * kLat);
    grad_.Resize(model->param_floats());
    row_loss_.resize(kIn);
  }

  bool allocated() const { return !grad_.empty() && !lt_.empty() && !w4t_.empty(); }

  StatusOr<EpochResult> TrainEpoch(const ImageSet& data, const ProgressFn& progress) override {
    if (static_cast<size_t>(data.pixels_per_image()) != kIn) {
      return InvalidArgument("training images have " + std::to_string(data.pixels_per_image()) +
                             " pixels, the model's input is " + std::to_string(kIn));
    }
    if (data.count <= 0) return InvalidArgument("no training images");
    const int epoch = model_->metadata().epochs + 1;
    const size_t count = static_cast<size_t>(data.count);

    // Fisher-Yates with draws keyed by (seed, epoch): the same permutation on any machine.
    std::vector<uint32_t> order(count);
    std::iota(order.begin(), order.end(), 0u);
    const RngStream shuffle(opt_.seed, StreamId(RngPurpose::kShuffle, static_cast<uint32_t>(epoch)));
    for (size_t i = count - 1; i > 0; --i) {
      std::swap(order[i], order[shuffle.Below(i, static_cast<uint32_t>(i + 1))]);
    }

    const int batches = static_cast<int>((count + b_ - 1) / b_);
    const auto start = Clock::now();
    double total = 0;
    for (int step = 0; step < batches; ++step) {
      const size_t first = static_cast<size_t>(step) * b_;
      const size_t n = std::min(b_, count - first);
      for (size_t i = 0; i < n; ++i) {
        simd::U8ToF32(data.image(static_cast<int>(order[first + i])), xrows_.data() + i * kIn, kIn);
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
    return result;
  }

  StatusOr<double> Step(const uint8_t* pixels, int n, int epoch, int step) override {
    EVAE_RETURN_IF_ERROR(CheckBatch(n));
    simd::U8ToF32(pixels, xrows_.data(), static_cast<size_t>(n) * kIn);
    return StepOnRows(static_cast<size_t>(n), epoch, step);
  }

  StatusOr<double> LossAndGradient(const float* x, int n, int epoch, int step,
                                   float* grad) override {
    EVAE_RETURN_IF_ERROR(CheckBatch(n));
    std::copy(x, x + static_cast<size_t>(n) * kIn, xrows_.data());
    EVAE_ASSIGN_OR_RETURN(double loss, ForwardBackward(static_cast<size_t>(n), epoch, step));
    std::copy(grad_.data(), grad_.data() + grad_.size(), grad);
    return loss;
  }

  const StepProfile& profile() const override { return profile_; }
  void EnableProfile(bool on) override {
    profiling_ = on;
    profile_ = StepProfile();
  }

 private:
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
    const auto t0 = Clock::now();
    AdamState& adam = model_->optimizer();
    adam.step += 1;
    const double t = static_cast<double>(adam.step);
    const float step_size = static_cast<float>(opt_.lr / (1.0 - std::pow(opt_.beta1, t)));
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(opt_.beta2, t)));
    float* w = model_->params();
    float* m = adam.m.data();
    float* v = adam.v.data();
    const float* g = grad_.data();
    ParallelTiles(rt_->pool(), grad_.size(), 16384, [&](size_t begin, size_t end) {
      simd::AdamUpdate(w + begin, m + begin, v + begin, g + begin, end - begin, opt_.beta1,
                       opt_.beta2, step_size, inv_sqrt_bc2, opt_.eps);
    });
    if (profiling_) profile_.optimizer_s += Since(t0);
    return loss;
  }

  // C[m][n] = A[m][k] . B^T with B packed from `b` (n x k in `layout`), all dense.
  Status Gemm(size_t m, size_t n, size_t k, const float* a, const float* b, gemm::BLayout layout,
              float* c) {
    const auto t0 = Clock::now();
    constexpr float kInf = std::numeric_limits<float>::infinity();
    EVAE_ASSIGN_OR_RETURN(gemm::PackedGemm op,
                          gemm::PackedGemm::Create(n, k, b, layout, nullptr, -kInf, kInf, k, n));
    const auto t1 = Clock::now();
    EVAE_RETURN_IF_ERROR(op.Run(m, a, c, rt_->pool()));
    if (profiling_) {
      profile_.pack_s += std::chrono::duration<double>(t1 - t0).count();
      profile_.gemm_s += Since(t1);
    }
    return Status::Ok();
  }

  // Per-row element-wise work over `rows` rows of n, in parallel, timed as element-wise.
  template <typename F>
  void Rows(size_t rows, const F& f) {
    const auto t0 = Clock::now();
    ParallelTiles(rt_->pool(), rows, 16, [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r) f(r);
    });
    if (profiling_) profile_.elementwise_s += Since(t0);
  }

  // Loss (summed over the batch) and gradient into grad_, for xrows_[0..n).
  StatusOr<double> ForwardBackward(size_t n, int epoch, int step) {
    using gemm::BLayout;
    const ParamLayout& p = model_->layout();
    const float* w = model_->params();
    float* g = grad_.data();
    const auto t_start = Clock::now();
    double pack_before = profile_.pack_s, gemm_before = profile_.gemm_s,
           elem_before = profile_.elementwise_s;

    // X^T, and the noise for this step.
    const auto t0 = Clock::now();
    gemm::Transpose(xrows_.data(), n, kIn, kIn, xt_.data(), n);
    FillNormal(RngStream(opt_.seed, StreamId(RngPurpose::kTrainNoise, static_cast<uint32_t>(epoch),
                                             static_cast<uint32_t>(step))),
               0, eps_.data(), kLat * n);
    if (profiling_) profile_.elementwise_s += Since(t0);

    // ---- forward
    EVAE_RETURN_IF_ERROR(Gemm(kHid, n, kIn, w + p.w1, xt_.data(), BLayout::kKN, h1t_.data()));
    Rows(kHid, [&](size_t r) { simd::BiasRelu(h1t_.data() + r * n, w[p.b1 + r], n); });
    EVAE_RETURN_IF_ERROR(Gemm(2 * kLat, n, kHid, w + p.w2, h1t_.data(), BLayout::kKN, mvt_.data()));
    const float* mu = mvt_.data();
    const float* logvar = mvt_.data() + kLat * n;
    const auto t1 = Clock::now();
    for (size_t r = 0; r < 2 * kLat; ++r) simd::AddBias(mvt_.data() + r * n, w[p.b2 + r], n);
    const double kl = simd::ReparamForward(mu, logvar, eps_.data(), zt_.data(), std_.data(), kLat * n);
    if (profiling_) profile_.elementwise_s += Since(t1);
    EVAE_RETURN_IF_ERROR(Gemm(kHid, n, kLat, w + p.w3, zt_.data(), BLayout::kKN, h3t_.data()));
    Rows(kHid, [&](size_t r) { simd::BiasRelu(h3t_.data() + r * n, w[p.b3 + r], n); });
    EVAE_RETURN_IF_ERROR(Gemm(kIn, n, kHid, w + p.w4, h3t_.data(), BLayout::kKN, lt_.data()));
    // Loss and dL = sigmoid(logits) - x, in place; bias gradient per pixel row.
    Rows(kIn, [&](size_t r) {
      row_loss_[r] = simd::BceWithLogitsGrad(lt_.data() + r * n, xt_.data() + r * n, w[p.b4 + r],
                                             n, &g[p.b4 + r]);
    });
    double loss = kl;
    for (size_t r = 0; r < kIn; ++r) loss += row_loss_[r];

    // ---- backward
    EVAE_RETURN_IF_ERROR(Gemm(kIn, kHid, n, lt_.data(), h3t_.data(), BLayout::kNK, g + p.w4));
    gemm::Transpose(w + p.w4, kIn, kHid, kHid, w4t_.data(), kIn);  // timed as "other"
    gemm::Transpose(w + p.w3, kHid, kLat, kLat, w3t_.data(), kHid);
    gemm::Transpose(w + p.w2, 2 * kLat, kHid, kHid, w2t_.data(), 2 * kLat);
    EVAE_RETURN_IF_ERROR(Gemm(kHid, n, kIn, w4t_.data(), lt_.data(), BLayout::kKN, dh3t_.data()));
    Rows(kHid, [&](size_t r) {
      g[p.b3 + r] = simd::ReluBackward(dh3t_.data() + r * n, h3t_.data() + r * n, n);
    });
    EVAE_RETURN_IF_ERROR(Gemm(kHid, kLat, n, dh3t_.data(), zt_.data(), BLayout::kNK, g + p.w3));
    EVAE_RETURN_IF_ERROR(Gemm(kLat, n, kHid, w3t_.data(), dh3t_.data(), BLayout::kKN, dzt_.data()));
    const auto t3 = Clock::now();
    for (size_t r = 0; r < kLat; ++r) {
      const size_t o = r * n;
      simd::ReparamBackward(dzt_.data() + o, mu + o, logvar + o, eps_.data() + o, std_.data() + o,
                            dmvt_.data() + o, dmvt_.data() + kLat * n + o, n, &g[p.b2 + r],
                            &g[p.b2 + kLat + r]);
    }
    if (profiling_) profile_.elementwise_s += Since(t3);
    EVAE_RETURN_IF_ERROR(Gemm(2 * kLat, kHid, n, dmvt_.data(), h1t_.data(), BLayout::kNK, g + p.w2));
    EVAE_RETURN_IF_ERROR(
        Gemm(kHid, n, 2 * kLat, w2t_.data(), dmvt_.data(), BLayout::kKN, dh1t_.data()));
    Rows(kHid, [&](size_t r) {
      g[p.b1 + r] = simd::ReluBackward(dh1t_.data() + r * n, h1t_.data() + r * n, n);
    });
    EVAE_RETURN_IF_ERROR(Gemm(kHid, kIn, n, dh1t_.data(), xt_.data(), BLayout::kNK, g + p.w1));

    if (profiling_) {
      const double accounted = (profile_.pack_s - pack_before) + (profile_.gemm_s - gemm_before) +
                               (profile_.elementwise_s - elem_before);
      profile_.other_s += Since(t_start) - accounted;
      profile_.steps += 1;
    }
    return loss;
  }

  Model* model_;
  Runtime* rt_;
  TrainOptions opt_;
  size_t b_;
  AlignedBuffer<float> xrows_, xt_, h1t_, mvt_, eps_, zt_, std_, h3t_, lt_, dh3t_, dzt_, dmvt_,
      dh1t_;
  AlignedBuffer<float> w4t_, w3t_, w2t_, grad_;
  std::vector<float> row_loss_;
  bool profiling_ = false;
  StepProfile profile_;
};

}  // namespace

StatusOr<std::unique_ptr<Trainer>> CreateTrainer(Model* model, Runtime* runtime,
                                                 const TrainOptions& options) {
  if (model == nullptr || runtime == nullptr) return InvalidArgument("CreateTrainer: null model");
  if (options.batch < 1 || options.batch > 4096) {
    return InvalidArgument("batch size " + std::to_string(options.batch) + " is outside 1..4096");
  }
  if (!(options.lr > 0) || !std::isfinite(options.lr)) {
    return InvalidArgument("learning rate must be a positive number, got " +
                           std::to_string(options.lr));
  }
  model->EnsureOptimizer();
  return VisitShape(model->shape(), [&](auto shape) -> StatusOr<std::unique_ptr<Trainer>> {
    using S = decltype(shape);
    auto trainer = std::make_unique<TrainerImpl<S>>(model, runtime, options);
    if (!trainer->allocated()) return Internal("out of memory allocating training buffers");
    return std::unique_ptr<Trainer>(std::move(trainer));
  });
}

}  // namespace edgevae
