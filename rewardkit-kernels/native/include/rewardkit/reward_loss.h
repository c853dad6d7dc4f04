// Fused reward-model loss: forward and backward from the readout rewards of a packed batch.
//
// For each pair p with d_p = r[chosen[p]] - r[rejected[p]] - m_p:
//   ranking:  l_p = -log sigmoid(d_p)                              (Bradley-Terry, stable softplus form)
//   focal:    l_p = -(1 - 2 max(0, P - 1/2))^gamma * log P,  P = sigmoid(d_p)   (InternLM2)
// Total loss (what training minimises):
//   L = mean_p l_p
//     + penalty_weight * mean_p (pen(r_c) + pen(r_r)) / 2          pen: none | log_barrier | l2
//     + center_coef    * mean_p (r_c + r_r)^2                       (TRL center_rewards_coefficient)
//   log_barrier: pen(x) = -log(x - lo) - log(hi - x) inside [lo + delta, hi - delta], delta = 1% of
//   (hi - lo); outside that band it continues as its second-order Taylor expansion, so a score that
//   escapes the bounds is pulled back (XTuner clamps x and loses the gradient there).
//   l2: pen(x) = x^2.
// d_rewards (optional) is OVERWRITTEN with grad_scale * dL/dr (zero for readouts in no pair);
// grad_scale lets gradient accumulation weight micro-batches by their share of the step's pairs.
// All arithmetic is in double and serial (P is small), so results are deterministic.
#pragma once
#include "rewardkit/common.h"

namespace rk {

enum RewardLossType : int { RK_LOSS_RANKING = 0, RK_LOSS_FOCAL = 1 };
enum RewardPenaltyType : int { RK_PENALTY_NONE = 0, RK_PENALTY_LOG_BARRIER = 1, RK_PENALTY_L2 = 2 };

// Layout of the stats output [RK_LOSS_NUM_STATS].
enum RewardLossStat : int {
  RK_STAT_LOSS = 0,        // L (total, batch mean)
  RK_STAT_PAIR_LOSS = 1,   // mean_p l_p
  RK_STAT_PENALTY = 2,     // mean penalty (before penalty_weight)
  RK_STAT_CENTER = 3,      // mean (r_c + r_r)^2 (before center_coef)
  RK_STAT_ACCURACY = 4,    // fraction of pairs with r_c > r_r (strict; ties count as wrong)
  RK_STAT_MARGIN = 5,      // mean (r_c - r_r)
  RK_STAT_MIN_REWARD = 6,  // over the 2P paired rewards
  RK_STAT_MEAN_REWARD = 7,
  RK_STAT_MAX_REWARD = 8,
  RK_STAT_CHOSEN_MEAN = 9,
  RK_STAT_REJECTED_MEAN = 10,
  RK_LOSS_NUM_STATS = 11
};

struct RewardLossParams {
  int64_t num_rewards;    // R
  int64_t num_pairs;      // P (>= 1)
  int loss_type;          // RewardLossType
  double gamma;           // focal exponent (>= 0)
  int penalty_type;       // RewardPenaltyType
  double penalty_weight;
  double lower, upper;    // log-barrier bounds, lower < upper
  double center_coef;
  double grad_scale;
};

// rewards: [R]   chosen, rejected: [P] (indices into rewards)   margins: [P] or null (all zero)
// d_rewards: [R] or null (forward only; overwritten)   stats: [RK_LOSS_NUM_STATS] (overwritten)
void reward_loss_forward_backward(const float* rewards, const int32_t* chosen, const int32_t* rejected,
                                  const float* margins, float* d_rewards, double* stats,
                                  int64_t num_rewards, int64_t num_pairs, int loss_type, double gamma,
                                  int penalty_type, double penalty_weight, double lower, double upper,
                                  double center_coef, double grad_scale);
void reward_loss_forward_backward(const double* rewards, const int32_t* chosen, const int32_t* rejected,
                                  const double* margins, double* d_rewards, double* stats,
                                  int64_t num_rewards, int64_t num_pairs, int loss_type, double gamma,
                                  int penalty_type, double penalty_weight, double lower, double upper,
                                  double center_coef, double grad_scale);

}  // namespace rk
