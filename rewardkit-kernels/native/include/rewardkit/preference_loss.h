// Fused direct-preference losses (DPO, IPO, CPO, SimPO, ORPO, KTO): forward, backward and TRL's metrics from
// the per-response log-probabilities of a packed batch. The arithmetic is preference_loss_math.h, shared with
// the CUDA kernel; definitions follow TRL 1.13 (DPOTrainer, experimental CPOTrainer / ORPOTrainer, KTOTrainer).
//
// Inputs per response s in [0, S): logps[s] = Σ of the policy's log-probs of its response tokens, ref_logps[s]
// the reference's (null for the reference-free losses), lengths[s] = its number of response tokens (>= 1).
// Paired losses take pairs (chosen[p], rejected[p]) indexing responses; KTO takes labels[s] (1 desirable,
// 0 undesirable) and the KL estimate z = max(0, mean_k(kl_logps[k] - ref_kl_logps[k])) over mismatched
// (prompt, completion) sequences, a constant for the gradient (detached in TRL). With ε = label_smoothing,
// sig(x) = -(1 - ε) log σ(x) - ε log σ(-x) (conservative DPO / CPO), avg = logps / lengths, and
// NLL = -Σ_p logps[c_p] / Σ_p lengths[c_p] (cross-entropy over all chosen response tokens, as TRL's "sft"):
//   dpo:   l_p = sig(β Δ),  Δ = (logps_c - ref_c) - (logps_r - ref_r);  L = mean l_p + rpo_alpha NLL
//   ipo:   l_p = (Δ_c / len_c - Δ_r / len_r - 1 / (2β))²  with Δ_x = logps_x - ref_x;  L = mean l_p
//   cpo:   l_p = sig(β (logps_c - logps_r));  L = mean l_p + cpo_alpha NLL
//   simpo: l_p = sig(β (avg_c - avg_r) - γ);  L = mean l_p + cpo_alpha NLL          (γ = simpo_gamma)
//   orpo:  L = NLL_full - β mean log σ(x_p),  x_p = (avg_c - avg_r) - (log(1 - e^avg_c) - log(1 - e^avg_r)),
//          NLL_full = -Σ_p (prompt_logps[c_p] + logps[c_p]) / Σ_p (prompt_lengths[c_p] + lengths[c_p]): TRL's ORPO
//          takes the NLL over the whole chosen sequence (its prompt tokens after the first, then the response)
//   kto:   l_s = w_d (1 - σ(β (Δ_s - z))) if desirable, w_u (1 - σ(β (z - Δ_s))) if not;  L = mean_s l_s
// rewards (TRL's logging): β Δ_s with a reference (dpo, ipo, kto), β logps_s (cpo), β avg_s (simpo, orpo).
// d_logps [S] (optional) is OVERWRITTEN with grad_scale · ∂L/∂logps (a response's tokens all share it);
// d_prompt_logps [S] (optional, orpo) likewise with ∂L/∂prompt_logps (zero for rejected responses).
// Arithmetic in double, serial in pair/response order: deterministic.
#pragma once
#include "rewardkit/common.h"

namespace rk {

enum PreferenceLossType : int {
  RK_PREF_DPO = 0,
  RK_PREF_IPO = 1,
  RK_PREF_CPO = 2,
  RK_PREF_SIMPO = 3,
  RK_PREF_ORPO = 4,
  RK_PREF_KTO = 5,
};

// Layout of the stats output [RK_PREF_NUM_STATS]; TRL's metric names. NaN where a metric does not apply
// (e.g. accuracies for KTO, nll_loss when its weight is 0 for dpo/cpo/simpo, rewards/chosen without chosen rows).
enum PreferenceLossStat : int {
  RK_PREF_STAT_LOSS = 0,              // loss
  RK_PREF_STAT_REWARDS_CHOSEN = 1,    // rewards/chosen
  RK_PREF_STAT_REWARDS_REJECTED = 2,  // rewards/rejected
  RK_PREF_STAT_ACCURACIES = 3,        // rewards/accuracies (chosen reward > rejected reward, strict)
  RK_PREF_STAT_MARGINS = 4,           // rewards/margins
  RK_PREF_STAT_LOGPS_CHOSEN = 5,      // logps/chosen (sums; averages for simpo and orpo, as TRL)
  RK_PREF_STAT_LOGPS_REJECTED = 6,    // logps/rejected
  RK_PREF_STAT_NLL = 7,               // nll_loss
  RK_PREF_STAT_LOG_ODDS_RATIO = 8,    // log_odds_ratio (orpo: mean log σ(x))
  RK_PREF_STAT_LOG_ODDS_CHOSEN = 9,   // log_odds_chosen (orpo: mean x)
  RK_PREF_STAT_KL = 10,               // kl (kto)
  RK_PREF_NUM_STATS = 11
};

struct PreferenceLossParams {
  int64_t num_responses;  // S
  int64_t num_pairs;      // P (paired losses; 0 for kto)
  int64_t num_kl;         // K (kto: mismatched sequences for the KL estimate; 0 = no estimate, z = 0)
  int loss_type;          // PreferenceLossType
  double beta;
  double label_smoothing;  // ε (dpo, cpo, simpo)
  double nll_alpha;        // rpo_alpha (dpo) / cpo_alpha (cpo, simpo); orpo always weighs its NLL by 1
  double simpo_gamma;      // γ (simpo)
  double desirable_weight, undesirable_weight;  // kto
  double grad_scale;
};

// logps, lengths: [S]   ref_logps: [S] or null (cpo, simpo, orpo)   chosen, rejected: [P] (paired) or null
// prompt_logps, prompt_lengths: [S] (orpo: Σ log-probs and count of each response's prompt tokens after the first)
// or null   labels: [S] (kto) or null   kl_logps, ref_kl_logps: [K] or null   d_logps, d_prompt_logps: [S] or null
// stats: [RK_PREF_NUM_STATS]
void preference_loss_forward_backward(const float* logps, const float* ref_logps, const int32_t* lengths,
                                      const float* prompt_logps, const int32_t* prompt_lengths, const int32_t* chosen,
                                      const int32_t* rejected, const int32_t* labels, const float* kl_logps,
                                      const float* ref_kl_logps, float* d_logps, float* d_prompt_logps, double* stats,
                                      int64_t num_responses, int64_t num_pairs, int64_t num_kl, int loss_type,
                                      double beta, double label_smoothing, double nll_alpha, double simpo_gamma,
                                      double desirable_weight, double undesirable_weight, double grad_scale);
void preference_loss_forward_backward(const double* logps, const double* ref_logps, const int32_t* lengths,
                                      const double* prompt_logps, const int32_t* prompt_lengths, const int32_t* chosen,
                                      const int32_t* rejected, const int32_t* labels, const double* kl_logps,
                                      const double* ref_kl_logps, double* d_logps, double* d_prompt_logps, double* stats,
                                      int64_t num_responses, int64_t num_pairs, int64_t num_kl, int loss_type,
                                      double beta, double label_smoothing, double nll_alpha, double simpo_gamma,
                                      double desirable_weight, double undesirable_weight, double grad_scale);

}  // namespace rk
