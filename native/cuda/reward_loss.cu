// Fused reward loss (forward + backward + stats), mirroring native/cpu/reward_loss.cpp.
#include <string>

#include "common.cuh"
#include "rewardkit/cuda/reward_loss.h"

#if __has_include("rewardkit/reward_loss.h")
#include "rewardkit/reward_loss.h"
static_assert(rk::RK_LOSS_NUM_STATS == rk::cuda::kRewardLossNumStats, "stats layout differs from the CPU reference");
#endif

namespace rk { namespace cuda {

namespace {
// Same numbering as rewardkit/reward_loss.h.
enum : int { kRanking = 0, kFocal = 1 };
enum : int { kPenNone = 0, kPenLogBarrier = 1, kPenL2 = 2 };
enum : int { kLoss = 0, kPairLoss, kPenalty, kCenter, kAccuracy, kMargin, kMinR, kMeanR, kMaxR, kChosenMean,
             kRejectedMean };

struct LossParams {
  int64_t num_rewards, num_pairs;
  int loss_type;
  double gamma;
  int penalty_type;
  double penalty_weight, lower, upper, center_coef, grad_scale;
};

__device__ double softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }
__device__ double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

__device__ void pair_loss(const LossParams& p, double d, double* loss, double* grad) {
  const double log_p = -softplus(-d);
  const double q = sigmoid(-d);
  const double P = sigmoid(d);
  if (p.loss_type == kRanking || P <= 0.5) {
    *loss = -log_p;
    *grad = -q;
    return;
  }
  const double base = 2.0 * q;
  const double f = pow(base, p.gamma);
  double df = 0.0;
  if (p.gamma != 0.0 && base > 0.0) df = p.gamma * pow(base, p.gamma - 1.0) * (-2.0 * P * q);
  *loss = -f * log_p;
  *grad = -(df * log_p + f * q);
}

__device__ void penalty(const LossParams& p, double x, double* value, double* grad) {
  if (p.penalty_type == kPenL2) { *value = x * x; *grad = 2 * x; return; }
  if (p.penalty_type == kPenNone) { *value = 0; *grad = 0; return; }
  const double delta = 0.01 * (p.upper - p.lower);
  const double a = p.lower + delta, b = p.upper - delta;
  const double x0 = fmin(fmax(x, a), b);
  const double u = x0 - p.lower, w = p.upper - x0;
  const double f0 = -log(u) - log(w), f1 = -1.0 / u + 1.0 / w, f2 = 1.0 / (u * u) + 1.0 / (w * w);
  const double h = x - x0;
  *value = f0 + f1 * h + 0.5 * f2 * h * h;
  *grad = f1 + f2 * h;
}

// One thread (grid 1 x 1): serial over pairs in pair order, as the CPU reference (deterministic accumulation
// into d_rewards when a response takes part in several pairs).
__global__ void reward_loss_kernel(const float* rewards, const int32_t* chosen, const int32_t* rejected,
                                   const float* margins, float* d_rewards, double* stats, LossParams p) {
  const double inv_p = 1.0 / double(p.num_pairs);
  if (d_rewards)
    for (int64_t i = 0; i < p.num_rewards; ++i) d_rewards[i] = 0.f;
  for (int64_t i = 0; i < p.num_pairs; ++i) {
    if (chosen[i] < 0 || chosen[i] >= p.num_rewards || rejected[i] < 0 || rejected[i] >= p.num_rewards) {
      for (int s = 0; s < kRewardLossNumStats; ++s) stats[s] = nan("");
      if (d_rewards)
        for (int64_t j = 0; j < p.num_rewards; ++j) d_rewards[j] = 0.f;
      return;
    }
  }
  double pair_sum = 0, pen_sum = 0, center_sum = 0, correct = 0, margin_sum = 0;
  double rmin = INFINITY, rmax = -INFINITY, rsum = 0, csum = 0, jsum = 0;
  for (int64_t i = 0; i < p.num_pairs; ++i) {
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
      const double center_g = p.center_coef * 2.0 * s;
      const double g_c = (dl + p.penalty_weight * 0.5 * gc + center_g) * inv_p;
      const double g_r = (-dl + p.penalty_weight * 0.5 * gr + center_g) * inv_p;
      d_rewards[chosen[i]] += float(g_c * p.grad_scale);
      d_rewards[rejected[i]] += float(g_r * p.grad_scale);
    }
  }
  stats[kPairLoss] = pair_sum * inv_p;
  stats[kPenalty] = pen_sum * inv_p;
  stats[kCenter] = center_sum * inv_p;
  stats[kLoss] = stats[kPairLoss] + p.penalty_weight * stats[kPenalty] + p.center_coef * stats[kCenter];
  stats[kAccuracy] = correct * inv_p;
  stats[kMargin] = margin_sum * inv_p;
  stats[kMinR] = rmin;
  stats[kMeanR] = rsum * 0.5 * inv_p;
  stats[kMaxR] = rmax;
  stats[kChosenMean] = csum * inv_p;
  stats[kRejectedMean] = jsum * inv_p;
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
  RK_ARG(op, loss_type == kRanking || loss_type == kFocal, "unknown loss_type " + std::to_string(loss_type));
  RK_ARG(op, penalty_type >= kPenNone && penalty_type <= kPenL2, "unknown penalty_type " + std::to_string(penalty_type));
  RK_ARG(op, gamma >= 0, "focal gamma must be >= 0");
  RK_ARG(op, penalty_type != kPenLogBarrier || lower < upper, "log_barrier needs lower < upper");
  LossParams p{num_rewards, num_pairs, loss_type, gamma, penalty_type, penalty_weight, lower, upper, center_coef,
               grad_scale};
  RK_KERNEL_LAUNCH(reward_loss_kernel, 1, 1, 0, as_stream(stream))(rewards, chosen, rejected, margins, d_rewards, stats, p);
  RK_LAUNCH_CHECK(op);
}

}}  // namespace rk::cuda
