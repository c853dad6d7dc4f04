// Rotary position embedding, HF rotate_half convention (Llama, Qwen2/3, Mistral): dimension i is
// paired with i + hd/2 (not with i + 1 as in the original RoPE paper). For i < hd/2, with
// c = cos[pos[t], i] and s = sin[pos[t], i]:
//   forward:  (x_i, x_{i+hd/2}) <- (x_i c - x_{i+hd/2} s,  x_{i+hd/2} c + x_i s)
//   backward: the transpose, i.e. the rotation by -angle, applied in place to the gradient.
// The tables are built once on the host (io.rewardkit.kernels.RopeTables).
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct RopeParams {
  int64_t tokens;     // T
  int64_t heads;      // H
  int64_t head_dim;   // hd (even)
  int64_t max_pos;    // rows of the cos/sin tables
};

// x: [T, H, hd] (rotated in place)   positions: [T], each in [0, maxPos)
// cos, sin: [maxPos, hd/2]
void rope_forward(float* x, const int32_t* positions, const float* cos, const float* sin,
                  int64_t tokens, int64_t heads, int64_t head_dim, int64_t max_pos);
void rope_forward(double* x, const int32_t* positions, const double* cos, const double* sin,
                  int64_t tokens, int64_t heads, int64_t head_dim, int64_t max_pos);

// dx: [T, H, hd] (gradient wrt the rotated x in, gradient wrt the input x out; in place)
void rope_backward(float* dx, const int32_t* positions, const float* cos, const float* sin,
                   int64_t tokens, int64_t heads, int64_t head_dim, int64_t max_pos);
void rope_backward(double* dx, const int32_t* positions, const double* cos, const double* sin,
                   int64_t tokens, int64_t heads, int64_t head_dim, int64_t max_pos);

}  // namespace rk
