// Varlen FlashAttention-2 forward (online softmax, LSE saved) and the family's API validation.
#include <string>

#include "flash_fwd_kernel.cuh"

namespace rk { namespace cuda { namespace flash {

void validate(const Params& p, bool backward, const char* op) {
  RK_ARG(op, p.head_dim >= 8 && p.head_dim <= kMaxHeadDim && p.head_dim % 8 == 0,
         "head_dim must be a multiple of 8 in [8, " + std::to_string(kMaxHeadDim) + "], got " +
             std::to_string(p.head_dim));
  RK_ARG(op, p.heads_q > 0 && p.heads_kv > 0 && p.heads_q % p.heads_kv == 0,
         "heads_q (" + std::to_string(p.heads_q) + ") must be a positive multiple of heads_kv (" +
             std::to_string(p.heads_kv) + ")");
  RK_ARG(op, p.num_seqs > 0 && p.num_seqs <= 65535, "num_seqs must be in [1, 65535]");
  RK_ARG(op, p.total_tokens > 0 && p.max_seqlen > 0 && p.max_seqlen <= p.total_tokens,
         "need total_tokens > 0 and 0 < max_seqlen <= total_tokens");
  RK_ARG(op, p.heads_q <= 65535, "too many heads");
  RK_ARG(op, (p.max_seqlen + kBlockM - 1) / kBlockM <= 65535, "max_seqlen must be at most 65535 * 64");
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
void launch_fwd(const Params& p, cudaStream_t stream) {
  constexpr int smem = fwd_smem_bytes<HD>();
  RK_CUDA_CHECK("flash_attention_forward",
                cudaFuncSetAttribute(flash_fwd_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  dim3 grid(p.heads_q, p.num_seqs, (p.max_seqlen + kBlockM - 1) / kBlockM);  // heaviest query tiles first
  RK_KERNEL_LAUNCH(flash_fwd_kernel<HD>, grid, kThreads, smem, stream)(p);
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
  flash::dispatch_head_dim(head_dim, [&](auto bucket) { flash::launch_fwd<decltype(bucket)::value>(p, as_stream(stream)); });
}

}}  // namespace rk::cuda
