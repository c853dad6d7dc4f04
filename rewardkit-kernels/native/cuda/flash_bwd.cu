// Varlen FlashAttention-2 backward: D = rowsum(dO∘O) preprocessing, a dK/dV pass over (query head, key tile)
// blocks that recomputes P from the saved LSE (for GQA each query head's share goes to fp32 partials that a
// reduce pass sums over the group in a fixed order: deterministic, no atomics), and dQ either
//   deterministic: a separate pass over query tiles that recomputes P and dP (no float atomics), or
//   atomic:        fp32 atomicAdd from the dK/dV pass into dq_accum, then one conversion to bf16.
#include <string>

#include "flash_bwd_kernel.cuh"

namespace rk { namespace cuda { namespace flash {
namespace {

template <int HD>
void launch_bwd(const Params& p, cudaStream_t stream) {
  const char* op = "flash_attention_backward";
  const int64_t rows = static_cast<int64_t>(p.total_tokens) * p.heads_q;
  RK_KERNEL_LAUNCH(flash_bwd_dsum_kernel, static_cast<unsigned>((rows + 3) / 4), 128, 0, stream)(p);
  RK_LAUNCH_CHECK(op);
  // Keys past every sequence's end (none in a valid layout) and tokens no block visits stay zero.
  const bool gqa = p.heads_q != p.heads_kv;
  const int64_t kv_bytes = static_cast<int64_t>(p.total_tokens) * p.heads_kv * p.head_dim * 2;
  if (gqa) {
    RK_CUDA_CHECK(op, cudaMemsetAsync(p.dk_part, 0, rows * p.head_dim * sizeof(float), stream));
    RK_CUDA_CHECK(op, cudaMemsetAsync(p.dv_part, 0, rows * p.head_dim * sizeof(float), stream));
  } else {
    RK_CUDA_CHECK(op, cudaMemsetAsync(p.dk, 0, kv_bytes, stream));
    RK_CUDA_CHECK(op, cudaMemsetAsync(p.dv, 0, kv_bytes, stream));
  }
  if (!p.deterministic) RK_CUDA_CHECK(op, cudaMemsetAsync(p.dq_accum, 0, rows * p.head_dim * sizeof(float), stream));
  else RK_CUDA_CHECK(op, cudaMemsetAsync(p.dq, 0, rows * p.head_dim * 2, stream));

  constexpr int smem_kv = dkdv_smem_bytes<HD>();
  RK_CUDA_CHECK(op, cudaFuncSetAttribute(flash_bwd_dkdv_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         smem_kv));
  dim3 grid_kv(p.heads_q * dkdv_parts<HD>(), p.num_seqs, (p.max_seqlen + kBlockN - 1) / kBlockN);
  RK_KERNEL_LAUNCH(flash_bwd_dkdv_kernel<HD>, grid_kv, kThreads, smem_kv, stream)(p);
  RK_LAUNCH_CHECK(op);
  if (gqa) {
    RK_KERNEL_LAUNCH(dkdv_reduce_kernel, grid_for(kv_bytes / 2, 256), 256, 0, stream)(p);
    RK_LAUNCH_CHECK(op);
  }

  if (p.deterministic) {
    constexpr int smem_q = dq_smem_bytes<HD>();
    RK_CUDA_CHECK(op, cudaFuncSetAttribute(flash_bwd_dq_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           smem_q));
    dim3 grid_q(p.heads_q, p.num_seqs, (p.max_seqlen + kBlockM - 1) / kBlockM);  // heaviest query tiles first
    RK_KERNEL_LAUNCH(flash_bwd_dq_kernel<HD>, grid_q, kThreads, smem_q, stream)(p);
    RK_LAUNCH_CHECK(op);
  } else {
    RK_KERNEL_LAUNCH(dq_convert_kernel, grid_for(rows * p.head_dim, 256), 256, 0, stream)(p.dq, p.dq_accum,
                                                                                      rows * p.head_dim);
    RK_LAUNCH_CHECK(op);
  }
}

}  // namespace
}  // namespace flash

namespace flash {
// Workspace layout (each part starting 256-byte aligned): dsum [Hq, T] | dq_accum [T, Hq, hd] (atomic mode) |
// dk_part, dv_part [T, Hq, hd] each (GQA). One rule for the size and the pointers.
struct WorkspaceLayout {
  int64_t dq_accum = -1, dk_part = -1, dv_part = -1, bytes = 0;
  WorkspaceLayout(int total_tokens, int heads_q, int heads_kv, int head_dim, int deterministic) {
    auto round = [](int64_t n) { return (n + 255) / 256 * 256; };
    const int64_t rows = static_cast<int64_t>(total_tokens) * heads_q;
    bytes = round(rows * 4);
    if (!deterministic) { dq_accum = bytes; bytes += round(rows * head_dim * 4); }
    if (heads_q != heads_kv) {
      dk_part = bytes; bytes += round(rows * head_dim * 4);
      dv_part = bytes; bytes += round(rows * head_dim * 4);
    }
  }
};
}  // namespace flash

int64_t flash_attention_backward_workspace(int total_tokens, int heads_q, int heads_kv, int head_dim,
                                           int deterministic) {
  RK_ARG("flash_attention_backward_workspace", total_tokens > 0 && heads_q > 0 && heads_kv > 0 && head_dim > 0,
         "need positive sizes");
  return flash::WorkspaceLayout(total_tokens, heads_q, heads_kv, head_dim, deterministic).bytes;
}

void flash_attention_backward(bf16_bits* dq, bf16_bits* dk, bf16_bits* dv, const bf16_bits* dout,
                              const bf16_bits* q, const bf16_bits* k, const bf16_bits* v, const bf16_bits* o,
                              const float* lse, void* workspace, const int32_t* cu_seqlens, const int32_t* seg,
                              int num_seqs, int total_tokens, int max_seqlen, int heads_q, int heads_kv,
                              int head_dim, float scale, int deterministic, void* stream) {
  flash::Params p{};
  p.q = bf(q); p.k = bf(k); p.v = bf(v); p.o = bf(o); p.dout = bf(dout);
  p.dq = bf(dq); p.dk = bf(dk); p.dv = bf(dv);
  p.lse = const_cast<float*>(lse);
  p.cu_seqlens = cu_seqlens; p.seg = seg;
  p.num_seqs = num_seqs; p.total_tokens = total_tokens; p.max_seqlen = max_seqlen;
  p.heads_q = heads_q; p.heads_kv = heads_kv; p.head_dim = head_dim;
  p.scale = scale; p.scale_log2 = scale * flash::kLog2e;
  p.deterministic = deterministic ? 1 : 0;
  RK_ARG("flash_attention_backward", workspace != nullptr, "null workspace");
  p.dsum = static_cast<float*>(workspace);
  const flash::WorkspaceLayout ws(total_tokens, heads_q, heads_kv, head_dim, p.deterministic);
  auto at = [&](int64_t off) { return off < 0 ? nullptr : reinterpret_cast<float*>(static_cast<char*>(workspace) + off); };
  p.dq_accum = at(ws.dq_accum);
  p.dk_part = at(ws.dk_part);
  p.dv_part = at(ws.dv_part);
  flash::validate(p, true, "flash_attention_backward");
  flash::dispatch_head_dim(head_dim, [&](auto bucket) { flash::launch_bwd<decltype(bucket)::value>(p, as_stream(stream)); });
}

}}  // namespace rk::cuda
