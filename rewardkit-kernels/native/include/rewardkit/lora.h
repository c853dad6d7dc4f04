// LoRA (Hu et al. 2021, as PEFT implements it) beside a frozen linear layer y = x · Wᵀ:
//   y += s · (x · Aᵀ) · Bᵀ,   A [r, I] (PEFT lora_A.weight), B [O, r] (lora_B.weight),
//   s = lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA.
// The base GEMM runs first (linear forward/backward of the frozen W); these ops add the low-rank
// path to its result. On the CPU the low-rank products are r/min(I, O) of the base GEMM's work, so
// they are not fused into it.
//   forward:  u = x · Aᵀ (saved for backward);  out += s · u · Bᵀ
//   backward: du = s · dOut · B;  dB += s · dOutᵀ · u;  dA += duᵀ · x;  dx += du · A
// Every output element is summed by one thread in a fixed order: results do not depend on the
// thread count.
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct LoraParams {
  int64_t tokens;  // T
  int64_t in;      // I
  int64_t out;     // O
  int64_t rank;    // r
  double scale;    // s
};

// out: [T, O] (ACCUMULATED: holds the base x · Wᵀ on entry)   u: [T, r] (overwritten)
// x: [T, I]   a: [r, I]   b: [O, r]
void lora_forward(float* out, float* u, const float* x, const float* a, const float* b,
                  int64_t tokens, int64_t in, int64_t out_features, int64_t rank, double scale);
void lora_forward(double* out, double* u, const double* x, const double* a, const double* b,
                  int64_t tokens, int64_t in, int64_t out_features, int64_t rank, double scale);

// dx: [T, I] (ACCUMULATED onto the base linear's dOut · W; skipped when null)
// da: [r, I], db: [O, r] (accumulated)   du: [T, r] (scratch, overwritten)
// dout: [T, O]   x: [T, I]   u: [T, r] (from forward)   a: [r, I]   b: [O, r]
void lora_backward(float* dx, float* da, float* db, float* du, const float* dout, const float* x,
                   const float* u, const float* a, const float* b, int64_t tokens, int64_t in,
                   int64_t out_features, int64_t rank, double scale);
void lora_backward(double* dx, double* da, double* db, double* du, const double* dout,
                   const double* x, const double* u, const double* a, const double* b,
                   int64_t tokens, int64_t in, int64_t out_features, int64_t rank, double scale);

}  // namespace rk
