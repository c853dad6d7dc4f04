// Elementwise accumulate: acc += x. Residual connections (h = h + f(h)) and gradient sums where
// two branches feed the same activation.
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct AddParams {
  int64_t n;  // elements
};

// acc: [n] (updated in place)   x: [n]
void add_inplace(float* acc, const float* x, int64_t n);
void add_inplace(double* acc, const double* x, int64_t n);

}  // namespace rk
