// Row-major single-precision GEMM on our own OpenMP threads: C[M, N] = alpha · op(A) · op(B) + beta · C,
// with op(X) = X or Xᵀ. The call is split into stripes of whole rows (M) or whole columns (N) of C, one per
// OpenMP thread, each computed by one single-threaded cblas_sgemm call of OpenBLAS (loaded by Java; its address
// is handed over with set_blas_sgemm). K is never split and the split depends only on the shape and the thread
// count, so a fixed thread count gives bit-identical results.
#pragma once
#include "rewardkit/common.h"

namespace rk {

// Row stripes start at multiples of this many rows: a common multiple of OpenBLAS's sgemm tile heights (4, 8,
// 12, 16, 24), so a stripe boundary never cuts a tile and each row sums in the order of one whole call. Java's
// CpuBackend reads it (row_tile()) for its row-invariant linear.
constexpr long kRowTile = 48;
inline int row_tile() { return static_cast<int>(kRowTile); }

// The address of OpenBLAS's cblas_sgemm; must be set (non-null) before sgemm runs.
void set_blas_sgemm(void* cblas_sgemm_address);

// The stripes the plan uses for this shape on `threads` threads: +s for s row stripes, -s for s column stripes,
// 1 for one call. One call unless each stripe gets at least 4M multiply-adds (smaller products run faster on one
// thread than it takes to wake a second). Row stripes (multiples of 48 rows) when the rows carry the split; column
// stripes (multiples of 16) only when allow_cols and they split further.
int sgemm_stripes(long m, long n, long k, int threads, bool allow_cols);

// The stripe plan itself, shared with bf16_gemm (gemm_bf16.h): `stripes` stripes of `chunk` rows (rows) or
// columns of C, the last one taking the rest. stripe_plan: the plan above for `threads` threads, column
// stripes on multiples of col_align (sgemm: 16). stripe_plan_for: `stripes` (>= 1) equal stripes rounded up to
// multiples of `align`, fewer if the dimension runs out.
struct StripePlan {
  int stripes;
  bool rows;
  long chunk;
};
StripePlan stripe_plan(long m, long n, long k, int threads, bool allow_cols, long col_align);
StripePlan stripe_plan_for(int stripes, long dim, long align, bool rows);

// Throws (as `op`) unless the sizes are in [0, 2^31), the leading dimensions cover the rows and the pointers
// are non-null where read: the argument check of sgemm and bf16_gemm.
void gemm_check_args(const char* op, long m, long n, long k, long lda, long ldb, long ldc, bool trans_a,
                     bool trans_b, const void* a, const void* b, const void* c);

// C = alpha · op(A) · op(B) + beta · C on the calling thread's OpenMP thread count (omp_get_max_threads).
// Row stripes give the bits of one whole call, so each row's result is independent of the other rows; column
// stripes (allow_cols) are deterministic for a fixed thread count but may differ from one call in the last bits.
void sgemm(bool allow_cols, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
           const float* b, long ldb, float beta, float* c, long ldc);

// The same with an explicit stripe count (>= 1) along the rows (rows = true) or the columns of C:
// for tests (striped vs a single call) and benchmarks.
void sgemm_striped(int stripes, bool rows, bool trans_a, bool trans_b, long m, long n, long k, float alpha,
                   const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc);

}  // namespace rk
