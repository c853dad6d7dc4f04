#include "rewardkit/adamw.h"

#include <cmath>

namespace rk {

void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay,
                  double bias_correction1, double bias_correction2, double grad_scale) {
  const char* op = "adamw_update";
  RK_REQUIRE(op, n >= 0, "n must be >= 0");
  RK_REQUIRE(op, n == 0 || (param && grad && m && v), "null buffer");
  RK_REQUIRE(op, lr >= 0 && eps > 0 && weight_decay >= 0, "need lr >= 0, eps > 0, weight_decay >= 0");
  RK_REQUIRE(op, beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas must be in [0, 1)");
  RK_REQUIRE(op, bias_correction1 > 0 && bias_correction1 <= 1 && bias_correction2 > 0 && bias_correction2 <= 1,
             "bias corrections must be in (0, 1] (step >= 1)");
  // Scalars in float so the element loop is pure fp32 (PyTorch's fp32 AdamW does the same).
  const float decay = float(1.0 - lr * weight_decay);
  const float b1 = float(beta1), b2 = float(beta2), c1 = float(1.0 - beta1), c2 = float(1.0 - beta2);
  const float step_size = float(lr / bias_correction1);
  const float inv_sqrt_bc2 = float(1.0 / std::sqrt(bias_correction2));
  const float e = float(eps), gs = float(grad_scale);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] * gs;
    const float mi = b1 * m[i] + c1 * g;
    const float vi = b2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = param[i] * decay;
    param[i] = p - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + e);
  }
}

}  // namespace rk
