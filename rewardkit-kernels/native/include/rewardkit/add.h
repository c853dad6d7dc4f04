// Elementwise accumulate: acc += x. Residual connections (h = h + f(h)) and gradient sums where
// two branches feed the same activation. add_out(out, a, b) is the three-operand out = a + b (the residual
// h' = h + f(h) into a new buffer, one pass instead of a copy and an add); both round like a + b in T.
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct AddParams {
  int64_t n;  // elements
};

// acc: [n] (updated in place)   x: [n]
void add_inplace(float* acc, const float* x, int64_t n);
void add_inplace(double* acc, const double* x, int64_t n);

// out: [n] = a + b   a, b: [n] (out may alias a or b)
void add_out(float* out, const float* a, const float* b, int64_t n);
void add_out(double* out, const double* a, const double* b, int64_t n);

}  // namespace rk
