#include "tools/backprop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "edgevae/buffer.h"
#include "edgevae/rng.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/loss.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "kernels/sparse.h"
#include "tools/backprop_plan.h"
#include "tools/lit_pixels.h"
#include "tools/log_mean_exp.h"
#include "tools/since.h"

namespace edgevae {
namespace {

// Above this share of lit pixels in a batch the first layer's products run dense: a sparse entry
// costs a load per multiply-add where the dense product reuses registers (BM_FirstLayer,
// docs/performance.md). On x86 the unpacked dense products run near the FMA's peak and the two
// ways cost the same at about 27 % lit (random pixels; real digits cluster, which favours the
// sparse side). On aarch64 a sparse entry is about 0.43 instructions per multiply-add against
// the dense tile's 0.30, so the sparse side stays cheaper far above 35 %; 35 % is where it was
// measured to be. MNIST batches are about 19 % lit, Fashion-MNIST about 50 %.
#if defined(__aarch64__) || defined(__arm__)
constexpr double kSparseMaxDensity = 0.35;
#else
constexpr double kSparseMaxDensity = 0.25;
#endif

class BackpropImpl final : public Backprop {
 public:
  BackpropImpl(const Model& model, Runtime* runtime, size_t max_batch, uint64_t seed,
               FirstLayer first_layer, bool bf16, size_t iw_samples)
      : rt_(runtime),
        bf16_(bf16),
        k_(iw_samples),
        b_(max_batch * std::max<size_t>(iw_samples, 1)),
        seed_(seed),
        in_(model.shape().input),
        lat_(model.shape().latent),
        units_(Plan(model.shape(), model.layout())),
        first_layer_(units_[0].kind == UnitKind::kHidden ? first_layer : FirstLayer::kDense) {
    xrows_.Resize(b_ * in_);
    xt_.Resize(in_ * b_);
    zt_.Resize(lat_ * b_);
    eps_.Resize(lat_ * b_);
    std_.Resize(lat_ * b_);
    dzt_.Resize(lat_ * b_);
    yt_.resize(units_.size());
    dyt_.resize(units_.size());
    wt_.resize(units_.size());
    size_t widest = 0, largest = 0;
    for (size_t u = 0; u < units_.size(); ++u) {
      const Unit& unit = units_[u];
      yt_[u].Resize(unit.out * b_);
      if (unit.kind != UnitKind::kLogits) dyt_[u].Resize(unit.out * b_);  // logits: in place
      if (bf16_ && !unit.takes_pixels && !unit.igrad_on_weight) {
        wt_[u].Resize(unit.in * unit.out);
      }
      widest = std::max({widest, unit.in, unit.out});
      if (unit.wgrad_packs_dy) largest = std::max(largest, unit.in * unit.out);
    }
    rows_a_.Resize(b_ * widest);
    rows_b_.Resize(b_ * widest);
    dwt_.Resize(largest);
    grad_.Resize(model.param_floats());
    size_t covered = 0;
    for (const Unit& unit : units_) covered += unit.in * unit.out + unit.out;
    check_covers_all_ = covered == model.param_floats();
    if (first_layer_ != FirstLayer::kDense) {
      const Unit& first = units_[0];
      stride0_ = simd::SparseStride(first.out);
      w0t_.Resize(first.in * stride0_);
      bias0_.Resize(stride0_);
      rows0_.Resize(b_ * stride0_);
      dw0t_.Resize(first.in * stride0_);
    }
    row_loss_.resize(in_);
    for (size_t u = 0; u < units_.size(); ++u) {
      if (units_[u].kind == UnitKind::kHeads) heads_ = u;
    }
    if (k_ > 0) {
      column_loss_.Resize(b_);
      iw_weight_.Resize(b_);
      log_w_.resize(b_);
    }
  }

  bool allocated() const {
    for (const auto& y : yt_) {
      if (y.empty()) return false;
    }
    if (first_layer_ != FirstLayer::kDense && (w0t_.empty() || rows0_.empty() || dw0t_.empty())) {
      return false;
    }
    if (k_ > 0 && iw_weight_.empty()) return false;
    return !grad_.empty() && !rows_b_.empty() && !xt_.empty() && !dzt_.empty();
  }

  float* input_rows() override { return xrows_.data(); }
  const float* grad() const override { return grad_.data(); }
  bool gradient_finite() const override { return finite_; }

  StatusOr<double> Run(const float* params, size_t n, int epoch, int step,
                       StepProfile* profile) override {
    profile_ = profile;
    w_ = params;
    const auto t_start = Clock::now();
    const double accounted_before = Accounted();
    const auto t0 = Clock::now();
    images_ = n;
    if (k_ > 0) {  // each image's row k times: the k samples of the importance-weighted bound
      for (size_t i = n; i-- > 0;) {
        for (size_t c = k_; c-- > 0;) {
          std::memmove(xrows_.data() + (i * k_ + c) * in_, xrows_.data() + i * in_,
                       in_ * sizeof(float));
        }
      }
      n *= k_;
    }
    n_ = n;
    simd::Transpose(xrows_.data(), n, in_, in_, xt_.data(), n);
    sparse_ = false;
    if (first_layer_ != FirstLayer::kDense) {
      lit_.Index(xrows_.data(), n, in_);
      sparse_ = first_layer_ == FirstLayer::kSparse || lit_.density() <= kSparseMaxDensity;
    }
    FillNormal(RngStream(seed_, StreamId(RngPurpose::kTrainNoise, static_cast<uint32_t>(epoch),
                                         static_cast<uint32_t>(step))),
               0, eps_.data(), lat_ * n);
    if (profile_) profile_->elementwise_s += Since(t0);

    finite_ = true;
    for (auto* ops : {&fwd_, &igrad_, &wgrad_}) ops->resize(units_.size());
    EVAE_RETURN_IF_ERROR(PackWeightsAndPixels());
    double kl = 0;
    for (size_t u = 0; u < units_.size(); ++u) EVAE_RETURN_IF_ERROR(Forward(u, &kl));
    const double loss = Loss(kl);
    for (size_t u = units_.size(); u-- > 0;) EVAE_RETURN_IF_ERROR(Backward(u));
    CheckBiasGradients();
    for (auto* ops : {&fwd_, &igrad_, &wgrad_}) ops->clear();  // the packed copies, until next step

    if (profile_) {
      profile_->other_s += Since(t_start) - (Accounted() - accounted_before);
      profile_->steps += 1;
      profile_->sparse_steps += sparse_ ? 1 : 0;
    }
    return loss;
  }

 private:
  double Accounted() const {
    return profile_ ? profile_->pack_s + profile_->gemm_s + profile_->elementwise_s : 0;
  }

  // The jobs' operators, created concurrently (backprop_plan.h), timed as packing.
  Status PackAll(const std::vector<PackJob>& jobs, const std::function<void()>& other = {}) {
    if (jobs.empty() && !other) return Status::Ok();
    const auto t0 = Clock::now();
    Status st = PackConcurrently(jobs, rt_->pool(), other);
    if (profile_) profile_->pack_s += Since(t0);
    return st;
  }

  // C[m][n] = op(A)[m][k] . B[k][n], dense strides, on the unpacked fp32 kernel.
  void MatMul(size_t m, size_t n, size_t k, const float* a, simd::ALayout layout, const float* b,
              float* c) {
    const auto t0 = Clock::now();
    simd::MatMul(m, n, k, a, layout == simd::ALayout::kRowMajor ? k : m, layout, b, n, c, n,
                 rt_->pool());
    if (profile_) profile_->gemm_s += Since(t0);
  }

  // C[m][n] = A[m][k] . B^T on a packed operator (bf16).
  Status Gemm(Product& op, size_t m, const float* a, float* c) {
    const auto t0 = Clock::now();
    Status st = op.Run(m, a, c, rt_->pool());
    if (profile_) profile_->gemm_s += Since(t0);
    return st;
  }

  // Whether grad_[offset, offset + count) is finite, into finite_: run on each weight gradient
  // right after its product wrote it, while it is still in cache, so that the optimizer need not
  // read the whole gradient once more before its own pass.
  void CheckFinite(size_t offset, size_t count) {
    constexpr size_t kTile = 16384;
    const auto t0 = Clock::now();
    tile_ok_.assign((count + kTile - 1) / kTile, 1);
    const float* g = grad_.data() + offset;
    ParallelTiles(rt_->pool(), count, kTile, [&](size_t begin, size_t end) {
      for (size_t b = begin; b < end; b += kTile) {
        tile_ok_[b / kTile] = simd::AllFinite(g + b, std::min(end, b + kTile) - b);
      }
    });
    for (uint8_t ok : tile_ok_) finite_ = finite_ && ok != 0;
    if (profile_) profile_->elementwise_s += Since(t0);
  }

  // The bias gradients (written by the loss, ReLU and reparameterisation kernels); or, if the
  // units do not cover the parameters exactly (no shape today), the whole gradient.
  void CheckBiasGradients() {
    if (!check_covers_all_) return CheckFinite(0, grad_.size());
    for (const Unit& unit : units_) CheckFinite(unit.b, unit.out);
  }

  // Per-row element-wise work over `rows` rows, in parallel, timed as element-wise.
  template <typename F>
  void Rows(size_t rows, const F& f) {
    const auto t0 = Clock::now();
    ParallelTiles(rt_->pool(), rows, 16, [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r) f(r);
    });
    if (profile_) profile_->elementwise_s += Since(t0);
  }

  // The feature-major input of unit u: X^T, z^T, or the previous unit's output.
  const float* Input(size_t u) const {
    if (units_[u].takes_pixels) return xt_.data();
    if (units_[u].takes_z) return zt_.data();
    return yt_[u - 1].data();
  }

  // The packings that an input (feature-major, `width` x n) of unit u makes possible: for the
  // forward product and for the weight gradient, as the plan says (bf16; fp32 packs nothing).
  void InputPacks(size_t u, const float* x, std::vector<PackJob>* jobs) {
    if (!bf16_) return;
    const Unit& unit = units_[u];
    if (!unit.fwd_on_weight) jobs->push_back({n_, unit.in, x, gemm::BLayout::kKN, &fwd_[u]});
    if (!unit.wgrad_packs_dy) jobs->push_back({unit.in, n_, x, gemm::BLayout::kNK, &wgrad_[u]});
  }

  // Everything that depends only on this step's weights and pixels, packed together, with the
  // transposed weights that input-gradient products stream computed meanwhile.
  Status PackWeightsAndPixels() {
    std::vector<PackJob> jobs;
    if (!sparse_) InputPacks(0, xt_.data(), &jobs);
    for (size_t u = 0; bf16_ && u < units_.size(); ++u) {
      const Unit& unit = units_[u];
      const float* w = w_ + unit.w;
      if (unit.fwd_on_weight) jobs.push_back({unit.out, unit.in, w, gemm::BLayout::kNK, &fwd_[u]});
      if (!unit.takes_pixels && unit.igrad_on_weight) {
        jobs.push_back({unit.in, unit.out, w, gemm::BLayout::kKN, &igrad_[u]});
      }
    }
    return PackAll(jobs, [&] {
      for (size_t u = 0; u < units_.size(); ++u) {
        const Unit& unit = units_[u];
        if (wt_[u].empty()) continue;
        simd::Transpose(w_ + unit.w, unit.out, unit.in, unit.in, wt_[u].data(), unit.out);
      }
      if (sparse_) {  // the sparse forward sums rows of W^T, its bias padded to the same stride
        const Unit& first = units_[0];
        simd::Transpose(w_ + first.w, first.out, first.in, first.in, w0t_.data(), stride0_);
        std::copy(w_ + first.b, w_ + first.b + first.out, bias0_.data());
      }
    });
  }

  Status Forward(size_t u, double* kl) {
    const Unit& unit = units_[u];
    const size_t n = n_;
    float* y = yt_[u].data();
    if (u == 0 && sparse_) return SparseForward(y);
    if (!bf16_) {  // Y^T = W . X^T
      MatMul(unit.out, n, unit.in, w_ + unit.w, simd::ALayout::kRowMajor, Input(u), y);
    } else if (unit.fwd_on_weight) {
      simd::Transpose(Input(u), unit.in, n, n, rows_a_.data(), unit.in);
      EVAE_RETURN_IF_ERROR(Gemm(fwd_[u], n, rows_a_.data(), rows_b_.data()));
      simd::Transpose(rows_b_.data(), n, unit.out, unit.out, y, n);
    } else {
      EVAE_RETURN_IF_ERROR(Gemm(fwd_[u], unit.out, w_ + unit.w, y));
    }
    const float* bias = w_ + unit.b;
    switch (unit.kind) {
      case UnitKind::kHidden:
        Rows(unit.out, [&](size_t r) { simd::BiasRelu(y + r * n, bias[r], n); });
        break;
      case UnitKind::kHeads: {
        const auto t0 = Clock::now();
        for (size_t r = 0; r < unit.out; ++r) simd::AddBias(y + r * n, bias[r], n);
        *kl = simd::ReparamForward(y, y + lat_ * n, eps_.data(), zt_.data(), std_.data(), lat_ * n);
        if (profile_) profile_->elementwise_s += Since(t0);
        break;
      }
      case UnitKind::kLogits:
        return Status::Ok();  // the bias goes with the loss
    }
    std::vector<PackJob> jobs;
    InputPacks(u + 1, unit.kind == UnitKind::kHeads ? zt_.data() : y, &jobs);
    return PackAll(jobs);
  }

  // The first layer over the lit pixels: each image's pre-activation is the bias plus the rows of
  // W^T of its lit pixels, scaled; then ReLU, and into the feature-major layout. Each tile of
  // images is transposed into place as soon as it is summed, while it is still in L1: a separate
  // pass over the whole batch cost as much again as the sums. Tiles of 16 images write whole
  // 64-byte lines of y, so two threads never share one.
  Status SparseForward(float* y) {
    const Unit& unit = units_[0];
    const size_t n = n_;
    const SparseRows& by_image = lit_.by_image();
    const auto t0 = Clock::now();
    ParallelTiles(rt_->pool(), n, 16, [&](size_t begin, size_t end) {
      simd::SparseTimesDense(by_image.start.data(), by_image.index.data(), by_image.value.data(),
                             begin, end, w0t_.data(), stride0_, bias0_.data(), /*relu=*/true,
                             rows0_.data());
      simd::Transpose(rows0_.data() + begin * stride0_, end - begin, unit.out, stride0_,
                      y + begin, n);
    });
    if (profile_) profile_->gemm_s += Since(t0);
    std::vector<PackJob> jobs;
    InputPacks(1, y, &jobs);
    return PackAll(jobs);
  }

  // The first layer's weight gradient over the lit pixels: row p of dW^T sums the output
  // gradients of the images where pixel p is lit, scaled by the pixel; each tile of 32 rows is
  // then transposed into [out][in] while in cache (32 floats: whole lines of dW per thread).
  Status SparseWeightGradient(const float* dy, float* dw) {
    const Unit& unit = units_[0];
    const size_t n = n_;
    const SparseRows& by_pixel = lit_.by_pixel();
    const auto t0 = Clock::now();
    simd::Transpose(dy, unit.out, n, n, rows0_.data(), stride0_);
    const auto t1 = Clock::now();
    ParallelTiles(rt_->pool(), unit.in, 32, [&](size_t begin, size_t end) {
      simd::SparseTimesDense(by_pixel.start.data(), by_pixel.index.data(), by_pixel.value.data(),
                             begin, end, rows0_.data(), stride0_, nullptr, /*relu=*/false,
                             dw0t_.data());
      simd::Transpose(dw0t_.data() + begin * stride0_, end - begin, unit.out, stride0_,
                      dw + begin, unit.in);
    });
    if (profile_) {
      profile_->gemm_s += Since(t1);
      profile_->elementwise_s += std::chrono::duration<double>(t1 - t0).count();
    }
    return Status::Ok();
  }

  // kl plus the Bernoulli loss of the logits, and in place its gradient dL = sigmoid(logits) - x,
  // with the bias gradient per pixel row. With k samples per image, the importance-weighted loss.
  double Loss(double kl) {
    if (k_ > 0) return IwLoss();
    const size_t u = units_.size() - 1, n = n_;
    float* l = yt_[u].data();
    const float* bias = w_ + units_[u].b;
    float* g = grad_.data() + units_[u].b;
    Rows(in_, [&](size_t r) {
      row_loss_[r] = simd::BceWithLogitsGrad(l + r * n, xt_.data() + r * n, bias[r], n, &g[r]);
    });
    double loss = kl;
    for (size_t r = 0; r < in_; ++r) loss += row_loss_[r];
    return loss;
  }

  // The importance-weighted bound (Burda et al. 2015) of each image from its k samples (columns
  // i*k .. i*k+k-1): log w_j = -bce_j + (|eps_j|^2 - |z_j|^2 + sum(logvar)) / 2, the loss
  // -(logsumexp_j log w_j - log k), and its gradient: each sample's terms scaled by its normalised
  // weight w~_j (the logits' gradient here; z's prior and log q terms in Backward).
  double IwLoss() {
    const size_t u = units_.size() - 1, n = n_;
    float* l = yt_[u].data();
    const float* bias = w_ + units_[u].b;
    float* g = grad_.data() + units_[u].b;
    float* col = column_loss_.data();
    // Column tiles, each summed over every pixel row in order: the same sums for any thread split.
    // Blocks of 16 rows are summed in float, the blocks in double: a sample's loss is hundreds of
    // nats, and its rounding moves the sample's weight.
    std::fill(log_w_.begin(), log_w_.begin() + static_cast<std::ptrdiff_t>(n), 0.0);
    ParallelTiles(rt_->pool(), n, 64, [&](size_t c0, size_t c1) {
      for (size_t r0 = 0; r0 < in_; r0 += 16) {
        std::fill(col + c0, col + c1, 0.0f);
        for (size_t r = r0; r < std::min(in_, r0 + 16); ++r) {
          simd::BceWithLogitsGradColumns(l + r * n + c0, xt_.data() + r * n + c0, bias[r],
                                         c1 - c0, col + c0);
        }
        for (size_t j = c0; j < c1; ++j) log_w_[j] -= col[j];
      }
    });
    const float* logvar = yt_[heads_].data() + lat_ * n;
    for (size_t i = 0; i < lat_ * n; ++i) {  // latent row i / n, column i % n
      const double e = eps_[i], z = zt_[i];
      log_w_[i % n] += 0.5 * (e * e - z * z + logvar[i]);
    }
    double loss = 0;
    for (size_t i = 0; i < images_; ++i) {
      loss -= LogMeanExp(log_w_.data() + i * k_, k_, iw_weight_.data() + i * k_);
    }
    Rows(in_, [&](size_t r) { g[r] = simd::WeightColumns(l + r * n, iw_weight_.data(), n); });
    return loss;
  }

  // Unit u's weight gradient and, unless it takes the pixels, the gradient of its input, which
  // then goes through the producer's activation (ReLU, or the reparameterisation for z).
  Status Backward(size_t u) {
    const Unit& unit = units_[u];
    const size_t n = n_;
    const float* dy = unit.kind == UnitKind::kLogits ? yt_[u].data() : dyt_[u].data();
    const float* x = Input(u);
    float* g = grad_.data();
    if (u == 0 && sparse_) {
      EVAE_RETURN_IF_ERROR(SparseWeightGradient(dy, g + unit.w));
      CheckFinite(unit.w, unit.in * unit.out);
      return Status::Ok();
    }
    if (!bf16_) return BackwardUnpacked(u, dy);
    std::vector<PackJob> jobs;
    if (!unit.takes_pixels && !unit.igrad_on_weight) {
      jobs.push_back({n, unit.out, dy, gemm::BLayout::kKN, &igrad_[u]});
    }
    if (unit.wgrad_packs_dy) jobs.push_back({unit.out, n, dy, gemm::BLayout::kNK, &wgrad_[u]});
    EVAE_RETURN_IF_ERROR(PackAll(jobs));
    if (unit.wgrad_packs_dy) {  // dW^T = X^T . dY, then into place
      EVAE_RETURN_IF_ERROR(Gemm(wgrad_[u], unit.in, x, dwt_.data()));
      simd::Transpose(dwt_.data(), unit.in, unit.out, unit.out, g + unit.w, unit.in);
    } else {
      EVAE_RETURN_IF_ERROR(Gemm(wgrad_[u], unit.out, dy, g + unit.w));
    }
    CheckFinite(unit.w, unit.in * unit.out);
    if (unit.takes_pixels) return Status::Ok();

    float* dx = unit.takes_z ? dzt_.data() : dyt_[u - 1].data();
    if (unit.igrad_on_weight) {
      simd::Transpose(dy, unit.out, n, n, rows_a_.data(), unit.out);
      EVAE_RETURN_IF_ERROR(Gemm(igrad_[u], n, rows_a_.data(), rows_b_.data()));
      simd::Transpose(rows_b_.data(), n, unit.in, unit.in, dx, n);
    } else {
      EVAE_RETURN_IF_ERROR(Gemm(igrad_[u], unit.in, wt_[u].data(), dx));
    }
    return InputGradientThroughActivation(u, dx);
  }

  // Backward on the unpacked fp32 kernel: dW = dY^T . X with X batch-major (the pixels' rows as
  // given, a hidden input transposed once), and dX^T = W^T . dY^T reading W as stored.
  Status BackwardUnpacked(size_t u, const float* dy) {
    const Unit& unit = units_[u];
    const size_t n = n_;
    float* g = grad_.data();
    const float* x_rows = xrows_.data();
    if (!unit.takes_pixels) {
      const auto t0 = Clock::now();
      simd::Transpose(Input(u), unit.in, n, n, rows_a_.data(), unit.in);
      if (profile_) profile_->elementwise_s += Since(t0);
      x_rows = rows_a_.data();
    }
    MatMul(unit.out, unit.in, n, dy, simd::ALayout::kRowMajor, x_rows, g + unit.w);
    CheckFinite(unit.w, unit.in * unit.out);
    if (unit.takes_pixels) return Status::Ok();
    float* dx = unit.takes_z ? dzt_.data() : dyt_[u - 1].data();
    MatMul(unit.in, n, unit.out, w_ + unit.w, simd::ALayout::kTransposed, dy, dx);
    return InputGradientThroughActivation(u, dx);
  }

  // dX (feature-major) of unit u's input through its producer's activation: ReLU's mask and its
  // bias gradient, or the reparameterisation into the heads' output gradient.
  Status InputGradientThroughActivation(size_t u, float* dx) {
    const Unit& unit = units_[u];
    const size_t n = n_;
    float* g = grad_.data();
    if (!unit.takes_z) {
      const float* h = yt_[u - 1].data();
      const size_t b = units_[u - 1].b;
      Rows(unit.in, [&](size_t r) { g[b + r] = simd::ReluBackward(dx + r * n, h + r * n, n); });
      return Status::Ok();
    }
    // z = mu + std * eps: the heads' output gradient, and their bias gradients.
    const auto t0 = Clock::now();
    const size_t heads = u - 1;
    const float* mv = yt_[heads].data();
    float* dmv = dyt_[heads].data();
    const size_t b = units_[heads].b;
    for (size_t r = 0; r < lat_; ++r) {
      const size_t o = r * n;
      if (k_ > 0) {
        simd::ReparamBackwardIw(dx + o, zt_.data() + o, eps_.data() + o, std_.data() + o,
                                iw_weight_.data(), dmv + o, dmv + lat_ * n + o, n, &g[b + r],
                                &g[b + lat_ + r]);
      } else {
        simd::ReparamBackward(dx + o, mv + o, mv + lat_ * n + o, eps_.data() + o,
                              std_.data() + o, dmv + o, dmv + lat_ * n + o, n, &g[b + r],
                              &g[b + lat_ + r]);
      }
    }
    if (profile_) profile_->elementwise_s += Since(t0);
    return Status::Ok();
  }

  Runtime* rt_;
  bool bf16_;
  size_t k_;  // samples per image of the importance-weighted objective; 0: the ELBO
  size_t b_;  // columns: images times samples
  uint64_t seed_;
  size_t in_, lat_;
  std::vector<Unit> units_;
  FirstLayer first_layer_;
  // The sparse first layer: this batch's lit pixels, whether this step uses them, W^T and the
  // bias at the kernel's stride, batch-major rows (its output, or its output gradient) and dW^T.
  LitPixels lit_;
  // Whether this step's gradient is finite, checked piece by piece as it is produced.
  bool finite_ = true;
  bool check_covers_all_ = false;
  std::vector<uint8_t> tile_ok_;
  bool sparse_ = false;
  size_t stride0_ = 0;
  AlignedBuffer<float> w0t_, bias0_, rows0_, dw0t_;
  // This step's parameters, batch size, profile and operators (one per unit and product).
  const float* w_ = nullptr;
  size_t n_ = 0;
  StepProfile* profile_ = nullptr;
  std::vector<Product> fwd_, igrad_, wgrad_;
  // Feature-major activations ([features][batch]) and their gradients, per unit.
  AlignedBuffer<float> xrows_, xt_, zt_, eps_, std_, dzt_;
  std::vector<AlignedBuffer<float>> yt_, dyt_;
  std::vector<AlignedBuffer<float>> wt_;  // W^T, for input gradients that stream it
  AlignedBuffer<float> rows_a_, rows_b_;  // batch-major scratch around batch-major products
  AlignedBuffer<float> dwt_, grad_;
  std::vector<float> row_loss_;
  // The importance-weighted objective: images in this step, the heads' unit, per-sample sums.
  size_t images_ = 0, heads_ = 0;
  AlignedBuffer<float> column_loss_, iw_weight_;
  std::vector<double> log_w_;
};

}  // namespace

StatusOr<std::unique_ptr<Backprop>> Backprop::Create(const Model& model, Runtime* runtime,
                                                     size_t max_batch, uint64_t seed,
                                                     FirstLayer first_layer, bool bf16,
                                                     size_t iw_samples) {
  if (model.shape().family == Family::kClassifier) {
    return CreateClassifierBackprop(model, runtime, max_batch, bf16 || iw_samples > 0);
  }
  EVAE_RETURN_IF_ERROR(RequireVae(model.shape(), "VAE training"));
  if (bf16 && !gemm::Bf16Available()) return Unsupported("bf16 training needs AVX512_BF16");
  auto b = std::make_unique<BackpropImpl>(model, runtime, max_batch, seed, first_layer, bf16,
                                          iw_samples);
  if (!b->allocated()) return Internal("out of memory allocating training buffers");
  return std::unique_ptr<Backprop>(std::move(b));
}

}  // namespace edgevae
