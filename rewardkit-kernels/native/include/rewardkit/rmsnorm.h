// RMSNorm (Llama/Qwen convention, computed in the kernel's float type):
//   out[r, :] = x[r, :] * rstd[r] * w[:],   rstd[r] = 1 / sqrt(mean(x[r, :]^2) + eps)
// Also used for Qwen3's per-head q_norm / k_norm with rows = T * heads, dim = head_dim.
// The CPU (native/cpu/rmsnorm.cpp) and CUDA (native/cuda/rmsnorm.cu, rewardkit/cuda/ops.h) entry points take the same
// RmsNormParams, so sizes are set by name and cannot be swapped by position.
#pragma once
#include <string>

#include "rewardkit/common.h"

namespace rk {

struct RmsNormParams {
  int64_t rows;  // N
  int64_t dim;   // D
  double eps;    // forward only
  bool accumulate = false;  // backward only: dx += (the gradient) instead of dx = (the gradient)

  // The one argument check of both backends.
  void validate(const char* op) const {
    RK_REQUIRE(op, rows >= 0, "rows must be >= 0, got " + std::to_string(rows));
    RK_REQUIRE(op, dim > 0, "dim must be > 0, got " + std::to_string(dim));
    RK_REQUIRE(op, eps >= 0, "eps must be >= 0");
  }
};

// out:  [N, D]   rstd: [N] (saved for backward)   x: [N, D]   w: [D]
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, const RmsNormParams& p);
void rmsnorm_forward(double* out, double* rstd, const double* x, const double* w, const RmsNormParams& p);

// Residual add fused with the norm that follows it (one pass over the rows instead of three):
//   y = x + delta (fp32/fp64 add, written out: it is the next residual),  out = rmsnorm(y) * w,  rstd as above.
// Bit-identical to add_inplace(y := x, delta) followed by rmsnorm_forward(out, rstd, y, w): the same add, and
// the row is normed by the very code rmsnorm_forward runs. y may alias x (an in-place residual update).
// y, out: [N, D]   rstd: [N]   x, delta: [N, D]   w: [D]
void residual_rmsnorm_forward(float* y, float* out, float* rstd, const float* x, const float* delta,
                              const float* w, const RmsNormParams& p);
void residual_rmsnorm_forward(double* y, double* out, double* rstd, const double* x, const double* delta,
                              const double* w, const RmsNormParams& p);

// dx: [N, D] (overwritten, or with p.accumulate dx += the gradient: each element's gradient is rounded to the
// float type first, then added, so it equals the overwrite into a scratch followed by add_inplace(dx, scratch))
// dw: [D] (accumulated)   dout, x: [N, D]   w: [D]   rstd: [N]
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, const RmsNormParams& p);
void rmsnorm_backward(double* dx, double* dw, const double* dout, const double* x, const double* w,
                      const double* rstd, const RmsNormParams& p);

}  // namespace rk
