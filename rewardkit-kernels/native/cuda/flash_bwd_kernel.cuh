// Varlen FlashAttention-2 backward kernels (included by flash_bwd.cu; also compiled on the host by
// tools/flash_emu to check the tile/fragment index math without a GPU).
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

// grid (Hkv, S, ceil(max_seqlen / 64)). Warp w owns keys n0 + 16w .. +15; S and dP are computed
// transposed (keys x queries) so P^T and dS^T re-pack straight into the dV and dK GEMMs. Key tiles run
// first-first (z is the slowest grid dimension): under the causal mask the first key tile of a sequence
// meets the most query tiles, so the longest blocks start first.
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_bwd_dkdv_kernel(Params p) {
  constexpr int ST = HD + 8;
  constexpr int SST = 64 + 8;  // dS tile stride (atomic mode)
  const int s = blockIdx.y, hk = blockIdx.x;
  const int start = p.cu_seqlens[s];
  const int len = p.cu_seqlens[s + 1] - start;
  const int n0 = blockIdx.z * kBlockN;
  if (n0 >= len) return;
  const int group = p.heads_q / p.heads_kv;
  const int hd = p.head_dim;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  RK_DYNAMIC_SMEM(smem_raw);
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
  load_tile<HD>(Ks, p.k + (static_cast<int64_t>(start) * p.heads_kv + hk) * hd, kv_stride, n0, len, hd);
  load_tile<HD>(Vs, p.v + (static_cast<int64_t>(start) * p.heads_kv + hk) * hd, kv_stride, n0, len, hd);
  if (threadIdx.x < 64) {
    const int kj = n0 + threadIdx.x;
    segk[threadIdx.x] = p.seg == nullptr ? 0 : (kj < len ? p.seg[start + kj] : -1);
  }
  __syncthreads();
  // Segment summary of this key tile, for skipping query tiles that see none of its keys.
  bool kzero = p.seg == nullptr;
  int kmin = 0x7fffffff, kmax = -1;
  if (p.seg != nullptr)
    for (int c = 0; c < 64 && n0 + c < len; ++c) {
      const int sk = segk[c];
      if (sk == 0) kzero = true; else { kmin = min(kmin, sk); kmax = max(kmax, sk); }
    }

  float acc_dk[HD / 8][4], acc_dv[HD / 8][4];
#pragma unroll
  for (int j = 0; j < HD / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc_dk[j][e] = acc_dv[j][e] = 0.f;
  const int key_a = warp * 16 + g, key_b = key_a + 8;

  for (int hi = 0; hi < group; ++hi) {
    const int h = hk * group + hi;
    for (int m0 = (n0 / kBlockM) * kBlockM; m0 < len; m0 += kBlockM) {
      __syncthreads();  // previous Q/dO/dS tiles fully consumed
      bool relevant = false;
      if (threadIdx.x < 64) {
        const int qi = m0 + threadIdx.x;
        const int sq = p.seg == nullptr ? 0 : (qi < len ? p.seg[start + qi] : -1);
        segq[threadIdx.x] = sq;
        const int64_t li = static_cast<int64_t>(h) * p.total_tokens + start + qi;
        lse2[threadIdx.x] = qi < len ? p.lse[li] * kLog2e : INFINITY;
        dsum[threadIdx.x] = qi < len ? p.dsum[li] : 0.f;
        relevant = qi < len && (kzero || (sq >= kmin && sq <= kmax));
      }
      if (!__syncthreads_or(relevant)) continue;
      const bool full = tile_fully_visible(m0, n0, len, p.seg != nullptr, segq, segk);
      load_tile<HD>(Qs, p.q + (static_cast<int64_t>(start) * p.heads_q + h) * hd, q_stride, m0, len, hd);
      load_tile<HD>(dOs, p.dout + (static_cast<int64_t>(start) * p.heads_q + h) * hd, q_stride, m0, len, hd);
      __syncthreads();

      float pt[8][4], dpt[8][4];
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) pt[j][e] = dpt[j][e] = 0.f;
      gemm_abt<HD>(pt, Ks + warp * 16 * ST, Qs, ST, hd);    // S^T  [16 keys x 64 queries]
      gemm_abt<HD>(dpt, Vs + warp * 16 * ST, dOs, ST, hd);  // dP^T [16 keys x 64 queries]
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = e < 2 ? key_a : key_b, qc = 8 * j + 2 * t + (e & 1);
          // Rows past the end have lse2 = +inf, so P = 0 there without the mask too.
          const bool ok = full || visible(m0 + qc, n0 + key, len, segq[qc], segk[key]);
          const float pv = ok ? exp2f(pt[j][e] * p.scale_log2 - lse2[qc]) : 0.f;
          pt[j][e] = pv;
          dpt[j][e] = pv * (dpt[j][e] - dsum[qc]);  // dS^T (unscaled)
        }
      gemm_pb<HD>(acc_dv, pt, dOs, ST);  // dV += P^T dO
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
        float acc_dq[HD / 8][4];
#pragma unroll
        for (int j = 0; j < HD / 8; ++j) acc_dq[j][0] = acc_dq[j][1] = acc_dq[j][2] = acc_dq[j][3] = 0.f;
        gemm_ab_kmajor<HD>(acc_dq, dSs + warp * 16 * SST, SST, Ks, ST);
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int qi = m0 + warp * 16 + g + 8 * i;
          if (qi >= len) continue;
          float* dst = p.dq_accum + (static_cast<int64_t>(start + qi) * p.heads_q + h) * hd;
#pragma unroll
          for (int j = 0; j < HD / 8; ++j) {
            if (8 * j >= hd) continue;
            atomicAdd(dst + 8 * j + 2 * t, acc_dq[j][2 * i] * p.scale);
            atomicAdd(dst + 8 * j + 2 * t + 1, acc_dq[j][2 * i + 1] * p.scale);
          }
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int kj = n0 + warp * 16 + g + 8 * i;
    if (kj >= len) continue;
    const int64_t off = (static_cast<int64_t>(start + kj) * p.heads_kv + hk) * hd;
#pragma unroll
    for (int j = 0; j < HD / 8; ++j) {
      if (8 * j >= hd) continue;
      *reinterpret_cast<uint32_t*>(p.dk + off + 8 * j + 2 * t) =
          pack_f2(acc_dk[j][2 * i] * p.scale, acc_dk[j][2 * i + 1] * p.scale);
      *reinterpret_cast<uint32_t*>(p.dv + off + 8 * j + 2 * t) = pack_f2(acc_dv[j][2 * i], acc_dv[j][2 * i + 1]);
    }
  }
}

// Deterministic dQ: grid (Hq, S, ceil(max_seqlen / 64)), query tiles last-first as in the forward;
// each block owns 64 query rows of one head and walks the visible key tiles in order, recomputing P and dP.
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_bwd_dq_kernel(Params p) {
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
  __nv_bfloat16* dOs = Qs + 64 * ST;
  __nv_bfloat16* Ks = dOs + 64 * ST;
  __nv_bfloat16* Vs = Ks + 64 * ST;
  int* segq = reinterpret_cast<int*>(Vs + 64 * ST);
  int* segk = segq + 64;
  float* lse2 = reinterpret_cast<float*>(segk + 64);
  float* dsum = lse2 + 64;

  const int64_t q_stride = static_cast<int64_t>(p.heads_q) * hd;
  const int64_t kv_stride = static_cast<int64_t>(p.heads_kv) * hd;
  load_tile<HD>(Qs, p.q + (static_cast<int64_t>(start) * p.heads_q + h) * hd, q_stride, q0, len, hd);
  load_tile<HD>(dOs, p.dout + (static_cast<int64_t>(start) * p.heads_q + h) * hd, q_stride, q0, len, hd);
  if (threadIdx.x < 64) {
    const int qi = q0 + threadIdx.x;
    segq[threadIdx.x] = p.seg == nullptr ? 0 : (qi < len ? p.seg[start + qi] : -1);
    const int64_t li = static_cast<int64_t>(h) * p.total_tokens + start + qi;
    lse2[threadIdx.x] = qi < len ? p.lse[li] * kLog2e : INFINITY;
    dsum[threadIdx.x] = qi < len ? p.dsum[li] : 0.f;
  }
  __syncthreads();
  int qmin = 0x7fffffff, qmax = -1;
  if (p.seg != nullptr)
    for (int r = 0; r < 64 && q0 + r < len; ++r) { qmin = min(qmin, segq[r]); qmax = max(qmax, segq[r]); }

  float acc_dq[HD / 8][4];
#pragma unroll
  for (int j = 0; j < HD / 8; ++j) acc_dq[j][0] = acc_dq[j][1] = acc_dq[j][2] = acc_dq[j][3] = 0.f;
  const int row_a = warp * 16 + g, row_b = row_a + 8;

  const int key_end = min(len, q0 + kBlockM);
  for (int n0 = 0; n0 < key_end; n0 += kBlockN) {
    __syncthreads();
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
