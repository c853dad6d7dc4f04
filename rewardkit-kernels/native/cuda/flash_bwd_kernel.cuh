// Varlen FlashAttention-2 backward kernels (included by flash_bwd.cu; also compiled on the host by
// tools/kernel_emu to check the tile/fragment/copy index math without a GPU).
#pragma once
#include "flash_common.cuh"

namespace rk { namespace cuda { namespace flash {

// D[h, t] = Σ_d dO[t, h, d] O[t, h, d]; one warp per (token, head).
__global__ void flash_bwd_dsum_kernel(Params p) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + (threadIdx.x >> 5);  // token * Hq + head
  const int lane = threadIdx.x & 31;
  if (row >= static_cast<int64_t>(p.total_tokens) * p.heads_q) return;
  const __nv_bfloat16* o = p.o + row * p.head_dim;
  const __nv_bfloat16* d = p.dout + row * p.head_dim;
  float acc = 0.f;
  for (int i = lane; i < p.head_dim; i += 32) acc += b2f(o[i]) * b2f(d[i]);
  acc = warp_sum(acc);
  if (lane == 0) {
    const int64_t tok = row / p.heads_q, h = row % p.heads_q;
    p.dsum[h * p.total_tokens + tok] = acc;
  }
}

template <int HD>
constexpr int dkdv_smem_bytes() { return 4 * 64 * (HD + 8) * 2 + 64 * 72 * 2 + 4 * 64 * 4; }
template <int HD>
constexpr int dq_smem_bytes() { return 4 * 64 * (HD + 8) * 2 + 3 * 64 * 4 + 64 * 4; }

// Which of dK / dV a dK/dV block accumulates. Up to HD 128 one block does both; above, the 2 x HD/2 fp32
// accumulators per thread do not fit the 255-register file (ptxas spilled 464 / 976 bytes of stack at 192 /
// 256), so one set of blocks does dV (S only) and another dK (S and dP): the S GEMM runs twice (5 GEMMs
// instead of 4), the accumulators halve.
enum DkdvPart { kDkDv = 0, kDvOnly = 1, kDkOnly = 2 };
template <int HD>
constexpr int dkdv_parts() { return HD > 128 ? 2 : 1; }

// One (query head, key tile) block's share of dK/dV. Warp w owns keys n0 + 16w .. +15; S and dP are computed
// transposed (keys x queries) so P^T and dS^T re-pack straight into the dV and dK GEMMs.
template <int HD, int PART>
__device__ __forceinline__ void dkdv_block(const Params& p, int h, unsigned char* smem_raw) {
  constexpr bool kDV = PART != kDkOnly, kDK = PART != kDvOnly;
  constexpr int ST = HD + 8;
  constexpr int SST = 64 + 8;  // dS tile stride (atomic mode)
  const SeqTile b = seq_tile(p, false);
  const int start = b.start, len = b.len, n0 = b.row0;
  if (n0 >= len) return;
  const int group = p.heads_q / p.heads_kv, hk = h / group;
  const int hd = p.head_dim;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  __nv_bfloat16* Ks = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* Vs = Ks + 64 * ST;
  __nv_bfloat16* Qs = Vs + 64 * ST;
  __nv_bfloat16* dOs = Qs + 64 * ST;
  __nv_bfloat16* dSs = dOs + 64 * ST;  // [query][key], atomic mode
  int* segk = reinterpret_cast<int*>(dSs + 64 * SST);
  int* segq = segk + 64;
  float* lse2 = reinterpret_cast<float*>(segq + 64);
  float* dsum = lse2 + 64;

  const int64_t q_stride = static_cast<int64_t>(p.heads_q) * hd;
  const int64_t kv_stride = static_cast<int64_t>(p.heads_kv) * hd;
  load_tile_async<HD>(Ks, head_row0(p.k, start, p.heads_kv, hk, hd), kv_stride, n0, len, hd);
  if (kDK) load_tile_async<HD>(Vs, head_row0(p.v, start, p.heads_kv, hk, hd), kv_stride, n0, len, hd);
  cp_async_commit();  // group: K (V); waited for with the first Q/dO tile
  if (threadIdx.x < 64) segk[threadIdx.x] = segment_of(p, b, n0 + threadIdx.x);
  __syncthreads();
  // Segment summary of this key tile, for skipping query tiles that see none of its keys.
  bool kzero = p.seg == nullptr;
  int kmin = 0x7fffffff, kmax = -1;
  if (p.seg != nullptr)
    for (int c = 0; c < 64 && n0 + c < len; ++c) {
      const int sk = segk[c];
      if (sk == 0) kzero = true; else { kmin = min(kmin, sk); kmax = max(kmax, sk); }
    }

  float acc_dk[kDK ? HD / 8 : 1][4], acc_dv[kDV ? HD / 8 : 1][4];
#pragma unroll
  for (int j = 0; j < (kDK ? HD / 8 : 1); ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc_dk[j][e] = 0.f;
#pragma unroll
  for (int j = 0; j < (kDV ? HD / 8 : 1); ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc_dv[j][e] = 0.f;
  const int key_a = warp * 16 + g, key_b = key_a + 8;

  const __nv_bfloat16* qbase = p.q + (static_cast<int64_t>(start) * p.heads_q + h) * hd;
  const __nv_bfloat16* dobase = p.dout + (static_cast<int64_t>(start) * p.heads_q + h) * hd;
  for (int m0 = (n0 / kBlockM) * kBlockM; m0 < len; m0 += kBlockM) {  // causal: earlier query tiles are hidden
    __syncthreads();  // previous Q/dO/dS tiles fully consumed
    bool relevant = false;
    if (threadIdx.x < 64) {
      const int qi = m0 + threadIdx.x;
      const int sq = segment_of(p, b, qi);
      segq[threadIdx.x] = sq;
      const int64_t li = static_cast<int64_t>(h) * p.total_tokens + start + qi;
      lse2[threadIdx.x] = qi < len ? p.lse[li] * kLog2e : INFINITY;
      dsum[threadIdx.x] = qi < len ? p.dsum[li] : 0.f;
      relevant = qi < len && (kzero || (sq >= kmin && sq <= kmax));
    }
    if (!__syncthreads_or(relevant)) continue;
    const bool full = tile_fully_visible(m0, n0, len, p.seg != nullptr, segq, segk);
    load_tile_async<HD>(Qs, qbase, q_stride, m0, len, hd);
    load_tile_async<HD>(dOs, dobase, q_stride, m0, len, hd);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    float pt[8][4], dpt[kDK ? 8 : 1][4];
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) pt[j][e] = 0.f;
    gemm_abt<HD>(pt, Ks + warp * 16 * ST, Qs, ST, hd);  // S^T  [16 keys x 64 queries]
    if constexpr (kDK) {
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) dpt[j][e] = 0.f;
      gemm_abt<HD>(dpt, Vs + warp * 16 * ST, dOs, ST, hd);  // dP^T [16 keys x 64 queries]
    }
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = e < 2 ? key_a : key_b, qc = 8 * j + 2 * t + (e & 1);
        // Rows past the end have lse2 = +inf, so P = 0 there without the mask too.
        const bool ok = full || visible(m0 + qc, n0 + key, len, segq[qc], segk[key]);
        const float pv = ok ? exp2f(pt[j][e] * p.scale_log2 - lse2[qc]) : 0.f;
        pt[j][e] = pv;
        if constexpr (kDK) dpt[j][e] = pv * (dpt[j][e] - dsum[qc]);  // dS^T (unscaled)
      }
    if constexpr (kDV) gemm_pb<HD>(acc_dv, pt, dOs, ST);  // dV += P^T dO
    if constexpr (kDK) {
      gemm_pb<HD>(acc_dk, dpt, Qs, ST);  // dK += dS^T Q   (scaled at the end)
      if (!p.deterministic) {
        // dQ[q, :] += scale * Σ_key dS[q, key] K[key, :]: stage dS (query-major) in smem, then each
        // warp multiplies 16 query rows by the K tile and adds into the fp32 accumulator.
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = e < 2 ? key_a : key_b, qc = 8 * j + 2 * t + (e & 1);
            dSs[qc * SST + key] = f2b(dpt[j][e]);
          }
        __syncthreads();
        // In column chunks of kDqChunk: a full [HD / 8][4] accumulator on top of dK's (and dV's) would
        // spill (ptxas: 255 registers + stack at HD 128).
        constexpr int kDqChunk = HD % 64 == 0 ? 64 : 32;
        for (int c0 = 0; c0 < HD && c0 < hd; c0 += kDqChunk) {
          float acc_dq[kDqChunk / 8][4];
#pragma unroll
          for (int j = 0; j < kDqChunk / 8; ++j) acc_dq[j][0] = acc_dq[j][1] = acc_dq[j][2] = acc_dq[j][3] = 0.f;
          gemm_ab_kmajor<kDqChunk>(acc_dq, dSs + warp * 16 * SST, SST, Ks + c0, ST);
#pragma unroll
          for (int i = 0; i < 2; ++i) {
            const int qi = m0 + warp * 16 + g + 8 * i;
            if (qi >= len) continue;
            float* dst = p.dq_accum + (static_cast<int64_t>(start + qi) * p.heads_q + h) * hd + c0;
#pragma unroll
            for (int j = 0; j < kDqChunk / 8; ++j) {
              if (c0 + 8 * j >= hd) continue;
              atomicAdd(dst + 8 * j + 2 * t, acc_dq[j][2 * i] * p.scale);
              atomicAdd(dst + 8 * j + 2 * t + 1, acc_dq[j][2 * i + 1] * p.scale);
            }
          }
        }
      }
    }
  }
  cp_async_wait<0>();  // the K/V group, when no query tile was relevant

  // MHA: this block is the only writer of its dK/dV rows. GQA: its query head's share goes to the fp32
  // partials [T, Hq, hd], summed over the group in a fixed order by dkdv_reduce_kernel (deterministic).
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int kj = n0 + warp * 16 + g + 8 * i;
    if (kj >= len) continue;
    const int64_t off = (static_cast<int64_t>(start + kj) * p.heads_kv + hk) * hd;
    const int64_t part = (static_cast<int64_t>(start + kj) * p.heads_q + h) * hd;
#pragma unroll
    for (int j = 0; j < HD / 8; ++j) {
      if (8 * j >= hd) continue;
      const int c = 8 * j + 2 * t;
      if constexpr (kDK) {
        const float x = acc_dk[j][2 * i] * p.scale, y = acc_dk[j][2 * i + 1] * p.scale;
        if (group == 1) *reinterpret_cast<uint32_t*>(p.dk + off + c) = pack_f2(x, y);
        else *reinterpret_cast<float2*>(p.dk_part + part + c) = make_float2(x, y);
      }
      if constexpr (kDV) {
        const float x = acc_dv[j][2 * i], y = acc_dv[j][2 * i + 1];
        if (group == 1) *reinterpret_cast<uint32_t*>(p.dv + off + c) = pack_f2(x, y);
        else *reinterpret_cast<float2*>(p.dv_part + part + c) = make_float2(x, y);
      }
    }
  }
}

// grid (Hq * dkdv_parts, S, ceil(max_seqlen / 64)): parallel over query heads (FA2's grid), not only over KV
// heads; x = part * Hq + h. Key tiles run first-first (seq_tile): the first key tile of a sequence meets
// the most query tiles, so the longest blocks start first.
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_bwd_dkdv_kernel(Params p) {
  RK_DYNAMIC_SMEM(smem_raw);
  const int h = blockIdx.x % p.heads_q;
  if constexpr (dkdv_parts<HD>() == 1) {
    dkdv_block<HD, kDkDv>(p, h, smem_raw);
  } else {
    if (blockIdx.x < static_cast<unsigned>(p.heads_q)) dkdv_block<HD, kDvOnly>(p, h, smem_raw);
    else dkdv_block<HD, kDkOnly>(p, h, smem_raw);
  }
}

// GQA: dK[t, hk, :] = Σ_{i < group} dk_part[t, hk * group + i, :] in that order, the same for dV; bf16 out.
__global__ void dkdv_reduce_kernel(Params p) {
  const int group = p.heads_q / p.heads_kv, hd = p.head_dim;
  const int64_t n = static_cast<int64_t>(p.total_tokens) * p.heads_kv * hd;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = i / hd;  // token * Hkv + hk: its query heads are rows row * group .. + group - 1 of [T * Hq]
    const int c = static_cast<int>(i % hd);
    float sk = 0.f, sv = 0.f;
    for (int j = 0; j < group; ++j) {
      const int64_t src = (row * group + j) * hd + c;
      sk += p.dk_part[src];
      sv += p.dv_part[src];
    }
    p.dk[i] = f2b(sk);
    p.dv[i] = f2b(sv);
  }
}

// Deterministic dQ: grid (Hq, S, ceil(max_seqlen / 64)), query tiles last-first as in the forward;
// each block owns 64 query rows of one head and walks the visible key tiles in order, recomputing P and dP.
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_bwd_dq_kernel(Params p) {
  constexpr int ST = HD + 8;
  const QueryTile qt = query_tile(p);
  if (qt.q0 >= qt.len) return;
  const SeqTile& b = qt.b;
  const int h = qt.h, hd = qt.hd, start = qt.start, len = qt.len, q0 = qt.q0, warp = qt.warp, t = qt.t;
  const int row_a = qt.row_a, row_b = qt.row_b;

  RK_DYNAMIC_SMEM(smem_raw);
  __nv_bfloat16* Qs = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* dOs = Qs + 64 * ST;
  __nv_bfloat16* Ks = dOs + 64 * ST;
  __nv_bfloat16* Vs = Ks + 64 * ST;
  int* segq = reinterpret_cast<int*>(Vs + 64 * ST);
  int* segk = segq + 64;
  float* lse2 = reinterpret_cast<float*>(segk + 64);
  float* dsum = lse2 + 64;

  const int64_t kv_stride = qt.kv_stride;
  load_tile_async<HD>(Qs, head_row0(p.q, start, p.heads_q, h, hd), qt.q_stride, q0, len, hd);
  load_tile_async<HD>(dOs, head_row0(p.dout, start, p.heads_q, h, hd), qt.q_stride, q0, len, hd);
  cp_async_commit();  // group: Q, dO; waited for with the first K/V tile
  if (threadIdx.x < 64) {
    const int qi = q0 + threadIdx.x;
    segq[threadIdx.x] = segment_of(p, b, qi);
    const int64_t li = static_cast<int64_t>(h) * p.total_tokens + start + qi;
    lse2[threadIdx.x] = qi < len ? p.lse[li] * kLog2e : INFINITY;
    dsum[threadIdx.x] = qi < len ? p.dsum[li] : 0.f;
  }
  __syncthreads();
  int qmin, qmax;
  segment_range(p, segq, q0, len, qmin, qmax);

  float acc_dq[HD / 8][4];
#pragma unroll
  for (int j = 0; j < HD / 8; ++j) acc_dq[j][0] = acc_dq[j][1] = acc_dq[j][2] = acc_dq[j][3] = 0.f;

  const int key_end = min(len, q0 + kBlockM);
  for (int n0 = 0; n0 < key_end; n0 += kBlockN) {
    __syncthreads();  // previous K/V tile fully consumed
    if (!key_tile_relevant(segk, p, b, n0, qmin, qmax)) continue;
    const bool full = tile_fully_visible(q0, n0, len, p.seg != nullptr, segq, segk);
    load_tile_async<HD>(Ks, head_row0(p.k, start, p.heads_kv, qt.hk, hd), kv_stride, n0, len, hd);
    load_tile_async<HD>(Vs, head_row0(p.v, start, p.heads_kv, qt.hk, hd), kv_stride, n0, len, hd);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    float sc[8][4], dp[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) sc[j][e] = dp[j][e] = 0.f;
    gemm_abt<HD>(sc, Qs + warp * 16 * ST, Ks, ST, hd);   // S  [16 queries x 64 keys]
    gemm_abt<HD>(dp, dOs + warp * 16 * ST, Vs, ST, hd);  // dP [16 queries x 64 keys]
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = e < 2 ? row_a : row_b, col = 8 * j + 2 * t + (e & 1);
        const bool ok = full || visible(q0 + row, n0 + col, len, segq[row], segk[col]);
        const float pv = ok ? exp2f(sc[j][e] * p.scale_log2 - lse2[row]) : 0.f;
        dp[j][e] = pv * (dp[j][e] - dsum[row]);
      }
    gemm_pb<HD>(acc_dq, dp, Ks, ST);  // dQ += dS K
  }

  cp_async_wait<0>();  // the Q/dO group, when no key tile was relevant
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int qi = q0 + (i == 0 ? row_a : row_b);
    if (qi >= len) continue;
    __nv_bfloat16* dst = p.dq + (static_cast<int64_t>(start + qi) * p.heads_q + h) * hd;
#pragma unroll
    for (int j = 0; j < HD / 8; ++j)
      if (8 * j < hd)
        *reinterpret_cast<uint32_t*>(dst + 8 * j + 2 * t) =
          pack_f2(acc_dq[j][2 * i] * p.scale, acc_dq[j][2 * i + 1] * p.scale);
  }
}

__global__ void dq_convert_kernel(__nv_bfloat16* dq, const float* acc, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dq[i] = f2b(acc[i]);
}

}}}  // namespace rk::cuda::flash
