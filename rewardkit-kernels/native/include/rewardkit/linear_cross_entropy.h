// Fused LM head + log-softmax gather ("linear cross-entropy"): per-token log-probabilities of target
// tokens under logits z = hidden · weightᵀ, WITHOUT materialising the [T, V] logits (V = 151,936 for
// Qwen: 4.9 GB of fp32 logits for 8k tokens). Logits exist one [token_chunk, vocab_chunk] tile at a time;
// the log-sum-exp is accumulated online over vocab chunks (running max m and Σ exp(z - m)).
//
// For every token t with a target y_t in [0, V)  (y_t < 0: ignored, logp_t = lse_t = 0, no gradient):
//   lse_t  = log Σ_v exp(z_tv),   z_tv = hidden[t] · weight[v]
//   logp_t = z_{t, y_t} - lse_t
// Backward, given g_t = dLoss/dlogp_t:
//   dz_tv      = g_t (1[v = y_t] - exp(z_tv - lse_t))      (recomputed tile by tile from the saved lse)
//   dhidden[t] = Σ_v dz_tv weight[v]                         (OVERWRITTEN; zero for ignored tokens)
//   dweight[v] += Σ_t dz_tv hidden[t]                        (ACCUMULATED: a tied embedding adds to its
//                                                             embedding gradient)
// Deterministic for any thread count: token chunks own their rows of dhidden, vocab chunks own their rows
// of dweight (the backward recomputes the logits once per pass instead of sharing them through atomics).
// Memory: each thread holds one token_chunk x vocab_chunk tile (plus a token_chunk x D accumulator in the
// dhidden pass): bounded by the chunk sizes, whatever V and T are. chunk <= 0 takes the default.
#pragma once
#include "rewardkit/common.h"

namespace rk {

constexpr int64_t kLceTokenChunk = 32;   // rows of a logits tile
constexpr int64_t kLceVocabChunk = 512;  // columns of a logits tile

// logp, lse: [T] (overwritten)   hidden: [T, D]   weight: [V, D] (lm_head.weight, or the tied
// embed_tokens.weight)   targets: [T] (I32, < V; negative = ignored)
void linear_cross_entropy_forward(float* logp, float* lse, const float* hidden, const float* weight,
                                  const int32_t* targets, int64_t tokens, int64_t dim, int64_t vocab,
                                  int64_t token_chunk, int64_t vocab_chunk);
void linear_cross_entropy_forward(double* logp, double* lse, const double* hidden, const double* weight,
                                  const int32_t* targets, int64_t tokens, int64_t dim, int64_t vocab,
                                  int64_t token_chunk, int64_t vocab_chunk);

// dhidden: [T, D] (overwritten)   dweight: [V, D] (accumulated; null: a frozen head, no weight gradient)
// dlogp, lse: [T] (lse from the forward)
void linear_cross_entropy_backward(float* dhidden, float* dweight, const float* dlogp, const float* lse,
                                   const float* hidden, const float* weight, const int32_t* targets,
                                   int64_t tokens, int64_t dim, int64_t vocab, int64_t token_chunk,
                                   int64_t vocab_chunk);
void linear_cross_entropy_backward(double* dhidden, double* dweight, const double* dlogp, const double* lse,
                                   const double* hidden, const double* weight, const int32_t* targets,
                                   int64_t tokens, int64_t dim, int64_t vocab, int64_t token_chunk,
                                   int64_t vocab_chunk);

}  // namespace rk
