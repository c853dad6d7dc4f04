#include "rewardkit/reward_loss.h"

#include "rewardkit/reward_loss_math.h"

namespace rk {
namespace {

void validate(const RewardLossParams& p, const int32_t* chosen, const int32_t* rejected) {
  const char* op = "reward_loss";
  RK_REQUIRE(op, p.num_rewards >= 0, "num_rewards must be >= 0");
  RK_REQUIRE(op, p.num_pairs >= 1, "need at least one pair, got " + std::to_string(p.num_pairs));
  RK_REQUIRE(op, p.loss_type == RK_LOSS_RANKING || p.loss_type == RK_LOSS_FOCAL,
             "unknown loss_type " + std::to_string(p.loss_type));
  RK_REQUIRE(op, p.penalty_type >= RK_PENALTY_NONE && p.penalty_type <= RK_PENALTY_L2,
             "unknown penalty_type " + std::to_string(p.penalty_type));
  RK_REQUIRE(op, p.gamma >= 0, "focal gamma must be >= 0");
  RK_REQUIRE(op, p.penalty_type != RK_PENALTY_LOG_BARRIER || p.lower < p.upper,
             "log_barrier needs lower < upper");
  for (int64_t i = 0; i < p.num_pairs; ++i) {
    RK_REQUIRE(op, chosen[i] >= 0 && chosen[i] < p.num_rewards && rejected[i] >= 0 && rejected[i] < p.num_rewards,
               "pair " + std::to_string(i) + " indexes outside rewards [0, " + std::to_string(p.num_rewards) + ")");
  }
}

}  // namespace

#define RK_REWARD_LOSS_API(T)                                                                          \
  void reward_loss_forward_backward(const T* rewards, const int32_t* chosen, const int32_t* rejected,  \
                                    const T* margins, T* d_rewards, double* stats, int64_t num_rewards, \
                                    int64_t num_pairs, int loss_type, double gamma, int penalty_type,  \
                                    double penalty_weight, double lower, double upper,                 \
                                    double center_coef, double grad_scale) {                           \
    const RewardLossParams p{num_rewards, num_pairs, loss_type, gamma, penalty_type,                   \
                             penalty_weight, lower, upper, center_coef, grad_scale};                   \
    RK_REQUIRE("reward_loss", rewards && chosen && rejected && stats, "null buffer");                   \
    validate(p, chosen, rejected);                                                                     \
    loss_math::reward_loss_pairs(rewards, chosen, rejected, margins, d_rewards, stats, p);                                      \
  }
RK_REWARD_LOSS_API(float)
RK_REWARD_LOSS_API(double)

}  // namespace rk
