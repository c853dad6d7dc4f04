// Residual add / gradient sum: acc += x (bf16 storage with fp32 add, or fp32).
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
__global__ void add_bf16_kernel(__nv_bfloat16* acc, const __nv_bfloat16* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    acc[i] = f2b(b2f(acc[i]) + b2f(x[i]));
}
__global__ void add_f32_kernel(float* acc, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    acc[i] += x[i];
}
}  // namespace

void add_inplace_bf16(bf16_bits* acc, const bf16_bits* x, int64_t n, void* stream) {
  RK_ARG("add_inplace_bf16", n >= 0 && (n == 0 || (acc && x)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(add_bf16_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(bf(acc), bf(x), n);
  RK_LAUNCH_CHECK("add_inplace_bf16");
}

void add_inplace_f32(float* acc, const float* x, int64_t n, void* stream) {
  RK_ARG("add_inplace_f32", n >= 0 && (n == 0 || (acc && x)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(add_f32_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(acc, x, n);
  RK_LAUNCH_CHECK("add_inplace_f32");
}

}}  // namespace rk::cuda
