// Fused reward-model loss on the GPU: the semantics of rewardkit/reward_loss.h (training helper's
// CPU reference) on device buffers, so the rewards never leave the GPU during training.
//   ranking:  l_p = -log sigmoid(d_p),  d_p = r[chosen[p]] - r[rejected[p]] - margin_p
//   focal:    l_p = -(1 - 2 max(0, P - 1/2))^gamma log P,  P = sigmoid(d_p)
//   L = mean l_p + penalty_weight * mean (pen(r_c) + pen(r_r)) / 2 + center_coef * mean (r_c + r_r)^2
// with pen = none | log_barrier (Taylor-continued outside the 1% band) | l2, exactly as on the CPU.
// Arithmetic is double and serial over pairs (one GPU thread; P is small), so the result is
// deterministic and matches the CPU reference up to libm differences in the last ulp.
// d_rewards [R] (nullable) is OVERWRITTEN with grad_scale * dL/dr; stats [11] double on the device,
// laid out as RewardLossStat (stats[0] = L, 4 = accuracy, ...). Pair indices are checked on the
// device: an index outside [0, R) makes every stat NaN and d_rewards zero (the caller checks stats[0]).
#pragma once
#include <cstdint>

namespace rk { namespace cuda {

constexpr int kRewardLossNumStats = 11;

void reward_loss_forward_backward(const float* rewards, const int32_t* chosen, const int32_t* rejected,
                                  const float* margins, float* d_rewards, double* stats, int64_t num_rewards,
                                  int64_t num_pairs, int loss_type, double gamma, int penalty_type,
                                  double penalty_weight, double lower, double upper, double center_coef,
                                  double grad_scale, void* stream);

}}  // namespace rk::cuda
