// Bias of a linear layer (the GEMM itself runs in OpenBLAS, called from Java):
//   forward:  out[r, :] += bias[:]
//   backward: dbias[:] += sum_r dout[r, :]  (accumulates)
// Used by Qwen2's q/k/v projections; Llama, Mistral and Qwen3 have no linear biases.
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct BiasParams {
  int64_t rows;  // N (tokens)
  int64_t cols;  // O (output features)
};

// out: [N, O] (bias added in place)   bias: [O]
void bias_forward(float* out, const float* bias, int64_t rows, int64_t cols);
void bias_forward(double* out, const double* bias, int64_t rows, int64_t cols);

// dbias: [O] (accumulated)   dout: [N, O]
void bias_backward(float* dbias, const float* dout, int64_t rows, int64_t cols);
void bias_backward(double* dbias, const double* dout, int64_t rows, int64_t cols);

}  // namespace rk
