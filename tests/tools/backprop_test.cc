// The first layer's two paths in training (tools/backprop.h): over the lit pixels only, and
// dense. On real digits and on a dense grey batch, the sparse products give the loss and every
// tensor's gradient of the dense ones, to float rounding (the sums run in another order); the
// automatic choice takes the sparse path on digits and the dense one on the grey batch; and the
// sparse path gives the same bits on 1 and 2 threads. The gradients themselves are checked
// against finite differences on both paths in grad_test.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "edgevae/model.h"
#include "edgevae/rng.h"
#include "edgevae/runtime.h"
#include "edgevae/shape.h"
#include "edgevae/train.h"
#include "gtest/gtest.h"
#include "common/reference.h"
#include "tools/backprop.h"

namespace edgevae {
namespace {

constexpr size_t kBatch = 128;

struct Result {
  double loss = 0;
  std::vector<float> grad;
  StepProfile profile;
};

Result RunOnce(const Model& model, const std::vector<float>& x, FirstLayer path, int threads) {
  Result r;
  auto rt = Runtime::Create(threads);
  EXPECT_TRUE(rt.ok()) << rt.status().message();
  if (!rt.ok()) return r;
  auto bp = Backprop::Create(model, rt->get(), kBatch, /*seed=*/3, path);
  EXPECT_TRUE(bp.ok()) << bp.status().message();
  if (!bp.ok()) return r;
  std::copy(x.begin(), x.end(), (*bp)->input_rows());
  auto loss = (*bp)->Run(model.params(), x.size() / model.shape().input, /*epoch=*/1,
                         /*step=*/4, &r.profile);
  EXPECT_TRUE(loss.ok()) << loss.status().message();
  if (!loss.ok()) return r;
  r.loss = *loss;
  r.grad.assign((*bp)->grad(), (*bp)->grad() + model.param_floats());
  return r;
}

Model TrainedLikeModel() {
  auto m = Model::Create(MnistShape::kInfo);
  EXPECT_TRUE(m.ok());
  Model model = std::move(m).value();
  model.InitializeLikeTorch(1);
  return model;
}

std::vector<float> Digits(size_t n) {
  std::string error;
  const MnistData* mnist = reference::CachedMnist(&error);
  EXPECT_NE(mnist, nullptr) << error;
  std::vector<float> x;
  if (mnist == nullptr) return x;
  const size_t in = static_cast<size_t>(mnist->train.pixels_per_image());
  x.resize(n * in);
  for (size_t i = 0; i < n * in; ++i) x[i] = mnist->train.image(0)[i] / 255.0f;
  return x;
}

std::vector<float> GreyBatch(size_t n, size_t in) {
  const RngStream rng(42, 1);
  std::vector<float> x(n * in);
  for (size_t i = 0; i < x.size(); ++i) x[i] = rng.Uniform(i);
  return x;
}

// Per tensor: max |sparse - dense| <= kTol * max |dense|. Measured (AVX3): at most 2.7e-7 on digits
// and 3.8e-7 on the grey batch; float sums of up to 784 terms in another order.
constexpr double kTol = 1e-5;

void ExpectSameGradient(const Model& model, const Result& sparse, const Result& dense) {
  ASSERT_EQ(sparse.grad.size(), dense.grad.size());
  EXPECT_NEAR(sparse.loss, dense.loss, 1e-6 * std::fabs(dense.loss));
  for (const TensorView& tv : model.tensors()) {
    double worst = 0, largest = 0;
    for (size_t i = 0; i < tv.size(); ++i) {
      const double d = dense.grad[tv.offset + i], s = sparse.grad[tv.offset + i];
      ASSERT_TRUE(std::isfinite(s)) << tv.name << "[" << i << "]";
      worst = std::max(worst, std::fabs(s - d));
      largest = std::max(largest, std::fabs(d));
    }
    std::printf("[ sparse   ] %-11s max|dense| %.3e  max|sparse - dense| %.3e (%.1e relative)\n",
                tv.name.c_str(), largest, worst, worst / std::max(largest, 1e-30));
    EXPECT_GT(largest, 0) << tv.name;
    EXPECT_LE(worst, kTol * largest) << tv.name;
  }
}

TEST(BackpropFirstLayer, SparseMatchesDenseOnDigits) {
  const Model model = TrainedLikeModel();
  const std::vector<float> x = Digits(kBatch);
  ASSERT_FALSE(x.empty());
  const Result sparse = RunOnce(model, x, FirstLayer::kSparse, 1);
  const Result dense = RunOnce(model, x, FirstLayer::kDense, 1);
  EXPECT_EQ(sparse.profile.sparse_steps, 1);
  EXPECT_EQ(dense.profile.sparse_steps, 0);
  ExpectSameGradient(model, sparse, dense);
  // The automatic choice: MNIST's batches are about 19 % lit, so sparse.
  const Result chosen = RunOnce(model, x, FirstLayer::kAuto, 1);
  EXPECT_EQ(chosen.profile.sparse_steps, 1);
  EXPECT_EQ(chosen.grad, sparse.grad);
}

TEST(BackpropFirstLayer, SparseMatchesDenseOnAGreyBatch) {
  const Model model = TrainedLikeModel();
  const std::vector<float> x = GreyBatch(kBatch, MnistShape::kInfo.input);
  const Result sparse = RunOnce(model, x, FirstLayer::kSparse, 1);
  const Result dense = RunOnce(model, x, FirstLayer::kDense, 1);
  ExpectSameGradient(model, sparse, dense);
  const Result chosen = RunOnce(model, x, FirstLayer::kAuto, 1);
  EXPECT_EQ(chosen.profile.sparse_steps, 0) << "a batch with every pixel lit runs dense";
  EXPECT_EQ(chosen.grad, dense.grad);
}

TEST(BackpropFirstLayer, SparseIsTheSameOnOneAndTwoThreads) {
  const Model model = TrainedLikeModel();
  const std::vector<float> x = Digits(kBatch);
  ASSERT_FALSE(x.empty());
  const Result one = RunOnce(model, x, FirstLayer::kSparse, 1);
  const Result two = RunOnce(model, x, FirstLayer::kSparse, 2);
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.grad, two.grad);
}

}  // namespace
}  // namespace edgevae
