// Sum of squares of a gradient buffer, for global-norm clipping:  returns sum_i g_i^2 (double).
// Summed in fixed 4096-element chunks whose partials are added in chunk order, so the result is
// bit-identical for any thread count (exact resume depends on it). NaN/Inf propagate into the
// result, which is how the trainer detects non-finite gradients.
#pragma once
#include "rewardkit/common.h"

namespace rk {

// g: [n]
double grad_sumsq(const float* g, int64_t n);
double grad_sumsq(const double* g, int64_t n);

}  // namespace rk
