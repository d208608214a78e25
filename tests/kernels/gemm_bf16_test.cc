// The bf16 GEMM (kernels/gemm_bf16.h) against a plain reference: both operands rounded to bf16 by
// hand (round to nearest, ties to even, written out below), the products summed in double. Every
// (m, n, k) from {1, 3, 7, 19, 23, 64, 129} (odd k, m and n off the kernel's 8-row and 16-column
// tiles, m = 1), both B layouts, dense and strided A and C, and the products the trainer runs for
// the 784-400-20 network at batch 128. C starts as NaN so that an unwritten element fails; the
// gaps between rows (ldc > n) and a tail after the last row must come back untouched, and A's row
// padding holds NaN, which must not reach C. Every product runs on 1, 2 and 3 threads and the
// results must agree bit for bit, as must a product split into row ranges.
//
// Tolerance: the kernel adds exact products (a bf16 times a bf16 fits a float) in fp32, k + 1
// additions at most, so |error| <= (k + 1) u sum_k |a b| (u = 2^-24) in any order; we allow
// (k + 2) u sum |a b|. Rounding an operand the wrong way (truncating, or ties away from zero)
// moves a term by up to 2^-8 of itself, pairing the wrong halves of a k pair swaps terms, and an
// off-by-one in the k tail drops or adds a whole term: each is far outside that bound (and the
// bit-exact rounding test below sees the rounding itself).
//
// Without AVX512_BF16 (other CPUs, ARM builds) every test checks that Create says kUnsupported
// and skips.
#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
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
constexpr size_t kSizes[] = {1, 3, 7, 19, 23, 64, 129};

const char* Name(BLayout layout) { return layout == BLayout::kNK ? "B[n][k]" : "B[k][n]"; }

// The reference rounding, float -> bf16 -> float: round to nearest, ties to even, on the bits
// (add 0x7fff plus the lowest kept bit, then cut the low 16 bits). As VCVTNE2PS2BF16 does, a
// denormal input becomes a zero of its sign; NaN stays NaN. (Overflow to infinity comes out of
// the carry by itself.)
float RoundBf16(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  if (std::isnan(x)) return std::bit_cast<float>((bits | 0x00400000u) & 0xffff0000u);
  if ((bits & 0x7f800000u) == 0) return std::bit_cast<float>(bits & 0x80000000u);
  const uint32_t lsb = (bits >> 16) & 1u;
  return std::bit_cast<float>((bits + 0x7fffu + lsb) & 0xffff0000u);
}

using Data = testutil::UniformData;

struct Problem {
  size_t m, n, k, lda, ldc;
  BLayout layout;
};

std::string Describe(const Problem& p) {
  std::ostringstream s;
  s << "m " << p.m << " n " << p.n << " k " << p.k << " lda " << p.lda << " ldc " << p.ldc << " "
    << Name(p.layout);
  return s.str();
}

struct Inputs {
  AlignedBuffer<float> a, b;
};

// A is m x lda with NaN in each row's padding [k, lda); B is n x k in the problem's layout.
Inputs MakeInputs(const Problem& p, uint32_t seed) {
  Data data(seed);
  Inputs in{AlignedBuffer<float>(p.m * p.lda), AlignedBuffer<float>(p.n * p.k)};
  for (size_t i = 0; i < p.m; ++i) {
    for (size_t kk = 0; kk < p.lda; ++kk) {
      in.a[i * p.lda + kk] = kk < p.k ? data.Next() : std::numeric_limits<float>::quiet_NaN();
    }
  }
  for (size_t i = 0; i < p.n * p.k; ++i) in.b[i] = data.Next();
  return in;
}

// The plain loop over bf16-rounded operands, summed in double: ref[i * n + j] and its tolerance.
void Reference(const Problem& p, const Inputs& in, std::vector<double>& ref,
               std::vector<double>& tol) {
  std::vector<double> a(p.m * p.k), b(p.n * p.k);
  for (size_t i = 0; i < p.m; ++i) {
    for (size_t kk = 0; kk < p.k; ++kk) a[i * p.k + kk] = RoundBf16(in.a[i * p.lda + kk]);
  }
  for (size_t j = 0; j < p.n; ++j) {
    for (size_t kk = 0; kk < p.k; ++kk) {
      b[j * p.k + kk] =
          RoundBf16(p.layout == BLayout::kNK ? in.b[j * p.k + kk] : in.b[kk * p.n + j]);
    }
  }
  ref.assign(p.m * p.n, 0.0);
  tol.assign(p.m * p.n, 0.0);
  for (size_t i = 0; i < p.m; ++i) {
    const double* ai = a.data() + i * p.k;
    for (size_t j = 0; j < p.n; ++j) {
      const double* bj = b.data() + j * p.k;
      double sum = 0, scale = 0;
      for (size_t kk = 0; kk < p.k; ++kk) {
        const double ab = ai[kk] * bj[kk];
        sum += ab;
        scale += std::abs(ab);
      }
      ref[i * p.n + j] = sum;
      tol[i * p.n + j] = (p.k + 2) * kU * scale;
    }
  }
}

class GemmBf16Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int threads : {1, 2, 3}) {
      StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(threads);
      ASSERT_TRUE(rt.ok()) << rt.status().message();
      rts_[threads - 1] = std::move(rt).value();
    }
  }
  static void TearDownTestSuite() {
    for (auto& rt : rts_) rt.reset();
  }
  void SetUp() override {
    for (int t = 0; t < 3; ++t) {
      ASSERT_NE(rts_[t], nullptr);
      ASSERT_EQ(rts_[t]->threads(), t + 1);
    }
    ASSERT_EQ(rts_[0]->pool(), nullptr);
    if (!Bf16Available()) {
      // The one allowed skip: the kernel needs AVX512_BF16. Create must say so.
      AlignedBuffer<float> b(4);
      StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(2, 2, b.data(), BLayout::kNK, 2, 2);
      ASSERT_FALSE(g.ok());
      EXPECT_EQ(g.status().code(), StatusCode::kUnsupported) << g.status().message();
      GTEST_SKIP() << "this CPU (or this build's target) has no AVX512_BF16: the bf16 GEMM is "
                      "unavailable and PackedGemmBf16::Create returns kUnsupported";
    }
  }
  static pthreadpool_t Pool(int threads) { return rts_[threads - 1]->pool(); }

  // Packs B once, runs the product on 1 thread and on each of `threads`, checks the 1-thread
  // result against the reference and that the others are bit-identical to it.
  static void RunPacked(const Problem& p, uint32_t seed,
                        std::initializer_list<int> threads_list = {2}) {
    SCOPED_TRACE(Describe(p));
    const Inputs in = MakeInputs(p, seed);
    std::vector<double> ref, tol;
    Reference(p, in, ref, tol);
    StatusOr<PackedGemmBf16> g =
        PackedGemmBf16::Create(p.n, p.k, in.b.data(), p.layout, p.lda, p.ldc);
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_TRUE(g->created());
    EXPECT_EQ(g->n(), p.n);
    EXPECT_EQ(g->k(), p.k);
    AlignedBuffer<float> c1 = MakeOutput(p);
    Status s = g->Run(p.m, in.a.data(), c1.data(), Pool(1));
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(CheckOutput(p, c1, ref, tol));
    for (int threads : threads_list) {
      AlignedBuffer<float> ct = MakeOutput(p);
      s = g->Run(p.m, in.a.data(), ct.data(), Pool(threads));
      ASSERT_TRUE(s.ok()) << s.message();
      ASSERT_EQ(0, std::memcmp(c1.data(), ct.data(), sizeof(float) * c1.size()))
          << "1 and " << threads << " threads disagree";
    }
  }

  static std::unique_ptr<Runtime> rts_[3];
};
std::unique_ptr<Runtime> GemmBf16Test::rts_[3];

TEST_F(GemmBf16Test, AllShapes) {
  struct Strides {
    const char* name;
    size_t lda_pad, ldc_pad;
  };
  for (const Strides& v : {Strides{"dense", 0, 0}, Strides{"strided", 3, 5}}) {
    SCOPED_TRACE(v.name);
    for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
      for (size_t m : kSizes) {
        for (size_t n : kSizes) {
          for (size_t k : kSizes) {
            const Problem p{m, n, k, k + v.lda_pad, n + v.ldc_pad, layout};
            RunPacked(p, static_cast<uint32_t>(m * 1000003 + n * 1009 + k));
            if (HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

// Every column count up to three of the kernel's 16-column vectors past a panel, and every k
// up to two 32-float conversion blocks past, on a few rows: each tail of the packing and of the
// masked stores.
TEST_F(GemmBf16Test, EveryTail) {
  for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
    for (size_t n = 1; n <= 80; ++n) {
      for (size_t k : {1, 2, 15, 16, 17, 31, 32, 33, 34, 63, 64, 65}) {
        const Problem p{9, n, k, k + 1, n + 1, layout};
        RunPacked(p, static_cast<uint32_t>(n * 131 + k));
        if (HasFatalFailure()) return;
      }
    }
  }
}

// The products of a training step of the 784-400-20 network at batch 128 (lib/src/tools/
// backprop.cc, Plan), as M x N x K with the packed operand's layout.
TEST_F(GemmBf16Test, TrainerShapes) {
  const Problem shapes[] = {
      {400, 128, 784, 784, 128, BLayout::kKN},  // fc1 forward, fc4 input gradient
      {400, 784, 128, 128, 784, BLayout::kNK},  // fc1 weight gradient
      {784, 128, 400, 400, 128, BLayout::kKN},  // fc4 forward
      {784, 400, 128, 128, 400, BLayout::kNK},  // fc4 weight gradient
      {128, 40, 400, 400, 40, BLayout::kNK},    // heads forward
      {400, 128, 40, 40, 128, BLayout::kKN},    // heads input gradient
      {400, 40, 128, 128, 40, BLayout::kNK},    // heads weight gradient (transposed)
      {400, 128, 20, 20, 128, BLayout::kKN},    // fc3 forward
      {128, 20, 400, 400, 20, BLayout::kKN},    // fc3 input gradient
      {400, 20, 128, 128, 20, BLayout::kNK},    // fc3 weight gradient
  };
  uint32_t seed = 1;
  for (const Problem& p : shapes) {
    RunPacked(p, ++seed, {2, 3});
    if (HasFatalFailure()) return;
  }
}

// Rounding, bit for bit: with B the identity (n = k), C = bf16(A); with A the identity (m = k),
// C = bf16(B)^T. The values are ties with an even and an odd kept bit, either side of a tie, a
// carry into the exponent, negatives, a denormal (to zero, as the instruction does) and plain
// random ones, at even and odd k positions (k odd: the last pair's zero half too).
TEST_F(GemmBf16Test, RoundsToNearestEven) {
  const uint32_t special[] = {
      0x3f808000u,  // tie, kept bit even: down to 0x3f80
      0x3f818000u,  // tie, kept bit odd: up to 0x3f82
      0x3f808001u,  // just above a tie: up
      0x3f807fffu,  // just below a tie: down
      0xbf818000u,  // negative tie, odd: away from zero
      0xbf808000u,  // negative tie, even: toward zero
      0x3f7fffffu,  // rounds up into the next binade (1.0)
      0x4049ffffu,  // up, carry into the kept bits
      0x00400000u,  // denormal: zero
      0x3c23d70au,  // 0.01
      0x00000000u, 0x80000000u};
  const size_t k = 37;
  Data data(99);
  std::vector<float> values(k * k);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = i % 3 == 0 ? std::bit_cast<float>(special[(i / 3) % std::size(special)])
                           : data.Next() * 8.0f;
  }
  AlignedBuffer<float> x(k * k), eye(k * k);
  for (size_t i = 0; i < k * k; ++i) x[i] = values[i];
  for (size_t i = 0; i < k; ++i) eye[i * k + i] = 1.0f;
  auto check = [&](const AlignedBuffer<float>& c, bool transposed) {
    size_t bad = 0;
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < k; ++j) {
        const float want = RoundBf16(transposed ? x[j * k + i] : x[i * k + j]) + 0.0f;
        const float got = c[i * k + j];
        if (std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(want) && ++bad <= 4) {
          ADD_FAILURE() << "C[" << i << "][" << j << "] = " << std::hexfloat << got << ", want "
                        << want << " (input " << (transposed ? x[j * k + i] : x[i * k + j])
                        << ")";
        }
      }
    }
    EXPECT_EQ(bad, 0u);
  };
  for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
    SCOPED_TRACE(Name(layout));
    // C = A . I: A's rounding (the identity is its own transpose in either layout).
    StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(k, k, eye.data(), layout, k, k);
    ASSERT_TRUE(g.ok()) << g.status().message();
    AlignedBuffer<float> c(k * k);
    ASSERT_TRUE(g->Run(k, x.data(), c.data(), Pool(2)).ok());
    check(c, false);
    // C = I . B^T: B's rounding and packing. x as B[n][k] gives C = bf16(x)^T, as B[k][n]
    // C = bf16(x).
    g = PackedGemmBf16::Create(k, k, x.data(), layout, k, k);
    ASSERT_TRUE(g.ok()) << g.status().message();
    ASSERT_TRUE(g->Run(k, eye.data(), c.data(), Pool(1)).ok());
    check(c, layout == BLayout::kNK);
  }
}

// A product split into row ranges gives the same bits as in one call, on any thread count: each
// element is one sum over k in order, whatever the tiling.
TEST_F(GemmBf16Test, RowSplitsAreBitIdentical) {
  for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
    const Problem p{157, 83, 211, 215, 90, layout};
    SCOPED_TRACE(Describe(p));
    const Inputs in = MakeInputs(p, 77);
    StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(p.n, p.k, in.b.data(), layout, p.lda,
                                                        p.ldc);
    ASSERT_TRUE(g.ok()) << g.status().message();
    AlignedBuffer<float> whole = MakeOutput(p);
    ASSERT_TRUE(g->Run(p.m, in.a.data(), whole.data(), Pool(1)).ok());
    std::vector<double> ref, tol;
    Reference(p, in, ref, tol);
    ASSERT_TRUE(CheckOutput(p, whole, ref, tol));
    for (size_t split : {1, 5, 8, 13, 100, 156}) {
      for (int threads : {1, 2, 3}) {
        SCOPED_TRACE(::testing::Message() << "split at " << split << ", " << threads
                                          << " threads");
        AlignedBuffer<float> parts = MakeOutput(p);
        ASSERT_TRUE(g->Run(split, in.a.data(), parts.data(), Pool(threads)).ok());
        ASSERT_TRUE(g->Run(p.m - split, in.a.data() + split * p.lda, parts.data() + split * p.ldc,
                           Pool(threads))
                        .ok());
        ASSERT_EQ(0, std::memcmp(whole.data(), parts.data(), sizeof(float) * whole.size()));
      }
    }
  }
}

// The two layouts are the same product: B[k][n] holding the transpose of B[n][k] gives the same
// bits.
TEST_F(GemmBf16Test, LayoutsAgree) {
  const size_t m = 23, n = 45, k = 129;
  const Problem p{m, n, k, k, n, BLayout::kNK};
  const Inputs in = MakeInputs(p, 5);
  AlignedBuffer<float> bt(n * k);
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < k; ++c) bt[c * n + r] = in.b[r * k + c];
  }
  AlignedBuffer<float> c_nk(m * n), c_kn(m * n);
  for (BLayout layout : {BLayout::kNK, BLayout::kKN}) {
    StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(
        n, k, layout == BLayout::kNK ? in.b.data() : bt.data(), layout, k, n);
    ASSERT_TRUE(g.ok()) << g.status().message();
    Status s =
        g->Run(m, in.a.data(), layout == BLayout::kNK ? c_nk.data() : c_kn.data(), Pool(2));
    ASSERT_TRUE(s.ok()) << s.message();
  }
  EXPECT_EQ(0, std::memcmp(c_nk.data(), c_kn.data(), sizeof(float) * m * n));
}

// One packed operand serves many runs with different m and A (the scratch for the rounded A
// grows with m and is reused).
TEST_F(GemmBf16Test, PackedOperandIsReusable) {
  const size_t n = 19, k = 23, lda = 26, ldc = 21;
  Problem p{129, n, k, lda, ldc, BLayout::kKN};
  const Inputs in = MakeInputs(p, 11);
  StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(n, k, in.b.data(), p.layout, lda, ldc);
  ASSERT_TRUE(g.ok()) << g.status().message();
  uint32_t seed = 100;
  for (size_t m : {1, 129, 7, 64, 3, 200, 1}) {
    SCOPED_TRACE(m);
    p.m = m;
    Inputs run = MakeInputs(p, ++seed);  // fresh A of m rows; B is what was packed
    run.b = in.b.Clone();
    std::vector<double> ref, tol;
    Reference(p, run, ref, tol);
    AlignedBuffer<float> c = MakeOutput(p);
    Status s = g->Run(m, run.a.data(), c.data(), Pool(seed % 2 ? 1 : 2));
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(CheckOutput(p, c, ref, tol));
  }
}

TEST_F(GemmBf16Test, ZeroRowsIsANoOp) {
  const size_t n = 7, k = 3;
  const Problem one_row{1, n, k, k, n, BLayout::kNK};
  const Inputs in = MakeInputs(one_row, 3);
  AlignedBuffer<float> c = MakeOutput(one_row);
  for (int threads : {1, 2}) {
    StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(n, k, in.b.data(), BLayout::kNK, k, n);
    ASSERT_TRUE(g.ok()) << g.status().message();
    Status s = g->Run(0, in.a.data(), c.data(), Pool(threads));
    EXPECT_TRUE(s.ok()) << s.message();
  }
  for (size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(IsSentinel(c[i])) << "C written at " << i;
}

TEST_F(GemmBf16Test, MoveTransfersThePackedOperand) {
  const size_t n = 3, k = 7, m = 5;
  const Problem p{m, n, k, k, n, BLayout::kNK};
  const Inputs in = MakeInputs(p, 21);
  std::vector<double> ref, tol;
  Reference(p, in, ref, tol);

  PackedGemmBf16 empty;
  EXPECT_FALSE(empty.created());
  AlignedBuffer<float> c = MakeOutput(p);
  EXPECT_FALSE(empty.Run(m, in.a.data(), c.data(), Pool(1)).ok());  // nothing packed
  StatusOr<PackedGemmBf16> g = PackedGemmBf16::Create(n, k, in.b.data(), p.layout, k, n);
  ASSERT_TRUE(g.ok()) << g.status().message();
  PackedGemmBf16 moved(std::move(*g));
  EXPECT_FALSE(g->created());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_TRUE(moved.created());
  EXPECT_EQ(moved.n(), n);
  EXPECT_EQ(moved.k(), k);

  StatusOr<PackedGemmBf16> other = PackedGemmBf16::Create(k, n, in.b.data(), p.layout, n, k);
  ASSERT_TRUE(other.ok()) << other.status().message();
  PackedGemmBf16 target = std::move(*other);
  target = std::move(moved);
  EXPECT_FALSE(moved.created());  // NOLINT(bugprone-use-after-move)
  ASSERT_TRUE(target.created());
  EXPECT_EQ(target.n(), n);
  EXPECT_EQ(target.k(), k);

  c = MakeOutput(p);
  Status s = target.Run(m, in.a.data(), c.data(), Pool(2));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(CheckOutput(p, c, ref, tol));
}

// Strides smaller than the rows are rejected with a message, not a crash.
TEST_F(GemmBf16Test, CreateRejectsShortStrides) {
  AlignedBuffer<float> b(5 * 3);
  StatusOr<PackedGemmBf16> bad_lda =
      PackedGemmBf16::Create(3, 5, b.data(), BLayout::kNK, /*lda=*/4, 3);
  EXPECT_FALSE(bad_lda.ok());
  EXPECT_EQ(bad_lda.status().code(), StatusCode::kInvalidArgument);
  StatusOr<PackedGemmBf16> bad_ldc =
      PackedGemmBf16::Create(3, 5, b.data(), BLayout::kNK, 5, /*ldc=*/2);
  EXPECT_FALSE(bad_ldc.ok());
  EXPECT_EQ(bad_ldc.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgevae::gemm
