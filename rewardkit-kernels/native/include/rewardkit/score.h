// Scalar value head (HF *ForSequenceClassification with num_labels = 1, no bias): one reward per
// scored response, read at its last token (the readout position) of the final hidden states.
//   forward:  rewards[r] = dot(hidden[readout[r], :], w)
//   backward: dhidden = 0 except dhidden[readout[r], :] += drewards[r] * w   (overwritten)
//             dw += sum_r drewards[r] * hidden[readout[r], :]              (accumulated)
// The CPU (native/cpu/score.cpp) and CUDA (native/cuda/score.cu, rewardkit/cuda/ops.h) entry points take the same
// ScoreParams, so sizes are set by name and cannot be swapped by position.
#pragma once
#include <string>

#include "rewardkit/common.h"

namespace rk {

struct ScoreParams {
  int64_t tokens;    // T
  int64_t dim;       // D
  int64_t readouts;  // R

  // The sizes check of both backends; readout positions are range-checked where the host can read them (CPU).
  void validate(const char* op) const {
    RK_REQUIRE(op, tokens >= 0, "tokens must be >= 0, got " + std::to_string(tokens));
    RK_REQUIRE(op, dim > 0, "dim must be > 0, got " + std::to_string(dim));
    RK_REQUIRE(op, readouts >= 0, "readouts must be >= 0, got " + std::to_string(readouts));
  }
};

// rewards: [R]   hidden: [T, D]   readout: [R], each in [0, T)   w: [D] (score.weight row)
void score_forward(float* rewards, const float* hidden, const int32_t* readout, const float* w, const ScoreParams& p);
void score_forward(double* rewards, const double* hidden, const int32_t* readout, const double* w,
                   const ScoreParams& p);

// dhidden: [T, D] (overwritten)   dw: [D] (accumulated)   drewards: [R]
void score_backward(float* dhidden, float* dw, const float* drewards, const float* hidden,
                    const int32_t* readout, const float* w, const ScoreParams& p);
void score_backward(double* dhidden, double* dw, const double* drewards, const double* hidden,
                    const int32_t* readout, const double* w, const ScoreParams& p);

}  // namespace rk
