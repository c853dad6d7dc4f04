#include "rewardkit/swiglu.h"

#include <algorithm>
#include <cmath>

#include "rewardkit/vec_exp.h"

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

// float: the sigmoid's exp(-g) through the vectorised exp (rewardkit/vec_exp.h), kChunk elements at a
// time into a stack buffer, then one fused pass for the products. Same formulas as the templates above.
constexpr int64_t kChunk = 512;

// Runs body(i0, m, e) over chunks of kChunk elements, e[0..m) = exp(-gate[i0..i0+m)) (threads over chunks
// for large n): the one place the chunking and the vectorised exp live for both directions.
template <typename Body>
void for_each_exp_chunk(const float* gate, int64_t n, Body body) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i0 = c * kChunk, m = std::min(kChunk, n - i0);
    alignas(64) float e[kChunk];
    for (int64_t i = 0; i < m; ++i) e[i] = -gate[i0 + i];
    vec_exp_f32(e, e, m);
    body(i0, m, e);
  }
}

void forward(float* out, const float* gate, const float* up, const SwigluParams& p) {
  for_each_exp_chunk(gate, p.n, [&](int64_t i0, int64_t m, const float* e) {
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) {
      const float g = gate[i0 + i];
      out[i0 + i] = g * (1.0f / (1.0f + e[i])) * up[i0 + i];
    }
  });
}

void backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
              const SwigluParams& p) {
  for_each_exp_chunk(gate, p.n, [&](int64_t i0, int64_t m, const float* e) {
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) {
      const float g = gate[i0 + i], sg = 1.0f / (1.0f + e[i]), go = dout[i0 + i];
      dgate[i0 + i] = go * up[i0 + i] * sg * (1.0f + g * (1.0f - sg));
      dup[i0 + i] = go * g * sg;
    }
  });
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
