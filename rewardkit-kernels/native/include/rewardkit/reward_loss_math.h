// The arithmetic of the fused reward loss (see reward_loss.h for the definitions), header-only so the
// CPU reference (native/cpu/reward_loss.cpp) and the CUDA kernel (native/cuda/reward_loss.cu) run the
// very same code: serial over pairs, in double, in pair order (deterministic accumulation into
// d_rewards when a response takes part in several pairs). Arguments are validated by the callers.
#pragma once
#include <cmath>
#include <cstdint>

#include "rewardkit/reward_loss.h"

#ifdef __CUDACC__
#define RK_HD __host__ __device__
#else
#define RK_HD
#endif

namespace rk {
namespace loss_math {

// log(1 + exp(x)) without overflow.
RK_HD inline double softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

RK_HD inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

// Pair loss l(d) and dl/dd.
RK_HD inline void pair_loss(const RewardLossParams& p, double d, double* loss, double* grad) {
  const double log_p = -softplus(-d);  // log sigmoid(d)
  const double q = sigmoid(-d);        // 1 - P, exact for large d
  const double P = sigmoid(d);
  // focal: f = (1 - 2 max(0, P - 1/2))^gamma = (2 (1 - P))^gamma when P > 1/2, else 1 (= ranking).
  if (p.loss_type == RK_LOSS_RANKING || P <= 0.5) {
    *loss = -log_p;
    *grad = -q;
    return;
  }
  const double base = 2.0 * q;
  const double f = pow(base, p.gamma);
  // df/dd = gamma base^(gamma-1) * d(base)/dd,  d(base)/dd = -2 P (1 - P)
  double df = 0.0;
  if (p.gamma != 0.0 && base > 0.0) df = p.gamma * pow(base, p.gamma - 1.0) * (-2.0 * P * q);
  *loss = -f * log_p;
  *grad = -(df * log_p + f * q);
}

// Penalty pen(x) and pen'(x). The log-barrier continues as its second-order expansion outside
// [lower + delta, upper - delta], so an escaped score still gets a restoring gradient.
RK_HD inline void penalty(const RewardLossParams& p, double x, double* value, double* grad) {
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
  const double x0 = fmin(fmax(x, a), b);  // expansion point (x itself inside the band)
  const double u = x0 - p.lower, w = p.upper - x0;
  const double f0 = -log(u) - log(w);
  const double f1 = -1.0 / u + 1.0 / w;
  const double f2 = 1.0 / (u * u) + 1.0 / (w * w);
  const double h = x - x0;  // 0 inside the band
  *value = f0 + f1 * h + 0.5 * f2 * h * h;
  *grad = f1 + f2 * h;
}

// rewards: [R]   chosen, rejected: [P]   margins: [P] or null   d_rewards: [R] or null (overwritten)
// stats: [RK_LOSS_NUM_STATS] (overwritten)
template <typename T>
RK_HD void reward_loss_pairs(const T* rewards, const int32_t* chosen, const int32_t* rejected, const T* margins,
                             T* d_rewards, double* stats, const RewardLossParams& p) {
  const int64_t P = p.num_pairs;
  const double inv_p = 1.0 / double(P);
  if (d_rewards)
    for (int64_t i = 0; i < p.num_rewards; ++i) d_rewards[i] = T(0);
  double pair_sum = 0, pen_sum = 0, center_sum = 0, correct = 0, margin_sum = 0;
  double rmin = INFINITY, rmax = -INFINITY, rsum = 0, csum = 0, jsum = 0;
  for (int64_t i = 0; i < P; ++i) {
    const double rc = rewards[chosen[i]], rr = rewards[rejected[i]];
    const double m = margins ? double(margins[i]) : 0.0;
    double l, dl, pc = 0, gc = 0, pr = 0, gr = 0;
    pair_loss(p, rc - rr - m, &l, &dl);
    penalty(p, rc, &pc, &gc);
    penalty(p, rr, &pr, &gr);
    const double s = rc + rr;
    pair_sum += l;
    pen_sum += 0.5 * (pc + pr);
    center_sum += s * s;
    correct += rc > rr ? 1.0 : 0.0;
    margin_sum += rc - rr;
    rmin = fmin(rmin, fmin(rc, rr));
    rmax = fmax(rmax, fmax(rc, rr));
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

}  // namespace loss_math
}  // namespace rk
