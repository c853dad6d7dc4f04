#include "rewardkit/swiglu.h"

#include <cmath>

namespace rk {
namespace {

void validate(const char* op, const SwigluParams& p) {
  RK_REQUIRE(op, p.n >= 0, "n must be >= 0, got " + std::to_string(p.n));
}

// 1 / (1 + e^-g): for g -> -inf, e^-g overflows to inf and the result is a clean 0.
template <typename T>
inline T sigmoid(T g) { return T(1) / (T(1) + std::exp(-g)); }

template <typename T>
void forward(T* out, const T* gate, const T* up, const SwigluParams& p) {
#pragma omp parallel for simd schedule(static) if (p.n > 32768)
  for (int64_t i = 0; i < p.n; ++i) {
    const T g = gate[i];
    out[i] = g * sigmoid(g) * up[i];
  }
}

template <typename T>
void backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, const SwigluParams& p) {
#pragma omp parallel for simd schedule(static) if (p.n > 32768)
  for (int64_t i = 0; i < p.n; ++i) {
    const T g = gate[i], sg = sigmoid(g), go = dout[i];
    // d silu/dg = s + g s (1 - s)
    dgate[i] = go * up[i] * sg * (T(1) + g * (T(1) - sg));
    dup[i] = go * g * sg;
  }
}

}  // namespace

#define RK_SWIGLU_API(T)                                                                       \
  void swiglu_forward(T* out, const T* gate, const T* up, int64_t n) {                         \
    const SwigluParams p{n};                                                                   \
    validate("swiglu_forward", p);                                                             \
    forward(out, gate, up, p);                                                                 \
  }                                                                                            \
  void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up,            \
                       int64_t n) {                                                            \
    const SwigluParams p{n};                                                                   \
    validate("swiglu_backward", p);                                                            \
    backward(dgate, dup, dout, gate, up, p);                                                   \
  }
RK_SWIGLU_API(float)
RK_SWIGLU_API(double)

}  // namespace rk
