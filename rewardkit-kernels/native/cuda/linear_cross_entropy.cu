// Fused LM head + log-softmax gather (see rewardkit/cuda/linear_cross_entropy.h): host loops over token and
// vocab chunks; per chunk a tiled fp32 product makes the logits tile, and small kernels fold it into the
// running log-sum-exp (forward) or turn it into dz and apply it to dhidden / dweight (backward).
#include <cmath>
#include <string>

#include "common.cuh"
#include "rewardkit/cuda/linear_cross_entropy.h"

namespace rk { namespace cuda {

namespace {

constexpr int kTile = 16;  // C tile edge and K step of the tiled product (block 16 x 16)

// Matrix views for the tiled product: element (r, c). "Rows": c is contiguous; "Cols": r is contiguous
// (a transposed view), which decides how a tile is loaded so that neighbouring threads read neighbours.
template <class E>
struct Rows {
  static constexpr bool kContiguousCol = true;
  const E* p;
  int64_t ld;
  __device__ float operator()(int64_t r, int64_t c) const { return load(p[r * ld + c]); }
  __device__ static float load(float v) { return v; }
  __device__ static float load(__nv_bfloat16 v) { return b2f(v); }
};
template <class E>
struct Cols {
  static constexpr bool kContiguousCol = false;
  const E* p;
  int64_t ld;
  __device__ float operator()(int64_t r, int64_t c) const { return Rows<E>::load(p[c * ld + r]); }
};

// C [M, N] (row stride ldc) = (accumulate ? C : 0) + Σ_k A(m, k) B(k, n), fp32. Grid (ceil(N/16), ceil(M/16)),
// block (16, 16); each thread owns one element of C, so the sum order is fixed.
template <class A, class B>
__global__ void tile_product_kernel(float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, A a, B b, bool accumulate) {
  __shared__ float sa[kTile][kTile + 1];  // sa[m][k]
  __shared__ float sb[kTile][kTile + 1];  // sb[k][n]
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTile, n0 = static_cast<int64_t>(blockIdx.x) * kTile;
  float acc = 0.f;
  for (int64_t k0 = 0; k0 < K; k0 += kTile) {
    if (A::kContiguousCol) {  // consecutive tx read consecutive k
      const int64_t m = m0 + ty, k = k0 + tx;
      sa[ty][tx] = (m < M && k < K) ? a(m, k) : 0.f;
    } else {                  // consecutive tx read consecutive m
      const int64_t m = m0 + tx, k = k0 + ty;
      sa[tx][ty] = (m < M && k < K) ? a(m, k) : 0.f;
    }
    if (B::kContiguousCol) {  // consecutive tx read consecutive n
      const int64_t k = k0 + ty, n = n0 + tx;
      sb[ty][tx] = (k < K && n < N) ? b(k, n) : 0.f;
    } else {                  // consecutive tx read consecutive k
      const int64_t k = k0 + tx, n = n0 + ty;
      sb[tx][ty] = (k < K && n < N) ? b(k, n) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTile; ++kk) acc += sa[ty][kk] * sb[kk][tx];
    __syncthreads();
  }
  const int64_t m = m0 + ty, n = n0 + tx;
  if (m < M && n < N) {
    float* c = C + m * ldc + n;
    *c = accumulate ? *c + acc : acc;
  }
}

template <class A, class B>
void tile_product(float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, A a, B b, bool accumulate, cudaStream_t s,
                  const char* op) {
  dim3 grid(static_cast<unsigned>((N + kTile - 1) / kTile), static_cast<unsigned>((M + kTile - 1) / kTile));
  auto* kernel = tile_product_kernel<A, B>;  // a name without the template's comma, for the launch macro
  RK_KERNEL_LAUNCH(kernel, grid, dim3(kTile, kTile), 0, s)(C, ldc, M, N, K, a, b, accumulate);
  RK_LAUNCH_CHECK(op);
}

// Running state of a token chunk: m = -inf, s = 0, tgt = NaN (stays NaN when the target is >= V).
__global__ void lse_init_kernel(float* m, float* s, float* tgt, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  m[i] = -INFINITY;
  s[i] = 0.f;
  tgt[i] = NAN;
}

// One warp per row i of the tile z [tn, vn] (row stride vc): fold the tile into (m, s) and pick the target.
__global__ void lse_update_kernel(float* m, float* s, float* tgt, const float* z, int64_t vc, const int32_t* targets,
                                  int64_t tn, int64_t v0, int64_t vn) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (i >= tn) return;  // whole warps leave together
  const float* zi = z + i * vc;
  float mx = -INFINITY;
  for (int64_t j = lane; j < vn; j += 32) mx = fmaxf(mx, zi[j]);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  const float m_old = m[i], m_new = fmaxf(m_old, mx);
  float sum = 0.f;
  for (int64_t j = lane; j < vn; j += 32) sum += expf(zi[j] - m_new);
  sum = warp_sum(sum);
  if (lane == 0) {
    s[i] = s[i] * expf(m_old - m_new) + sum;  // exp(-inf) = 0 on the first chunk
    m[i] = m_new;
    const int64_t y = static_cast<int64_t>(targets[i]) - v0;
    if (y >= 0 && y < vn) tgt[i] = zi[y];
  }
}

__global__ void lse_finish_kernel(float* logp, float* lse, const float* m, const float* s, const float* tgt,
                                  const int32_t* targets, int64_t tn) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= tn) return;
  if (targets[i] < 0) {
    logp[i] = lse[i] = 0.f;
    return;
  }
  const float l = m[i] + logf(s[i]);
  lse[i] = l;
  logp[i] = tgt[i] - l;
}

// In place on the tile z [tn, vn] (row stride vc): dz = g (1[v = y] - exp(z - lse)); 0 for ignored rows.
__global__ void dlogits_kernel(float* z, int64_t vc, const float* dlogp, const float* lse, const int32_t* targets,
                               int64_t tn, int64_t v0, int64_t vn) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= tn * vn) return;
  const int64_t i = e / vn, j = e % vn;
  float* zij = z + i * vc + j;
  const int32_t y = targets[i];
  if (y < 0) {
    *zij = 0.f;
    return;
  }
  const float g = dlogp[i];
  *zij = g * ((v0 + j == y ? 1.f : 0.f) - expf(*zij - lse[i]));
}

__global__ void rows_to_bf16_kernel(__nv_bfloat16* out, const float* in, int64_t n) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e < n) out[e] = f2b(in[e]);
}

struct Chunks {
  int64_t tc, vc;
};

Chunks chunks(int64_t token_chunk, int64_t vocab_chunk) {
  return {token_chunk > 0 ? token_chunk : kLceCudaTokenChunk, vocab_chunk > 0 ? vocab_chunk : kLceCudaVocabChunk};
}

void check_args(const char* op, int64_t tokens, int64_t dim, int64_t vocab, Chunks c) {
  RK_ARG(op, tokens >= 0, "tokens must be >= 0, got " + std::to_string(tokens));
  RK_ARG(op, dim > 0, "dim must be > 0, got " + std::to_string(dim));
  RK_ARG(op, vocab > 0, "vocab must be > 0, got " + std::to_string(vocab));
  RK_ARG(op, c.tc <= 65535LL * kTile, "token_chunk too large");
  RK_ARG(op, c.vc <= 65535LL * kTile, "vocab_chunk too large");
  RK_ARG(op, c.tc * c.vc <= 65535LL * 32 * 256, "token_chunk x vocab_chunk too large");
}

}  // namespace

int64_t linear_cross_entropy_workspace_floats(int64_t dim, int64_t token_chunk, int64_t vocab_chunk) {
  const Chunks c = chunks(token_chunk, vocab_chunk);
  return c.tc * c.vc + c.tc * dim + 3 * c.tc;  // z tile, dhidden rows, m / s / tgt
}

void linear_cross_entropy_forward(float* logp, float* lse, const bf16_bits* hidden, const bf16_bits* weight,
                                  const int32_t* targets, float* workspace, int64_t tokens, int64_t dim,
                                  int64_t vocab, int64_t token_chunk, int64_t vocab_chunk, void* stream) {
  const char* op = "linear_cross_entropy_forward";
  const Chunks c = chunks(token_chunk, vocab_chunk);
  check_args(op, tokens, dim, vocab, c);
  if (tokens == 0) return;
  RK_ARG(op, logp && lse && hidden && weight && targets && workspace, "null buffer");
  cudaStream_t s = as_stream(stream);
  const __nv_bfloat16 *h = bf(hidden), *w = bf(weight);
  float* z = workspace;            // [tc, vc]
  float* m = z + c.tc * c.vc + c.tc * dim;  // [tc] (after the backward's dhidden rows)
  float* sum = m + c.tc;           // [tc]
  float* tgt = sum + c.tc;         // [tc]
  for (int64_t t0 = 0; t0 < tokens; t0 += c.tc) {
    const int64_t tn = tokens - t0 < c.tc ? tokens - t0 : c.tc;
    RK_KERNEL_LAUNCH(lse_init_kernel, grid_for(tn, 256), 256, 0, s)(m, sum, tgt, tn);
    RK_LAUNCH_CHECK(op);
    for (int64_t v0 = 0; v0 < vocab; v0 += c.vc) {
      const int64_t vn = vocab - v0 < c.vc ? vocab - v0 : c.vc;
      // z [tn, vn] = hidden[t0 : t0 + tn] · weight[v0 : v0 + vn]ᵀ
      tile_product(z, c.vc, tn, vn, dim, Rows<__nv_bfloat16>{h + t0 * dim, dim}, Cols<__nv_bfloat16>{w + v0 * dim, dim},
                   false, s, op);
      RK_KERNEL_LAUNCH(lse_update_kernel, grid_for(tn, 8), 256, 0, s)(m, sum, tgt, z, c.vc, targets + t0, tn, v0, vn);
      RK_LAUNCH_CHECK(op);
    }
    RK_KERNEL_LAUNCH(lse_finish_kernel, grid_for(tn, 256), 256, 0, s)(logp + t0, lse + t0, m, sum, tgt, targets + t0, tn);
    RK_LAUNCH_CHECK(op);
  }
}

void linear_cross_entropy_backward(bf16_bits* dhidden, float* dweight, const float* dlogp, const float* lse,
                                   const bf16_bits* hidden, const bf16_bits* weight, const int32_t* targets,
                                   float* workspace, int64_t tokens, int64_t dim, int64_t vocab,
                                   int64_t token_chunk, int64_t vocab_chunk, void* stream) {
  const char* op = "linear_cross_entropy_backward";
  const Chunks c = chunks(token_chunk, vocab_chunk);
  check_args(op, tokens, dim, vocab, c);
  if (tokens == 0) return;
  RK_ARG(op, dhidden && dweight && dlogp && lse && hidden && weight && targets && workspace, "null buffer");
  cudaStream_t s = as_stream(stream);
  const __nv_bfloat16 *h = bf(hidden), *w = bf(weight);
  float* z = workspace;            // [tc, vc]: logits, then dz
  float* dh = z + c.tc * c.vc;     // [tc, dim]: fp32 dhidden rows of the token chunk
  for (int64_t t0 = 0; t0 < tokens; t0 += c.tc) {
    const int64_t tn = tokens - t0 < c.tc ? tokens - t0 : c.tc;
    for (int64_t v0 = 0; v0 < vocab; v0 += c.vc) {
      const int64_t vn = vocab - v0 < c.vc ? vocab - v0 : c.vc;
      tile_product(z, c.vc, tn, vn, dim, Rows<__nv_bfloat16>{h + t0 * dim, dim}, Cols<__nv_bfloat16>{w + v0 * dim, dim},
                   false, s, op);
      RK_KERNEL_LAUNCH(dlogits_kernel, grid_for(tn * vn, 256), 256, 0, s)(z, c.vc, dlogp + t0, lse + t0, targets + t0,
                                                                          tn, v0, vn);
      RK_LAUNCH_CHECK(op);
      // dh [tn, dim] (+)= dz [tn, vn] · weight[v0 : v0 + vn]   (the first vocab chunk overwrites)
      tile_product(dh, dim, tn, dim, vn, Rows<float>{z, c.vc}, Rows<__nv_bfloat16>{w + v0 * dim, dim}, v0 > 0, s, op);
      // dweight[v0 : v0 + vn] += dzᵀ [vn, tn] · hidden[t0 : t0 + tn]
      tile_product(dweight + v0 * dim, dim, vn, dim, tn, Cols<float>{z, c.vc}, Rows<__nv_bfloat16>{h + t0 * dim, dim}, true,
                   s, op);
    }
    RK_KERNEL_LAUNCH(rows_to_bf16_kernel, grid_for(tn * dim, 256), 256, 0, s)(bf(dhidden + t0 * dim), dh, tn * dim);
    RK_LAUNCH_CHECK(op);
  }
}

}}  // namespace rk::cuda
