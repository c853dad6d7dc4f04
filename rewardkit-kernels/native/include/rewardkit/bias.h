// Bias of a linear layer (the GEMM itself runs in OpenBLAS, called from Java):
//   forward:  out[r, :] += bias[:]
//   backward: dbias[:] += sum_r dout[r, :]  (accumulates)
// Used by Qwen2's q/k/v projections; Llama, Mistral and Qwen3 have no linear biases.
// The CPU (native/cpu/bias.cpp) and CUDA (native/cuda/bias.cu, rewardkit/cuda/ops.h) entry points take the same
// BiasParams, so sizes are set by name and cannot be swapped by position.
#pragma once
#include <string>

#include "rewardkit/common.h"

namespace rk {

struct BiasParams {
  int64_t rows;  // N (tokens)
  int64_t cols;  // O (output features)

  // The one argument check of both backends.
  void validate(const char* op) const {
    RK_REQUIRE(op, rows >= 0, "rows must be >= 0, got " + std::to_string(rows));
    RK_REQUIRE(op, cols > 0, "cols must be > 0, got " + std::to_string(cols));
  }
};

// out: [N, O] (bias added in place)   bias: [O]
void bias_forward(float* out, const float* bias, const BiasParams& p);
void bias_forward(double* out, const double* bias, const BiasParams& p);

// dbias: [O] (accumulated)   dout: [N, O]
void bias_backward(float* dbias, const float* dout, const BiasParams& p);
void bias_backward(double* dbias, const double* dout, const BiasParams& p);

}  // namespace rk
