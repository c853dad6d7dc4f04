// SwiGLU MLP activation: out = silu(gate) * up, with silu rounded to bf16 first (HF: act_fn(gate) * up).
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
__device__ __forceinline__ float sigmoidf(float g) { return 1.f / (1.f + __expf(-g)); }

__global__ void swiglu_forward_kernel(__nv_bfloat16* out, const __nv_bfloat16* gate, const __nv_bfloat16* up,
                                      int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = b2f(gate[i]);
    out[i] = f2b(rb(g * sigmoidf(g)) * b2f(up[i]));
  }
}

// d silu(g)/dg = s (1 + g (1 - s)),  s = sigmoid(g)
__global__ void swiglu_backward_kernel(__nv_bfloat16* dgate, __nv_bfloat16* dup, const __nv_bfloat16* dout,
                                       const __nv_bfloat16* gate, const __nv_bfloat16* up, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = b2f(gate[i]), u = b2f(up[i]), d = b2f(dout[i]);
    const float s = sigmoidf(g);
    dup[i] = f2b(d * rb(g * s));
    dgate[i] = f2b(d * u * s * (1.f + g * (1.f - s)));
  }
}
}  // namespace

void swiglu_forward(bf16_bits* out, const bf16_bits* gate, const bf16_bits* up, int64_t n, void* stream) {
  RK_ARG("swiglu_forward", n >= 0 && (n == 0 || (out && gate && up)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(swiglu_forward_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(bf(out), bf(gate), bf(up), n);
  RK_LAUNCH_CHECK("swiglu_forward");
}

void swiglu_backward(bf16_bits* dgate, bf16_bits* dup, const bf16_bits* dout, const bf16_bits* gate,
                     const bf16_bits* up, int64_t n, void* stream) {
  RK_ARG("swiglu_backward", n >= 0 && (n == 0 || (dgate && dup && dout && gate && up)), "null buffer or negative n");
  if (n == 0) return;
  RK_KERNEL_LAUNCH(swiglu_backward_kernel, grid_for(n, 256), 256, 0, as_stream(stream))(bf(dgate), bf(dup), bf(dout), bf(gate),
                                                                          bf(up), n);
  RK_LAUNCH_CHECK("swiglu_backward");
}

}}  // namespace rk::cuda
