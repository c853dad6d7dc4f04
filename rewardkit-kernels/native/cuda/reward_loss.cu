// Fused reward loss (forward + backward + stats): the arithmetic is rewardkit/reward_loss_math.h,
// shared with the CPU reference, run by one GPU thread.
#include <string>

#include "common.cuh"
#include "rewardkit/cuda/reward_loss.h"

#include "rewardkit/reward_loss_math.h"
static_assert(rk::RK_LOSS_NUM_STATS == rk::cuda::kRewardLossNumStats, "stats layout differs from the CPU reference");

namespace rk { namespace cuda {

namespace {
// One thread (grid 1 x 1): serial over pairs in pair order, as the CPU reference (deterministic accumulation
// into d_rewards when a response takes part in several pairs).
__global__ void reward_loss_kernel(const float* rewards, const int32_t* chosen, const int32_t* rejected,
                                   const float* margins, float* d_rewards, double* stats, RewardLossParams p) {
  // Indices are device data: a bad one yields NaN stats (and zero gradients) instead of a wild read.
  for (int64_t i = 0; i < p.num_pairs; ++i) {
    if (chosen[i] < 0 || chosen[i] >= p.num_rewards || rejected[i] < 0 || rejected[i] >= p.num_rewards) {
      for (int s = 0; s < kRewardLossNumStats; ++s) stats[s] = nan("");
      if (d_rewards)
        for (int64_t j = 0; j < p.num_rewards; ++j) d_rewards[j] = 0.f;
      return;
    }
  }
  loss_math::reward_loss_pairs(rewards, chosen, rejected, margins, d_rewards, stats, p);
}
}  // namespace

void reward_loss_forward_backward(const float* rewards, const int32_t* chosen, const int32_t* rejected,
                                  const float* margins, float* d_rewards, double* stats, int64_t num_rewards,
                                  int64_t num_pairs, int loss_type, double gamma, int penalty_type,
                                  double penalty_weight, double lower, double upper, double center_coef,
                                  double grad_scale, void* stream) {
  const char* op = "reward_loss";
  RK_ARG(op, rewards && chosen && rejected && stats, "null buffer");
  RK_ARG(op, num_rewards >= 0, "num_rewards must be >= 0");
  RK_ARG(op, num_pairs >= 1, "need at least one pair, got " + std::to_string(num_pairs));
  RK_ARG(op, loss_type == RK_LOSS_RANKING || loss_type == RK_LOSS_FOCAL, "unknown loss_type " + std::to_string(loss_type));
  RK_ARG(op, penalty_type >= RK_PENALTY_NONE && penalty_type <= RK_PENALTY_L2, "unknown penalty_type " + std::to_string(penalty_type));
  RK_ARG(op, gamma >= 0, "focal gamma must be >= 0");
  RK_ARG(op, penalty_type != RK_PENALTY_LOG_BARRIER || lower < upper, "log_barrier needs lower < upper");
  RewardLossParams p{num_rewards, num_pairs, loss_type, gamma, penalty_type, penalty_weight, lower, upper, center_coef,
               grad_scale};
  RK_KERNEL_LAUNCH(reward_loss_kernel, 1, 1, 0, as_stream(stream))(rewards, chosen, rejected, margins, d_rewards, stats, p);
  RK_LAUNCH_CHECK(op);
}

}}  // namespace rk::cuda
