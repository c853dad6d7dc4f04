// Varlen FlashAttention-2 forward kernel (included by flash_fwd.cu; also compiled on the host by
// tools/flash_emu to check the tile/fragment index math without a GPU).
#pragma once
#include "flash_common.cuh"

namespace rk { namespace cuda { namespace flash {

template <int HD>
constexpr int fwd_smem_bytes() { return 3 * 64 * (HD + 8) * 2 + 2 * 64 * 4; }

// grid (Hq, S, ceil(max_seqlen / 64)); block 128. Each block: 64 queries of one head of one sequence.
// HD is the head-dim bucket (smem/register tile width); p.head_dim <= HD is the real one.
// Query tiles run last-first (z is the slowest grid dimension): under the causal mask the last tile
// of a sequence visits the most key tiles, so the longest blocks start first and the tail is short.
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_fwd_kernel(Params p) {
  constexpr int ST = HD + 8;
  const int s = blockIdx.y, h = blockIdx.x;
  const int start = p.cu_seqlens[s];
  const int len = p.cu_seqlens[s + 1] - start;
  const int q0 = (gridDim.z - 1 - blockIdx.z) * kBlockM;
  if (q0 >= len) return;
  const int hk = h / (p.heads_q / p.heads_kv);
  const int hd = p.head_dim;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  RK_DYNAMIC_SMEM(smem_raw);
  __nv_bfloat16* Qs = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* Ks = Qs + 64 * ST;
  __nv_bfloat16* Vs = Ks + 64 * ST;
  int* segq = reinterpret_cast<int*>(Vs + 64 * ST);
  int* segk = segq + 64;

  const int64_t q_stride = static_cast<int64_t>(p.heads_q) * hd;
  const int64_t kv_stride = static_cast<int64_t>(p.heads_kv) * hd;
  load_tile<HD>(Qs, p.q + (static_cast<int64_t>(start) * p.heads_q + h) * hd, q_stride, q0, len, hd);
  if (threadIdx.x < 64) {
    const int qi = q0 + threadIdx.x;
    segq[threadIdx.x] = p.seg == nullptr ? 0 : (qi < len ? p.seg[start + qi] : -1);
  }
  __syncthreads();
  // Segment range of this query tile: a key tile whose keys all lie in other branches is skipped
  // without loading K/V (branches are contiguous, so rejected queries skip the chosen range).
  int qmin = 0x7fffffff, qmax = -1;
  if (p.seg != nullptr)
    for (int r = 0; r < 64 && q0 + r < len; ++r) { qmin = min(qmin, segq[r]); qmax = max(qmax, segq[r]); }

  float acc_o[HD / 8][4];
#pragma unroll
  for (int j = 0; j < HD / 8; ++j) acc_o[j][0] = acc_o[j][1] = acc_o[j][2] = acc_o[j][3] = 0.f;
  float m_row[2] = {-INFINITY, -INFINITY}, l_row[2] = {0.f, 0.f};
  const int row_a = warp * 16 + g, row_b = row_a + 8;  // tile rows this thread holds

  const int key_end = min(len, q0 + kBlockM);
  for (int n0 = 0; n0 < key_end; n0 += kBlockN) {
    __syncthreads();  // previous tile's K/V reads are done
    bool relevant = false;
    if (threadIdx.x < 64) {
      const int kj = n0 + threadIdx.x;
      const int sk = p.seg == nullptr ? 0 : (kj < len ? p.seg[start + kj] : -1);
      segk[threadIdx.x] = sk;
      relevant = kj < len && (sk == 0 || (sk >= qmin && sk <= qmax));
    }
    if (!__syncthreads_or(relevant)) continue;
    const bool full = tile_fully_visible(q0, n0, len, p.seg != nullptr, segq, segk);
    load_tile<HD>(Ks, p.k + (static_cast<int64_t>(start) * p.heads_kv + hk) * hd, kv_stride, n0, len, hd);
    load_tile<HD>(Vs, p.v + (static_cast<int64_t>(start) * p.heads_kv + hk) * hd, kv_stride, n0, len, hd);
    __syncthreads();

    float sc[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
    gemm_abt<HD>(sc, Qs + warp * 16 * ST, Ks, ST, hd);

    float mx[2] = {m_row[0], m_row[1]};
    if (full) {  // below the diagonal, one segment rule for all: no mask work
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          sc[j][e] *= p.scale_log2;
          mx[e >> 1] = fmaxf(mx[e >> 1], sc[j][e]);
        }
    } else {
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row = e < 2 ? row_a : row_b, col = 8 * j + 2 * t + (e & 1);
          const bool ok = visible(q0 + row, n0 + col, len, segq[row], segk[col]);
          sc[j][e] = ok ? sc[j][e] * p.scale_log2 : -INFINITY;
          mx[e >> 1] = fmaxf(mx[e >> 1], sc[j][e]);
        }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
    }
    float alpha[2], base[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      base[i] = mx[i] == -INFINITY ? 0.f : mx[i];  // a row with nothing visible yet stays all-zero
      alpha[i] = exp2f(m_row[i] - base[i]);
      m_row[i] = mx[i];
      l_row[i] *= alpha[i];
    }
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[j][e] = exp2f(sc[j][e] - base[e >> 1]);
        l_row[e >> 1] += sc[j][e];
      }
#pragma unroll
    for (int j = 0; j < HD / 8; ++j) {
      acc_o[j][0] *= alpha[0]; acc_o[j][1] *= alpha[0];
      acc_o[j][2] *= alpha[1]; acc_o[j][3] *= alpha[1];
    }
    gemm_pb<HD>(acc_o, sc, Vs, ST);
  }

  float inv[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l_row[i] += __shfl_xor_sync(0xffffffffu, l_row[i], 1);
    l_row[i] += __shfl_xor_sync(0xffffffffu, l_row[i], 2);
    inv[i] = l_row[i] > 0.f ? 1.f / l_row[i] : 0.f;
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int qi = q0 + (i == 0 ? row_a : row_b);
    if (qi >= len) continue;
    __nv_bfloat16* orow = p.o_out + (static_cast<int64_t>(start + qi) * p.heads_q + h) * hd;
#pragma unroll
    for (int j = 0; j < HD / 8; ++j)
      if (8 * j < hd)
        *reinterpret_cast<uint32_t*>(orow + 8 * j + 2 * t) =
          pack_f2(acc_o[j][2 * i] * inv[i], acc_o[j][2 * i + 1] * inv[i]);
    if (t == 0)
      p.lse[static_cast<int64_t>(h) * p.total_tokens + start + qi] =
          l_row[i] > 0.f ? (m_row[i] + log2f(l_row[i])) * kLn2 : -INFINITY;
  }
}

}}}  // namespace rk::cuda::flash
