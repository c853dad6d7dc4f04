#include "rewardkit/preference_loss.h"

#include "rewardkit/preference_loss_math.h"

namespace rk {
namespace {

template <typename T>
void validate(const PreferenceLossParams& p, const T* logps, const T* ref, const int32_t* lengths, const T* prompt_logps,
              const int32_t* prompt_lengths, const int32_t* chosen, const int32_t* rejected, const int32_t* labels,
              const T* kl, const T* ref_kl) {
  const char* op = "preference_loss";
  RK_REQUIRE(op, p.loss_type >= RK_PREF_DPO && p.loss_type <= RK_PREF_KTO, "unknown loss_type " + std::to_string(p.loss_type));
  RK_REQUIRE(op, p.num_responses >= 1, "need at least one response");
  RK_REQUIRE(op, logps && lengths, "null buffer");
  RK_REQUIRE(op, p.beta > 0, "beta must be > 0, got " + std::to_string(p.beta));
  RK_REQUIRE(op, p.label_smoothing >= 0 && p.label_smoothing < 0.5,
             "label_smoothing must be in [0, 0.5), got " + std::to_string(p.label_smoothing));
  RK_REQUIRE(op, !pref_math::has_reference(p.loss_type) || ref, "this loss needs reference log-probs");
  for (int64_t s = 0; s < p.num_responses; ++s)
    RK_REQUIRE(op, lengths[s] >= 1, "response " + std::to_string(s) + " has no tokens (lengths[s] = " +
                                        std::to_string(lengths[s]) + ")");
  if (p.loss_type == RK_PREF_KTO) {
    RK_REQUIRE(op, labels, "kto needs labels");
    RK_REQUIRE(op, p.num_kl == 0 || (kl && ref_kl), "kto: null KL buffers");
    for (int64_t s = 0; s < p.num_responses; ++s)
      RK_REQUIRE(op, labels[s] == 0 || labels[s] == 1, "labels[" + std::to_string(s) + "] must be 0 or 1");
    return;
  }
  RK_REQUIRE(op, p.num_pairs >= 1 && chosen && rejected, "need at least one pair");
  if (p.loss_type == RK_PREF_ORPO) {
    RK_REQUIRE(op, prompt_logps && prompt_lengths, "orpo needs the prompt log-probs (its NLL covers the whole chosen sequence)");
    for (int64_t s = 0; s < p.num_responses; ++s)
      RK_REQUIRE(op, prompt_lengths[s] >= 0, "prompt_lengths[" + std::to_string(s) + "] must be >= 0");
  }
  for (int64_t i = 0; i < p.num_pairs; ++i)
    RK_REQUIRE(op, chosen[i] >= 0 && chosen[i] < p.num_responses && rejected[i] >= 0 && rejected[i] < p.num_responses,
               "pair " + std::to_string(i) + " indexes outside responses [0, " + std::to_string(p.num_responses) + ")");
}

}  // namespace

#define RK_PREFERENCE_LOSS_API(T)                                                                                    \
  void preference_loss_forward_backward(const T* logps, const T* ref_logps, const int32_t* lengths,                 \
                                        const T* prompt_logps, const int32_t* prompt_lengths, const int32_t* chosen,\
                                        const int32_t* rejected, const int32_t* labels, const T* kl_logps,          \
                                        const T* ref_kl_logps, T* d_logps, T* d_prompt_logps, double* stats,        \
                                        int64_t num_responses, int64_t num_pairs, int64_t num_kl, int loss_type,    \
                                        double beta, double label_smoothing, double nll_alpha, double simpo_gamma,  \
                                        double desirable_weight, double undesirable_weight, double grad_scale) {    \
    const PreferenceLossParams p{num_responses,   num_pairs, num_kl,      loss_type,        beta,                   \
                                 label_smoothing, nll_alpha, simpo_gamma, desirable_weight, undesirable_weight,     \
                                 grad_scale};                                                                       \
    RK_REQUIRE("preference_loss", stats, "null buffer");                                                            \
    validate(p, logps, ref_logps, lengths, prompt_logps, prompt_lengths, chosen, rejected, labels, kl_logps,        \
             ref_kl_logps);                                                                                         \
    pref_math::preference_loss(logps, ref_logps, lengths, prompt_logps, prompt_lengths, chosen, rejected, labels,   \
                               kl_logps, ref_kl_logps, d_logps, d_prompt_logps, stats, p);                          \
  }
RK_PREFERENCE_LOSS_API(float)
RK_PREFERENCE_LOSS_API(double)

}  // namespace rk
