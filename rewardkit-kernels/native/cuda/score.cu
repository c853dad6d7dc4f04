// Scalar value head applied only at readout positions (one per scored response).
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
// One block per readout: rewards[r] = hidden[readout[r], :] · w (fp32 accumulation).
__global__ void score_forward_kernel(float* rewards, const __nv_bfloat16* hidden, const int32_t* readout,
                                     const __nv_bfloat16* w, int64_t tokens, int64_t dim) {
  __shared__ float s32[32];
  const int64_t t = readout[blockIdx.x];
  float acc = 0.f;
  if (t >= 0 && t < tokens)
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) acc += b2f(hidden[t * dim + d]) * b2f(w[d]);
  acc = block_sum(acc, s32);
  if (threadIdx.x == 0) rewards[blockIdx.x] = acc;
}

// Thread per column d, readouts visited in order (deterministic, and correct if two readouts share
// a row): dhidden[readout[r], d] += dr[r] * w[d];  dw[d] += Σ_r dr[r] * hidden[readout[r], d].
__global__ void score_backward_kernel(__nv_bfloat16* dhidden, float* dw, const float* drewards,
                                      const __nv_bfloat16* hidden, const int32_t* readout, const __nv_bfloat16* w,
                                      int64_t readouts, int64_t tokens, int64_t dim) {
  const int64_t d = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (d >= dim) return;
  float gw = 0.f;
  const float wd = b2f(w[d]);
  for (int64_t r = 0; r < readouts; ++r) {
    const int64_t t = readout[r];
    if (t < 0 || t >= tokens) continue;
    const float dr = drewards[r];
    dhidden[t * dim + d] = f2b(b2f(dhidden[t * dim + d]) + dr * wd);
    gw += dr * b2f(hidden[t * dim + d]);
  }
  dw[d] += gw;
}
}  // namespace

void score_forward(float* rewards, const bf16_bits* hidden, const int32_t* readout, const bf16_bits* w,
                   const ScoreParams& p, void* stream) {
  p.validate("score_forward");
  const int64_t readouts = p.readouts, tokens = p.tokens, dim = p.dim;
  RK_ARG("score_forward", readouts == 0 || (rewards && hidden && readout && w), "null buffer");
  if (readouts == 0) return;
  RK_ARG("score_forward", readouts <= 0x7fffffff, "too many readouts");
  RK_KERNEL_LAUNCH(score_forward_kernel, static_cast<unsigned>(readouts), 256, 0, as_stream(stream))(rewards, bf(hidden), readout,
                                                                                       bf(w), tokens, dim);
  RK_LAUNCH_CHECK("score_forward");
}

void score_backward(bf16_bits* dhidden, float* dw, const float* drewards, const bf16_bits* hidden,
                    const int32_t* readout, const bf16_bits* w, const ScoreParams& p, void* stream) {
  p.validate("score_backward");
  const int64_t readouts = p.readouts, tokens = p.tokens, dim = p.dim;
  RK_ARG("score_backward", dhidden && dw && (readouts == 0 || (drewards && hidden && readout && w)), "null buffer");
  cudaStream_t s = as_stream(stream);
  RK_CUDA_CHECK("score_backward", cudaMemsetAsync(dhidden, 0, tokens * dim * sizeof(bf16_bits), s));
  if (readouts == 0) return;
  RK_KERNEL_LAUNCH(score_backward_kernel, grid_for(dim, 128), 128, 0, s)(bf(dhidden), dw, drewards, bf(hidden), readout, bf(w),
                                                           readouts, tokens, dim);
  RK_LAUNCH_CHECK("score_backward");
}

}}  // namespace rk::cuda
