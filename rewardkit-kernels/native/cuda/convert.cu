// fp32 <-> bf16 conversion (round to nearest even), grid-stride.
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
__global__ void f32_to_bf16_kernel(__nv_bfloat16* out, const float* in, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = f2b(in[i]);
}
__global__ void bf16_to_f32_kernel(float* out, const __nv_bfloat16* in, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = b2f(in[i]);
}
}  // namespace

int column_reduce_chunks() { return kColumnChunks; }

void f32_to_bf16(bf16_bits* out, const float* in, int64_t n, void* stream) {
  RK_ARG("f32_to_bf16", n >= 0 && (n == 0 || (out && in)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(f32_to_bf16_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(bf(out), in, n);
  RK_LAUNCH_CHECK("f32_to_bf16");
}

void bf16_to_f32(float* out, const bf16_bits* in, int64_t n, void* stream) {
  RK_ARG("bf16_to_f32", n >= 0 && (n == 0 || (out && in)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(bf16_to_f32_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(out, bf(in), n);
  RK_LAUNCH_CHECK("bf16_to_f32");
}

}}  // namespace rk::cuda
