#include "rewardkit/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>

namespace rk {

namespace {

// CBLAS's enum values (cblas.h): the ABI passes them as int.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using CblasSgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                            int lda, const float* b, int ldb, float beta, float* c, int ldc);

std::atomic<CblasSgemm> g_sgemm{nullptr};

// A stripe must carry at least this many multiply-adds (~40-80 µs of one core's sgemm) to be worth waking another
// thread for; it also keeps every stripe above OpenBLAS's small-matrix bound (M·N·K <= 10^6 on AVX-512 cores),
// whose kernel sums in another order, so stripes run the same kernel as the whole call would.
constexpr double kMinStripeWork = 4.0 * 1024 * 1024;
// Row stripes start on multiples of 48: OpenBLAS walks the rows of a row-major C (its column-major N) in tiles of
// 12 on Haswell/Zen kernels (3 x GEMM_UNROLL_N 4) and of 8/16 elsewhere, and a tail tile sums in another order
// than a full one. With stripe starts on a common multiple, every row lands in the same kind of tile as in one
// whole call, so row stripes give the whole call's bits (StripedGemmTest). Column stripes do not (OpenBLAS blocks
// the columns by GEMM_P and halves the last block): they are deterministic for a fixed split but may differ from
// one call in the last bits, so only callers that do not need row results independent of the row count (weight
// gradients) allow them.
constexpr long kRowAlign = kRowTile;
constexpr long kColAlign = 16;

void check(long m, long n, long k, long lda, long ldb, long ldc, bool trans_a, bool trans_b, const void* a,
           const void* b, const void* c) {
  RK_REQUIRE("sgemm", g_sgemm.load() != nullptr, "cblas_sgemm not set (call set_blas_sgemm after loading OpenBLAS)");
  gemm_check_args("sgemm", m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
}

void call(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
          long ldb, float beta, float* c, long ldc) {
  g_sgemm.load()(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, (int)m, (int)n, (int)k, alpha,
                 a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

using Plan = StripePlan;

void run_plan(const Plan& p, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
              long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  if (p.stripes <= 1) {
    call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  long dim = p.rows ? m : n;
#pragma omp parallel for num_threads(p.stripes) schedule(static, 1)
  for (int s = 0; s < p.stripes; ++s) {
    long lo = s * p.chunk, len = std::min(dim, lo + p.chunk) - lo;
    if (p.rows) {  // rows lo.. of C and of op(A)
      const float* as = trans_a ? a + lo : a + lo * lda;
      call(trans_a, trans_b, len, n, k, alpha, as, lda, b, ldb, beta, c + lo * ldc, ldc);
    } else {       // columns lo.. of C and of op(B)
      const float* bs = trans_b ? b + lo * ldb : b + lo;
      call(trans_a, trans_b, m, len, k, alpha, a, lda, bs, ldb, beta, c + lo, ldc);
    }
  }
}

}  // namespace

void gemm_check_args(const char* op, long m, long n, long k, long lda, long ldb, long ldc, bool trans_a,
                     bool trans_b, const void* a, const void* b, const void* c) {
  RK_REQUIRE(op, m >= 0 && n >= 0 && k >= 0 && m <= INT_MAX && n <= INT_MAX && k <= INT_MAX,
             "sizes M " + std::to_string(m) + ", N " + std::to_string(n) + ", K " + std::to_string(k)
                 + " must be in [0, 2^31)");
  long min_lda = std::max(1L, trans_a ? m : k), min_ldb = std::max(1L, trans_b ? k : n), min_ldc = std::max(1L, n);
  RK_REQUIRE(op, lda >= min_lda && ldb >= min_ldb && ldc >= min_ldc && lda <= INT_MAX && ldb <= INT_MAX
             && ldc <= INT_MAX,
             "leading dimensions lda " + std::to_string(lda) + ", ldb " + std::to_string(ldb) + ", ldc "
                 + std::to_string(ldc) + " below the row lengths " + std::to_string(min_lda) + ", "
                 + std::to_string(min_ldb) + ", " + std::to_string(min_ldc));
  RK_REQUIRE(op, m == 0 || n == 0 || (c != nullptr && (k == 0 || (a != nullptr && b != nullptr))),
             "null matrix pointer");
}

StripePlan stripe_plan_for(int stripes, long dim, long align, bool rows) {
  long chunk = (dim + stripes - 1) / stripes;
  chunk = (chunk + align - 1) / align * align;
  return StripePlan{(int)std::max(1L, (dim + chunk - 1) / chunk), rows, chunk};
}

// The plan for `threads` threads: row stripes when the rows carry the split, else column stripes if allowed.
StripePlan stripe_plan(long m, long n, long k, int threads, bool allow_cols, long col_align) {
  if (threads <= 1 || m <= 0 || n <= 0 || k <= 0) return StripePlan{1, true, m};
  long by_work = (long)((double)m * n * k / kMinStripeWork);
  long want = std::min((long)threads, by_work);
  if (want <= 1) return StripePlan{1, true, m};
  StripePlan rows = stripe_plan_for((int)std::min(want, m / kRowAlign + (m % kRowAlign ? 1 : 0)), m, kRowAlign, true);
  if (!allow_cols) return rows;
  StripePlan cols = stripe_plan_for((int)std::min(want, n / col_align + (n % col_align ? 1 : 0)), n, col_align, false);
  // The largest stripe sets the time: its share of the work, rows unless columns are strictly better.
  double rows_share = rows.stripes <= 1 ? 1.0 : (double)std::min(rows.chunk, m) / m;
  double cols_share = cols.stripes <= 1 ? 1.0 : (double)std::min(cols.chunk, n) / n;
  return cols_share < rows_share ? cols : rows;
}

void set_blas_sgemm(void* cblas_sgemm_address) {
  RK_REQUIRE("set_blas_sgemm", cblas_sgemm_address != nullptr, "null address of cblas_sgemm");
  g_sgemm.store(reinterpret_cast<CblasSgemm>(cblas_sgemm_address));
}

int sgemm_stripes(long m, long n, long k, int threads, bool allow_cols) {
  Plan p = stripe_plan(m, n, k, threads, allow_cols, kColAlign);
  return p.rows ? p.stripes : -p.stripes;
}

void sgemm(bool allow_cols, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
           const float* b, long ldb, float beta, float* c, long ldc) {
  check(m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
  if (m == 0 || n == 0) return;
  // Inside a parallel region (a caller's own team) the GEMM stays on the calling thread.
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  run_plan(stripe_plan(m, n, k, threads, allow_cols, kColAlign), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_striped(int stripes, bool rows, bool trans_a, bool trans_b, long m, long n, long k, float alpha,
                   const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  RK_REQUIRE("sgemm_striped", stripes >= 1, "stripes must be >= 1, got " + std::to_string(stripes));
  check(m, n, k, lda, ldb, ldc, trans_a, trans_b, a, b, c);
  if (m == 0 || n == 0) return;
  run_plan(stripe_plan_for(stripes, rows ? m : n, rows ? kRowAlign : kColAlign, rows), trans_a, trans_b, m, n, k, alpha, a,
           lda, b, ldb, beta, c, ldc);
}

}  // namespace rk
