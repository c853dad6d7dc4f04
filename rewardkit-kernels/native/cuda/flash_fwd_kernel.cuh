// Varlen FlashAttention-2 forward kernel (included by flash_fwd.cu; also compiled on the host by
// tools/kernel_emu to check the tile/fragment/copy index math without a GPU).
#pragma once
#include "flash_common.cuh"

namespace rk { namespace cuda { namespace flash {

// smem: Q, K, V tiles [64][HD + 8] bf16, segq [64], segk [2][64].
template <int HD>
constexpr int fwd_smem_bytes() { return 3 * 64 * (HD + 8) * 2 + 3 * 64 * 4; }

// grid (Hq, S, ceil(max_seqlen / 64)); block 128. Each block: 64 queries of one head of one sequence.
// HD is the head-dim bucket (smem/register tile width); p.head_dim <= HD is the real one.
// Query tiles run last-first (seq_tile), the heaviest causal blocks first.
// K/V loads run one phase ahead with cp.async in FA2's arrangement: the next K tile is fetched while this
// tile's softmax and P·V run, the next V tile while the next Q·Kᵀ runs. Each is issued once every warp is
// past its reads of the buffer, so one K and one V buffer suffice (a second K/V stage would take HD 128 from
// 52 to 86 KB of smem: one block per SM on an A100 instead of three).
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_fwd_kernel(Params p) {
  constexpr int ST = HD + 8;
  const QueryTile qt = query_tile(p);
  if (qt.q0 >= qt.len) return;
  const SeqTile& b = qt.b;
  const int h = qt.h, hd = qt.hd, start = qt.start, len = qt.len, q0 = qt.q0, warp = qt.warp, t = qt.t;
  const int row_a = qt.row_a, row_b = qt.row_b;

  RK_DYNAMIC_SMEM(smem_raw);
  __nv_bfloat16* Qs = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* Ks = Qs + 64 * ST;
  __nv_bfloat16* Vs = Ks + 64 * ST;
  int* segq = reinterpret_cast<int*>(Vs + 64 * ST);
  auto segk = [&](int i) { return segq + 64 * (1 + i); };  // [2][64]: this key tile's and the next one's

  const int64_t kv_stride = qt.kv_stride;
  const __nv_bfloat16* kbase = head_row0(p.k, start, p.heads_kv, qt.hk, hd);
  const __nv_bfloat16* vbase = head_row0(p.v, start, p.heads_kv, qt.hk, hd);
  load_tile_async<HD>(Qs, head_row0(p.q, start, p.heads_q, h, hd), qt.q_stride, q0, len, hd);
  cp_async_commit();  // group: Q
  if (threadIdx.x < 64) segq[threadIdx.x] = segment_of(p, b, q0 + threadIdx.x);
  __syncthreads();
  int qmin, qmax;
  segment_range(p, segq, q0, len, qmin, qmax);

  float acc_o[HD / 8][4];
#pragma unroll
  for (int j = 0; j < HD / 8; ++j) acc_o[j][0] = acc_o[j][1] = acc_o[j][2] = acc_o[j][3] = 0.f;
  float m_row[2] = {-INFINITY, -INFINITY}, l_row[2] = {0.f, 0.f};

  const int key_end = min(len, q0 + kBlockM);  // causal: key tiles past the query tile are hidden, skipped
  // The first relevant key tile at or after n (its segment ids land in sk), or key_end. Every thread calls;
  // each tile looked at is a barrier.
  auto next_tile = [&](int n, int* sk) {
    for (; n < key_end; n += kBlockN)
      if (key_tile_relevant(sk, p, b, n, qmin, qmax)) break;
    return n;
  };

  int cur = 0;
  int n0 = next_tile(0, segk(0));
  if (n0 < key_end) {
    load_tile_async<HD>(Ks, kbase, kv_stride, n0, len, hd);
    cp_async_commit();
    load_tile_async<HD>(Vs, vbase, kv_stride, n0, len, hd);
    cp_async_commit();
  }
  // In flight at the top of each iteration: [Q,] K(n0), V(n0), oldest first.
  while (n0 < key_end) {
    cp_async_wait<1>();  // Q and K(n0) have landed; V(n0) may still be in flight
    __syncthreads();     // ... from every thread's copies
    const bool full = tile_fully_visible(q0, n0, len, p.seg != nullptr, segq, segk(cur));

    float sc[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
    gemm_abt<HD>(sc, Qs + warp * 16 * ST, Ks, ST, hd);

    // The barrier(s) in next_tile come after every warp's K reads: the next K may overwrite the buffer.
    const int n_next = next_tile(n0 + kBlockN, segk(cur ^ 1));
    if (n_next < key_end) load_tile_async<HD>(Ks, kbase, kv_stride, n_next, len, hd);
    cp_async_commit();  // group K(n_next), empty after the last tile (keeps the count uniform)

    const int* sk = segk(cur);
    float mx[2] = {m_row[0], m_row[1]};
    if (full) {  // inside the allowed region: no mask work
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          sc[j][e] *= p.scale_log2;
          mx[e >> 1] = fmaxf(mx[e >> 1], sc[j][e]);
        }
    } else {  // diagonal, ragged or mixed-segment tile
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row = e < 2 ? row_a : row_b, col = 8 * j + 2 * t + (e & 1);
          const bool ok = visible(q0 + row, n0 + col, len, segq[row], sk[col]);
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
    cp_async_wait<1>();  // V(n0) has landed; K(n_next) may still be in flight
    __syncthreads();
    gemm_pb<HD>(acc_o, sc, Vs, ST);

    if (n_next < key_end) {  // block-uniform
      __syncthreads();  // every warp is past its V reads
      load_tile_async<HD>(Vs, vbase, kv_stride, n_next, len, hd);
    }
    cp_async_commit();  // group V(n_next) (empty after the last tile)
    cur ^= 1;
    n0 = n_next;
  }
  cp_async_wait<0>();  // nothing in flight at exit

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
