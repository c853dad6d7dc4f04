// SwiGLU gate of the Llama/Qwen/Mistral MLP (act_fn = silu), elementwise over [T, F]:
//   forward:  out = silu(gate) * up,   silu(g) = g * sigmoid(g)
//   backward: dgate = dout * up * sigmoid(g) * (1 + g * (1 - sigmoid(g))),   dup = dout * silu(g)
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct SwigluParams {
  int64_t n;  // T * F elements
};

// out, gate, up: [T, F]
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
void swiglu_forward(double* out, const double* gate, const double* up, int64_t n);

// dgate, dup: [T, F] (overwritten)   dout, gate, up: [T, F]
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, int64_t n);
void swiglu_backward(double* dgate, double* dup, const double* dout, const double* gate,
                     const double* up, int64_t n);

}  // namespace rk
