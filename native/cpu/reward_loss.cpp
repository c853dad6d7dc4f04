#include "rewardkit/reward_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

// log(1 + exp(x)) without overflow.
inline double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// Pair loss l(d) and dl/dd.
void pair_loss(const RewardLossParams& p, double d, double* loss, double* grad) {
  const double log_p = -softplus(-d);  // log sigmoid(d)
  const double q = sigmoid(-d);        // 1 - P, exact for large d
  if (p.loss_type == RK_LOSS_RANKING) {
    *loss = -log_p;
    *grad = -q;
    return;
  }
  // focal: f = (1 - 2 max(0, P - 1/2))^gamma = (2 (1 - P))^gamma when P > 1/2, else 1.
  const double P = sigmoid(d);
  if (P <= 0.5) {
    *loss = -log_p;
    *grad = -q;
    return;
  }
  const double base = 2.0 * q;
  const double f = std::pow(base, p.gamma);
  // df/dd = gamma base^(gamma-1) * d(base)/dd,  d(base)/dd = -2 P (1 - P)
  double df = 0.0;
  if (p.gamma != 0.0 && base > 0.0) df = p.gamma * std::pow(base, p.gamma - 1.0) * (-2.0 * P * q);
  *loss = -f * log_p;
  *grad = -(df * log_p + f * q);
}

// Penalty pen(x) and pen'(x).
void penalty(const RewardLossParams& p, double x, double* value, double* grad) {
  if (p.penalty_type == RK_PENALTY_L2) {
    *value = x * x;
    *grad = 2 * x;
    return;
  }
  if (p.penalty_type == RK_PENALTY_NONE) {
    *value = 0;
    *grad = 0;
    return;
  }
  const double delta = 0.01 * (p.upper - p.lower);
  const double a = p.lower + delta, b = p.upper - delta;
  const double x0 = std::min(std::max(x, a), b);  // expansion point (x itself inside the band)
  const double u = x0 - p.lower, w = p.upper - x0;
  const double f0 = -std::log(u) - std::log(w);
  const double f1 = -1.0 / u + 1.0 / w;
  const double f2 = 1.0 / (u * u) + 1.0 / (w * w);
  const double h = x - x0;  // 0 inside the band
  *value = f0 + f1 * h + 0.5 * f2 * h * h;
  *grad = f1 + f2 * h;
}

template <typename T>
void run(const T* rewards, const int32_t* chosen, const int32_t* rejected, const T* margins, T* d_rewards,
         double* stats, const RewardLossParams& p) {
  const int64_t P = p.num_pairs;
  const double inv_p = 1.0 / double(P);
  if (d_rewards) std::fill(d_rewards, d_rewards + p.num_rewards, T(0));
  double pair_sum = 0, pen_sum = 0, center_sum = 0, correct = 0, margin_sum = 0;
  double rmin = std::numeric_limits<double>::infinity(), rmax = -rmin, rsum = 0, csum = 0, jsum = 0;
  for (int64_t i = 0; i < P; ++i) {
    const double rc = rewards[chosen[i]], rr = rewards[rejected[i]];
    const double m = margins ? double(margins[i]) : 0.0;
    double l, dl;
    pair_loss(p, rc - rr - m, &l, &dl);
    double pc = 0, gc = 0, pr = 0, gr = 0;
    penalty(p, rc, &pc, &gc);
    penalty(p, rr, &pr, &gr);
    const double s = rc + rr;
    pair_sum += l;
    pen_sum += 0.5 * (pc + pr);
    center_sum += s * s;
    correct += rc > rr ? 1.0 : 0.0;
    margin_sum += rc - rr;
    rmin = std::min(rmin, std::min(rc, rr));
    rmax = std::max(rmax, std::max(rc, rr));
    rsum += rc + rr;
    csum += rc;
    jsum += rr;
    if (d_rewards) {
      // dL/dr_c and dL/dr_r of this pair's terms (each already divided by P).
      const double center_g = p.center_coef * 2.0 * s;
      const double g_c = (dl + p.penalty_weight * 0.5 * gc + center_g) * inv_p;
      const double g_r = (-dl + p.penalty_weight * 0.5 * gr + center_g) * inv_p;
      // += : one response may take part in several pairs (e.g. best-of-n comparisons).
      d_rewards[chosen[i]] += T(g_c * p.grad_scale);
      d_rewards[rejected[i]] += T(g_r * p.grad_scale);
    }
  }
  stats[RK_STAT_PAIR_LOSS] = pair_sum * inv_p;
  stats[RK_STAT_PENALTY] = pen_sum * inv_p;
  stats[RK_STAT_CENTER] = center_sum * inv_p;
  stats[RK_STAT_LOSS] = stats[RK_STAT_PAIR_LOSS] + p.penalty_weight * stats[RK_STAT_PENALTY] +
                        p.center_coef * stats[RK_STAT_CENTER];
  stats[RK_STAT_ACCURACY] = correct * inv_p;
  stats[RK_STAT_MARGIN] = margin_sum * inv_p;
  stats[RK_STAT_MIN_REWARD] = rmin;
  stats[RK_STAT_MEAN_REWARD] = rsum * 0.5 * inv_p;
  stats[RK_STAT_MAX_REWARD] = rmax;
  stats[RK_STAT_CHOSEN_MEAN] = csum * inv_p;
  stats[RK_STAT_REJECTED_MEAN] = jsum * inv_p;
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
    run(rewards, chosen, rejected, margins, d_rewards, stats, p);                                      \
  }
RK_REWARD_LOSS_API(float)
RK_REWARD_LOSS_API(double)

}  // namespace rk
