// Host emulation of the CUDA execution model, force-included (g++ -include emu.h) before RewardKit's
// .cu sources so the SAME kernel and launcher code runs on a machine without a GPU:
//   * a launch runs every block in order on a pool of blockDim std::threads (so static __shared__
//     arrays, which become function-local statics, are per block as on a GPU);
//   * __syncthreads/__syncthreads_or/__syncthreads_and are barriers over the block, __shfl_xor_sync exchanges within
//     each group of 32 threads, atomicAdd is an atomic_ref, the m16n8k16 MMA and ldmatrix(.trans) are
//     emulated lane by lane with the PTX fragment layouts (ldmatrix also checks 16-byte row alignment);
//   * cp.async (+ commit_group / wait_group) per thread: a copy lands when a wait retires its group, its
//     destination holds NaN poison until then, and a block may not end with copies in flight (emu.cpp);
//   * stream/memory calls (cudaMemsetAsync, cudaFuncSetAttribute, cudaGetLastError) act on host memory.
// What it checks: index math, masks, reductions, launch configuration. What it cannot: timing,
// occupancy, shared-memory limits, memory-model races the barriers hide, real-hardware numerics.
#pragma once
#define RK_HOST_EMULATION 1
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <barrier>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace emu {
struct Block {
  explicit Block(int threads);
  std::barrier<> bar;
  std::vector<std::unique_ptr<std::barrier<>>> warp_bar;
  std::atomic<int> orv{0};
  float shfl[32][32];
  uint32_t a[32][32][4], b[32][32][2];
  const void* rows[32][32];  // ldmatrix: each lane's row address
};
struct Ctx {
  uint3 tid, bid;
  dim3 gdim, bdim;
  Block* blk;
};
extern thread_local Ctx ctx;
unsigned char* dynamic_smem();
void run(dim3 grid, dim3 block, const std::function<void()>& body);
void cp_async(void* dst, const void* src, bool fill);
void cp_async_commit();
void cp_async_wait(int n);
inline unsigned linear_tid() { return ctx.tid.x + ctx.tid.y * ctx.bdim.x + ctx.tid.z * ctx.bdim.x * ctx.bdim.y; }

template <class K>
auto launcher(dim3 grid, dim3 block, K kernel) {
  return [=](auto... args) { run(grid, block, [&] { kernel(args...); }); };
}
}  // namespace emu

#undef threadIdx
#undef blockIdx
#undef gridDim
#undef blockDim
#define threadIdx (emu::ctx.tid)
#define blockIdx (emu::ctx.bid)
#define gridDim (emu::ctx.gdim)
#define blockDim (emu::ctx.bdim)
#undef __shared__
#define __shared__ static
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif
#define RK_KERNEL_LAUNCH(kernel, grid, block, smem, stream) emu::launcher(dim3(grid), dim3(block), kernel)
#define RK_DYNAMIC_SMEM(name) unsigned char* name = emu::dynamic_smem()

inline void __syncthreads() { emu::ctx.blk->bar.arrive_and_wait(); }
inline int __syncthreads_or(int p) {
  emu::Block* b = emu::ctx.blk;
  if (p) b->orv.fetch_or(1);
  b->bar.arrive_and_wait();
  const int r = b->orv.load();
  b->bar.arrive_and_wait();
  if (emu::linear_tid() == 0) b->orv.store(0);
  b->bar.arrive_and_wait();
  return r;
}
inline int __syncthreads_and(int p) { return !__syncthreads_or(!p); }
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
  emu::Block* b = emu::ctx.blk;
  const unsigned t = emu::linear_tid(), w = t / 32, lane = t % 32;
  b->shfl[w][lane] = v;
  b->warp_bar[w]->arrive_and_wait();
  const float r = b->shfl[w][lane ^ lane_mask];
  b->warp_bar[w]->arrive_and_wait();
  return r;
}
inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline float __expf(float x) { return std::exp(x); }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
using std::max;
using std::min;

// Runtime calls the kernels' launchers make, on host memory.
#define cudaGetLastError() cudaSuccess
#define cudaFuncSetAttribute(...) cudaSuccess
#define cudaMemsetAsync(ptr, value, bytes, stream) (std::memset((ptr), (value), (bytes)), cudaSuccess)
#define cudaGetErrorName(e) "emulated error"
#define cudaGetErrorString(e) "emulated error"
