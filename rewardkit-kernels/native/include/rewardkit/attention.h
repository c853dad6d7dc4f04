// Causal attention over packed variable-length sequences (flash-attention's varlen form), with
// grouped-query attention and the shared-prefix segment rule. CPU reference, float and double.
//
//   out[i, h, :] = Σ_j P[h, i, j] v[j, g(h), :],  P[h, i, :] = softmax_j(scale · q[i, h, :]·k[j, g(h), :])
//   lse[h, i]    = log Σ_j exp(scale · q[i, h, :]·k[j, g(h), :])        (saved for backward)
// over the keys j visible to query i (attention_visible below), with g(h) = h / (Hq / Hkv), the
// kv head that query head h reads (HF repeat_kv). Every query sees itself, so lse is finite.
//
// Backward (FlashAttention-2): P is recomputed from lse; D_i = Σ_d dout[i, d] · out[i, d];
// dS = P ∘ (dout · vᵀ − D); dq = scale · dS · k; dk = scale · dSᵀ · q; dv = Pᵀ · dout.
// dq, dk, dv are OVERWRITTEN. Results are deterministic and independent of the thread count:
// every output row is written by exactly one work item, in a fixed order.
//
// Design note: the masking rule lives in rewardkit/attention_mask.h, which the CUDA FlashAttention
// kernels include too (applied per element on diagonal/ragged tiles only); in the shared-prefix
// layout [prompt | chosen | rejected] a tile of rejected queries against chosen keys is entirely
// invisible and is skipped, which is what makes the shared prompt cheaper than two sequences.
#pragma once
#include "rewardkit/attention_mask.h"
#include "rewardkit/common.h"

namespace rk {

// The mask rule (attention_mask.h) for tokens i, j of one sequence whose segment ids are seg[i], seg[j];
// seg == nullptr means plain causal attention.
inline bool attention_visible(const int32_t* seg, int64_t i, int64_t j) {
  return attention_mask_visible(i, j, seg == nullptr ? 0 : seg[i], seg == nullptr ? 0 : seg[j]);
}

// Built and validated once at the API boundary (make_params / validate in attention.cpp).
struct AttentionParams {
  int64_t total_tokens;        // T
  int64_t num_seqs;            // S
  int64_t num_q_heads;         // Hq
  int64_t num_kv_heads;        // Hkv, Hq % Hkv == 0
  int64_t head_dim;            // hd
  int64_t max_seqlen;          // >= longest sequence (checked; kernels on other devices size grids by it)
  double scale;                // score scale, usually 1 / sqrt(hd)
  const int32_t* cu_seqlens;   // [S + 1], cu_seqlens[0] = 0, non-decreasing, cu_seqlens[S] = T
  const int32_t* segment_ids;  // [T] values >= 0, or nullptr (plain causal)

  int64_t group() const { return num_q_heads / num_kv_heads; }  // query heads per kv head
};

// out: [T, Hq, hd]   lse: [Hq, T]   q: [T, Hq, hd]   k, v: [T, Hkv, hd]
// cu_seqlens: [S + 1]   segment_ids: [T] or nullptr
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, const int32_t* segment_ids, int64_t num_seqs,
                       int64_t total_tokens, int64_t max_seqlen, int64_t num_q_heads,
                       int64_t num_kv_heads, int64_t head_dim, double scale);
void attention_forward(double* out, double* lse, const double* q, const double* k, const double* v,
                       const int32_t* cu_seqlens, const int32_t* segment_ids, int64_t num_seqs,
                       int64_t total_tokens, int64_t max_seqlen, int64_t num_q_heads,
                       int64_t num_kv_heads, int64_t head_dim, double scale);

// dq: [T, Hq, hd]   dk, dv: [T, Hkv, hd]   (all overwritten)
// dout, q, out: [T, Hq, hd]   k, v: [T, Hkv, hd]   lse: [Hq, T] (from attention_forward)
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const int32_t* cu_seqlens, const int32_t* segment_ids, int64_t num_seqs,
                        int64_t total_tokens, int64_t max_seqlen, int64_t num_q_heads,
                        int64_t num_kv_heads, int64_t head_dim, double scale);
void attention_backward(double* dq, double* dk, double* dv, const double* dout, const double* q,
                        const double* k, const double* v, const double* out, const double* lse,
                        const int32_t* cu_seqlens, const int32_t* segment_ids, int64_t num_seqs,
                        int64_t total_tokens, int64_t max_seqlen, int64_t num_q_heads,
                        int64_t num_kv_heads, int64_t head_dim, double scale);

}  // namespace rk
