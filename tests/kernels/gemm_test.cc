// The XNNPACK wrapper against a naive triple loop in double: every (m, n, k) from {1, 3, 7, 19, 23,
// 64, 129}, both B layouts, with and without bias and clamp (ReLU's [0, inf) and a finite range),
// dense and strided A and C. C starts as NaN so that an unwritten element fails; the gap between
// a row's n results and the next row (ldc > n) and a tail after the last row must come back
// untouched, and A's own row padding holds NaN, which must not reach C. Every product runs on a
// 1-thread and a 2-thread Runtime and the two must agree bit for bit.
//
// Tolerance: a float dot product of k terms has |error| <= k u sum_k |a b| (u = 2^-24) for any
// summation order, fused or not; the bias adds one more rounding and the clamp none. We allow
// (k + 2) u (sum |a b| + |bias|).
#include "kernels/gemm.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/uniform_data.h"
#include "edgevae/buffer.h"
#include "edgevae/runtime.h"
#include "edgevae/status.h"
#include "gtest/gtest.h"
#include "kernels/gemm_output.h"

namespace edgevae::gemm {
namespace {

using gemm_test::CheckOutput;
using gemm_test::IsSentinel;
using gemm_test::kSentinel;
using gemm_test::kTail;
using gemm_test::MakeOutput;

constexpr double kU = 0x1p-24;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr size_t kSizes[] = {1, 3, 7, 19, 23, 64, 129};

const char* Name(BLayout layout) { return layout == BLayout::kNK ? "B[n][k]" : "B[k][n]"; }

using Data = testutil::UniformData;

struct Problem {
  size_t m, n, k, lda, ldc;
  BLayout layout;
  bool has_bias;
  float lo, hi;
};

struct Inputs {
  AlignedBuffer<float> a, b, bias;
};

// A is m x lda with NaN in each row's padding [k, lda); B is n x k in the problem's layout.
Inputs MakeInputs(const Problem& p, uint32_t seed) {
  Data data(seed);
  Inputs in{AlignedBuffer<float>(p.m * p.lda), AlignedBuffer<float>(p.n * p.k),
            AlignedBuffer<float>(p.n)};
  for (size_t i = 0; i < p.m; ++i) {
    for (size_t kk = 0; kk < p.lda; ++kk) {
      in.a[i * p.lda + kk] = kk < p.k ? data.Next() : std::numeric_limits<float>::quiet_NaN();
    }
  }
  for (size_t i = 0; i < p.n * p.k; ++i) in.b[i] = data.Next();
  for (size_t j = 0; j < p.n; ++j) in.bias[j] = data.Next();
  return in;
}

// The naive triple loop in double: ref[i * n + j] and its tolerance. (Plain pointers and B copied
// to B[n][k] in double keep it quick in Debug builds too.)
void Reference(const Problem& p, const Inputs& in, std::vector<double>& ref,
               std::vector<double>& tol) {
  std::vector<double> b(p.n * p.k);
  for (size_t j = 0; j < p.n; ++j) {
    for (size_t kk = 0; kk < p.k; ++kk) {
      b[j * p.k + kk] = p.layout == BLayout::kNK ? in.b[j * p.k + kk] : in.b[kk * p.n + j];
    }
  }
  ref.assign(p.m * p.n, 0.0);
  tol.assign(p.m * p.n, 0.0);
  for (size_t i = 0; i < p.m; ++i) {
    const float* a = in.a.data() + i * p.lda;
    for (size_t j = 0; j < p.n; ++j) {
      const double* bj = b.data() + j * p.k;
      double sum = 0, scale = 0;
      for (size_t kk = 0; kk < p.k; ++kk) {
        const double ab = a[kk] * bj[kk];
        sum += ab;
        scale += std::abs(ab);
      }
      if (p.has_bias) {
        sum += in.bias[j];
        scale += std::abs(in.bias[j]);
      }
      ref[i * p.n + j] = std::clamp(sum, static_cast<double>(p.lo), static_cast<double>(p.hi));
      tol[i * p.n + j] = (p.k + 2) * kU * scale;
    }
  }
}

std::string Describe(const Problem& p) {
  std::ostringstream s;
  s << "m " << p.m << " n " << p.n << " k " << p.k << " lda " << p.lda << " ldc " << p.ldc << " "
    << Name(p.layout) << (p.has_bias ? " bias" : "") << " clamp [" << p.lo << ", " << p.hi << "]";
  return s.str();
}

class GemmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int threads : {1, 2}) {
      StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(threads);
      ASSERT_TRUE(rt.ok()) << rt.status().message();
      (threads == 1 ? one_ : two_) = std::move(rt).value();
    }
  }
  static void TearDownTestSuite() {
    one_.reset();
    two_.reset();
  }
  void SetUp() override {
    ASSERT_NE(one_, nullptr);
    ASSERT_NE(two_, nullptr);
    ASSERT_EQ(one_->threads(), 1);
    ASSERT_EQ(two_->threads(), 2);
    ASSERT_EQ(one_->pool(), nullptr);  // single-threaded: XNNPACK runs inline
    ASSERT_NE(two_->pool(), nullptr);
  }

  // Packs B once, runs the product on both runtimes, checks each result and that they agree.
  static void RunPacked(const Problem& p, uint32_t seed) {
    SCOPED_TRACE(Describe(p));
    const Inputs in = MakeInputs(p, seed);
    std::vector<double> ref, tol;
    Reference(p, in, ref, tol);
    StatusOr<PackedGemm> g =
        PackedGemm::Create(p.n, p.k, in.b.data(), p.layout, p.has_bias ? in.bias.data() : nullptr,
                           p.lo, p.hi, p.lda, p.ldc);
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_TRUE(g->created());
    EXPECT_EQ(g->n(), p.n);
    EXPECT_EQ(g->k(), p.k);
    AlignedBuffer<float> c1 = MakeOutput(p), c2 = MakeOutput(p);
    Status s1 = g->Run(p.m, in.a.data(), c1.data(), one_->pool());
    ASSERT_TRUE(s1.ok()) << s1.message();
    Status s2 = g->Run(p.m, in.a.data(), c2.data(), two_->pool());
    ASSERT_TRUE(s2.ok()) << s2.message();
    ASSERT_TRUE(CheckOutput(p, c1, ref, tol));
    ASSERT_EQ(0, std::memcmp(c1.data(), c2.data(), sizeof(float) * c1.size()))
        << "1 and 2 threads disagree";
  }

  static std::unique_ptr<Runtime> one_, two_;
};
std::unique_ptr<Runtime> GemmTest::one_, GemmTest::two_;

struct Variant {
  const char* name;
  bool has_bias;
  float lo, hi;
  size_t lda_pad, ldc_pad;
};
constexpr Variant kVariants[] = {
    {"plain", false, -kInf, kInf, 0, 0},
    {"bias", true, -kInf, kInf, 0, 0},
    {"bias+relu", true, 0.0f, kInf, 0, 0},
    {"strided bias+relu", true, 0.0f, kInf, 3, 5},
    {"strided clamp [-0.5, 0.25]", false, -0.5f, 0.25f, 1, 2},
};

TEST_F(GemmTest, PackedGemmAllShapes) {
  for (const Variant& v : kVariants) {
    SCOPED_TRACE(v.name);
    for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
      for (size_t m : kSizes) {
        for (size_t n : kSizes) {
          for (size_t k : kSizes) {
            const Problem p{m, n, k, k + v.lda_pad, n + v.ldc_pad, layout, v.has_bias, v.lo, v.hi};
            RunPacked(p, static_cast<uint32_t>(m * 1000003 + n * 1009 + k));
            if (HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

TEST_F(GemmTest, LayoutsAgree) {
  const size_t m = 23, n = 19, k = 129;
  const Problem p{m, n, k, k, n, BLayout::kNK, true, -kInf, kInf};
  const Inputs in = MakeInputs(p, 5);
  AlignedBuffer<float> bt(n * k);
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < k; ++c) bt[c * n + r] = in.b[r * k + c];
  }
  AlignedBuffer<float> c_nk(m * n), c_kn(m * n);
  for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
    StatusOr<PackedGemm> g =
        PackedGemm::Create(n, k, layout == BLayout::kNK ? in.b.data() : bt.data(), layout,
                           in.bias.data(), -kInf, kInf, k, n);
    ASSERT_TRUE(g.ok()) << g.status().message();
    Status s =
        g->Run(m, in.a.data(), layout == BLayout::kNK ? c_nk.data() : c_kn.data(), two_->pool());
    ASSERT_TRUE(s.ok()) << s.message();
  }
  std::vector<double> ref, tol;
  Reference(p, in, ref, tol);
  for (size_t i = 0; i < m * n; ++i) {
    ASSERT_NEAR(c_nk[i], ref[i], tol[i]) << i;
    ASSERT_NEAR(c_kn[i], ref[i], tol[i]) << i;
    ASSERT_NEAR(c_nk[i], c_kn[i], 2 * tol[i]) << i;
  }
}

// One packed operator serves many runs with different m and A.
TEST_F(GemmTest, PackedOperatorIsReusable) {
  const size_t n = 19, k = 23, lda = 26, ldc = 21;
  Problem p{129, n, k, lda, ldc, BLayout::kKN, true, 0.0f, kInf};
  const Inputs in = MakeInputs(p, 11);
  StatusOr<PackedGemm> g =
      PackedGemm::Create(n, k, in.b.data(), p.layout, in.bias.data(), p.lo, p.hi, lda, ldc);
  ASSERT_TRUE(g.ok()) << g.status().message();
  uint32_t seed = 100;
  for (size_t m : {1, 129, 7, 64, 3, 1}) {
    SCOPED_TRACE(m);
    p.m = m;
    Inputs run = MakeInputs(p, ++seed);  // fresh A of m rows; B and bias are what was packed
    run.b = in.b.Clone();
    run.bias = in.bias.Clone();
    std::vector<double> ref, tol;
    Reference(p, run, ref, tol);
    AlignedBuffer<float> c = MakeOutput(p);
    Status s = g->Run(m, run.a.data(), c.data(), seed % 2 ? one_->pool() : two_->pool());
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(CheckOutput(p, c, ref, tol));
  }
  // Same m, pointers and pool as the call before, new contents: the operator skips its setup
  // and must still read A afresh and write all of C.
  p.m = 7;
  Inputs run = MakeInputs(p, 500);
  run.b = in.b.Clone();
  run.bias = in.bias.Clone();
  AlignedBuffer<float> c = MakeOutput(p);
  ASSERT_TRUE(g->Run(p.m, run.a.data(), c.data(), one_->pool()).ok());
  const Inputs fresh = MakeInputs(p, 501);
  std::copy(fresh.a.data(), fresh.a.data() + fresh.a.size(), run.a.data());
  const AlignedBuffer<float> unwritten = MakeOutput(p);
  std::copy(unwritten.data(), unwritten.data() + unwritten.size(), c.data());
  ASSERT_TRUE(g->Run(p.m, run.a.data(), c.data(), one_->pool()).ok());
  std::vector<double> ref, tol;
  Reference(p, run, ref, tol);
  EXPECT_TRUE(CheckOutput(p, c, ref, tol));
}

TEST_F(GemmTest, ZeroRowsIsANoOp) {
  const size_t n = 7, k = 3;
  const Problem one_row{1, n, k, k, n, BLayout::kNK, false, -kInf, kInf};
  const Inputs in = MakeInputs(one_row, 3);
  AlignedBuffer<float> c = MakeOutput(one_row);
  for (Runtime* rt : {one_.get(), two_.get()}) {
    StatusOr<PackedGemm> g =
        PackedGemm::Create(n, k, in.b.data(), BLayout::kNK, nullptr, -kInf, kInf, k, n);
    ASSERT_TRUE(g.ok()) << g.status().message();
    const Status s = g->Run(0, in.a.data(), c.data(), rt->pool());
    EXPECT_TRUE(s.ok()) << s.message();
  }
  for (size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(IsSentinel(c[i])) << "C written at " << i;
}

TEST_F(GemmTest, MoveTransfersTheOperator) {
  const size_t n = 3, k = 7, m = 5;
  const Problem p{m, n, k, k, n, BLayout::kNK, true, -kInf, kInf};
  const Inputs in = MakeInputs(p, 21);
  std::vector<double> ref, tol;
  Reference(p, in, ref, tol);

  PackedGemm empty;
  EXPECT_FALSE(empty.created());
  StatusOr<PackedGemm> g =
      PackedGemm::Create(n, k, in.b.data(), p.layout, in.bias.data(), -kInf, kInf, k, n);
  ASSERT_TRUE(g.ok()) << g.status().message();
  PackedGemm moved(std::move(*g));
  EXPECT_FALSE(g->created());
  ASSERT_TRUE(moved.created());
  EXPECT_EQ(moved.n(), n);
  EXPECT_EQ(moved.k(), k);

  // Assigning over a created operator releases the old one (ASan/valgrind would see a leak).
  StatusOr<PackedGemm> other =
      PackedGemm::Create(k, n, in.b.data(), p.layout, nullptr, -kInf, kInf, n, k);
  ASSERT_TRUE(other.ok()) << other.status().message();
  PackedGemm target = std::move(*other);
  target = std::move(moved);
  EXPECT_FALSE(moved.created());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_TRUE(target.created());
  EXPECT_EQ(target.n(), n);
  EXPECT_EQ(target.k(), k);

  AlignedBuffer<float> c = MakeOutput(p);
  Status s = target.Run(m, in.a.data(), c.data(), two_->pool());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(CheckOutput(p, c, ref, tol));
}

// Strides smaller than the rows are rejected with a message, not a crash.
TEST_F(GemmTest, CreateRejectsShortStrides) {
  AlignedBuffer<float> b(5 * 3);
  StatusOr<PackedGemm> bad_lda =
      PackedGemm::Create(3, 5, b.data(), BLayout::kNK, nullptr, -kInf, kInf, /*lda=*/4, 3);
  EXPECT_FALSE(bad_lda.ok());
  EXPECT_FALSE(bad_lda.status().message().empty());
  StatusOr<PackedGemm> bad_ldc =
      PackedGemm::Create(3, 5, b.data(), BLayout::kNK, nullptr, -kInf, kInf, 5, /*ldc=*/2);
  EXPECT_FALSE(bad_ldc.ok());
  EXPECT_FALSE(bad_ldc.status().message().empty());
}


}  // namespace
}  // namespace edgevae::gemm
