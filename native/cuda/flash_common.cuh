// Varlen FlashAttention-2 building blocks shared by flash_fwd.cu and flash_bwd.cu.
// Tiles: 64 queries x 64 keys per block, 4 warps; each warp owns 16 rows of a 64-row tile.
// Head dims: any multiple of 8 up to 256. Kernels are instantiated for the buckets HD = 32, 64, ...,
// 256 (as FA2 does); a head dim below its bucket is zero-padded in shared memory (zero columns add
// nothing to Q·Kᵀ, and the padded output columns are never written), and the Q·Kᵀ k-loop stops at
// the real head dim.
// Tensor-core GEMMs use mma.sync.m16n8k16 (bf16 in, fp32 accumulate). Fragment layout for
// lane = 4*g + t (g = lane / 4, t = lane % 4):
//   A 16x16 (row-major m x k): a0 = (g, 2t..2t+1)  a1 = (g+8, 2t..)  a2 = (g, 2t+8..)  a3 = (g+8, 2t+8..)
//   B 16x8  (k x n):           b0 = (k 2t..2t+1, n g)                b1 = (k 2t+8..2t+9, n g)
//   C 16x8  (fp32):            c0,c1 = (g, 2t..2t+1)                 c2,c3 = (g+8, 2t..2t+1)
// A C tile of 16 x 64 therefore re-packs into the A operand of the next GEMM without shuffles.
#pragma once
#include <type_traits>

#include "common.cuh"
#include "rewardkit/cuda/flash_attention.h"

namespace rk { namespace cuda { namespace flash {

constexpr int kBlockM = 64;
constexpr int kBlockN = 64;
constexpr int kThreads = 128;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr int kMaxHeadDim = 256;

// The kernel bucket of a head dim (a multiple of 8 in [8, 256], checked by validate()).
constexpr int head_dim_bucket(int hd) { return (hd + 31) / 32 * 32; }

// Calls f(std::integral_constant<int, HD>) for the bucket of hd: one place lists the instantiations.
template <class F>
void dispatch_head_dim(int hd, F&& f) {
  switch (head_dim_bucket(hd)) {
    case 32: f(std::integral_constant<int, 32>{}); break;
    case 64: f(std::integral_constant<int, 64>{}); break;
    case 96: f(std::integral_constant<int, 96>{}); break;
    case 128: f(std::integral_constant<int, 128>{}); break;
    case 160: f(std::integral_constant<int, 160>{}); break;
    case 192: f(std::integral_constant<int, 192>{}); break;
    case 224: f(std::integral_constant<int, 224>{}); break;
    default: f(std::integral_constant<int, 256>{}); break;
  }
}

// One params struct for the whole family, filled and validated once at the API boundary.
struct Params {
  const __nv_bfloat16* q;     // [T, Hq, hd]
  const __nv_bfloat16* k;     // [T, Hkv, hd]
  const __nv_bfloat16* v;     // [T, Hkv, hd]
  const __nv_bfloat16* o;     // [T, Hq, hd] (backward input)
  const __nv_bfloat16* dout;  // [T, Hq, hd]
  __nv_bfloat16* o_out;       // [T, Hq, hd] (forward output)
  __nv_bfloat16* dq;          // [T, Hq, hd]
  __nv_bfloat16* dk;          // [T, Hkv, hd]
  __nv_bfloat16* dv;          // [T, Hkv, hd]
  float* lse;                 // [Hq, T] natural-log LSE of scaled scores
  float* dsum;                // [Hq, T] D = rowsum(dO * O)
  float* dq_accum;            // [T, Hq, hd] fp32, atomic mode only
  const int32_t* cu_seqlens;  // [S + 1]
  const int32_t* seg;         // [T] or null
  int num_seqs, total_tokens, max_seqlen, heads_q, heads_kv, head_dim;
  float scale;        // softmax scale (1/sqrt(hd) usually)
  float scale_log2;   // scale * log2(e): scores live in the exp2 domain
  int deterministic;  // 1: separate dq pass, no float atomics
};

void validate(const Params& p, bool backward, const char* op);

__device__ __forceinline__ uint32_t ld32(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

__device__ __forceinline__ uint32_t pack2(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(lo)) | (static_cast<uint32_t>(__bfloat16_as_ushort(hi)) << 16);
}

__device__ __forceinline__ uint32_t pack_f2(float lo, float hi) { return pack2(f2b(lo), f2b(hi)); }

// Dynamic shared memory, spelled as a macro so tools/kernel_emu can provide a host buffer.
#ifndef RK_DYNAMIC_SMEM
#define RK_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#endif

#ifdef RK_HOST_EMULATION
// tools/kernel_emu supplies a host emulation of the warp-wide MMA (same fragment layout).
void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]);
#else
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

// acc[16 x 64] += A[16 x K] · B[64 x K]ᵀ; A and B in smem, k contiguous, row stride `st` elements.
// Columns kdim..K-1 are zero padding: the loop stops at kdim (rounded up to the MMA's 16).
template <int K>
__device__ __forceinline__ void gemm_abt(float acc[8][4], const __nv_bfloat16* A, const __nv_bfloat16* B, int st,
                                         int kdim) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int k0 = 0; k0 < K; k0 += 16) {
    if (k0 >= kdim) break;
    uint32_t a[4];
    a[0] = ld32(A + g * st + k0 + 2 * t);
    a[1] = ld32(A + (g + 8) * st + k0 + 2 * t);
    a[2] = ld32(A + g * st + k0 + 8 + 2 * t);
    a[3] = ld32(A + (g + 8) * st + k0 + 8 + 2 * t);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      uint32_t b[2];
      b[0] = ld32(B + (8 * j + g) * st + k0 + 2 * t);
      b[1] = ld32(B + (8 * j + g) * st + k0 + 8 + 2 * t);
      mma16816(acc[j], a, b);
    }
  }
}

// B operand (k x n) from a k-major smem tile B[k][n] (row stride st): the pair along k is strided.
__device__ __forceinline__ void load_b_kmajor(uint32_t b[2], const __nv_bfloat16* B, int st, int k0, int n0) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  b[0] = pack2(B[(k0 + 2 * t) * st + n0 + g], B[(k0 + 2 * t + 1) * st + n0 + g]);
  b[1] = pack2(B[(k0 + 2 * t + 8) * st + n0 + g], B[(k0 + 2 * t + 9) * st + n0 + g]);
}

// acc[16 x N] += P[16 x 64] · B[64 x N]; P is a C-layout register tile (8 n-tiles of 8), rounded to
// bf16 here; B in smem k-major (B[key][n]).
template <int N>
__device__ __forceinline__ void gemm_pb(float acc[N / 8][4], const float P[8][4], const __nv_bfloat16* B, int st) {
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    uint32_t a[4];
    a[0] = pack_f2(P[2 * kk][0], P[2 * kk][1]);
    a[1] = pack_f2(P[2 * kk][2], P[2 * kk][3]);
    a[2] = pack_f2(P[2 * kk + 1][0], P[2 * kk + 1][1]);
    a[3] = pack_f2(P[2 * kk + 1][2], P[2 * kk + 1][3]);
#pragma unroll
    for (int j = 0; j < N / 8; ++j) {
      uint32_t b[2];
      load_b_kmajor(b, B, st, 16 * kk, 8 * j);
      mma16816(acc[j], a, b);
    }
  }
}

// acc[16 x N] += A[16 x 64] · B[64 x N]; A in smem (k contiguous), B in smem k-major.
template <int N>
__device__ __forceinline__ void gemm_ab_kmajor(float acc[N / 8][4], const __nv_bfloat16* A, int sta,
                                               const __nv_bfloat16* B, int stb) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int k0 = 0; k0 < 64; k0 += 16) {
    uint32_t a[4];
    a[0] = ld32(A + g * sta + k0 + 2 * t);
    a[1] = ld32(A + (g + 8) * sta + k0 + 2 * t);
    a[2] = ld32(A + g * sta + k0 + 8 + 2 * t);
    a[3] = ld32(A + (g + 8) * sta + k0 + 8 + 2 * t);
#pragma unroll
    for (int j = 0; j < N / 8; ++j) {
      uint32_t b[2];
      load_b_kmajor(b, B, stb, k0, 8 * j);
      mma16816(acc[j], a, b);
    }
  }
}

// Copies 64 token rows of one head ([row][hd] at src + row * token_stride) into smem [64][HD + 8];
// rows at or beyond `len` and columns hd..HD-1 become zeros. 16-byte vector loads (pointers
// validated 16-byte aligned, hd a multiple of 8).
template <int HD>
__device__ __forceinline__ void load_tile(__nv_bfloat16* dst, const __nv_bfloat16* src, int64_t token_stride,
                                          int row0, int len, int hd) {
  constexpr int kChunks = HD / 8;
  for (int idx = threadIdx.x; idx < 64 * kChunks; idx += kThreads) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8;
    uint4 val = make_uint4(0u, 0u, 0u, 0u);
    if (row0 + r < len && c < hd)
      val = *reinterpret_cast<const uint4*>(src + static_cast<int64_t>(row0 + r) * token_stride + c);
    *reinterpret_cast<uint4*>(dst + r * (HD + 8) + c) = val;
  }
}

// The shared-prefix rule for one (query, key) pair inside one sequence; positions local to it.
__device__ __forceinline__ bool visible(int qi, int kj, int len, int seg_q, int seg_k) {
  return kj <= qi && qi < len && (seg_k == 0 || seg_k == seg_q);
}

}}}  // namespace rk::cuda::flash
