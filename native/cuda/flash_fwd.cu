// Varlen FlashAttention-2 forward (online softmax, LSE saved) and the family's API validation.
#include <string>

#include "flash_common.cuh"

namespace rk { namespace cuda { namespace flash {

void validate(const Params& p, bool backward, const char* op) {
  RK_ARG(op, p.head_dim == 64 || p.head_dim == 128, "head_dim must be 64 or 128, got " + std::to_string(p.head_dim));
  RK_ARG(op, p.heads_q > 0 && p.heads_kv > 0 && p.heads_q % p.heads_kv == 0,
         "heads_q (" + std::to_string(p.heads_q) + ") must be a positive multiple of heads_kv (" +
             std::to_string(p.heads_kv) + ")");
  RK_ARG(op, p.num_seqs > 0 && p.num_seqs <= 65535, "num_seqs must be in [1, 65535]");
  RK_ARG(op, p.total_tokens > 0 && p.max_seqlen > 0 && p.max_seqlen <= p.total_tokens,
         "need total_tokens > 0 and 0 < max_seqlen <= total_tokens");
  RK_ARG(op, p.heads_q <= 65535, "too many heads");
  RK_ARG(op, p.scale > 0.f, "scale must be positive");
  RK_ARG(op, p.cu_seqlens != nullptr && p.q && p.k && p.v && p.lse, "null q/k/v/lse/cu_seqlens");
  auto aligned = [](const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15u) == 0; };
  RK_ARG(op, aligned(p.q) && aligned(p.k) && aligned(p.v), "q, k, v must be 16-byte aligned");
  if (!backward) {
    RK_ARG(op, p.o_out && aligned(p.o_out), "o must be non-null and 16-byte aligned");
  } else {
    RK_ARG(op, p.o && p.dout && p.dq && p.dk && p.dv && p.dsum, "null o/dout/dq/dk/dv/workspace");
    RK_ARG(op, aligned(p.o) && aligned(p.dout), "o, dout must be 16-byte aligned");
    RK_ARG(op, p.deterministic || p.dq_accum, "atomic mode needs the dq_accum workspace");
  }
}

namespace {

template <int HD>
constexpr int fwd_smem_bytes() { return 3 * 64 * (HD + 8) * 2 + 2 * 64 * 4; }

// grid (ceil(max_seqlen / 64), Hq, S); block 128. Each block: 64 queries of one head of one sequence.
template <int HD>
__global__ void __launch_bounds__(kThreads) flash_fwd_kernel(Params p) {
  constexpr int ST = HD + 8;
  const int s = blockIdx.z, h = blockIdx.y;
  const int start = p.cu_seqlens[s];
  const int len = p.cu_seqlens[s + 1] - start;
  const int q0 = blockIdx.x * kBlockM;
  if (q0 >= len) return;
  const int hk = h / (p.heads_q / p.heads_kv);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  extern __shared__ __align__(16) unsigned char smem_raw[];
  __nv_bfloat16* Qs = reinterpret_cast<__nv_bfloat16*>(smem_raw);
  __nv_bfloat16* Ks = Qs + 64 * ST;
  __nv_bfloat16* Vs = Ks + 64 * ST;
  int* segq = reinterpret_cast<int*>(Vs + 64 * ST);
  int* segk = segq + 64;

  const int64_t q_stride = static_cast<int64_t>(p.heads_q) * HD;
  const int64_t kv_stride = static_cast<int64_t>(p.heads_kv) * HD;
  load_tile<HD>(Qs, p.q + (static_cast<int64_t>(start) * p.heads_q + h) * HD, q_stride, q0, len);
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
    load_tile<HD>(Ks, p.k + (static_cast<int64_t>(start) * p.heads_kv + hk) * HD, kv_stride, n0, len);
    load_tile<HD>(Vs, p.v + (static_cast<int64_t>(start) * p.heads_kv + hk) * HD, kv_stride, n0, len);
    __syncthreads();

    float sc[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
    gemm_abt<HD>(sc, Qs + warp * 16 * ST, Ks, ST);

    float mx[2] = {m_row[0], m_row[1]};
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = e < 2 ? row_a : row_b, col = 8 * j + 2 * t + (e & 1);
        const bool ok = visible(q0 + row, n0 + col, len, segq[row], segk[col]);
        sc[j][e] = ok ? sc[j][e] * p.scale_log2 : -INFINITY;
        mx[e >> 1] = fmaxf(mx[e >> 1], sc[j][e]);
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
    __nv_bfloat16* orow = p.o_out + (static_cast<int64_t>(start + qi) * p.heads_q + h) * HD;
#pragma unroll
    for (int j = 0; j < HD / 8; ++j)
      *reinterpret_cast<uint32_t*>(orow + 8 * j + 2 * t) =
          pack_f2(acc_o[j][2 * i] * inv[i], acc_o[j][2 * i + 1] * inv[i]);
    if (t == 0)
      p.lse[static_cast<int64_t>(h) * p.total_tokens + start + qi] =
          l_row[i] > 0.f ? (m_row[i] + log2f(l_row[i])) * kLn2 : -INFINITY;
  }
}

template <int HD>
void launch_fwd(const Params& p, cudaStream_t stream) {
  constexpr int smem = fwd_smem_bytes<HD>();
  RK_CUDA_CHECK("flash_attention_forward",
                cudaFuncSetAttribute(flash_fwd_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  dim3 grid((p.max_seqlen + kBlockM - 1) / kBlockM, p.heads_q, p.num_seqs);
  flash_fwd_kernel<HD><<<grid, kThreads, smem, stream>>>(p);
  RK_LAUNCH_CHECK("flash_attention_forward");
}

}  // namespace
}  // namespace flash

void flash_attention_forward(bf16_bits* o, float* lse, const bf16_bits* q, const bf16_bits* k, const bf16_bits* v,
                             const int32_t* cu_seqlens, const int32_t* seg, int num_seqs, int total_tokens,
                             int max_seqlen, int heads_q, int heads_kv, int head_dim, float scale, void* stream) {
  flash::Params p{};
  p.q = bf(q); p.k = bf(k); p.v = bf(v); p.o_out = bf(o); p.lse = lse;
  p.cu_seqlens = cu_seqlens; p.seg = seg;
  p.num_seqs = num_seqs; p.total_tokens = total_tokens; p.max_seqlen = max_seqlen;
  p.heads_q = heads_q; p.heads_kv = heads_kv; p.head_dim = head_dim;
  p.scale = scale; p.scale_log2 = scale * flash::kLog2e;
  flash::validate(p, false, "flash_attention_forward");
  if (head_dim == 64) flash::launch_fwd<64>(p, as_stream(stream));
  else flash::launch_fwd<128>(p, as_stream(stream));
}

}}  // namespace rk::cuda
