// AdamW (Loshchilov & Hutter, decoupled weight decay), PyTorch's formulation, fp32 state:
//   p <- p * (1 - lr * weight_decay)
//   g  = grad * grad_scale                  (grad_scale folds in clipping / loss scaling)
//   m <- beta1 m + (1 - beta1) g
//   v <- beta2 v + (1 - beta2) g^2
//   p <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)     bc_i = 1 - beta_i^step
// Called once per parameter tensor (each with its own weight decay: 0 for norms and biases).
// Element-wise and order-free, so deterministic for any thread count.
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct AdamWParams {
  int64_t n;
  double lr, beta1, beta2, eps, weight_decay;
  double bias_correction1, bias_correction2;  // 1 - beta^step, in (0, 1]
  double grad_scale;
};

// param, m, v: [n] (updated in place)   grad: [n]
void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay,
                  double bias_correction1, double bias_correction2, double grad_scale);

}  // namespace rk
