// Residual add / gradient sum: out = a + b (bf16 storage with fp32 add, or fp32); acc += x is out = acc + x.
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
__global__ void add_bf16_kernel(__nv_bfloat16* out, const __nv_bfloat16* a, const __nv_bfloat16* b, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = f2b(b2f(a[i]) + b2f(b[i]));
}
__global__ void add_f32_kernel(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = a[i] + b[i];
}
}  // namespace

void add_out_bf16(bf16_bits* out, const bf16_bits* a, const bf16_bits* b, int64_t n, void* stream) {
  RK_ARG("add_out_bf16", n >= 0 && (n == 0 || (out && a && b)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(add_bf16_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(bf(out), bf(a), bf(b), n);
  RK_LAUNCH_CHECK("add_out_bf16");
}

void add_out_f32(float* out, const float* a, const float* b, int64_t n, void* stream) {
  RK_ARG("add_out_f32", n >= 0 && (n == 0 || (out && a && b)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(add_f32_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(out, a, b, n);
  RK_LAUNCH_CHECK("add_out_f32");
}

void add_inplace_bf16(bf16_bits* acc, const bf16_bits* x, int64_t n, void* stream) { add_out_bf16(acc, acc, x, n, stream); }

void add_inplace_f32(float* acc, const float* x, int64_t n, void* stream) { add_out_f32(acc, acc, x, n, stream); }

}}  // namespace rk::cuda
