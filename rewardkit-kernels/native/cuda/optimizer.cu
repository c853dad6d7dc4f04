// Global gradient sum of squares (deterministic two-pass reduction) and the fused AdamW update of one
// optimizer group: the element update is rewardkit/adamw_math.h, the same code the CPU loop runs.
#include "common.cuh"
#include "rewardkit/adamw_math.h"

namespace rk { namespace cuda {

namespace {
constexpr int kNormBlocks = 512;  // fixed grid: the partial sums, hence the norm, never depend on timing
constexpr int kNormThreads = 256;

// Tree sum of one block's doubles in shared memory (blockDim.x == kNormThreads, a power of two); fixed order.
__device__ double block_sum_double(double v, double* s) {
  s[threadIdx.x] = v;
  __syncthreads();
  for (int half = kNormThreads / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  return s[0];
}

// Pass 1: partials[b] = Σ g² over the grid-stride elements of block b, in double (as the CPU's chunk sums).
__global__ void sumsq_partials_kernel(double* partials, const float* g, int64_t n) {
  __shared__ double s[kNormThreads];
  double acc = 0;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    acc += (double)g[i] * (double)g[i];
  acc = block_sum_double(acc, s);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// Pass 2: out[0] = Σ partials, one block, fixed order.
__global__ void sumsq_finish_kernel(double* out, const double* partials, int count) {
  __shared__ double s[kNormThreads];
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  acc = block_sum_double(acc, s);
  if (threadIdx.x == 0) out[0] = acc;
}

__global__ void adamw_kernel(float* master, __nv_bfloat16* weights, const float* grad, float* m, float* v, int64_t n,
                             adamw_math::Scalars s) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float mi = m[i], vi = v[i];
    const float updated = adamw_math::update(s, master[i], grad[i], mi, vi);
    m[i] = mi;
    v[i] = vi;
    master[i] = updated;
    weights[i] = f2b(updated);
  }
}
}  // namespace

int grad_norm_blocks() { return kNormBlocks; }

void grad_sumsq(double* out, double* partials, const float* grads, int64_t n, void* stream) {
  RK_ARG("grad_sumsq", n >= 0, "n must be >= 0");
  RK_ARG("grad_sumsq", out && partials && (n == 0 || grads), "null buffer");
  cudaStream_t s = as_stream(stream);
  RK_KERNEL_LAUNCH(sumsq_partials_kernel, kNormBlocks, kNormThreads, 0, s)(partials, grads, n);
  RK_LAUNCH_CHECK("grad_sumsq");
  RK_KERNEL_LAUNCH(sumsq_finish_kernel, 1, kNormThreads, 0, s)(out, partials, kNormBlocks);
  RK_LAUNCH_CHECK("grad_sumsq");
}

void adamw_update(float* master, bf16_bits* weights, const float* grad, float* m, float* v, const AdamWParams& p,
                  void* stream) {
  p.validate("adamw_update");
  RK_ARG("adamw_update", p.n == 0 || (master && weights && grad && m && v), "null buffer");
  if (p.n == 0) return;
  RK_KERNEL_LAUNCH(adamw_kernel, grid_for(p.n, 256), 256, 0, as_stream(stream))(
      master, bf(weights), grad, m, v, p.n, adamw_math::scalars(p));
  RK_LAUNCH_CHECK("adamw_update");
}

}}  // namespace rk::cuda
