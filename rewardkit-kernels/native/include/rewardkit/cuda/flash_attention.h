// Varlen FlashAttention-2 (own implementation): causal, GQA, head_dim any multiple of 8 up to 256, bf16 in/out with
// fp32 softmax and accumulation, mma.sync m16n8k16 tensor cores, and the shared-prefix rule:
// query i sees key j iff same sequence, j <= i, and seg[j] == 0 || seg[j] == seg[i]
// (seg may be null: plain causal). Layouts (packed tokens, T = cu_seqlens[S]):
//   q, o, dout, dq [T, Hq, hd]   k, v, dk, dv [T, Hkv, hd]   lse [Hq, T] fp32 (natural log)
//   cu_seqlens [S + 1] int32    seg [T] int32
#pragma once
#include <cstdint>
#include "rewardkit/cuda/ops.h"

namespace rk { namespace cuda {

// o and lse written.
void flash_attention_forward(bf16_bits* o, float* lse, const bf16_bits* q, const bf16_bits* k,
                             const bf16_bits* v, const int32_t* cu_seqlens, const int32_t* seg,
                             int num_seqs, int total_tokens, int max_seqlen, int heads_q, int heads_kv,
                             int head_dim, float scale, void* stream);

// Bytes of fp32 workspace the backward needs: D = rowsum(dO∘O) [Hq, T], plus dq_accum [T, Hq, hd]
// when deterministic == 0 (atomics into dq; deterministic == 1 runs a separate dq pass instead), plus
// per-query-head dK and dV partials [T, Hq, hd] each when heads_q != heads_kv (summed in a fixed order:
// dK/dV are deterministic in both modes).
int64_t flash_attention_backward_workspace(int total_tokens, int heads_q, int heads_kv, int head_dim,
                                           int deterministic);

// dq, dk, dv overwritten.
void flash_attention_backward(bf16_bits* dq, bf16_bits* dk, bf16_bits* dv, const bf16_bits* dout,
                              const bf16_bits* q, const bf16_bits* k, const bf16_bits* v,
                              const bf16_bits* o, const float* lse, void* workspace,
                              const int32_t* cu_seqlens, const int32_t* seg, int num_seqs,
                              int total_tokens, int max_seqlen, int heads_q, int heads_kv, int head_dim,
                              float scale, int deterministic, void* stream);

}}  // namespace rk::cuda
