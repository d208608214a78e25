// The trainer's loss and gradient against the naive double reference (tests/common/reference.h):
// the f32 loss of a batch of 3 must match the reference, and for every one of the ten tensors a
// deterministic set of entries (the largest |gradient| ones plus pseudo-random ones) must match a
// central finite difference of the DOUBLE reference loss. The finite difference uses the same
// noise as the trainer (FillNormal of stream (kTrainNoise, epoch, step), feature-major).
//
// Each shape runs twice: on grey images (every pixel lit: the first layer's dense products) and on
// dark ones (80 % of the pixels exactly 0, as in MNIST: its products over the lit pixels only,
// tools/backprop.h); the trainer's profile says which path ran.
//
// ReLU kinks: an entry whose +-h perturbation switches any ReLU unit on or off (seen in the
// reference's on/off pattern) has no meaningful central difference; it is skipped, not checked
// with a looser tolerance, and the skips are counted and printed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "gtest/gtest.h"
#include "common/reference.h"

namespace edgevae {
namespace {

constexpr int kImages = 3;
constexpr int kEpoch = 2;
constexpr int kStep = 5;
constexpr uint64_t kTrainSeed = 7;
constexpr uint64_t kInitSeed = 11;
constexpr size_t kEntriesPerTensor = 12;
constexpr size_t kLargestEntries = 4;  // of the 12: the entries with the largest |gradient|

// Loss: f32 summed over 784 pixels x 3 images against double. Measured: 3e-9 relative (AVX3);
// the bound allows for the softplus approximation (documented 4e-7 relative) on other targets.
constexpr double kLossRelTol = 1e-5;
// Gradient: |analytic - fd| <= kGradTol * max(1, |fd|). Measured worst case over all 220 entries
// of both shapes: 1.04e-6 (AVX3), i.e. the f32 analytic gradient's own rounding; the test prints
// the worst error per tensor.
constexpr double kGradTol = 1e-5;
// vae-deep's 3-unit code layer gathers the whole decoder's gradient: its entries reach 420, and
// one of 0.41 came out 1.07e-5 from the difference, the same with a step of 1e-5 as of 1e-4 (so
// the f32 gradient's rounding, about 2.5e-8 of the terms it sums, not the difference's error).
constexpr double kGradTolDeep = 3e-5;
// bf16 products (TrainOptions::precision): each operand is rounded to 8 significant bits
// (relative error <= 2^-9), so the loss and gradient are those of a slightly different function.
// Measured worst cases (AVX512_BF16 on AMD EPYC, the two cases below): loss 1.4e-5 relative,
// gradient 8.9e-3 (fc21.weight, mnist2d); the bounds leave room for other data, not for a wrong
// product (off by O(1)). The gradient test also asks for an error above fp32's kGradTol, so that
// fp32 products cannot pass for bf16 ones.
constexpr double kLossRelTolBf16 = 1e-4;
constexpr double kGradTolBf16 = 3e-2;
// Finite-difference step: h = kFdStep * max(1, |w|). The double loss (about 1,650 nats) rounds at
// ~2e-13, so the difference's rounding error is ~1e-9 and its truncation error O(h^2) is
// negligible; 1e-4 (rather than 1e-3) also keeps +-h from crossing ReLU kinks: at 1e-3, 12 of 220
// entries crossed one and were skipped, at 1e-4 none do.
constexpr double kFdStep = 1e-4;

// Grey values in [0, 1] from a fixed stream: n images x input; `dark`: 80 % of them 0.
std::vector<float> RandomImages(size_t n, size_t input, bool dark) {
  const RngStream rng(1234, 99), darkness(1234, 100);
  std::vector<float> x(n * input);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = dark && darkness.Uniform(i) < 0.8f ? 0.0f : rng.Uniform(i);
  }
  return x;
}

struct GradCase {
  ShapeInfo shape;
  bool dark;
  Precision precision = Precision::kFp32;
  int iw = 0;  // > 0: the importance-weighted objective with this many samples per image
  double fp32_grad_tol = kGradTol;
  double loss_tol() const { return precision == Precision::kBf16 ? kLossRelTolBf16 : kLossRelTol; }
  double grad_tol() const { return precision == Precision::kBf16 ? kGradTolBf16 : fp32_grad_tol; }
};
void PrintTo(const GradCase& c, std::ostream* os) {
  *os << c.shape.name << (c.dark ? " dark" : " grey") << " " << PrecisionName(c.precision);
  if (c.iw > 0) *os << " iwae k=" << c.iw;
}

struct Fixture {
  GradCase c;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Model> model;
  std::unique_ptr<Trainer> trainer;
  std::vector<float> x;
  std::vector<float> eps;  // image-major, for the reference
  std::vector<float> grad;
  double loss = 0;
};

// The double reference's loss of the fixture's batch (the ELBO, or the IW bound) with its noise.
double ReferenceLoss(const reference::Net& net, const Fixture& f, const std::vector<float>& eps,
                     std::vector<uint8_t>* relu_on = nullptr) {
  return f.c.iw > 0 ? net.IwBatchLoss(f.x.data(), kImages, eps.data(),
                                      static_cast<size_t>(f.c.iw), relu_on)
                    : net.BatchLoss(f.x.data(), kImages, eps.data(), relu_on);
}

// The training noise of a step, image-major: one vector per image, or k per image for the IW
// objective (sample c of image i is column i * k + c of the step).
std::vector<float> StepNoise(const GradCase& c, int step) {
  const size_t lat = static_cast<size_t>(c.shape.latent);
  const size_t columns = kImages * static_cast<size_t>(std::max(c.iw, 1));
  return reference::FeatureToImageMajor(
      reference::TrainNoise(kTrainSeed, kEpoch, step, columns, lat), columns, lat);
}

void MakeFixture(const GradCase& c, Fixture* f) {
  f->c = c;
  const ShapeInfo& shape = c.shape;
  if (c.precision == Precision::kBf16 && !Bf16TrainingAvailable()) {
    GTEST_SKIP() << "this CPU has no AVX512_BF16: bf16 training runs fp32 here";
  }
  auto rt = Runtime::Create(1);
  ASSERT_TRUE(rt.ok()) << rt.status().message();
  f->runtime = std::move(rt).value();
  auto model = Model::Create(shape);
  ASSERT_TRUE(model.ok()) << model.status().message();
  f->model = std::make_unique<Model>(std::move(model).value());
  f->model->InitializeLikeTorch(kInitSeed);
  TrainOptions opt;
  opt.batch = 8;  // larger than the batch given, so n < batch is exercised
  opt.seed = kTrainSeed;
  opt.precision = c.precision;
  if (c.iw > 0) {
    opt.objective = Objective::kIwae;
    opt.iw_samples = c.iw;
  }
  auto trainer = CreateTrainer(f->model.get(), f->runtime.get(), opt);
  ASSERT_TRUE(trainer.ok()) << trainer.status().message();
  f->trainer = std::move(trainer).value();

  const size_t in = static_cast<size_t>(shape.input);
  f->x = RandomImages(kImages, in, c.dark);
  f->eps = StepNoise(c, kStep);
  f->grad.assign(f->model->param_floats(), std::nanf(""));
  f->trainer->EnableProfile(true);
  auto loss = f->trainer->LossAndGradient(f->x.data(), kImages, kEpoch, kStep, f->grad.data());
  ASSERT_TRUE(loss.ok()) << loss.status().message();
  f->loss = *loss;
  ASSERT_EQ(f->trainer->profile().sparse_steps, c.dark ? 1 : 0)
      << "the first layer did not take the path these images are for";
  ASSERT_EQ(f->trainer->precision(), c.precision);
}

// Entries of a tensor to check: the kLargestEntries largest |grad| (ties: lower index), then
// pseudo-random ones keyed by the tensor's index, up to kEntriesPerTensor distinct entries.
std::vector<size_t> PickEntries(const TensorView& tv, size_t tensor_index, const float* grad) {
  const size_t size = tv.size();
  std::vector<size_t> order(size);
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t top = std::min(kLargestEntries, size);
  std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](size_t a, size_t b) {
    const float ga = std::fabs(grad[tv.offset + a]), gb = std::fabs(grad[tv.offset + b]);
    return ga != gb ? ga > gb : a < b;
  });
  std::set<size_t> picked(order.begin(), order.begin() + top);
  std::vector<size_t> entries(order.begin(), order.begin() + top);
  const RngStream rng(2024, tensor_index);
  for (uint64_t k = 0; entries.size() < std::min(kEntriesPerTensor, size); ++k) {
    const size_t e = rng.Below(k, static_cast<uint32_t>(size));
    if (picked.insert(e).second) entries.push_back(e);
  }
  return entries;
}

class GradTest : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradTest, LossMatchesDoubleReference) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(MakeFixture(GetParam(), &f));
  if (IsSkipped()) return;  // GTEST_SKIP in MakeFixture returns from it, not from the test
  const std::vector<double> w = reference::ToDouble(*f.model);
  const reference::Net net(GetParam().shape, w.data());
  const double want = ReferenceLoss(net, f, f.eps);
  std::printf("[ loss     ] %s: f32 %.6f, double %.6f, relative error %.2e\n",
              std::string(GetParam().shape.name).c_str(), f.loss, want,
              std::fabs(f.loss - want) / want);
  EXPECT_NEAR(f.loss, want, GetParam().loss_tol() * std::fabs(want));

  // The noise is keyed by (epoch, step): another step gives another loss, matching the reference
  // with that step's noise.
  std::vector<float> grad2(f.model->param_floats());
  auto other = f.trainer->LossAndGradient(f.x.data(), kImages, kEpoch, kStep + 1, grad2.data());
  ASSERT_TRUE(other.ok()) << other.status().message();
  const double want2 = ReferenceLoss(net, f, StepNoise(GetParam(), kStep + 1));
  EXPECT_NE(*other, f.loss);
  EXPECT_NEAR(*other, want2, GetParam().loss_tol() * std::fabs(want2));
}

TEST_P(GradTest, LossAndGradientIsPureAndRepeatable) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(MakeFixture(GetParam(), &f));
  if (IsSkipped()) return;  // GTEST_SKIP in MakeFixture returns from it, not from the test
  const std::vector<double> before = reference::ToDouble(*f.model);
  std::vector<float> grad2(f.model->param_floats(), std::nanf(""));
  auto loss2 = f.trainer->LossAndGradient(f.x.data(), kImages, kEpoch, kStep, grad2.data());
  ASSERT_TRUE(loss2.ok()) << loss2.status().message();
  EXPECT_EQ(*loss2, f.loss);
  for (const TensorView& tv : f.model->tensors()) {
    for (size_t i = 0; i < tv.size(); ++i) {
      ASSERT_EQ(f.grad[tv.offset + i], grad2[tv.offset + i]) << tv.name << "[" << i << "]";
      ASSERT_TRUE(std::isfinite(f.grad[tv.offset + i])) << tv.name << "[" << i << "]";
    }
  }
  EXPECT_EQ(reference::ToDouble(*f.model), before) << "LossAndGradient changed the parameters";
  EXPECT_EQ(f.model->optimizer().step, 0);
}

TEST_P(GradTest, GradientMatchesFiniteDifferences) {
  const ShapeInfo shape = GetParam().shape;
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(MakeFixture(GetParam(), &f));
  if (IsSkipped()) return;  // GTEST_SKIP in MakeFixture returns from it, not from the test
  std::vector<double> w = reference::ToDouble(*f.model);
  const reference::Net net(shape, w.data());
  std::vector<uint8_t> base_pattern;
  ReferenceLoss(net, f, f.eps, &base_pattern);

  int total_checked = 0, total_skipped = 0;
  double overall_worst = 0;
  const auto& tensors = f.model->tensors();
  ASSERT_EQ(tensors.size(), 2 * shape.layers.size());
  for (size_t t = 0; t < tensors.size(); ++t) {
    const TensorView& tv = tensors[t];
    int checked = 0, skipped = 0;
    double worst = 0, largest_grad = 0;
    for (size_t e : PickEntries(tv, t, f.grad.data())) {
      const size_t at = tv.offset + e;
      const double w0 = w[at];
      const double h = kFdStep * std::max(1.0, std::fabs(w0));
      std::vector<uint8_t> plus_pattern, minus_pattern;
      w[at] = w0 + h;
      const double plus = ReferenceLoss(net, f, f.eps, &plus_pattern);
      w[at] = w0 - h;
      const double minus = ReferenceLoss(net, f, f.eps, &minus_pattern);
      w[at] = w0;
      if (plus_pattern != base_pattern || minus_pattern != base_pattern) {
        ++skipped;  // a ReLU unit flips within +-h: the loss has a kink there
        continue;
      }
      const double fd = (plus - minus) / (2 * h);
      const double analytic = f.grad[at];
      const double err = std::fabs(analytic - fd) / std::max(1.0, std::fabs(fd));
      worst = std::max(worst, err);
      largest_grad = std::max(largest_grad, std::fabs(analytic));
      EXPECT_LE(err, GetParam().grad_tol()) << tv.name << "[" << e << "]: analytic " << analytic
                               << ", finite difference " << fd;
      ++checked;
    }
    std::printf("[ fd       ] %-5s %-11s checked %2d skipped %d  max|g| %.3e  worst err %.2e\n",
                std::string(shape.name).c_str(), tv.name.c_str(), checked, skipped, largest_grad,
                worst);
    EXPECT_GE(checked, 1) << tv.name << ": every picked entry sat on a ReLU kink";
    overall_worst = std::max(overall_worst, worst);
    total_checked += checked;
    total_skipped += skipped;
  }
  std::printf("[ fd       ] %s: %d entries checked, %d skipped (ReLU flip within +-h)\n",
              std::string(shape.name).c_str(), total_checked, total_skipped);
  RecordProperty("fd_checked", total_checked);
  RecordProperty("fd_skipped", total_skipped);
  // Skips must stay rare, or the check says little.
  EXPECT_LE(total_skipped * 10, total_checked + total_skipped);
  if (GetParam().precision == Precision::kBf16) {
    EXPECT_GT(overall_worst, kGradTol) << "as exact as fp32: the products did not run in bf16";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GradTest,
                         ::testing::Values(GradCase{Mnist2dShape::kInfo, false},
                                           GradCase{MnistShape::kInfo, false},
                                           GradCase{Mnist2dShape::kInfo, true},
                                           GradCase{MnistShape::kInfo, true},
                                           GradCase{Mnist2dShape::kInfo, false, Precision::kBf16},
                                           GradCase{MnistShape::kInfo, true, Precision::kBf16},
#ifndef EDGEVAE_TEST_EMULATED
                                           // Chains of two encoder and three decoder layers (a
                                           // 3 s reference on x86, minutes under qemu).
                                           GradCase{VaeDeepShape::kInfo, false, Precision::kFp32,
                                                    0, kGradTolDeep},
#endif
#ifdef EDGEVAE_TEST_EMULATED
                                           // The IW reference decodes k times per image: one
                                           // case under qemu (about a minute each there).
                                           GradCase{Mnist2dShape::kInfo, false, Precision::kFp32, 3}),
#else
                                           GradCase{Mnist2dShape::kInfo, false, Precision::kFp32, 5},
                                           GradCase{MnistShape::kInfo, true, Precision::kFp32, 3}),
#endif
                         [](const ::testing::TestParamInfo<GradCase>& info) {
                           std::string name(info.param.shape.name);
                           std::replace(name.begin(), name.end(), '-', '_');  // gtest's names
                           return name +
                                  (info.param.dark ? "_dark" : "_grey") +
                                  (info.param.precision == Precision::kBf16 ? "_bf16" : "") +
                                  (info.param.iw > 0 ? "_iwae" + std::to_string(info.param.iw)
                                                     : "");
                         });

}  // namespace
}  // namespace edgevae
