// AdamW (Loshchilov & Hutter, decoupled weight decay), PyTorch's formulation, fp32 state:
//   p <- p * (1 - lr * weight_decay)
//   g  = grad * grad_scale                  (grad_scale folds in global-norm clipping)
//   m <- beta1 m + (1 - beta1) g
//   v <- beta2 v + (1 - beta2) g^2
//   p <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)     bc_i = 1 - beta_i^step
// Called once per optimizer group (a contiguous arena span: weight decay on matrices, 0 on norms and
// biases), on the CPU (native/cpu/adamw.cpp) and on CUDA (native/cuda/optimizer.cu). Both take the same
// AdamWParams, checked by the same validate(), and run the same element update (adamw_math.h).
// Element-wise and order-free, so deterministic for any thread count.
#pragma once
#include <string>

#include "rewardkit/common.h"

namespace rk {

struct AdamWParams {
  int64_t n;                  // elements of the group's arenas
  double lr, beta1, beta2, eps, weight_decay;
  double bias_correction1;    // 1 - beta1^step, in (0, 1]
  double bias_correction2;    // 1 - beta2^step, in (0, 1]
  double grad_scale;          // gradient multiplier (clipping); finite, >= 0

  // The one argument check of both backends; throws std::invalid_argument naming op.
  void validate(const char* op) const {
    RK_REQUIRE(op, n >= 0, "n must be >= 0, got " + std::to_string(n));
    RK_REQUIRE(op, lr >= 0 && eps > 0 && weight_decay >= 0, "need lr >= 0, eps > 0, weight_decay >= 0");
    RK_REQUIRE(op, beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas must be in [0, 1)");
    RK_REQUIRE(op, bias_correction1 > 0 && bias_correction1 <= 1 && bias_correction2 > 0 && bias_correction2 <= 1,
               "bias corrections must be in (0, 1] (step >= 1)");
    RK_REQUIRE(op, grad_scale >= 0 && grad_scale < 1e300, "grad_scale must be finite and >= 0");
  }
};

// master, m, v: [n] (updated in place)   grad: [n]
void adamw_update(float* master, const float* grad, float* m, float* v, const AdamWParams& p);

}  // namespace rk
