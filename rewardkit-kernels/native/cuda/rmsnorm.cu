// RMSNorm, one warp per row (rows = T for layers, T*H for Qwen3 q_norm/k_norm with dim = head_dim).
// Forward mirrors HF rounding: y = w * bf16(x * rstd), each product rounded to bf16.
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
constexpr int kWarps = 8;

// One row (one warp): the code both rmsnorm_forward_kernel and residual_rmsnorm_forward_kernel run.
__device__ __forceinline__ void norm_row(__nv_bfloat16* outr, float* rstd, const __nv_bfloat16* xr,
                                         const __nv_bfloat16* w, int64_t dim, float eps, int lane) {
  float ss = 0.f;
  for (int64_t d = lane; d < dim; d += 32) { float v = b2f(xr[d]); ss += v * v; }
  ss = warp_sum(ss);
  const float rs = rsqrtf(ss / static_cast<float>(dim) + eps);
  if (lane == 0) *rstd = rs;
  for (int64_t d = lane; d < dim; d += 32) outr[d] = f2b(b2f(w[d]) * rb(b2f(xr[d]) * rs));
}

__global__ void rmsnorm_forward_kernel(__nv_bfloat16* out, float* rstd, const __nv_bfloat16* x,
                                       const __nv_bfloat16* w, int64_t rows, int64_t dim, float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  norm_row(out + r * dim, rstd + r, x + r * dim, w, dim, eps, lane);
}

// y = bf16(x + delta) (as add_inplace_bf16 rounds it), then the norm of y. Each lane reads back only the
// elements it wrote, so no barrier is needed between the add and the norm.
__global__ void residual_rmsnorm_forward_kernel(__nv_bfloat16* y, __nv_bfloat16* out, float* rstd,
                                                const __nv_bfloat16* x, const __nv_bfloat16* delta,
                                                const __nv_bfloat16* w, int64_t rows, int64_t dim, float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  const int64_t o = r * dim;
  for (int64_t d = lane; d < dim; d += 32) y[o + d] = f2b(b2f(x[o + d]) + b2f(delta[o + d]));
  norm_row(out + o, rstd + r, y + o, w, dim, eps, lane);
}

// dx = rstd * (g - n * mean(g * n)),  g = dout * w,  n = x * rstd;  accumulate: dx = bf16(dx + bf16(that)), the
// rounding of the overwrite into a scratch followed by add_inplace_bf16.
__global__ void rmsnorm_backward_kernel(__nv_bfloat16* dx, const __nv_bfloat16* dout, const __nv_bfloat16* x,
                                        const __nv_bfloat16* w, const float* rstd, int64_t rows, int64_t dim,
                                        bool accumulate) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  const float rs = rstd[r];
  const int64_t o = r * dim;
  float dot = 0.f;
  for (int64_t d = lane; d < dim; d += 32) dot += b2f(dout[o + d]) * b2f(w[d]) * b2f(x[o + d]) * rs;
  const float mean = warp_sum(dot) / static_cast<float>(dim);
  for (int64_t d = lane; d < dim; d += 32) {
    const float n = b2f(x[o + d]) * rs;
    const __nv_bfloat16 g = f2b(rs * (b2f(dout[o + d]) * b2f(w[d]) - n * mean));
    dx[o + d] = accumulate ? f2b(b2f(dx[o + d]) + b2f(g)) : g;
  }
}

struct RmsDw {
  const __nv_bfloat16* dout;
  const __nv_bfloat16* x;
  const float* rstd;
  int64_t dim;
  __device__ float operator()(int64_t r, int64_t c) const {
    return b2f(dout[r * dim + c]) * rb(b2f(x[r * dim + c]) * rstd[r]);
  }
};
}  // namespace

void rmsnorm_forward(bf16_bits* out, float* rstd, const bf16_bits* x, const bf16_bits* w, const RmsNormParams& p,
                     void* stream) {
  p.validate("rmsnorm_forward");
  const int64_t rows = p.rows, dim = p.dim;
  const double eps = p.eps;
  RK_ARG("rmsnorm_forward", rows == 0 || (out && rstd && x && w), "null buffer");
  if (rows == 0) return;
  RK_KERNEL_LAUNCH(rmsnorm_forward_kernel, grid_for(rows, kWarps, 1LL << 31), kWarps * 32, 0, as_stream(stream))(
      bf(out), rstd, bf(x), bf(w), rows, dim, static_cast<float>(eps));
  RK_LAUNCH_CHECK("rmsnorm_forward");
}

void residual_rmsnorm_forward(bf16_bits* y, bf16_bits* out, float* rstd, const bf16_bits* x, const bf16_bits* delta,
                              const bf16_bits* w, const RmsNormParams& p, void* stream) {
  p.validate("residual_rmsnorm_forward");
  const int64_t rows = p.rows, dim = p.dim;
  RK_ARG("residual_rmsnorm_forward", rows == 0 || (y && out && rstd && x && delta && w), "null buffer");
  if (rows == 0) return;
  RK_KERNEL_LAUNCH(residual_rmsnorm_forward_kernel, grid_for(rows, kWarps, 1LL << 31), kWarps * 32, 0, as_stream(stream))(
      bf(y), bf(out), rstd, bf(x), bf(delta), bf(w), rows, dim, static_cast<float>(p.eps));
  RK_LAUNCH_CHECK("residual_rmsnorm_forward");
}

void rmsnorm_backward(bf16_bits* dx, float* dw, const bf16_bits* dout, const bf16_bits* x, const bf16_bits* w,
                      const float* rstd, float* workspace, const RmsNormParams& p, void* stream) {
  p.validate("rmsnorm_backward");
  const int64_t rows = p.rows, dim = p.dim;
  RK_ARG("rmsnorm_backward", rows == 0 || (dx && dw && dout && x && w && rstd && workspace), "null buffer");
  if (rows == 0) return;
  cudaStream_t s = as_stream(stream);
  RK_KERNEL_LAUNCH(rmsnorm_backward_kernel, grid_for(rows, kWarps, 1LL << 31), kWarps * 32, 0, s)(bf(dx), bf(dout), bf(x), bf(w),
                                                                                   rstd, rows, dim, p.accumulate);
  RK_LAUNCH_CHECK("rmsnorm_backward");
  column_reduce(dw, workspace, rows, dim, RmsDw{bf(dout), bf(x), rstd, dim}, s, "rmsnorm_backward(dw)");
}

}}  // namespace rk::cuda
