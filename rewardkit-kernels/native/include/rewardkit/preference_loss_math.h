// The arithmetic of the fused preference losses (definitions in preference_loss.h), header-only so the CPU
// reference (native/cpu/preference_loss.cpp) and the CUDA kernel (native/cuda/preference_loss.cu) run the very
// same code: serial, in double, in pair/response order. Arguments are validated by the callers.
#pragma once
#include <cmath>
#include <cstdint>

#include "rewardkit/preference_loss.h"
#include "rewardkit/reward_loss_math.h"  // softplus, sigmoid, RK_HD

namespace rk {
namespace pref_math {

using loss_math::sigmoid;
using loss_math::softplus;

// sig(x) = -(1 - ε) log σ(x) - ε log σ(-x) and its derivative.
RK_HD inline void smoothed_sigmoid_loss(double x, double eps, double* loss, double* grad) {
  *loss = (1.0 - eps) * softplus(-x) + eps * softplus(x);
  *grad = -(1.0 - eps) * sigmoid(-x) + eps * sigmoid(x);
}

// log(1 - e^a) for a < 0, branching at -ln 2 as TRL's log1mexp does to avoid cancellation.
RK_HD inline double log1mexp(double a) { return a < -0.6931471805599453 ? log1p(-exp(a)) : log(-expm1(a)); }

RK_HD inline bool has_reference(int type) { return type == RK_PREF_DPO || type == RK_PREF_IPO || type == RK_PREF_KTO; }
RK_HD inline bool averaged(int type) { return type == RK_PREF_SIMPO || type == RK_PREF_ORPO; }

// TRL's logged reward of one response.
template <typename T>
RK_HD double reward(const T* logps, const T* ref, const int32_t* lengths, int64_t s, const PreferenceLossParams& p) {
  if (has_reference(p.loss_type)) return p.beta * (double(logps[s]) - double(ref[s]));
  if (averaged(p.loss_type)) return p.beta * double(logps[s]) / lengths[s];
  return p.beta * double(logps[s]);
}

// The log-prob TRL logs as logps/chosen, logps/rejected (averages where the loss uses averages).
template <typename T>
RK_HD double logged_logp(const T* logps, const int32_t* lengths, int64_t s, const PreferenceLossParams& p) {
  return averaged(p.loss_type) ? double(logps[s]) / lengths[s] : double(logps[s]);
}

template <typename T>
RK_HD void preference_loss(const T* logps, const T* ref, const int32_t* lengths, const T* prompt_logps,
                           const int32_t* prompt_lengths, const int32_t* chosen, const int32_t* rejected,
                           const int32_t* labels, const T* kl_logps, const T* ref_kl_logps, T* d_logps,
                           T* d_prompt_logps, double* stats, const PreferenceLossParams& p) {
  const double nan = NAN;
  for (int s = 0; s < RK_PREF_NUM_STATS; ++s) stats[s] = nan;
  const int64_t S = p.num_responses;
  // d_logps is zeroed, then every term adds its share in order (a response may be in several pairs).
  if (d_logps)
    for (int64_t s = 0; s < S; ++s) d_logps[s] = T(0);
  if (d_prompt_logps)
    for (int64_t s = 0; s < S; ++s) d_prompt_logps[s] = T(0);
  const double gs = p.grad_scale;

  if (p.loss_type == RK_PREF_KTO) {
    double z = 0.0;
    if (p.num_kl > 0) {
      double kl_sum = 0;
      for (int64_t k = 0; k < p.num_kl; ++k) kl_sum += double(kl_logps[k]) - double(ref_kl_logps[k]);
      z = fmax(0.0, kl_sum / double(p.num_kl));
    }
    double loss = 0, rc = 0, rr = 0, lc = 0, lr = 0;
    int64_t nc = 0, nr = 0;
    for (int64_t s = 0; s < S; ++s) {
      const double delta = double(logps[s]) - double(ref[s]);
      const bool desirable = labels[s] != 0;
      const double w = desirable ? p.desirable_weight : p.undesirable_weight;
      const double x = desirable ? p.beta * (delta - z) : p.beta * (z - delta);
      const double sx = sigmoid(x), sm = sigmoid(-x);
      loss += w * sm;  // 1 - σ(x) = σ(-x), exact for large x
      if (d_logps) {
        const double dx = desirable ? p.beta : -p.beta;  // ∂x/∂logps
        d_logps[s] += T(gs * (-w * sx * sm * dx) / double(S));
      }
      if (desirable) {
        rc += p.beta * delta;
        lc += double(logps[s]);
        ++nc;
      } else {
        rr += p.beta * delta;
        lr += double(logps[s]);
        ++nr;
      }
    }
    stats[RK_PREF_STAT_LOSS] = loss / double(S);
    if (nc > 0) {
      stats[RK_PREF_STAT_REWARDS_CHOSEN] = rc / double(nc);
      stats[RK_PREF_STAT_LOGPS_CHOSEN] = lc / double(nc);
    }
    if (nr > 0) {
      stats[RK_PREF_STAT_REWARDS_REJECTED] = rr / double(nr);
      stats[RK_PREF_STAT_LOGPS_REJECTED] = lr / double(nr);
    }
    if (nc > 0 && nr > 0) stats[RK_PREF_STAT_MARGINS] = rc / double(nc) - rr / double(nr);
    stats[RK_PREF_STAT_KL] = z;
    return;
  }

  const int64_t P = p.num_pairs;
  const double inv_p = 1.0 / double(P);
  double loss = 0, rc_sum = 0, rr_sum = 0, correct = 0, lc_sum = 0, lr_sum = 0, lo_ratio = 0, lo_chosen = 0;
  for (int64_t i = 0; i < P; ++i) {
    const int64_t c = chosen[i], r = rejected[i];
    const double lc = double(logps[c]), lr = double(logps[r]);
    const double nc = lengths[c], nr = lengths[r];
    double l = 0, gc = 0, gr = 0;  // pair loss and its derivatives wrt logps[c], logps[r]
    switch (p.loss_type) {
      case RK_PREF_DPO: {
        const double delta = (lc - double(ref[c])) - (lr - double(ref[r]));
        double dl;
        smoothed_sigmoid_loss(p.beta * delta, p.label_smoothing, &l, &dl);
        gc = dl * p.beta;
        gr = -gc;
        break;
      }
      case RK_PREF_IPO: {
        const double x = (lc - double(ref[c])) / nc - (lr - double(ref[r])) / nr - 1.0 / (2.0 * p.beta);
        l = x * x;
        gc = 2.0 * x / nc;
        gr = -2.0 * x / nr;
        break;
      }
      case RK_PREF_CPO: {
        double dl;
        smoothed_sigmoid_loss(p.beta * (lc - lr), p.label_smoothing, &l, &dl);
        gc = dl * p.beta;
        gr = -gc;
        break;
      }
      case RK_PREF_SIMPO: {
        double dl;
        smoothed_sigmoid_loss(p.beta * (lc / nc - lr / nr) - p.simpo_gamma, p.label_smoothing, &l, &dl);
        gc = dl * p.beta / nc;
        gr = -dl * p.beta / nr;
        break;
      }
      default: {  // RK_PREF_ORPO: l = -β log σ(x) (the NLL is added below)
        const double ac = lc / nc, ar = lr / nr;
        const double x = (ac - ar) - (log1mexp(ac) - log1mexp(ar));
        const double log_sig = -softplus(-x);
        l = -p.beta * log_sig;
        const double dl = -p.beta * sigmoid(-x);
        // ∂x/∂a = 1 - d log(1 - e^a)/da = 1 + 1 / expm1(-a)
        gc = dl * (1.0 + 1.0 / expm1(-ac)) / nc;
        gr = -dl * (1.0 + 1.0 / expm1(-ar)) / nr;
        lo_ratio += log_sig;
        lo_chosen += x;
        break;
      }
    }
    loss += l;
    if (d_logps) {
      d_logps[c] += T(gs * gc * inv_p);
      d_logps[r] += T(gs * gr * inv_p);
    }
    const double wc = reward(logps, ref, lengths, c, p), wr = reward(logps, ref, lengths, r, p);
    rc_sum += wc;
    rr_sum += wr;
    correct += wc > wr ? 1.0 : 0.0;
    lc_sum += logged_logp(logps, lengths, c, p);
    lr_sum += logged_logp(logps, lengths, r, p);
  }
  loss *= inv_p;
  // NLL over the chosen responses' tokens: ORPO always (with the prompt tokens), DPO (rpo_alpha), CPO and SimPO
  // (cpo_alpha) when weighted.
  const bool orpo = p.loss_type == RK_PREF_ORPO;
  const double nll_w = orpo ? 1.0 : (p.loss_type == RK_PREF_IPO ? 0.0 : p.nll_alpha);
  if (nll_w != 0.0) {
    double tokens = 0, sum = 0;
    for (int64_t i = 0; i < P; ++i) {
      tokens += lengths[chosen[i]];
      sum += double(logps[chosen[i]]);
      if (orpo) {
        tokens += prompt_lengths[chosen[i]];
        sum += double(prompt_logps[chosen[i]]);
      }
    }
    const double nll = -sum / tokens;
    loss += nll_w * nll;
    stats[RK_PREF_STAT_NLL] = nll;
    for (int64_t i = 0; i < P; ++i) {
      if (d_logps) d_logps[chosen[i]] += T(gs * (-nll_w / tokens));
      if (orpo && d_prompt_logps) d_prompt_logps[chosen[i]] += T(gs * (-nll_w / tokens));
    }
  }
  stats[RK_PREF_STAT_LOSS] = loss;
  stats[RK_PREF_STAT_REWARDS_CHOSEN] = rc_sum * inv_p;
  stats[RK_PREF_STAT_REWARDS_REJECTED] = rr_sum * inv_p;
  stats[RK_PREF_STAT_ACCURACIES] = correct * inv_p;
  stats[RK_PREF_STAT_MARGINS] = (rc_sum - rr_sum) * inv_p;
  stats[RK_PREF_STAT_LOGPS_CHOSEN] = lc_sum * inv_p;
  stats[RK_PREF_STAT_LOGPS_REJECTED] = lr_sum * inv_p;
  if (p.loss_type == RK_PREF_ORPO) {
    stats[RK_PREF_STAT_LOG_ODDS_RATIO] = lo_ratio * inv_p;
    stats[RK_PREF_STAT_LOG_ODDS_CHOSEN] = lo_chosen * inv_p;
  }
}

}  // namespace pref_math
}  // namespace rk
