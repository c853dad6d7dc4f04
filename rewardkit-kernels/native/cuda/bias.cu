// Linear bias: forward add (when the GEMM epilogue is not used) and deterministic grad reduction.
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
__global__ void bias_add_kernel(__nv_bfloat16* out, const __nv_bfloat16* bias, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = f2b(b2f(out[i]) + b2f(bias[i % cols]));
}

struct BiasGrad {
  const __nv_bfloat16* dout;
  int64_t cols;
  __device__ float operator()(int64_t r, int64_t c) const { return b2f(dout[r * cols + c]); }
};
}  // namespace

void bias_add_forward(bf16_bits* out, const bf16_bits* bias, const BiasParams& p, void* stream) {
  p.validate("bias_add_forward");
  const int64_t rows = p.rows, cols = p.cols;
  RK_ARG("bias_add_forward", rows == 0 || (out && bias), "null buffer");
  if (rows == 0) return;
  RK_KERNEL_LAUNCH(bias_add_kernel, grid_for(rows * cols, 256), 256, 0, as_stream(stream))(bf(out), bf(bias), rows, cols);
  RK_LAUNCH_CHECK("bias_add_forward");
}

void bias_add_backward(float* dbias, const bf16_bits* dout, float* workspace, const BiasParams& p, void* stream) {
  p.validate("bias_add_backward");
  const int64_t rows = p.rows, cols = p.cols;
  RK_ARG("bias_add_backward", rows == 0 || (dbias && dout && workspace), "null buffer");
  if (rows == 0) return;
  column_reduce(dbias, workspace, rows, cols, BiasGrad{bf(dout), cols}, as_stream(stream), "bias_add_backward");
}

}}  // namespace rk::cuda
