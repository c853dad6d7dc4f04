// Token embedding: forward gather, backward deterministic scatter-add.
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
// One block per token (grid-stride over tokens); ids outside [0, V) give a zero row.
__global__ void embedding_forward_kernel(__nv_bfloat16* out, const int32_t* ids, const __nv_bfloat16* table,
                                         int64_t tokens, int64_t dim, int64_t vocab) {
  for (int64_t t = blockIdx.x; t < tokens; t += gridDim.x) {
    const int64_t id = ids[t];
    const bool ok = id >= 0 && id < vocab;
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      out[t * dim + d] = ok ? table[id * dim + d] : f2b(0.f);
  }
}

// Block b owns vocab rows with id % gridDim.x == b and walks the tokens in order, so every row's
// sum has one fixed order: deterministic without atomics or a sort. Tokens are staged 256 at a time.
__global__ void embedding_backward_kernel(float* dtable, const __nv_bfloat16* dout, const int32_t* ids,
                                          int64_t tokens, int64_t dim, int64_t vocab) {
  __shared__ int32_t s_ids[256];
  for (int64_t t0 = 0; t0 < tokens; t0 += 256) {
    const int64_t n = tokens - t0 < 256 ? tokens - t0 : 256;
    __syncthreads();
    if (threadIdx.x < n) s_ids[threadIdx.x] = ids[t0 + threadIdx.x];
    __syncthreads();
    for (int j = 0; j < n; ++j) {
      const int64_t id = s_ids[j];
      if (id < 0 || id >= vocab || id % gridDim.x != blockIdx.x) continue;
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
        dtable[id * dim + d] += b2f(dout[(t0 + j) * dim + d]);
    }
  }
}
}  // namespace

void embedding_forward(bf16_bits* out, const int32_t* ids, const bf16_bits* table, const EmbeddingParams& p,
                       void* stream) {
  p.validate("embedding_forward");
  const int64_t tokens = p.tokens, dim = p.dim, vocab = p.vocab;
  RK_ARG("embedding_forward", tokens == 0 || (out && ids && table), "null buffer");
  if (tokens == 0) return;
  RK_KERNEL_LAUNCH(embedding_forward_kernel, grid_for(tokens, 1, 1 << 20), 256, 0, as_stream(stream))(bf(out), ids, bf(table),
                                                                                     tokens, dim, vocab);
  RK_LAUNCH_CHECK("embedding_forward");
}

void embedding_backward(float* dtable, const bf16_bits* dout, const int32_t* ids, const EmbeddingParams& p,
                        void* stream) {
  p.validate("embedding_backward");
  const int64_t tokens = p.tokens, dim = p.dim, vocab = p.vocab;
  RK_ARG("embedding_backward", tokens == 0 || (dtable && dout && ids), "null buffer");
  if (tokens == 0) return;
  // Enough blocks to fill the GPU; each scans all ids (cheap, L2-resident) and owns 1/blocks of rows.
  const unsigned blocks = static_cast<unsigned>(vocab < 1024 ? vocab : 1024);
  RK_KERNEL_LAUNCH(embedding_backward_kernel, blocks, 256, 0, as_stream(stream))(dtable, bf(dout), ids, tokens, dim, vocab);
  RK_LAUNCH_CHECK("embedding_backward");
}

}}  // namespace rk::cuda
