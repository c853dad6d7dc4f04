// Row-major GEMM with bf16 operands and fp32 accumulation on CPUs with AVX512-BF16 (vdpbf16ps):
//   C[M, N] = alpha · (bf16(op(A)) · bf16(op(B))) + beta · C,   op(X) = X or Xᵀ,
// fp32 in and out, the same interface shape as rk::sgemm (gemm.h). The fp32 matrices stay the masters: op(A)
// and op(B) are rounded to bf16 only while they are packed into panels (O(M·K + N·K) per call against
// O(M·N·K) multiply-adds), K is padded to even with a zero pair.
//
// Numerics (what the kernel and bf16_gemm_reference both do, bit for bit; Bf16GemmTest checks it):
//   * rounding fp32 -> bf16 as vcvtne2ps2bf16 does: round to nearest even, NaN stays NaN (quiet), +-inf stay,
//     subnormal fp32 inputs become a signed zero (the instruction's DAZ; vdpbf16ps would flush a subnormal
//     bf16 anyway);
//   * every C element is summed over k = 0, 1, ..., K-1 in pairs, starting from +0, as vdpbf16ps does per lane:
//       acc = acc + a[k+1]·b[k+1];  acc = acc + a[k]·b[k]     (k even; two fp32 roundings, to nearest even)
//     a product of two bf16 is exact in fp32; results below FLT_MIN are flushed to signed zero (FTZ/DAZ,
//     vdpbf16ps ignores MXCSR);
//   * the epilogue: beta == 0 -> C = alpha·acc (C is not read: NaN in C does not propagate);
//     else C = fma(alpha, acc, beta·C).
// Determinism: the sum of each C element depends only on its row of op(A) and column of op(B), never on its
// position in a tile, the stripe plan or the thread count: results are bit-identical for any thread count,
// any row offset (a view of fewer rows gives the same rows), and one call vs row or column stripes.
//
// Threads: the stripes of gemm.h's plan (row stripes of 48, column stripes of 32 when allow_cols), packing
// shared by the team. Inside a parallel region the call stays on the calling thread.
// Memory: the bf16 panels of op(A) and op(B), about 2·K·(M + N) bytes, in buffers kept per calling thread and
// grown to the largest call (e.g. 2048 tokens at the Qwen2.5-0.5B MLP: 2·4864·(2048 + 896) bytes, 29 MB).
#pragma once
#include <cstdint>

#include "rewardkit/common.h"

namespace rk {

// True when the CPU and the OS support AVX512F/BW/VL + AVX512-BF16 (cpuid, zmm state enabled by xgetbv) and
// the kernel was not disabled (RK_DISABLE_AVX512BF16=1 in the environment at the first call, or
// set_bf16_gemm_disabled(true)).
bool bf16_gemm_supported();

// For tests: pretend the CPU lacks AVX512-BF16 (true) or use it again when present (false).
void set_bf16_gemm_disabled(bool disabled);

// C = alpha · op(A) · op(B) + beta · C on the calling thread's OpenMP thread count. Throws if the kernel is not
// supported (check bf16_gemm_supported first). allow_cols: the plan may split the columns (results unchanged).
void bf16_gemm(bool allow_cols, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
               long lda, const float* b, long ldb, float beta, float* c, long ldc);

// The same with an explicit stripe count (>= 1) along the rows (rows = true) or the columns of C: for tests.
void bf16_gemm_striped(int stripes, bool rows, bool trans_a, bool trans_b, long m, long n, long k, float alpha,
                       const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc);

// The scalar C++ reference: the same rounding, summation order and epilogue as the kernel (see above), on any
// CPU, single-threaded.
void bf16_gemm_reference(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
                         const float* b, long ldb, float beta, float* c, long ldc);

// fp32 -> bf16 bits as the kernel rounds (the reference's conversion); bf16 bits -> fp32 (exact).
uint16_t bf16_round(float x);
float bf16_to_float(uint16_t h);

}  // namespace rk
