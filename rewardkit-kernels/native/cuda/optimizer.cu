// Global gradient norm (deterministic two-pass reduction), clipping scale, fused AdamW.
#include "common.cuh"

#include <cmath>

namespace rk { namespace cuda {

namespace {
constexpr int kNormBlocks = 512;  // fixed grid: the partial sums, hence the norm, never depend on timing
constexpr int kNormThreads = 256;

__global__ void norm_partials_kernel(float* partials, const float* g, int64_t n) {
  __shared__ float s32[32];
  float acc = 0.f;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    acc += g[i] * g[i];
  acc = block_sum(acc, s32);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

__global__ void norm_finish_kernel(float* out, const float* partials, int count, float max_norm) {
  __shared__ float s32[32];
  float acc = 0.f;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  acc = block_sum(acc, s32);
  if (threadIdx.x == 0) {
    out[0] = acc;
    const float norm = sqrtf(acc);
    out[1] = max_norm > 0.f ? fminf(1.f, max_norm / (norm + 1e-6f)) : 1.f;  // torch clip_grad_norm_
  }
}

// The element loop of the CPU reference (rewardkit/adamw.h, native/cpu/adamw.cpp), operation for operation:
// the scalars decay = 1 - lr*wd, step_size = lr / bc1 and 1/sqrt(bc2) are formed in double on the host and
// rounded to float once, so CPU and GPU updates differ only by FMA contraction.
__global__ void adamw_kernel(float* master, __nv_bfloat16* weights, float* m, float* v, const float* grads,
                             const float* grad_scale, int64_t n, float b1, float c1, float b2, float c2, float eps,
                             float decay, float step_size, float inv_sqrt_bc2) {
  const float scale = grad_scale ? *grad_scale : 1.f;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = grads[i] * scale;
    const float mi = b1 * m[i] + c1 * g;
    const float vi = b2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = master[i] * decay;
    const float updated = p - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    master[i] = updated;
    weights[i] = f2b(updated);
  }
}
}  // namespace

int grad_norm_blocks() { return kNormBlocks; }

void grad_norm(float* out, float* partials, const float* grads, int64_t n, float max_norm, void* stream) {
  RK_ARG("grad_norm", n >= 0 && out && partials && (n == 0 || grads), "null buffer or negative n");
  cudaStream_t s = as_stream(stream);
  RK_KERNEL_LAUNCH(norm_partials_kernel, kNormBlocks, kNormThreads, 0, s)(partials, grads, n);
  RK_LAUNCH_CHECK("grad_norm");
  RK_KERNEL_LAUNCH(norm_finish_kernel, 1, 512, 0, s)(out, partials, kNormBlocks, max_norm);
  RK_LAUNCH_CHECK("grad_norm");
}

void adamw_step(float* master, bf16_bits* weights, float* m, float* v, const float* grads, const float* grad_scale,
                int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay, double bc1,
                double bc2, void* stream) {
  RK_ARG("adamw_step", n >= 0 && (n == 0 || (master && weights && m && v && grads)), "null buffer or negative n");
  RK_ARG("adamw_step", lr >= 0 && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weight_decay >= 0,
         "need lr >= 0, 0 <= beta < 1, eps > 0, weight_decay >= 0");
  RK_ARG("adamw_step", bc1 > 0 && bc1 <= 1 && bc2 > 0 && bc2 <= 1, "bias corrections must be in (0, 1] (step >= 1)");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(adamw_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(
      master, bf(weights), m, v, grads, grad_scale, n, float(beta1), float(1.0 - beta1), float(beta2),
      float(1.0 - beta2), float(eps), float(1.0 - lr * weight_decay), float(lr / bc1), float(1.0 / std::sqrt(bc2)));
  RK_LAUNCH_CHECK("adamw_step");
}

}}  // namespace rk::cuda
