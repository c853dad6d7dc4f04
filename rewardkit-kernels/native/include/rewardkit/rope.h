// Rotary position embedding, HF rotate_half convention (Llama, Qwen2/3, Mistral): dimension i is
// paired with i + hd/2 (not with i + 1 as in the original RoPE paper). For i < hd/2, with
// c = cos[pos[t], i] and s = sin[pos[t], i]:
//   forward:  (x_i, x_{i+hd/2}) <- (x_i c - x_{i+hd/2} s,  x_{i+hd/2} c + x_i s)
//   backward: the transpose, i.e. the rotation by -angle, applied in place to the gradient.
// The tables are built once on the host (io.rewardkit.kernels.RopeTables).
// The CPU (native/cpu/rope.cpp) and CUDA (native/cuda/rope.cu, rewardkit/cuda/ops.h) entry points take the same
// RopeParams, so sizes are set by name and cannot be swapped by position.
#pragma once
#include <string>

#include "rewardkit/common.h"

namespace rk {

struct RopeParams {
  int64_t tokens;     // T
  int64_t heads;      // H
  int64_t head_dim;   // hd (even)
  int64_t max_pos;    // rows of the cos/sin tables

  // The sizes check of both backends; positions are range-checked where the host can read them (CPU).
  void validate(const char* op) const {
    RK_REQUIRE(op, tokens >= 0, "tokens must be >= 0, got " + std::to_string(tokens));
    RK_REQUIRE(op, heads > 0, "heads must be > 0, got " + std::to_string(heads));
    RK_REQUIRE(op, head_dim > 0 && head_dim % 2 == 0, "head_dim must be positive and even, got " + std::to_string(head_dim));
    RK_REQUIRE(op, max_pos > 0, "max_pos must be > 0, got " + std::to_string(max_pos));
  }
};

// x: [T, H, hd] (rotated in place)   positions: [T], each in [0, maxPos)
// cos, sin: [maxPos, hd/2]
void rope_forward(float* x, const int32_t* positions, const float* cos, const float* sin,
                  const RopeParams& p);
void rope_forward(double* x, const int32_t* positions, const double* cos, const double* sin,
                  const RopeParams& p);

// dx: [T, H, hd] (gradient wrt the rotated x in, gradient wrt the input x out; in place)
void rope_backward(float* dx, const int32_t* positions, const float* cos, const float* sin,
                   const RopeParams& p);
void rope_backward(double* dx, const int32_t* positions, const double* cos, const double* sin,
                   const RopeParams& p);

}  // namespace rk
