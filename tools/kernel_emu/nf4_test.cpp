// The NF4 dequantisation kernel (native/cuda/nf4.cu, run by the host emulator) against the CPU reference
// (native/cpu/nf4.cpp) and a float64 dequant-GEMM. Build + run: tools/kernel_emu/run.sh nf4
#include <cuda_bf16.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "rewardkit/cuda/ops.h"
#include "rewardkit/nf4.h"

static int failures = 0;

static void report(const std::string& what, bool ok, const std::string& detail) {
  std::printf("  %-44s %s %s\n", what.c_str(), detail.c_str(), ok ? "ok" : "FAIL");
  if (!ok) ++failures;
}

// n elements of a [rows, n / rows] weight; x [tokens, cols]
static void check(int64_t rows, int64_t cols, int tokens, unsigned seed) {
  const int64_t n = rows * cols;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> w(n);
  for (int64_t i = 0; i < n; ++i) w[i] = nd(rng) * (1.f + (i / 64) % 7);  // block scales differ
  std::vector<uint8_t> packed(rk::nf4_packed_bytes(n)), qabsmax(rk::nf4_num_blocks(n));
  std::vector<float> absmax2(rk::nf4_num_absmax_blocks(n)), ref(n);
  float offset = 0;
  rk::nf4_quantize(packed.data(), qabsmax.data(), absmax2.data(), &offset, w.data(), n);
  rk::nf4_dequantize(ref.data(), packed.data(), qabsmax.data(), absmax2.data(), offset, n);

  std::vector<rk::cuda::bf16_bits> out(n, 0x7fc0);  // NaN: every element must be written
  rk::cuda::nf4_dequantize_bf16(out.data(), packed.data(), qabsmax.data(), absmax2.data(), offset, n, nullptr);
  int64_t mismatches = 0;
  std::vector<double> deq(n);
  for (int64_t i = 0; i < n; ++i) {
    const __nv_bfloat16 expect = __float2bfloat16_rn(ref[i]);
    if (__bfloat16_as_ushort(expect) != out[i]) ++mismatches;
    deq[i] = __bfloat162float(__ushort_as_bfloat16(out[i]));
  }
  const std::string shape = " [" + std::to_string(rows) + "x" + std::to_string(cols) + "]";
  report("dequant == bf16(CPU reference)" + shape, mismatches == 0, std::to_string(mismatches) + " of " + std::to_string(n) + " differ");

  // y = x · deq(W)ᵀ and dx = dy · deq(W) in double from the kernel's weights vs the CPU reference's fp32 weights
  // (the GEMM itself is cuBLASLt's on a GPU; this checks that the kernel's weights are the reference's up to bf16).
  std::vector<double> x((size_t)tokens * cols), dy((size_t)tokens * rows);
  for (auto& v : x) v = nd(rng);
  for (auto& v : dy) v = nd(rng);
  double maxd = 0, maxr = 0, maxdx = 0, maxrx = 0;
  for (int t = 0; t < tokens; ++t)
    for (int64_t o = 0; o < rows; ++o) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < cols; ++k) { a += x[t * cols + k] * deq[o * cols + k]; b += x[t * cols + k] * ref[o * cols + k]; }
      maxd = std::max(maxd, std::fabs(a - b));
      maxr = std::max(maxr, std::fabs(b));
    }
  for (int t = 0; t < tokens; ++t)
    for (int64_t k = 0; k < cols; ++k) {
      double a = 0, b = 0;
      for (int64_t o = 0; o < rows; ++o) { a += dy[t * rows + o] * deq[o * cols + k]; b += dy[t * rows + o] * ref[o * cols + k]; }
      maxdx = std::max(maxdx, std::fabs(a - b));
      maxrx = std::max(maxrx, std::fabs(b));
    }
  char buf[96];
  std::snprintf(buf, sizeof buf, "max|diff| %.3e (max|ref| %.3e)", maxd, maxr);
  report("x·deq(W)ᵀ (bf16 weights)" + shape, maxd <= maxr / 64, buf);
  std::snprintf(buf, sizeof buf, "max|diff| %.3e (max|ref| %.3e)", maxdx, maxrx);
  report("dy·deq(W) (bf16 weights)" + shape, maxdx <= maxrx / 64, buf);
}

int main() {
  check(67, 64, 5, 1);      // one absmax2 block, odd rows
  check(129, 257, 3, 2);    // 33153 elements: odd n, blocks straddle rows, 2 absmax2 blocks
  check(1, 65, 2, 3);       // two NF4 blocks, the second with one element
  std::printf(failures ? "FAILED (%d checks)\n" : "all checks passed\n", failures);
  return failures ? 1 : 0;
}
