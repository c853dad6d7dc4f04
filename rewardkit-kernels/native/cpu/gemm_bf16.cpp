// bf16 GEMM with fp32 accumulation (AVX512-BF16 vdpbf16ps) and its scalar reference; see gemm_bf16.h.
// Only the functions marked RK_BF16_TARGET use AVX-512 (the library is built for AVX2 + FMA at most); they run
// only after bf16_gemm_supported() said yes. This file is compiled with -ffp-contract=off (CMakeLists.txt) so
// the reference's products and sums round exactly as written.
#include "rewardkit/gemm_bf16.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "rewardkit/gemm.h"

#define RK_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace rk {

namespace {

// Micro-tile: 12 rows x 32 columns of C = 24 zmm accumulators (+ 2 for the B pairs, 1 for the A broadcast).
constexpr long kMr = 12, kNr = 32;
// Column stripes start on multiples of a B panel; row stripes on gemm.h's 48 (a multiple of kMr).
constexpr long kColAlign = kNr;
// B panels per block: as many as fit this many bytes (kept in L2 while every A panel of the stripe passes).
constexpr long kBBlockBytes = 384 * 1024;

std::atomic<int> g_disabled{-1};  // -1: not read yet; 0/1

bool cpu_has_bf16() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                          && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return has;
}

// One buffer per calling thread, grown on demand, 64-byte aligned.
struct Buffer {
  std::unique_ptr<uint32_t[], decltype(&std::free)> p{nullptr, &std::free};
  size_t n = 0;
  uint32_t* get(size_t want) {
    if (want > n) {
      size_t bytes = (want * sizeof(uint32_t) + 63) / 64 * 64;
      p.reset(static_cast<uint32_t*>(std::aligned_alloc(64, bytes)));
      RK_REQUIRE("bf16_gemm", p != nullptr, "out of memory for packing buffers");
      n = want;
    }
    return p.get();
  }
};

// A view of op(A) (rows i = rows of C) or op(B)ᵀ (rows i = columns of C): element (i, kk) at x[i·si + kk·sk].
struct View {
  const float* x;
  long si, sk;
};

inline View a_view(bool trans_a, const float* a, long lda) { return trans_a ? View{a, 1, lda} : View{a, lda, 1}; }
inline View b_view(bool trans_b, const float* b, long ldb) { return trans_b ? View{b, ldb, 1} : View{b, 1, ldb}; }

inline __mmask16 mask_of(long n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << std::max(0L, n)) - 1); }

// Packs rows i0 .. i0+W-1 of a view (ni of them valid, the rest zero) into a panel: out[t·W + w] holds the bf16
// pair (k = 2t low half, k = 2t+1 high half) of row i0+w; a missing k (K odd) is a zero.
template <int W>
RK_BF16_TARGET void pack_panel(const View& v, long i0, long ni, long k, uint32_t* out) {
  const long kp = (k + 1) / 2;
  if (v.sk == 1) {  // pairs contiguous in memory: convert 32 k at a time, scatter the 16 pairs down the panel
    alignas(64) uint32_t tmp[16];
    for (long w = 0; w < W; ++w) {
      if (w >= ni) {
        for (long t = 0; t < kp; ++t) out[t * W + w] = 0;
        continue;
      }
      const float* row = v.x + (i0 + w) * v.si;
      for (long t0 = 0; t0 < kp; t0 += 16) {
        long k0 = 2 * t0, left = k - k0;
        __m512 lo = _mm512_maskz_loadu_ps(mask_of(left), row + k0);
        __m512 hi = _mm512_maskz_loadu_ps(mask_of(left - 16), row + k0 + 16);
        _mm512_store_si512(tmp, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        long nt = std::min(16L, kp - t0);
        for (long j = 0; j < nt; ++j) out[(t0 + j) * W + w] = tmp[j];
      }
    }
  } else {  // rows contiguous (si == 1): convert 16 rows of k and of k+1, interleave into pairs
    for (long t = 0; t < kp; ++t) {
      const float* r0 = v.x + (2 * t) * v.sk + i0;
      const float* r1 = v.x + (2 * t + 1) * v.sk + i0;
      bool has1 = 2 * t + 1 < k;
      for (long w = 0; w < W; w += 16) {
        __mmask16 m = mask_of(ni - w);
        __m256i lo = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r0 + w));
        __m256i hi = has1 ? (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r1 + w)) : _mm256_setzero_si256();
        // (maskz forms: the plain ones trip g++ 12's -Wmaybe-uninitialized on their _mm512_undefined operand)
        const __mmask16 all = 0xFFFF;
        __m512i pair = _mm512_or_si512(_mm512_maskz_cvtepu16_epi32(all, lo),
                                       _mm512_maskz_slli_epi32(all, _mm512_maskz_cvtepu16_epi32(all, hi), 16));
        _mm512_mask_storeu_epi32(out + t * W + w, mask_of(W - w), pair);
      }
    }
  }
}

// C tile (rows x cols valid, at most 12 x 32) = epilogue(Σ over kp pairs), see gemm_bf16.h.
RK_BF16_TARGET void micro_12x32(const uint32_t* __restrict ap, const uint32_t* __restrict bp, long kp, float* c,
                                long ldc, long rows, long cols, float alpha, float beta) {
  __m512 acc[24];
#pragma GCC unroll 24
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_setzero_ps();
  for (long t = 0; t < kp; ++t) {
    // Panels larger than L1 (K in the thousands) stream from L2: fetch 8 pairs of B and 16 of A ahead.
    _mm_prefetch((const char*)(bp + 8 * kNr), _MM_HINT_T0);
    _mm_prefetch((const char*)(bp + 8 * kNr + 16), _MM_HINT_T0);
    _mm_prefetch((const char*)(ap + 16 * kMr), _MM_HINT_T0);
    __m512bh b0 = (__m512bh)_mm512_load_si512(bp);
    __m512bh b1 = (__m512bh)_mm512_load_si512(bp + 16);
#pragma GCC unroll 12
    for (int r = 0; r < 12; ++r) {
      __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[r]);
      acc[2 * r] = _mm512_dpbf16_ps(acc[2 * r], av, b0);
      acc[2 * r + 1] = _mm512_dpbf16_ps(acc[2 * r + 1], av, b1);
    }
    ap += kMr;
    bp += kNr;
  }
  const __mmask16 m0 = mask_of(cols), m1 = mask_of(cols - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (long r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    if (beta == 0.0f) {
      _mm512_mask_storeu_ps(cr, m0, _mm512_mul_ps(va, acc[2 * r]));
      _mm512_mask_storeu_ps(cr + 16, m1, _mm512_mul_ps(va, acc[2 * r + 1]));
    } else {
      __m512 c0 = _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr));
      __m512 c1 = _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16));
      _mm512_mask_storeu_ps(cr, m0, _mm512_fmadd_ps(va, acc[2 * r], c0));
      _mm512_mask_storeu_ps(cr + 16, m1, _mm512_fmadd_ps(va, acc[2 * r + 1], c1));
    }
  }
}

// One stripe: rows [r0, r1) x columns [c0, c1) of C from the packed panels (r0 a multiple of 12, c0 of 32).
void compute_stripe(const uint32_t* ap, const uint32_t* bp, long kp, long r0, long r1, long c0, long c1, float alpha,
                    float beta, float* c, long ldc) {
  const long panel_a = kp * kMr, panel_b = kp * kNr;
  const long nb = std::max(1L, kBBlockBytes / std::max(1L, panel_b * (long)sizeof(uint32_t)));
  for (long jb = c0; jb < c1; jb += nb * kNr) {
    long jend = std::min(c1, jb + nb * kNr);
    for (long i = r0; i < r1; i += kMr) {
      const uint32_t* a = ap + (i / kMr) * panel_a;
      for (long j = jb; j < jend; j += kNr)
        micro_12x32(a, bp + (j / kNr) * panel_b, kp, c + i * ldc + j, ldc, std::min(kMr, r1 - i),
                    std::min(kNr, jend - j), alpha, beta);
    }
  }
}

// Packs both operands (the panels shared by the team) and computes the plan's stripes.
void run(const StripePlan& p, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
         long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  thread_local Buffer abuf, bbuf;
  const long kp = (k + 1) / 2, pa = (m + kMr - 1) / kMr, pb = (n + kNr - 1) / kNr;
  uint32_t* ap = abuf.get((size_t)std::max(1L, pa * kMr * kp));
  uint32_t* bp = bbuf.get((size_t)std::max(1L, pb * kNr * kp));
  const View va = a_view(trans_a, a, lda), vb = b_view(trans_b, b, ldb);
  const long dim = p.rows ? m : n;
  // Thread s of `team` packs every team-th panel, then computes every team-th stripe. No omp worksharing
  // constructs: inside a caller's parallel region (team 1) they would bind to the caller's team.
  auto body = [&](int s, int team) {
    for (long i = s; i < pa; i += team) pack_panel<kMr>(va, i * kMr, std::min(kMr, m - i * kMr), k, ap + i * kMr * kp);
    for (long j = s; j < pb; j += team) pack_panel<kNr>(vb, j * kNr, std::min(kNr, n - j * kNr), k, bp + j * kNr * kp);
    if (team > 1) {
#pragma omp barrier
    }
    for (long st = s; st < p.stripes; st += team) {
      long lo = st * p.chunk, hi = std::min(dim, lo + p.chunk);
      if (lo >= hi) continue;
      if (p.rows) compute_stripe(ap, bp, kp, lo, hi, 0, n, alpha, beta, c, ldc);
      else compute_stripe(ap, bp, kp, 0, m, lo, hi, alpha, beta, c, ldc);
    }
  };
  if (p.stripes <= 1) {
    body(0, 1);
  } else {
#pragma omp parallel num_threads(p.stripes)
    body(omp_get_thread_num(), omp_get_num_threads());
  }
}

void check(long m, long n, long k, long lda, long ldb, long ldc, bool trans_a, bool trans_b, const void* a,
           const void* b, const void* c) {
  RK_REQUIRE("bf16_gemm", bf16_gemm_supported(),
             "this CPU has no AVX512-BF16 (or it was disabled); check bf16_gemm_supported() first");
  gemm_check_args("bf16_gemm", m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
}

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float ftz(float x) { return std::fabs(x) < FLT_MIN ? std::copysign(0.0f, x) : x; }

}  // namespace

bool bf16_gemm_supported() {
  int d = g_disabled.load();
  if (d < 0) {
    const char* env = std::getenv("RK_DISABLE_AVX512BF16");
    int from_env = env != nullptr && env[0] != '\0' && std::strcmp(env, "0") != 0 ? 1 : 0;
    g_disabled.compare_exchange_strong(d, from_env);
    d = g_disabled.load();
  }
  return d == 0 && cpu_has_bf16();
}

void set_bf16_gemm_disabled(bool disabled) { g_disabled.store(disabled ? 1 : 0); }

void bf16_gemm(bool allow_cols, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
               long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  check(m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
  if (m == 0 || n == 0) return;
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  run(stripe_plan(m, n, k, threads, allow_cols, kColAlign), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
      c, ldc);
}

void bf16_gemm_striped(int stripes, bool rows, bool trans_a, bool trans_b, long m, long n, long k, float alpha,
                       const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  RK_REQUIRE("bf16_gemm_striped", stripes >= 1, "stripes must be >= 1, got " + std::to_string(stripes));
  check(m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
  if (m == 0 || n == 0) return;
  run(stripe_plan_for(stripes, rows ? m : n, rows ? row_tile() : kColAlign, rows), trans_a, trans_b, m, n, k, alpha,
      a, lda, b, ldb, beta, c, ldc);
}

uint16_t bf16_round(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7F800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);          // zero, subnormal: signed zero
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);  // NaN: quiet, sign and top kept
  return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);                    // nearest even (may reach inf)
}

float bf16_to_float(uint16_t h) { return bits_to_float((uint32_t)h << 16); }

void bf16_gemm_reference(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
                         const float* b, long ldb, float beta, float* c, long ldc) {
  gemm_check_args("bf16_gemm_reference", m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
  const View va = a_view(trans_a, a, lda), vb = b_view(trans_b, b, ldb);
  auto at = [](const View& v, long i, long kk) { return bf16_to_float(bf16_round(v.x[i * v.si + kk * v.sk])); };
  for (long i = 0; i < m; ++i) {
    for (long j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (long kk = 0; kk < k; kk += 2) {
        if (kk + 1 < k) acc = ftz(acc + ftz(at(va, i, kk + 1) * at(vb, j, kk + 1)));
        acc = ftz(acc + ftz(at(va, i, kk) * at(vb, j, kk)));
      }
      float& out = c[i * ldc + j];
      out = beta == 0.0f ? alpha * acc : std::fma(alpha, acc, beta * out);
    }
  }
}

}  // namespace rk
