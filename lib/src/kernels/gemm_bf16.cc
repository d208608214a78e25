#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "kernels/parallel.h"

// The kernel needs the AVX512_BF16 intrinsics (GCC 10, Clang 9 and later); it is compiled for
// that target function by function (EVAE_BF16_TARGET), the rest of the project for baseline
// x86-64, and only called when the CPU has it (Bf16Available()).
#if defined(__x86_64__) && \
    ((defined(__clang__) && __clang_major__ >= 9) || (!defined(__clang__) && __GNUC__ >= 10))
#define EDGEVAE_GEMM_BF16 1
#include <cpuinfo.h>
#include <immintrin.h>
#define EVAE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#if !defined(__clang__)
// GCC 12's AVX-512 shuffle intrinsics start from a self-initialised _mm512_undefined_epi32(),
// which -Wmaybe-uninitialized reports at every use: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace edgevae::gemm {

#if defined(EDGEVAE_GEMM_BF16)
namespace {

// Register blocking of the micro-kernel: kMr rows of A (each k pair broadcast to all lanes) times
// kNv vectors of 16 columns of packed B, kMr * kNv fp32 accumulators: per k pair, 2 loads of B
// and 8 broadcasts of A feed 16 VDPBF16PS, enough independent sums to cover its latency. On Zen 4
// the trainer's large products run at the same speed (within noise) with 12x2, 14x2, 4x4, 6x4
// and 7x4; 8x2 keeps panels 32 columns wide, which wastes less on the trainer's n = 20 and 40.
constexpr int kMr = 8;
constexpr int kNv = 2;
constexpr size_t kPanel = 16 * kNv;  // columns of a full panel of packed B

// Panel layout: the columns in panels of kPanel (the last one rounded up to 16), each panel
// [pair][column] of dwords (bf16 of k = 2p in the low half, k = 2p + 1 in the high half) and
// starting at column j0 * pairs dwords. Columns past n and the high half of the last pair of an
// odd k hold zeros.
size_t PanelWidth(size_t n, size_t j0) {
  return std::min(kPanel, (n - j0 + 15) / 16 * 16);
}

// 16 bits set below `count` (count <= 16).
inline __mmask16 Mask16(size_t count) {
  return static_cast<__mmask16>(count >= 16 ? 0xffffu : (1u << count) - 1u);
}

// 32 floats x[0..count) (zero past count, count <= 32) rounded to bf16, in order.
EVAE_BF16_TARGET inline __m512i Round32(const float* x, size_t count) {
  const __m512 lo = _mm512_maskz_loadu_ps(Mask16(count), x);
  const __m512 hi = count > 16 ? _mm512_maskz_loadu_ps(Mask16(count - 16), x + 16)
                               : _mm512_setzero_ps();
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Rows [r0, r1) of A (k floats each, lda apart) rounded to bf16 into dst, `pairs` dwords a row.
EVAE_BF16_TARGET void RoundRows(const float* a, size_t lda, size_t k, size_t pairs, size_t r0,
                                size_t r1, uint32_t* dst) {
  for (size_t r = r0; r < r1; ++r) {
    const float* x = a + r * lda;
    uint32_t* d = dst + r * pairs;
    size_t kk = 0;
    for (; kk + 32 <= k; kk += 32) {
      const __m512 lo = _mm512_loadu_ps(x + kk), hi = _mm512_loadu_ps(x + kk + 16);
      _mm512_storeu_si512(d + kk / 2, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)));
    }
    if (kk < k) _mm512_mask_storeu_epi32(d + kk / 2, Mask16(pairs - kk / 2), Round32(x + kk, k - kk));
  }
}

// 16 x 16 dwords: out[c] = column c of rows r[0..16).
EVAE_BF16_TARGET inline void Transpose16x16(const __m512i r[16], __m512i out[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + q], 128-bit lane L: column 4L + q of rows 4i..4i+3.
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int q = 0; q < 4; ++q) {
    const __m512i x0 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x88);
    const __m512i x1 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xdd);
    const __m512i y0 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x88);
    const __m512i y1 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xdd);
    out[q] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    out[8 + q] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
    out[4 + q] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    out[12 + q] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
  }
}

// B[n][k]: each row's k pairs are adjacent; 16 rows x 16 pairs at a time, transposed to
// [pair][column].
EVAE_BF16_TARGET void PackNK(size_t n, size_t k, size_t pairs, const float* b, uint32_t* packed) {
  __m512i rows[16], cols[16];
  for (size_t j0 = 0; j0 < n; j0 += kPanel) {
    const size_t w = PanelWidth(n, j0);
    uint32_t* panel = packed + j0 * pairs;
    for (size_t v = 0; v < w; v += 16) {
      for (size_t p0 = 0; p0 < pairs; p0 += 16) {
        const size_t kk = 2 * p0, count = std::min<size_t>(32, k - kk);
        for (size_t r = 0; r < 16; ++r) {
          const size_t j = j0 + v + r;
          rows[r] = j < n ? Round32(b + j * k + kk, count) : _mm512_setzero_si512();
        }
        Transpose16x16(rows, cols);
        const size_t np = std::min<size_t>(16, pairs - p0);
        for (size_t q = 0; q < np; ++q) _mm512_store_si512(panel + (p0 + q) * w + v, cols[q]);
      }
    }
  }
}

// B[k][n]: rows 2p and 2p + 1 give pair p of 16 columns at once, interleaved word by word.
EVAE_BF16_TARGET void PackKN(size_t n, size_t k, size_t pairs, const float* b, uint32_t* packed) {
  // Word 2i <- word i (row 2p, low half), word 2i + 1 <- word 16 + i (row 2p + 1).
  alignas(64) uint16_t idx[32];
  for (int i = 0; i < 16; ++i) {
    idx[2 * i] = static_cast<uint16_t>(i);
    idx[2 * i + 1] = static_cast<uint16_t>(16 + i);
  }
  const __m512i interleave = _mm512_load_si512(idx);
  for (size_t j0 = 0; j0 < n; j0 += kPanel) {
    const size_t w = PanelWidth(n, j0);
    uint32_t* panel = packed + j0 * pairs;
    for (size_t p = 0; p < pairs; ++p) {
      const float* even = b + 2 * p * n;
      const bool has_odd = 2 * p + 1 < k;
      for (size_t v = 0; v < w; v += 16) {
        const size_t j = j0 + v;
        const __mmask16 m = Mask16(j < n ? n - j : 0);
        const __m512 lo = _mm512_maskz_loadu_ps(m, even + j);
        const __m512 hi = has_odd ? _mm512_maskz_loadu_ps(m, even + n + j) : _mm512_setzero_ps();
        const __m512i words = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
        _mm512_store_si512(panel + p * w + v, _mm512_permutexvar_epi16(interleave, words));
      }
    }
  }
}

// C[MR][16 NV] = A[MR][pairs] . panel^T: `a` rows `lda` dwords apart, `b` the panel
// (16 NV dwords a pair), the last vector's columns masked by `last`.
template <int MR, int NV>
EVAE_BF16_TARGET void Tile(size_t pairs, const uint32_t* a, size_t lda, const uint32_t* b,
                           float* c, size_t ldc, __mmask16 last) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (size_t p = 0; p < pairs; ++p) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      bv[v] = reinterpret_cast<__m512bh>(_mm512_load_si512(b + 16 * v));
    }
    b += 16 * NV;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512bh av =
          reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[r * lda + p])));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v + 1 < NV; ++v) _mm512_storeu_ps(cr + 16 * v, acc[r][v]);
    _mm512_mask_storeu_ps(cr + 16 * (NV - 1), last, acc[r][NV - 1]);
  }
}

using TileFn = void (*)(size_t, const uint32_t*, size_t, const uint32_t*, float*, size_t,
                        __mmask16);

template <int MR, size_t... V>
constexpr std::array<TileFn, kNv> RowOfTiles(std::index_sequence<V...>) {
  return {&Tile<MR, static_cast<int>(V) + 1>...};
}
template <size_t... R>
constexpr std::array<std::array<TileFn, kNv>, kMr> TileTable(std::index_sequence<R...>) {
  return {RowOfTiles<static_cast<int>(R) + 1>(std::make_index_sequence<kNv>())...};
}
// kTiles[MR - 1][NV - 1]
constexpr auto kTiles = TileTable(std::make_index_sequence<kMr>());

// C rows [r0, r1) and columns of panels [p0, p1) (panel index), from A already in bf16.
void Compute(size_t n, size_t pairs, const uint32_t* packed, const uint32_t* a, float* c,
             size_t ldc, size_t r0, size_t r1, size_t p0, size_t p1) {
  for (size_t r = r0; r < r1; r += kMr) {
    const size_t mr = std::min<size_t>(kMr, r1 - r);
    for (size_t pi = p0; pi < p1; ++pi) {
      const size_t j0 = pi * kPanel, w = PanelWidth(n, j0);
      const size_t nv = w / 16;
      const __mmask16 last = Mask16(n - (j0 + w - 16));
      kTiles[mr - 1][nv - 1](pairs, a + r * pairs, pairs, packed + j0 * pairs, c + r * ldc + j0,
                             ldc, last);
    }
  }
}

}  // namespace

bool Bf16Available() {
  static const bool available = cpuinfo_initialize() && cpuinfo_has_x86_avx512f() &&
                                cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl() &&
                                cpuinfo_has_x86_avx512bf16();
  return available;
}

#else  // no kernel in this build

bool Bf16Available() { return false; }

#endif

PackedGemmBf16& PackedGemmBf16::operator=(PackedGemmBf16&& other) noexcept {
  if (this != &other) {
    n_ = other.n_;
    k_ = other.k_;
    lda_ = other.lda_;
    ldc_ = other.ldc_;
    pairs_ = other.pairs_;
    a_rows_ = other.a_rows_;
    packed_ = std::move(other.packed_);
    a_bf16_ = std::move(other.a_bf16_);
    // A moved-from AlignedBuffer keeps its size: make `other` plainly empty.
    other.packed_ = AlignedBuffer<uint32_t>();
    other.a_bf16_ = AlignedBuffer<uint32_t>();
    other.n_ = other.k_ = other.pairs_ = other.a_rows_ = 0;
  }
  return *this;
}

StatusOr<PackedGemmBf16> PackedGemmBf16::Create(size_t n, size_t k, const float* b,
                                                BLayout layout, size_t lda, size_t ldc) {
  if (lda < k || ldc < n) {
    return InvalidArgument("bf16 GEMM strides too short: lda " + std::to_string(lda) + " < k " +
                           std::to_string(k) + " or ldc " + std::to_string(ldc) + " < n " +
                           std::to_string(n));
  }
  if (!Bf16Available()) {
    return Unsupported("bf16 matrix products need a CPU with AVX512_BF16 (AMD Zen 4 and later, "
                       "Intel Cooper Lake or Sapphire Rapids and later) in an x86-64 build; use "
                       "fp32");
  }
  if (n == 0 || k == 0) return InvalidArgument("bf16 GEMM of an empty matrix (n or k is 0)");
#if defined(EDGEVAE_GEMM_BF16)
  PackedGemmBf16 g;
  g.n_ = n;
  g.k_ = k;
  g.lda_ = lda;
  g.ldc_ = ldc;
  g.pairs_ = (k + 1) / 2;
  const size_t padded_n = (n + 15) / 16 * 16;
  g.packed_.Resize(padded_n * g.pairs_);
  if (g.packed_.empty()) return Internal("out of memory packing a bf16 GEMM operand");
  if (layout == BLayout::kNK) {
    PackNK(n, k, g.pairs_, b, g.packed_.data());
  } else {
    PackKN(n, k, g.pairs_, b, g.packed_.data());
  }
  return g;
#else
  return Internal("unreachable");
#endif
}

Status PackedGemmBf16::Run(size_t m, const float* a, float* c, pthreadpool_t pool) {
  if (m == 0) return Status::Ok();
  if (!created()) return InvalidArgument("bf16 GEMM run before a successful Create");
#if defined(EDGEVAE_GEMM_BF16)
  if (m > a_rows_) {
    a_bf16_.Resize(m * pairs_);
    if (a_bf16_.empty()) {
      a_rows_ = 0;
      return Internal("out of memory for a bf16 GEMM's rounded A (" + std::to_string(m) + " x " +
                      std::to_string(k_) + ")");
    }
    a_rows_ = m;
  }
  const size_t n = n_, k = k_, lda = lda_, ldc = ldc_, pairs = pairs_;
  const uint32_t* packed = packed_.data();
  uint32_t* abf = a_bf16_.data();
  const size_t panels = (n + kPanel - 1) / kPanel;
  const size_t row_tiles = (m + kMr - 1) / kMr;
  const size_t threads = pool == nullptr ? 1 : pthreadpool_get_threads_count(pool);
  if (threads <= 1) {
    for (size_t r = 0; r < m; r += kMr) {
      const size_t r1 = std::min(m, r + kMr);
      RoundRows(a, lda, k, pairs, r, r1, abf);
      Compute(n, pairs, packed, abf, c, ldc, r, r1, 0, panels);
    }
    return Status::Ok();
  }
  if (row_tiles >= 4 * threads) {
    // Each task rounds its own rows of A and computes them against every panel.
    const ForkJoinTask task([&](size_t t) {
      const size_t r = t * kMr, r1 = std::min(m, r + kMr);
      RoundRows(a, lda, k, pairs, r, r1, abf);
      Compute(n, pairs, packed, abf, c, ldc, r, r1, 0, panels);
    });
    pthreadpool_parallelize_1d(pool, task, row_tiles, ParallelFlags());
    task.Joined();
    return Status::Ok();
  }
  // Few rows: round A first, then split the rows and the panels.
  RoundRows(a, lda, k, pairs, 0, m, abf);
  const ForkJoinTask task([&](size_t t, size_t pi) {
    const size_t r = t * kMr, r1 = std::min(m, r + kMr);
    Compute(n, pairs, packed, abf, c, ldc, r, r1, pi, pi + 1);
  });
  pthreadpool_parallelize_2d(pool, task, row_tiles, panels, ParallelFlags());
  task.Joined();
  return Status::Ok();
#else
  (void)a;
  (void)c;
  (void)pool;
  return Internal("unreachable");
#endif
}

}  // namespace edgevae::gemm
