// Fused LM head + log-softmax gather on the GPU: the semantics of rewardkit/linear_cross_entropy.h
// (the CPU reference) on device buffers, bf16 hidden/weight, fp32 logits tiles and accumulation.
//   logp[t] = hidden[t] · weight[y_t] - lse_t,  lse_t = log Σ_v exp(hidden[t] · weight[v])
// The [T, V] logits never exist: tokens are processed token_chunk at a time and, within a token chunk,
// the vocabulary vocab_chunk at a time (a [token_chunk, vocab_chunk] fp32 tile plus a running max and
// Σ exp per row, updated online). Backward recomputes each tile from the saved lse, turns it into
// dz = g (1[v = y] - exp(z - lse)) in place and applies two tiled products: dhidden += dz · W (fp32 rows of
// the token chunk, rounded to bf16 once at the end) and dweight += dzᵀ · hidden (fp32, accumulated).
// No atomics: every output element has one owner and chunks run in a fixed order (deterministic).
// targets [T]: negative = ignored (logp = lse = 0, zero gradient); a target >= V gives logp = NaN (device
// data is not validated on the host). workspace: float[linear_cross_entropy_workspace_floats(...)], any
// contents. chunk <= 0 takes the default.
#pragma once
#include <cstdint>

#include "rewardkit/cuda/ops.h"

namespace rk { namespace cuda {

constexpr int64_t kLceCudaTokenChunk = 1024;
constexpr int64_t kLceCudaVocabChunk = 4096;

int64_t linear_cross_entropy_workspace_floats(int64_t dim, int64_t token_chunk, int64_t vocab_chunk);

// logp, lse: [T] fp32   hidden: [T, D]   weight: [V, D]   targets: [T]
void linear_cross_entropy_forward(float* logp, float* lse, const bf16_bits* hidden, const bf16_bits* weight,
                                  const int32_t* targets, float* workspace, int64_t tokens, int64_t dim,
                                  int64_t vocab, int64_t token_chunk, int64_t vocab_chunk, void* stream);

// dhidden: [T, D] bf16 (overwritten)   dweight: [V, D] fp32 (accumulated)   dlogp, lse: [T] fp32
void linear_cross_entropy_backward(bf16_bits* dhidden, float* dweight, const float* dlogp, const float* lse,
                                   const bf16_bits* hidden, const bf16_bits* weight, const int32_t* targets,
                                   float* workspace, int64_t tokens, int64_t dim, int64_t vocab,
                                   int64_t token_chunk, int64_t vocab_chunk, void* stream);

}}  // namespace rk::cuda
