// Rotary embedding, HF rotate_half convention, in place on x [T, H, hd]. For i < hd/2:
//   forward: (x_i, x_{i+h}) <- (x_i c - x_{i+h} s, x_{i+h} c + x_i s)   (c, s at [pos, i])
//   inverse: (g_i, g_{i+h}) <- (g_i c + g_{i+h} s, g_{i+h} c - g_i s)   (the transpose; backward)
// Forward rounds each product to bf16 before the sum, as HF's bf16 `q*cos + rotate_half(q)*sin`.
#include "common.cuh"

namespace rk { namespace cuda {

namespace {
__device__ __forceinline__ float tload(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float tload(const __nv_bfloat16* p, int64_t i) { return b2f(p[i]); }

// One thread per (token, head, i < hd/2) pair.
template <class TT>
__global__ void rope_kernel(__nv_bfloat16* x, const int32_t* pos, const TT* cos, const TT* sin, int64_t tokens,
                            int64_t heads, int64_t hd, int64_t max_pos, int inverse) {
  const int64_t half = hd / 2;
  const int64_t total = tokens * heads * half;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
       idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = idx % half;
    const int64_t th = idx / half;  // token * heads + head
    const int64_t t = th / heads;
    int64_t p = pos[t];
    if (p < 0 || p >= max_pos) p = p < 0 ? 0 : max_pos - 1;  // positions are validated by the caller
    const float c = tload(cos, p * half + i), s = tload(sin, p * half + i);
    __nv_bfloat16* row = x + th * hd;
    const float a = b2f(row[i]), b = b2f(row[i + half]);
    if (!inverse) {
      row[i] = f2b(rb(a * c) + rb(-b * s));
      row[i + half] = f2b(rb(b * c) + rb(a * s));
    } else {
      row[i] = f2b(a * c + b * s);
      row[i + half] = f2b(b * c - a * s);
    }
  }
}

template <class TT>
void rope_launch(const char* op, bf16_bits* x, const int32_t* positions, const TT* cos, const TT* sin,
                 const RopeParams& p, int inverse, void* stream) {
  p.validate(op);
  const int64_t tokens = p.tokens, heads = p.heads, head_dim = p.head_dim, max_pos = p.max_pos;
  RK_ARG(op, tokens == 0 || (x && positions && cos && sin), "null buffer");
  if (tokens == 0) return;
  const int64_t n = tokens * heads * (head_dim / 2);
  RK_KERNEL_LAUNCH(rope_kernel<TT>, grid_for(n, 256), 256, 0, as_stream(stream))(bf(x), positions, cos, sin, tokens, heads,
                                                                   head_dim, max_pos, inverse);
  RK_LAUNCH_CHECK(op);
}
}  // namespace

void rope_apply_f32(bf16_bits* x, const int32_t* positions, const float* cos, const float* sin, const RopeParams& p,
                    int inverse, void* stream) {
  rope_launch("rope_apply_f32", x, positions, cos, sin, p, inverse, stream);
}

void rope_apply_bf16(bf16_bits* x, const int32_t* positions, const bf16_bits* cos, const bf16_bits* sin,
                     const RopeParams& p, int inverse, void* stream) {
  rope_launch("rope_apply_bf16", x, positions, bf(cos), bf(sin), p, inverse, stream);
}

}}  // namespace rk::cuda
