// CUDA kernels for the reward-model ops (one .cu per family under native/cuda/).
// Storage: bf16 activations and working weights (raw uint16_t bits here, __nv_bfloat16 in the
// kernels); fp32 accumulation, fp32 parameter gradients, optimizer state and small outputs.
// Device pointers only; `stream` is a cudaStream_t. Each entry point validates its arguments once
// and throws std::invalid_argument (bad arguments) or std::runtime_error (CUDA launch error).
// Backward ops OVERWRITE activation grads (dx) and ACCUMULATE parameter grads (dw), as on the CPU.
#pragma once
#include <cstdint>

#include "rewardkit/adamw.h"
#include "rewardkit/bias.h"
#include "rewardkit/embedding.h"
#include "rewardkit/rmsnorm.h"
#include "rewardkit/rope.h"
#include "rewardkit/score.h"

namespace rk { namespace cuda {

typedef uint16_t bf16_bits;

// Number of fp32 partial rows the column reductions (rmsnorm dw, bias grad) need as workspace:
// workspace is float[column_reduce_chunks() * cols]. Fixed so results are run-to-run identical.
int column_reduce_chunks();

// ---- convert.cu -------------------------------------------------------------------------------
// out[n] = bf16(round-to-nearest-even(in[n]))
void f32_to_bf16(bf16_bits* out, const float* in, int64_t n, void* stream);
void bf16_to_f32(float* out, const bf16_bits* in, int64_t n, void* stream);

// Ops with a params struct take the CPU's (rewardkit/<op>.h), checked by its validate() on both backends.

// ---- embedding.cu -----------------------------------------------------------------------------
// out [T, D] = table [V, D] rows at ids [T]; ids outside [0, V) raise an error on the next check.
void embedding_forward(bf16_bits* out, const int32_t* ids, const bf16_bits* table,
                       const rk::EmbeddingParams& p, void* stream);
// dtable [V, D] fp32 += dout [T, D] rows scattered to ids [T]; deterministic (no atomics: each
// block owns the vocab rows id % gridDim == blockIdx and visits tokens in order).
void embedding_backward(float* dtable, const bf16_bits* dout, const int32_t* ids,
                        const rk::EmbeddingParams& p, void* stream);

// ---- rmsnorm.cu (also Qwen3 q_norm/k_norm with rows = T*H, dim = head_dim) --------------------
// out [N, D] = x * rstd * w;  rstd [N] fp32 saved;  x [N, D];  w [D]
void rmsnorm_forward(bf16_bits* out, float* rstd, const bf16_bits* x, const bf16_bits* w,
                     const rk::RmsNormParams& p, void* stream);
// Residual add + norm in one pass: y [N, D] = bf16(x + delta) (as add_inplace_bf16), out and rstd as
// rmsnorm_forward of y (the same row code, so bit-identical to the two calls). y may alias x.
void residual_rmsnorm_forward(bf16_bits* y, bf16_bits* out, float* rstd, const bf16_bits* x, const bf16_bits* delta,
                              const bf16_bits* w, const rk::RmsNormParams& p, void* stream);
// dx [N, D] overwritten (p.accumulate: dx = bf16(dx + bf16(gradient)), as overwrite + add_inplace_bf16);
// dw [D] fp32 accumulated; workspace float[column_reduce_chunks() * D]
void rmsnorm_backward(bf16_bits* dx, float* dw, const bf16_bits* dout, const bf16_bits* x,
                      const bf16_bits* w, const float* rstd, float* workspace,
                      const rk::RmsNormParams& p, void* stream);

// ---- rope.cu (HF rotate_half) -----------------------------------------------------------------
// x [T, H, hd] in place; positions [T]; cos, sin [max_pos, hd/2] (fp32 or bf16 tables).
// inverse = 1 applies the transpose (backward: rotate by -angle).
void rope_apply_f32(bf16_bits* x, const int32_t* positions, const float* cos, const float* sin,
                    const rk::RopeParams& p, int inverse, void* stream);
void rope_apply_bf16(bf16_bits* x, const int32_t* positions, const bf16_bits* cos, const bf16_bits* sin,
                     const rk::RopeParams& p, int inverse, void* stream);

// ---- swiglu.cu --------------------------------------------------------------------------------
// out [N] = silu(gate) * up
void swiglu_forward(bf16_bits* out, const bf16_bits* gate, const bf16_bits* up, int64_t n, void* stream);
// dgate, dup [N] overwritten
void swiglu_backward(bf16_bits* dgate, bf16_bits* dup, const bf16_bits* dout, const bf16_bits* gate,
                     const bf16_bits* up, int64_t n, void* stream);

// ---- residual.cu ------------------------------------------------------------------------------
// acc [N] += x [N]
void add_inplace_bf16(bf16_bits* acc, const bf16_bits* x, int64_t n, void* stream);
void add_inplace_f32(float* acc, const float* x, int64_t n, void* stream);
// out [N] = a [N] + b [N] (out may alias a or b)
void add_out_bf16(bf16_bits* out, const bf16_bits* a, const bf16_bits* b, int64_t n, void* stream);
void add_out_f32(float* out, const float* a, const float* b, int64_t n, void* stream);

// ---- bias.cu ----------------------------------------------------------------------------------
// out [T, O] += bias [O]
void bias_add_forward(bf16_bits* out, const bf16_bits* bias, const rk::BiasParams& p, void* stream);
// dbias [O] fp32 += Σ_t dout [T, O]; workspace float[column_reduce_chunks() * O]; deterministic
void bias_add_backward(float* dbias, const bf16_bits* dout, float* workspace, const rk::BiasParams& p,
                       void* stream);

// ---- score.cu (value head at readout positions) -----------------------------------------------
// rewards [R] fp32 = hidden [T, D] rows at readout [R] · w [D]   (T, D, R: p.tokens, p.dim, p.readouts)
void score_forward(float* rewards, const bf16_bits* hidden, const int32_t* readout, const bf16_bits* w,
                   const rk::ScoreParams& p, void* stream);
// dhidden [T, D] overwritten (zero except readout rows); dw [D] fp32 accumulated (fixed order)
void score_backward(bf16_bits* dhidden, float* dw, const float* drewards, const bf16_bits* hidden,
                    const int32_t* readout, const bf16_bits* w, const rk::ScoreParams& p, void* stream);

// ---- optimizer.cu -----------------------------------------------------------------------------
// Workspace of grad_sumsq: partials double[grad_norm_blocks()].
int grad_norm_blocks();
// out[0] = Σ g² over one fp32 gradient arena grads [n] (the global norm's square: one call per step).
// Double accumulation, fixed grid and order: run-to-run identical; NaN/Inf propagate.
void grad_sumsq(double* out, double* partials, const float* grads, int64_t n, void* stream);
// Fused AdamW over one optimizer group's arenas (rewardkit/adamw.h: the CPU's AdamWParams, validate() and
// element update): master, m, v [p.n] fp32 updated in place, grad [p.n] fp32; also writes the bf16
// working copy weights [p.n] = bf16(master).
void adamw_update(float* master, bf16_bits* weights, const float* grad, float* m, float* v,
                  const rk::AdamWParams& p, void* stream);

// ---- nf4.cu (QLoRA base weights; format and tables in rewardkit/nf4.h) ---------------------------
// out [n] bf16 = round(nf4[q_i] * (map[qabsmax_b] * absmax2_{b/256} + offset)), b = i / 64, bitsandbytes'
// dequantize_4bit. packed [ceil(n/2)] u8 (high nibble first), qabsmax [ceil(n/64)] u8,
// absmax2 [ceil(n/64/256)] fp32. The GEMM then runs on out (cuBLASLt), as bitsandbytes' matmul_4bit does.
void nf4_dequantize_bf16(bf16_bits* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2,
                         float offset, int64_t n, void* stream);

}}  // namespace rk::cuda
