#include "rewardkit/score.h"

#include <algorithm>
#include <cstring>

namespace rk {
namespace {

constexpr int64_t kColumnBlock = 256;

void validate(const char* op, const ScoreParams& p, const int32_t* readout) {
  p.validate(op);
  RK_REQUIRE(op, p.readouts == 0 || readout, "null buffer");
  for (int64_t r = 0; r < p.readouts; ++r) {
    RK_REQUIRE(op, readout[r] >= 0 && readout[r] < p.tokens,
               "readout[" + std::to_string(r) + "] = " + std::to_string(readout[r]) +
                   " is outside the batch's tokens [0, " + std::to_string(p.tokens) + ")");
  }
}

template <typename T>
void forward(T* rewards, const T* hidden, const int32_t* readout, const T* w, const ScoreParams& p) {
  const int64_t D = p.dim;
  // R is a handful of rows: one dot product each, accumulated in double (the reward is the model's
  // only output, so it gets the extra precision for free).
  for (int64_t r = 0; r < p.readouts; ++r) {
    const T* h = hidden + int64_t(readout[r]) * D;  // [D]
    double acc = 0;
    for (int64_t i = 0; i < D; ++i) acc += double(h[i]) * double(w[i]);
    rewards[r] = T(acc);
  }
}

template <typename T>
void backward(T* dhidden, T* dw, const T* drewards, const T* hidden, const int32_t* readout,
              const T* w, const ScoreParams& p) {
  const int64_t D = p.dim;
#pragma omp parallel for schedule(static) if (p.tokens * D > 65536)
  for (int64_t t = 0; t < p.tokens; ++t) std::memset(dhidden + t * D, 0, sizeof(T) * size_t(D));
  // Column stripes per thread, readouts in order: repeated readout rows sum without races and
  // the result does not depend on the thread count.
  const int64_t blocks = (D + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (p.readouts * D > 65536)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kColumnBlock, c1 = std::min(D, c0 + kColumnBlock);
    for (int64_t r = 0; r < p.readouts; ++r) {
      const T g = drewards[r];
      const int64_t row = int64_t(readout[r]) * D;
      for (int64_t c = c0; c < c1; ++c) {
        dhidden[row + c] += g * w[c];
        dw[c] += g * hidden[row + c];
      }
    }
  }
}

}  // namespace

#define RK_SCORE_API(T)                                                                        \
  void score_forward(T* rewards, const T* hidden, const int32_t* readout, const T* w,          \
                     const ScoreParams& p) {                                                   \
    validate("score_forward", p, readout);                                                     \
    forward(rewards, hidden, readout, w, p);                                                   \
  }                                                                                            \
  void score_backward(T* dhidden, T* dw, const T* drewards, const T* hidden,                   \
                      const int32_t* readout, const T* w, const ScoreParams& p) {              \
    validate("score_backward", p, readout);                                                    \
    backward(dhidden, dw, drewards, hidden, readout, w, p);                                    \
  }
RK_SCORE_API(float)
RK_SCORE_API(double)

}  // namespace rk
