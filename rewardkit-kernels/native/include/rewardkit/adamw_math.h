// The AdamW element update (definitions in adamw.h), header-only so the CPU loop (native/cpu/adamw.cpp)
// and the CUDA kernel (native/cuda/optimizer.cu) run the very same code. The scalars are formed in double
// from AdamWParams and rounded to float once; the element loop is pure fp32 (as PyTorch's fp32 AdamW), so
// the two backends differ at most by the compiler's FMA contraction.
#pragma once
#include <cmath>

#include "rewardkit/adamw.h"

#ifdef __CUDACC__
#define RK_ADAMW_HD __host__ __device__
#else
#define RK_ADAMW_HD
#endif

namespace rk {
namespace adamw_math {

struct Scalars {
  float b1, c1, b2, c2;  // beta1, 1 - beta1, beta2, 1 - beta2
  float eps;
  float decay;           // 1 - lr * weight_decay
  float step_size;       // lr / bc1
  float inv_sqrt_bc2;    // 1 / sqrt(bc2)
  float grad_scale;
};

inline Scalars scalars(const AdamWParams& p) {
  return Scalars{float(p.beta1), float(1.0 - p.beta1), float(p.beta2), float(1.0 - p.beta2), float(p.eps),
                 float(1.0 - p.lr * p.weight_decay), float(p.lr / p.bias_correction1),
                 float(1.0 / std::sqrt(p.bias_correction2)), float(p.grad_scale)};
}

// One element: updates m and v, returns the new master value.
RK_ADAMW_HD inline float update(const Scalars& s, float master, float grad, float& m, float& v) {
  const float g = grad * s.grad_scale;
  const float mi = s.b1 * m + s.c1 * g;
  const float vi = s.b2 * v + s.c2 * g * g;
  m = mi;
  v = vi;
  const float p = master * s.decay;
  return p - s.step_size * mi / (sqrtf(vi) * s.inv_sqrt_bc2 + s.eps);
}

}  // namespace adamw_math
}  // namespace rk
