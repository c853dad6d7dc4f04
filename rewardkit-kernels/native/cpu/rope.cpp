#include "rewardkit/rope.h"

namespace rk {
namespace {

void validate(const char* op, const RopeParams& p, const int32_t* positions) {
  p.validate(op);
  RK_REQUIRE(op, p.tokens == 0 || positions, "null buffer");
  for (int64_t t = 0; t < p.tokens; ++t) {
    RK_REQUIRE(op, positions[t] >= 0 && positions[t] < p.max_pos,
               "positions[" + std::to_string(t) + "] = " + std::to_string(positions[t]) +
                   " is outside the rope tables [0, " + std::to_string(p.max_pos) + ")");
  }
}

// Rotation by +angle (forward) or -angle (backward: R^T = R(-angle) since R is orthogonal).
template <typename T, bool Transpose>
void rotate(T* x, const int32_t* positions, const T* cos, const T* sin, const RopeParams& p) {
  const int64_t H = p.heads, hd = p.head_dim, half = hd / 2;
#pragma omp parallel for schedule(static) if (p.tokens * H * hd > 32768)
  for (int64_t t = 0; t < p.tokens; ++t) {
    const T* c = cos + int64_t(positions[t]) * half;  // [hd/2]
    const T* s = sin + int64_t(positions[t]) * half;  // [hd/2]
    for (int64_t h = 0; h < H; ++h) {
      T* lo = x + (t * H + h) * hd;  // [hd/2] first half of this head
      T* hi = lo + half;             // [hd/2] second half
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const T a = lo[i], b = hi[i];
        const T si = Transpose ? -s[i] : s[i];
        lo[i] = a * c[i] - b * si;
        hi[i] = b * c[i] + a * si;
      }
    }
  }
}

}  // namespace

#define RK_ROPE_API(T)                                                                          \
  void rope_forward(T* x, const int32_t* positions, const T* cos, const T* sin,                 \
                    const RopeParams& p) {                                                      \
    validate("rope_forward", p, positions);                                                     \
    rotate<T, false>(x, positions, cos, sin, p);                                                \
  }                                                                                             \
  void rope_backward(T* dx, const int32_t* positions, const T* cos, const T* sin,               \
                     const RopeParams& p) {                                                     \
    validate("rope_backward", p, positions);                                                    \
    rotate<T, true>(dx, positions, cos, sin, p);                                                \
  }
RK_ROPE_API(float)
RK_ROPE_API(double)

}  // namespace rk
