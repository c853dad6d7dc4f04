// Scalar value head (HF *ForSequenceClassification with num_labels = 1, no bias): one reward per
// scored response, read at its last token (the readout position) of the final hidden states.
//   forward:  rewards[r] = dot(hidden[readout[r], :], w)
//   backward: dhidden = 0 except dhidden[readout[r], :] += drewards[r] * w   (overwritten)
//             dw += sum_r drewards[r] * hidden[readout[r], :]              (accumulated)
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct ScoreParams {
  int64_t tokens;    // T
  int64_t dim;       // D
  int64_t readouts;  // R
};

// rewards: [R]   hidden: [T, D]   readout: [R], each in [0, T)   w: [D] (score.weight row)
void score_forward(float* rewards, const float* hidden, const int32_t* readout, const float* w,
                   int64_t tokens, int64_t dim, int64_t readouts);
void score_forward(double* rewards, const double* hidden, const int32_t* readout, const double* w,
                   int64_t tokens, int64_t dim, int64_t readouts);

// dhidden: [T, D] (overwritten)   dw: [D] (accumulated)   drewards: [R]
void score_backward(float* dhidden, float* dw, const float* drewards, const float* hidden,
                    const int32_t* readout, const float* w,
                    int64_t tokens, int64_t dim, int64_t readouts);
void score_backward(double* dhidden, double* dw, const double* drewards, const double* hidden,
                    const int32_t* readout, const double* w,
                    int64_t tokens, int64_t dim, int64_t readouts);

}  // namespace rk
