// Shared helpers for the CUDA kernels (included by every .cu; keep it light: no cub here).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "rewardkit/cuda/ops.h"

namespace rk { namespace cuda {

[[noreturn]] inline void cuda_fail(const char* where, cudaError_t e) {
  throw std::runtime_error(std::string(where) + ": CUDA error " + std::to_string(static_cast<int>(e)) + " (" +
                           cudaGetErrorName(e) + "): " + cudaGetErrorString(e));
}

#define RK_CUDA_CHECK(where, expr)                      \
  do {                                                  \
    cudaError_t rk_err_ = (expr);                       \
    if (rk_err_ != cudaSuccess) ::rk::cuda::cuda_fail(where, rk_err_); \
  } while (0)

// Kernel launch, spelled as a macro so tools/kernel_emu can run the same source on the host:
//   RK_KERNEL_LAUNCH(kernel, grid, block, smem, stream)(args...)
#ifndef RK_KERNEL_LAUNCH
#define RK_KERNEL_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#endif

// After a launch: configuration errors surface here, asynchronous faults at the next sync.
#define RK_LAUNCH_CHECK(where) RK_CUDA_CHECK(where, cudaGetLastError())

#define RK_ARG(op, cond, what)                                                     \
  do {                                                                             \
    if (!(cond)) throw std::invalid_argument(std::string(op) + ": " + (what));     \
  } while (0)

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

inline __nv_bfloat16* bf(bf16_bits* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
inline const __nv_bfloat16* bf(const bf16_bits* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }

inline unsigned grid_for(int64_t n, int threads, int64_t cap = 65535LL * 32) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  return static_cast<unsigned>(b < cap ? b : cap);
}

// Fixed number of row chunks for deterministic column reductions (see column_reduce_chunks()).
constexpr int kColumnChunks = 64;

// Column sums dst[c] += Σ_r f(r, c) over a [rows, cols] matrix, deterministic: pass 1 (grid
// (ceil(cols/32), kColumnChunks), block (32, 8)) writes partials[chunk, c] in a fixed order, pass 2
// adds the chunks in order. F is a functor `float operator()(int64_t r, int64_t c) const`.
template <class F>
__global__ void column_partials_kernel(float* partials, int64_t rows, int64_t cols, F f) {
  __shared__ float s[8][33];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  const int64_t per = (rows + gridDim.y - 1) / gridDim.y;
  const int64_t r0 = blockIdx.y * per;
  const int64_t r1 = r0 + per < rows ? r0 + per : rows;
  float acc = 0.f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) acc += f(r, c);
  s[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float t = 0.f;
#pragma unroll
    for (int y = 0; y < 8; ++y) t += s[y][threadIdx.x];
    partials[blockIdx.y * cols + c] = t;
  }
}

template <int Unused = 0>
__global__ void column_finish_kernel(float* dst, const float* partials, int64_t cols, int chunks) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float t = 0.f;
  for (int k = 0; k < chunks; ++k) t += partials[k * cols + c];
  dst[c] += t;
}

template <class F>
void column_reduce(float* dst, float* workspace, int64_t rows, int64_t cols, F f, cudaStream_t stream,
                   const char* op) {
  dim3 grid(static_cast<unsigned>((cols + 31) / 32), kColumnChunks), block(32, 8);
  RK_KERNEL_LAUNCH(column_partials_kernel<F>, grid, block, 0, stream)(workspace, rows, cols, f);
  RK_LAUNCH_CHECK(op);
  RK_KERNEL_LAUNCH(column_finish_kernel<>, grid_for(cols, 256), 256, 0, stream)(dst, workspace, cols, kColumnChunks);
  RK_LAUNCH_CHECK(op);
}

__device__ __forceinline__ float b2f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ __nv_bfloat16 f2b(float v) { return __float2bfloat16_rn(v); }
// Round through bf16, as PyTorch does between bf16 ops (keeps HF fidelity).
__device__ __forceinline__ float rb(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block-wide sum (blockDim.x multiple of 32, <= 1024); result valid in every thread.
__device__ __forceinline__ float block_sum(float v, float* smem32) {
  v = warp_sum(v);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) smem32[warp] = v;
  __syncthreads();
  float t = lane < nw ? smem32[lane] : 0.f;
  return warp_sum(t);
}

}}  // namespace rk::cuda
