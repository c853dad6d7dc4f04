// Varlen FlashAttention-2 building blocks shared by flash_fwd.cu and flash_bwd.cu.
// Tiles: 64 queries x 64 keys per block, 4 warps; each warp owns 16 rows of a 64-row tile.
// Global -> shared tile loads are cp.async (16 bytes a lane, zero-fill for rows past the end), so the forward
// can fetch the next K/V tile while it computes on the current one (double buffering, see flash_fwd_kernel.cuh).
// Head dims: any multiple of 8 up to 256. Kernels are instantiated for the buckets HD = 32, 64, 96, 128,
// 192, 256 (six: each one adds compile time and bundle size); a head dim below its bucket is zero-padded in
// shared memory (zero columns add nothing to Q·Kᵀ, and the padded output columns are never written), and
// the Q·Kᵀ k-loop stops at the real head dim.
// Tensor-core GEMMs use mma.sync.m16n8k16 (bf16 in, fp32 accumulate), operands from smem by ldmatrix
// (.trans for k-major tiles). Fragment layout for
// lane = 4*g + t (g = lane / 4, t = lane % 4):
//   A 16x16 (row-major m x k): a0 = (g, 2t..2t+1)  a1 = (g+8, 2t..)  a2 = (g, 2t+8..)  a3 = (g+8, 2t+8..)
//   B 16x8  (k x n):           b0 = (k 2t..2t+1, n g)                b1 = (k 2t+8..2t+9, n g)
//   C 16x8  (fp32):            c0,c1 = (g, 2t..2t+1)                 c2,c3 = (g+8, 2t..2t+1)
// A C tile of 16 x 64 therefore re-packs into the A operand of the next GEMM without shuffles.
#pragma once
#include <type_traits>

#include "common.cuh"
#include "rewardkit/attention_mask.h"
#include "rewardkit/cuda/flash_attention.h"

namespace rk { namespace cuda { namespace flash {

constexpr int kBlockM = 64;
constexpr int kBlockN = 64;
constexpr int kThreads = 128;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr int kMaxHeadDim = 256;

// The kernel bucket of a head dim (a multiple of 8 in [8, 256], checked by validate()).
constexpr int head_dim_bucket(int hd) { return hd <= 128 ? (hd + 31) / 32 * 32 : hd <= 192 ? 192 : 256; }

// Calls f(std::integral_constant<int, HD>) for the bucket of hd: one place lists the instantiations.
template <class F>
void dispatch_head_dim(int hd, F&& f) {
  switch (head_dim_bucket(hd)) {
    case 32: f(std::integral_constant<int, 32>{}); break;
    case 64: f(std::integral_constant<int, 64>{}); break;
    case 96: f(std::integral_constant<int, 96>{}); break;
    case 128: f(std::integral_constant<int, 128>{}); break;
    case 192: f(std::integral_constant<int, 192>{}); break;
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
  float* dk_part;             // [T, Hq, hd] fp32: each query head's dK contribution (GQA only, reduced after)
  float* dv_part;             // [T, Hq, hd] fp32: the same for dV
  const int32_t* cu_seqlens;  // [S + 1]
  const int32_t* seg;         // [T] or null
  int num_seqs, total_tokens, max_seqlen, heads_q, heads_kv, head_dim;
  float scale;        // softmax scale (1/sqrt(hd) usually)
  float scale_log2;   // scale * log2(e): scores live in the exp2 domain
  int deterministic;  // 1: separate dq pass, no float atomics
};

void validate(const Params& p, bool backward, const char* op);

__device__ __forceinline__ uint32_t pack2(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(lo)) | (static_cast<uint32_t>(__bfloat16_as_ushort(hi)) << 16);
}

__device__ __forceinline__ uint32_t pack_f2(float lo, float hi) { return pack2(f2b(lo), f2b(hi)); }

// Dynamic shared memory, spelled as a macro so tools/kernel_emu can provide a host buffer.
#ifndef RK_DYNAMIC_SMEM
#define RK_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#endif

// ldmatrix.x4: lane L gives the address of row L % 8 of 8x8 bf16 matrix L / 8 (16 contiguous bytes, 16-byte
// aligned: smem rows are padded by 8 elements, which also keeps the 8 row reads free of bank conflicts);
// register i then holds the lane's fragment of matrix i: row L / 4, columns 2(L % 4)..+1 (the A/B/C
// layout of mma.m16n8k16 above). .trans delivers the transpose: rows 2(L % 4)..+1 of column L / 4.
#ifdef RK_HOST_EMULATION
// tools/kernel_emu supplies host emulations of the warp-wide MMA and ldmatrix (same fragment layouts).
void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]);
void ldmatrix_x4(uint32_t r[4], const __nv_bfloat16* row);
void ldmatrix_x4_trans(uint32_t r[4], const __nv_bfloat16* row);
void cp_async16(void* smem_dst, const void* gmem_src, bool fill);
void cp_async_commit();
void cp_async_wait_pending(int n);
template <int N>
void cp_async_wait() { cp_async_wait_pending(N); }
#else
// cp.async.cg: 16 bytes global -> shared, bypassing L1 and the registers; with fill == false nothing is read
// and the 16 bytes become zeros (src-size 0), the source address must still be a valid one. The data may be
// read only after cp_async_wait (and, for other threads' copies, a barrier).
__device__ __forceinline__ void cp_async16(void* smem_dst, const void* gmem_src, bool fill) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem_src), "r"(fill ? 16 : 0)
               : "memory");
}
// Closes the group of this thread's cp.async issued since the last commit.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const __nv_bfloat16* row) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const __nv_bfloat16* row) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

// A operand (16 x 16, row-major m x k) of rows 0..15 at A (row stride st), columns k0..k0+15: one ldmatrix.x4,
// lane L addressing row L % 16, column k0 + 8 (L / 16) (matrices a0..a3 = rows 0-7 / 8-15 x cols +0 / +8).
__device__ __forceinline__ void load_a(uint32_t a[4], const __nv_bfloat16* A, int st, int k0) {
  const int lane = threadIdx.x & 31;
  ldmatrix_x4(a, A + (lane & 15) * st + k0 + (lane >> 4) * 8);
}

// B operands of two n-tiles (n0..n0+7 and n0+8..n0+15) from an n-major tile B[n][k] (k contiguous):
// b[0..1] for the first, b[2..3] for the second; lane L addresses row n0 + L % 8 + 8 (L / 16), column
// k0 + 8 ((L / 8) % 2).
__device__ __forceinline__ void load_b2_nmajor(uint32_t b[4], const __nv_bfloat16* B, int st, int k0, int n0) {
  const int lane = threadIdx.x & 31;
  ldmatrix_x4(b, B + (n0 + (lane & 7) + ((lane >> 4) << 3)) * st + k0 + ((lane >> 3) & 1) * 8);
}

// The same two n-tiles from a k-major tile B[k][n] (n contiguous) through the transposing load: lane L
// addresses row k0 + L % 8 + 8 ((L / 8) % 2), column n0 + 8 (L / 16).
__device__ __forceinline__ void load_b2_kmajor(uint32_t b[4], const __nv_bfloat16* B, int st, int k0, int n0) {
  const int lane = threadIdx.x & 31;
  ldmatrix_x4_trans(b, B + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * st + n0 + (lane >> 4) * 8);
}

// acc[16 x 64] += A[16 x K] · B[64 x K]ᵀ; A and B in smem, k contiguous, row stride `st` elements.
// Columns kdim..K-1 are zero padding: the loop stops at kdim (rounded up to the MMA's 16).
template <int K>
__device__ __forceinline__ void gemm_abt(float acc[8][4], const __nv_bfloat16* A, const __nv_bfloat16* B, int st,
                                         int kdim) {
#pragma unroll
  for (int k0 = 0; k0 < K; k0 += 16) {
    if (k0 >= kdim) break;
    uint32_t a[4];
    load_a(a, A, st, k0);
#pragma unroll
    for (int j = 0; j < 8; j += 2) {
      uint32_t b[4];
      load_b2_nmajor(b, B, st, k0, 8 * j);
      mma16816(acc[j], a, b);
      mma16816(acc[j + 1], a, b + 2);
    }
  }
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
    for (int j = 0; j < N / 8; j += 2) {
      uint32_t b[4];
      load_b2_kmajor(b, B, st, 16 * kk, 8 * j);
      mma16816(acc[j], a, b);
      mma16816(acc[j + 1], a, b + 2);
    }
  }
}

// acc[16 x N] += A[16 x 64] · B[64 x N]; A in smem (k contiguous), B in smem k-major.
template <int N>
__device__ __forceinline__ void gemm_ab_kmajor(float acc[N / 8][4], const __nv_bfloat16* A, int sta,
                                               const __nv_bfloat16* B, int stb) {
#pragma unroll
  for (int k0 = 0; k0 < 64; k0 += 16) {
    uint32_t a[4];
    load_a(a, A, sta, k0);
#pragma unroll
    for (int j = 0; j < N / 8; j += 2) {
      uint32_t b[4];
      load_b2_kmajor(b, B, stb, k0, 8 * j);
      mma16816(acc[j], a, b);
      mma16816(acc[j + 1], a, b + 2);
    }
  }
}

// Issues the copy of 64 token rows of one head ([row][hd] at src + row * token_stride) into smem [64][HD + 8]
// as cp.async (the caller commits and waits); rows at or beyond `len` and columns hd..HD-1 become zeros.
// 16-byte chunks (pointers validated 16-byte aligned, hd a multiple of 8). row0 < len.
template <int HD>
__device__ __forceinline__ void load_tile_async(__nv_bfloat16* dst, const __nv_bfloat16* src, int64_t token_stride,
                                                int row0, int len, int hd) {
  constexpr int kChunks = HD / 8;
  const __nv_bfloat16* first = src + static_cast<int64_t>(row0) * token_stride;  // valid address for zero-fill
  for (int idx = threadIdx.x; idx < 64 * kChunks; idx += kThreads) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8;
    const bool in = row0 + r < len && c < hd;
    cp_async16(dst + r * (HD + 8) + c, in ? first + static_cast<int64_t>(r) * token_stride + c : first, in);
  }
}

// Where a block's 64-row tile lies: its sequence's first token and length, and the tile's first row.
struct SeqTile {
  int start, len, row0;
};

// The block prologue every flash kernel shares: sequence blockIdx.y, tile blockIdx.z. last_first runs the
// tiles in reverse (z is the slowest grid dimension, so low z starts first): query tiles last-first, because
// under the causal mask the last query tile of a sequence visits the most key tiles; key tiles first-first
// for the same reason. Blocks with row0 >= len have nothing to do.
__device__ __forceinline__ SeqTile seq_tile(const Params& p, bool last_first) {
  SeqTile b;
  b.start = p.cu_seqlens[blockIdx.y];
  b.len = p.cu_seqlens[blockIdx.y + 1] - b.start;
  b.row0 = static_cast<int>(last_first ? gridDim.z - 1 - blockIdx.z : blockIdx.z) * kBlockM;
  return b;
}

// The indices every query-tile kernel (the forward and the dQ backward) starts from: query head blockIdx.x
// (and its KV head under GQA) of one sequence's 64-row query tile, tiles last-first. A block whose tile starts
// past its sequence (q0 >= len) has nothing to do.
struct QueryTile {
  SeqTile b;
  int h, hk, hd;                // query head, its KV head, head dim
  int start, len, q0;           // first token of the sequence, its length, first query row of the tile
  int warp, g, t;               // warp, MMA row group (lane / 4), thread in the group (lane % 4)
  int row_a, row_b;             // the two tile rows this thread holds in MMA fragments
  int64_t q_stride, kv_stride;  // elements between consecutive tokens of q/o/dO ([T, Hq, hd]) and k/v ([T, Hkv, hd])
};

__device__ __forceinline__ QueryTile query_tile(const Params& p) {
  QueryTile q;
  q.b = seq_tile(p, true);
  q.h = blockIdx.x;
  q.hk = q.h / (p.heads_q / p.heads_kv);
  q.hd = p.head_dim;
  q.start = q.b.start;
  q.len = q.b.len;
  q.q0 = q.b.row0;
  q.warp = threadIdx.x >> 5;
  q.g = (threadIdx.x & 31) >> 2;
  q.t = threadIdx.x & 3;
  q.row_a = q.warp * 16 + q.g;
  q.row_b = q.row_a + 8;
  q.q_stride = static_cast<int64_t>(p.heads_q) * q.hd;
  q.kv_stride = static_cast<int64_t>(p.heads_kv) * q.hd;
  return q;
}

// Token `start` of head `head` in a [T, heads, hd] tensor: row 0 of a sequence's tile loads.
template <typename T>
__device__ __forceinline__ T* head_row0(T* base, int start, int heads, int head, int hd) {
  return base + (static_cast<int64_t>(start) * heads + head) * hd;
}

// Segment id of position pos of the block's sequence: 0 without segments, -1 past its end.
__device__ __forceinline__ int segment_of(const Params& p, const SeqTile& b, int pos) {
  return p.seg == nullptr ? 0 : (pos < b.len ? p.seg[b.start + pos] : -1);
}

// [lo, hi] of the segment ids of the real rows among the 64 at pos0 (seg [64] in smem, published).
__device__ __forceinline__ void segment_range(const Params& p, const int* seg, int pos0, int len, int& lo, int& hi) {
  lo = 0x7fffffff;
  hi = -1;
  if (p.seg != nullptr)
    for (int r = 0; r < 64 && pos0 + r < len; ++r) { lo = min(lo, seg[r]); hi = max(hi, seg[r]); }
}

// Loads the segment ids of key tile n0.. into segk [64] and says (block-wide, a barrier inside: every thread
// calls) whether any of its keys can be visible to a query whose segment lies in [qmin, qmax]: a tile whose
// keys all lie in other branches is skipped without loading K/V (branches are contiguous, so the rejected
// queries skip the chosen range).
__device__ __forceinline__ bool key_tile_relevant(int* segk, const Params& p, const SeqTile& b, int n0, int qmin,
                                                  int qmax) {
  bool relevant = false;
  if (threadIdx.x < 64) {
    const int kj = n0 + threadIdx.x, sk = segment_of(p, b, kj);
    segk[threadIdx.x] = sk;
    relevant = kj < b.len && (sk == 0 || (sk >= qmin && sk <= qmax));
  }
  return __syncthreads_or(relevant);
}

// The mask rule (rewardkit/attention_mask.h, shared with the CPU reference) for one (query, key) pair of one
// sequence, positions local to it; queries past the end see nothing.
__device__ __forceinline__ bool visible(int qi, int kj, int len, int seg_q, int seg_k) {
  return qi < len && attention_mask_visible(qi, kj, seg_q, seg_k);
}

// Whether every (query, key) pair of a 64 x 64 tile (queries q0.., keys n0..) is visible, so the mask work
// can be skipped (a tile-level consequence of the rule in attention_mask.h; only diagonal and ragged tiles,
// and tiles that mix segments, are masked per element): every key at or before the tile's first query (n0 + 63 <= q0; with q0 < len every key is
// a real one), and with segments either every key in the shared prefix (segment 0), or every real query in
// one segment s and every key in 0 or s. Queries past the sequence end then get finite scores: their rows
// are never written. Block-uniform arguments; segq/segk [64] in smem (published by a barrier before the call;
// segq of rows past the end is ignored). Every thread of the block calls it.
__device__ __forceinline__ bool tile_fully_visible(int q0, int n0, int len, bool has_seg, const int* segq,
                                                   const int* segk) {
  if (n0 + kBlockN - 1 > q0) return false;  // uniform: no barrier below is skipped by part of the block
  if (!has_seg) return true;
  const int i = threadIdx.x, s0 = segq[0];
  const bool in = i < kBlockN;
  const bool one_segment = !in || ((q0 + i >= len || segq[i] == s0) && (segk[i] == 0 || segk[i] == s0));
  const bool prefix_only = !in || segk[i] == 0;
  const int a = __syncthreads_and(one_segment);
  const int b = __syncthreads_and(prefix_only);
  return a || b;
}

}}}  // namespace rk::cuda::flash
