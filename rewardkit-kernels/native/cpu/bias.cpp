#include "rewardkit/bias.h"

#include <algorithm>

namespace rk {
namespace {

constexpr int64_t kColumnBlock = 256;

template <typename T>
void forward(T* out, const T* bias, const BiasParams& p) {
  const int64_t O = p.cols;
#pragma omp parallel for schedule(static) if (p.rows * O > 65536)
  for (int64_t r = 0; r < p.rows; ++r) {
    T* row = out + r * O;
#pragma omp simd
    for (int64_t c = 0; c < O; ++c) row[c] += bias[c];
  }
}

// Threads own disjoint column stripes and sum rows in order: deterministic for any thread count.
// Each stripe is summed locally, then added to dbias once (dbias accumulates across micro-batches).
template <typename T>
void backward(T* dbias, const T* dout, const BiasParams& p) {
  const int64_t O = p.cols;
  const int64_t blocks = (O + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (p.rows * O > 65536)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kColumnBlock, c1 = std::min(O, c0 + kColumnBlock);
    T acc[kColumnBlock] = {};  // [c1 - c0] partial column sums of this stripe
    for (int64_t r = 0; r < p.rows; ++r) {
      const T* row = dout + r * O;
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += row[c];
    }
    for (int64_t c = c0; c < c1; ++c) dbias[c] += acc[c - c0];
  }
}

}  // namespace

#define RK_BIAS_API(T)                                                                         \
  void bias_forward(T* out, const T* bias, const BiasParams& p) {                              \
    p.validate("bias_forward");                                                                \
    forward(out, bias, p);                                                                     \
  }                                                                                            \
  void bias_backward(T* dbias, const T* dout, const BiasParams& p) {                           \
    p.validate("bias_backward");                                                               \
    backward(dbias, dout, p);                                                                  \
  }
RK_BIAS_API(float)
RK_BIAS_API(double)

}  // namespace rk
