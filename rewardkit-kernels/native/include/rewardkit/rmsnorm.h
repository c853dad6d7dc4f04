// RMSNorm (Llama/Qwen convention, computed in the kernel's float type):
//   out[r, :] = x[r, :] * rstd[r] * w[:],   rstd[r] = 1 / sqrt(mean(x[r, :]^2) + eps)
// Also used for Qwen3's per-head q_norm / k_norm with rows = T * heads, dim = head_dim.
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct RmsNormParams {
  int64_t rows;  // N
  int64_t dim;   // D
  double eps;
};

// out:  [N, D]   rstd: [N] (saved for backward)   x: [N, D]   w: [D]
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w,
                     int64_t rows, int64_t dim, double eps);
void rmsnorm_forward(double* out, double* rstd, const double* x, const double* w,
                     int64_t rows, int64_t dim, double eps);

// dx: [N, D] (overwritten)   dw: [D] (accumulated)   dout, x: [N, D]   w: [D]   rstd: [N]
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t rows, int64_t dim);
void rmsnorm_backward(double* dx, double* dw, const double* dout, const double* x, const double* w,
                      const double* rstd, int64_t rows, int64_t dim);

}  // namespace rk
