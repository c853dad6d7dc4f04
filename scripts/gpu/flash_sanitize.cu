// Small driver of RewardKit's flash kernels for compute-sanitizer (scripts/gpu/proof.sh, stage sanitize) (memcheck / racecheck / synccheck /
// initcheck): sequences [1, 70, 129] with and without shared-prefix segments, hd 64 and 128, GQA,
// both dq modes. Exit code 0 when every launch and sync succeeded (the sanitizer adds its own verdict).
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "rewardkit/cuda/flash_attention.h"
using rk::cuda::bf16_bits;
#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("%s: %s\n", #x, cudaGetErrorString(e_)); std::exit(2); } } while (0)
static void* dev_fill(size_t bytes, unsigned seed) {
  std::vector<unsigned short> h(bytes / 2);
  unsigned s = seed;
  for (auto& x : h) { s = s * 1664525u + 1013904223u; x = (unsigned short)(0x3c00 + ((s >> 16) & 0x3ff)) ^ ((s >> 8) & 0x8000); }
  void* d; CK(cudaMalloc(&d, bytes)); CK(cudaMemcpy(d, h.data(), bytes, cudaMemcpyHostToDevice)); return d;
}
int main() {
  const int cu_h[4] = {0, 1, 71, 200}, T = 200, S = 3, maxlen = 129;
  std::vector<int> seg_h(T, 0);
  for (int i = 71 + 40; i < 71 + 90; ++i) seg_h[i] = 1;
  for (int i = 71 + 90; i < T; ++i) seg_h[i] = 2;
  int *cu, *seg; CK(cudaMalloc(&cu, sizeof cu_h)); CK(cudaMalloc(&seg, T * 4));
  CK(cudaMemcpy(cu, cu_h, sizeof cu_h, cudaMemcpyHostToDevice)); CK(cudaMemcpy(seg, seg_h.data(), T * 4, cudaMemcpyHostToDevice));
  // Every head-dim bucket (8 is zero-padded to 32, 80 to 96, 160 to 192, 224 to 256), both dq modes, GQA/MQA/MHA, segments.
  struct C { int hd, hq, hkv, useg, det; } cs[] = {{64, 4, 2, 0, 1},  {128, 6, 1, 1, 1}, {64, 2, 2, 1, 0},
                                                   {128, 4, 4, 0, 0}, {8, 4, 2, 1, 1},   {80, 4, 2, 1, 0},
                                                   {160, 2, 1, 0, 1}, {192, 2, 2, 1, 0}, {224, 2, 1, 0, 1},
                                                   {256, 4, 2, 1, 1}, {256, 2, 2, 0, 0}};
  cudaStream_t st; CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  for (auto c : cs) {
    size_t nq = (size_t)T * c.hq * c.hd * 2, nk = (size_t)T * c.hkv * c.hd * 2;
    void *q = dev_fill(nq, 1), *k = dev_fill(nk, 2), *v = dev_fill(nk, 3), *dout = dev_fill(nq, 4);
    void *o, *dq, *dk, *dv, *lse, *ws;
    CK(cudaMalloc(&o, nq)); CK(cudaMalloc(&dq, nq)); CK(cudaMalloc(&dk, nk)); CK(cudaMalloc(&dv, nk));
    CK(cudaMalloc(&lse, (size_t)c.hq * T * 4));
    CK(cudaMalloc(&ws, rk::cuda::flash_attention_backward_workspace(T, c.hq, c.hkv, c.hd, c.det)));
    try {
      rk::cuda::flash_attention_forward((bf16_bits*)o, (float*)lse, (bf16_bits*)q, (bf16_bits*)k, (bf16_bits*)v, cu,
                                        c.useg ? seg : nullptr, S, T, maxlen, c.hq, c.hkv, c.hd, 0.125f, st);
      rk::cuda::flash_attention_backward((bf16_bits*)dq, (bf16_bits*)dk, (bf16_bits*)dv, (bf16_bits*)dout, (bf16_bits*)q,
                                         (bf16_bits*)k, (bf16_bits*)v, (bf16_bits*)o, (float*)lse, ws, cu,
                                         c.useg ? seg : nullptr, S, T, maxlen, c.hq, c.hkv, c.hd, 0.125f, c.det, st);
    } catch (const std::exception& e) { std::printf("exception: %s\n", e.what()); return 3; }
    CK(cudaStreamSynchronize(st));
    std::printf("hd=%d hq=%d hkv=%d seg=%d det=%d ok\n", c.hd, c.hq, c.hkv, c.useg, c.det);
    for (void* p : {q, k, v, dout, o, dq, dk, dv, lse, ws}) CK(cudaFree(p));
  }
  return 0;
}
