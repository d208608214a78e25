// The training step. Layout choice (the reason this file looks the way it does):
//
// XNNPACK's fully-connected operator packs its "weights" operand when it is created, and in
// training every operand changes every step, so each of the 11 GEMMs of a step creates an
// operator. Packing costs a pass over the packed operand, so we pack the smaller one: the batch's
// activations (<= 128 x 784) rather than the weights (up to 784 x 400). Keeping activations
// feature-major ([features][batch], written "^T" below) makes that work for the big products:
//
//   forward      H1^T = W1 . X^T     MV = H1 . W2^T       H3^T = W3 . Z^T     L^T = W4 . H3^T
//   input grads  dH3^T = W4^T . dL^T dZ = dH3 . W3        dH1^T = W2^T . dMV^T
//   weight grads dW4 = dL^T . H3     dW3 = dH3^T . Z      dW2^T = H1^T . dMV  dW1 = dH1^T . X
//
// The left factor is XNNPACK's streamed input (row-major), the right one the packed operand; the
// outputs land feature-major or, for weight gradients, directly in PyTorch's [out][in] layout
// inside the flat gradient array. Where the packed activation would be far larger than the
// weight (fc2 and dZ: 400 x 128 against 40 x 400 and 400 x 20) the product runs batch-major on
// the packed weight instead, with cheap transposes of the 400-wide activation around it; dW2 is
// computed transposed so that it packs the 40-row dMV rather than the 400-row H1. The other
// input-gradient products stream W^T: a transpose of W4 (one read and one write of 1.25 MB) is
// cheaper than letting XNNPACK pack it. Packings that do not depend on each other run
// concurrently (XNNPACK packs on one thread). Biases, ReLU, the loss and the reparameterisation
// are per-row Highway kernels over contiguous batch rows.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <initializer_list>
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
    rows_hid_.Resize(b_ * kHid);
    rows_small_.Resize(b_ * 2 * kLat);
    w2t_.Resize(kHid * 2 * kLat);
    dw2t_.Resize(kHid * 2 * kLat);
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
    // XNNPACK's output clamp turns NaN into a finite value, and a ReLU then hides it, so a NaN
    // parameter need not show in the loss; the gradient is checked before Adam applies it.
    const auto t0 = Clock::now();
    EVAE_RETURN_IF_ERROR(CheckGradient(epoch, step));
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

  Status CheckGradient(int epoch, int step) {
    const float* g = grad_.data();
    std::vector<uint8_t> ok((grad_.size() + kCheckTile - 1) / kCheckTile);
    ParallelTiles(rt_->pool(), grad_.size(), kCheckTile, [&](size_t begin, size_t end) {
      for (size_t b = begin; b < end; b += kCheckTile) {
        ok[b / kCheckTile] = simd::AllFinite(g + b, std::min(end, b + kCheckTile) - b);
      }
    });
    if (std::find(ok.begin(), ok.end(), 0) == ok.end()) return Status::Ok();
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
  static constexpr size_t kCheckTile = 16384;

  // An operator whose packed operand is `b` (n x k in `layout`), dense strides.
  struct PackSpec {
    size_t n, k;
    const float* b;
    gemm::BLayout layout;
  };
  static StatusOr<gemm::PackedGemm> Pack(const PackSpec& s) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    return gemm::PackedGemm::Create(s.n, s.k, s.b, s.layout, nullptr, -kInf, kInf, s.k, s.n);
  }

  // Packs operators concurrently, spread over the threads: XNNPACK packs on the calling thread
  // only, so a lone create leaves the other cores idle. `other` (may be empty) runs as one more
  // task beside the packing.
  struct PackJob {
    PackSpec spec;
    gemm::PackedGemm* op;
  };
  Status PackAll(std::initializer_list<PackJob> jobs, const std::function<void()>& other = {}) {
    const auto t0 = Clock::now();
    const std::vector<PackJob> list(jobs);
    std::vector<Status> status(list.size());
    const size_t tasks = list.size() + (other ? 1 : 0);
    auto work = [&](size_t i) {
      if (i == list.size()) {
        other();
        return;
      }
      auto r = Pack(list[i].spec);
      if (r.ok()) {
        *list[i].op = std::move(r).value();
      } else {
        status[i] = r.status();
      }
    };
    const ForkJoinTask task(work);  // for ThreadSanitizer (core/parallel.h)
    if (rt_->pool() == nullptr || tasks == 1) {
      for (size_t i = 0; i < tasks; ++i) task(i);
    } else {
      pthreadpool_parallelize_1d(rt_->pool(), task, tasks, /*flags=*/0);
    }
    task.Joined();
    if (profiling_) profile_.pack_s += Since(t0);
    for (const Status& st : status) EVAE_RETURN_IF_ERROR(st);
    return Status::Ok();
  }

  // C[m][n] = A[m][k] . B^T on a packed operator.
  Status Run(gemm::PackedGemm& op, size_t m, const float* a, float* c) {
    const auto t0 = Clock::now();
    Status st = op.Run(m, a, c, rt_->pool());
    if (profiling_) profile_.gemm_s += Since(t0);
    return st;
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
    const double pack_before = profile_.pack_s, gemm_before = profile_.gemm_s,
                 elem_before = profile_.elementwise_s;

    // X^T, and the noise for this step.
    const auto t0 = Clock::now();
    simd::Transpose(xrows_.data(), n, kIn, kIn, xt_.data(), n);
    FillNormal(RngStream(opt_.seed, StreamId(RngPurpose::kTrainNoise, static_cast<uint32_t>(epoch),
                                             static_cast<uint32_t>(step))),
               0, eps_.data(), kLat * n);
    if (profiling_) profile_.elementwise_s += Since(t0);

    // ---- operators on this step's weights and on X, packed together: X as [k][n] for fc1 and as
    // [n][k] for dW1, W2 for fc2 and W3 for dZ (batch-major products: a 40- or 20-column weight
    // packs in a fraction of the time of the 400-row activation it would otherwise be), and
    // meanwhile the transposes of W4 and W2 that the input-gradient products stream.
    gemm::PackedGemm fc1, fc2, dz, dw1, dw2, dw3, dw4;
    EVAE_RETURN_IF_ERROR(PackAll({{{n, kIn, xt_.data(), BLayout::kKN}, &fc1},
                                  {{kLat, kHid, w + p.w3, BLayout::kKN}, &dz},
                                  {{2 * kLat, kHid, w + p.w2, BLayout::kNK}, &fc2},
                                  {{kIn, n, xt_.data(), BLayout::kNK}, &dw1}},
                                 [&] {
                                   simd::Transpose(w + p.w4, kIn, kHid, kHid, w4t_.data(), kIn);
                                   simd::Transpose(w + p.w2, 2 * kLat, kHid, kHid, w2t_.data(),
                                                   2 * kLat);
                                 }));

    // ---- forward. fc3's and fc4's inputs are packed twice at once: as [k][n] for the next layer
    // and as [n][k] for the layer's weight gradient (kept until the backward pass reaches it).
    EVAE_RETURN_IF_ERROR(Run(fc1, kHid, w + p.w1, h1t_.data()));
    Rows(kHid, [&](size_t r) { simd::BiasRelu(h1t_.data() + r * n, w[p.b1 + r], n); });
    simd::Transpose(h1t_.data(), kHid, n, n, rows_hid_.data(), kHid);  // H1, batch-major
    EVAE_RETURN_IF_ERROR(Run(fc2, n, rows_hid_.data(), rows_small_.data()));
    const auto t1 = Clock::now();
    simd::Transpose(rows_small_.data(), n, 2 * kLat, 2 * kLat, mvt_.data(), n);
    const float* mu = mvt_.data();
    const float* logvar = mvt_.data() + kLat * n;
    for (size_t r = 0; r < 2 * kLat; ++r) simd::AddBias(mvt_.data() + r * n, w[p.b2 + r], n);
    const double kl =
        simd::ReparamForward(mu, logvar, eps_.data(), zt_.data(), std_.data(), kLat * n);
    if (profiling_) profile_.elementwise_s += Since(t1);
    gemm::PackedGemm fwd;
    EVAE_RETURN_IF_ERROR(PackAll({{{n, kLat, zt_.data(), BLayout::kKN}, &fwd},
                                  {{kLat, n, zt_.data(), BLayout::kNK}, &dw3}}));
    EVAE_RETURN_IF_ERROR(Run(fwd, kHid, w + p.w3, h3t_.data()));
    Rows(kHid, [&](size_t r) { simd::BiasRelu(h3t_.data() + r * n, w[p.b3 + r], n); });
    EVAE_RETURN_IF_ERROR(PackAll({{{n, kHid, h3t_.data(), BLayout::kKN}, &fwd},
                                  {{kHid, n, h3t_.data(), BLayout::kNK}, &dw4}}));
    EVAE_RETURN_IF_ERROR(Run(fwd, kIn, w + p.w4, lt_.data()));
    // Loss and dL = sigmoid(logits) - x, in place; bias gradient per pixel row.
    Rows(kIn, [&](size_t r) {
      row_loss_[r] = simd::BceWithLogitsGrad(lt_.data() + r * n, xt_.data() + r * n, w[p.b4 + r],
                                             n, &g[p.b4 + r]);
    });
    double loss = kl;
    for (size_t r = 0; r < kIn; ++r) loss += row_loss_[r];

    // ---- backward
    EVAE_RETURN_IF_ERROR(Run(dw4, kIn, lt_.data(), g + p.w4));
    gemm::PackedGemm igrad;
    EVAE_RETURN_IF_ERROR(PackAll({{{n, kIn, lt_.data(), BLayout::kKN}, &igrad}}));
    EVAE_RETURN_IF_ERROR(Run(igrad, kHid, w4t_.data(), dh3t_.data()));
    Rows(kHid, [&](size_t r) {
      g[p.b3 + r] = simd::ReluBackward(dh3t_.data() + r * n, h3t_.data() + r * n, n);
    });
    EVAE_RETURN_IF_ERROR(Run(dw3, kHid, dh3t_.data(), g + p.w3));
    simd::Transpose(dh3t_.data(), kHid, n, n, rows_hid_.data(), kHid);  // dH3, batch-major
    EVAE_RETURN_IF_ERROR(Run(dz, n, rows_hid_.data(), rows_small_.data()));
    const auto t3 = Clock::now();
    simd::Transpose(rows_small_.data(), n, kLat, kLat, dzt_.data(), n);
    for (size_t r = 0; r < kLat; ++r) {
      const size_t o = r * n;
      simd::ReparamBackward(dzt_.data() + o, mu + o, logvar + o, eps_.data() + o, std_.data() + o,
                            dmvt_.data() + o, dmvt_.data() + kLat * n + o, n, &g[p.b2 + r],
                            &g[p.b2 + kLat + r]);
    }
    if (profiling_) profile_.elementwise_s += Since(t3);
    // dW2^T = H1^T . dMV packs dMV^T (2*latent x n) rather than H1 (hidden x n); the result is
    // transposed into place below.
    EVAE_RETURN_IF_ERROR(PackAll({{{n, 2 * kLat, dmvt_.data(), BLayout::kKN}, &igrad},
                                  {{2 * kLat, n, dmvt_.data(), BLayout::kNK}, &dw2}}));
    EVAE_RETURN_IF_ERROR(Run(dw2, kHid, h1t_.data(), dw2t_.data()));
    simd::Transpose(dw2t_.data(), kHid, 2 * kLat, 2 * kLat, g + p.w2, kHid);
    EVAE_RETURN_IF_ERROR(Run(igrad, kHid, w2t_.data(), dh1t_.data()));
    Rows(kHid, [&](size_t r) {
      g[p.b1 + r] = simd::ReluBackward(dh1t_.data() + r * n, h1t_.data() + r * n, n);
    });
    EVAE_RETURN_IF_ERROR(Run(dw1, kHid, dh1t_.data(), g + p.w1));

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
  AlignedBuffer<float> rows_hid_, rows_small_;  // batch-major scratch: H1 or dH3; MV or dZ
  AlignedBuffer<float> w4t_, w2t_, dw2t_, grad_;
  std::vector<float> row_loss_;
  bool profiling_ = false;
  StepProfile profile_;
};

}  // namespace

double TrainingFlopsPerImage(const ShapeInfo& shape) {
  const double in = shape.input, hid = shape.hidden, lat = shape.latent;
  const double forward = in * hid + hid * 2 * lat + lat * hid + hid * in;  // = weight gradients
  const double input_grads = hid * in + lat * hid + 2 * lat * hid;
  return 2 * (2 * forward + input_grads);
}

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
  if (const std::string bad = model->FirstNonFinite(); !bad.empty()) {
    return DataError("cannot train a model with a non-finite parameter: " + bad);
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
