// Fused preference losses (forward + backward + TRL metrics): the arithmetic is rewardkit/preference_loss_math.h,
// shared with the CPU reference, run by one GPU thread.
#include <string>

#include "common.cuh"
#include "rewardkit/cuda/preference_loss.h"

#include "rewardkit/preference_loss_math.h"
static_assert(rk::RK_PREF_NUM_STATS == rk::cuda::kPreferenceLossNumStats, "stats layout differs from the CPU reference");

namespace rk { namespace cuda {

namespace {
__global__ void preference_loss_kernel(const float* logps, const float* ref, const int32_t* lengths,
                                       const float* prompt_logps, const int32_t* prompt_lengths, const int32_t* chosen,
                                       const int32_t* rejected, const int32_t* labels, const float* kl,
                                       const float* ref_kl, float* d_logps, float* d_prompt_logps, double* stats,
                                       PreferenceLossParams p) {
  bool ok = true;
  for (int64_t s = 0; s < p.num_responses; ++s) {
    if (lengths[s] < 1) ok = false;
    if (p.loss_type == RK_PREF_KTO && labels[s] != 0 && labels[s] != 1) ok = false;
    if (p.loss_type == RK_PREF_ORPO && prompt_lengths[s] < 0) ok = false;
  }
  if (p.loss_type != RK_PREF_KTO)
    for (int64_t i = 0; i < p.num_pairs; ++i)
      if (chosen[i] < 0 || chosen[i] >= p.num_responses || rejected[i] < 0 || rejected[i] >= p.num_responses) ok = false;
  if (!ok) {
    for (int s = 0; s < kPreferenceLossNumStats; ++s) stats[s] = nan("");
    for (int64_t s = 0; s < p.num_responses; ++s) {
      if (d_logps) d_logps[s] = 0.f;
      if (d_prompt_logps) d_prompt_logps[s] = 0.f;
    }
    return;
  }
  pref_math::preference_loss(logps, ref, lengths, prompt_logps, prompt_lengths, chosen, rejected, labels, kl, ref_kl,
                             d_logps, d_prompt_logps, stats, p);
}
}  // namespace

void preference_loss_forward_backward(const float* logps, const float* ref_logps, const int32_t* lengths,
                                      const float* prompt_logps, const int32_t* prompt_lengths, const int32_t* chosen,
                                      const int32_t* rejected, const int32_t* labels, const float* kl_logps,
                                      const float* ref_kl_logps, float* d_logps, float* d_prompt_logps, double* stats,
                                      int64_t num_responses, int64_t num_pairs, int64_t num_kl, int loss_type,
                                      double beta, double label_smoothing, double nll_alpha, double simpo_gamma,
                                      double desirable_weight, double undesirable_weight, double grad_scale,
                                      void* stream) {
  const char* op = "preference_loss";
  RK_ARG(op, loss_type >= RK_PREF_DPO && loss_type <= RK_PREF_KTO, "unknown loss_type " + std::to_string(loss_type));
  RK_ARG(op, num_responses >= 1 && logps && lengths && stats, "need at least one response and non-null buffers");
  RK_ARG(op, beta > 0, "beta must be > 0");
  RK_ARG(op, label_smoothing >= 0 && label_smoothing < 0.5, "label_smoothing must be in [0, 0.5)");
  RK_ARG(op, !pref_math::has_reference(loss_type) || ref_logps, "this loss needs reference log-probs");
  if (loss_type == RK_PREF_KTO) {
    RK_ARG(op, labels && (num_kl == 0 || (kl_logps && ref_kl_logps)), "kto needs labels (and both KL buffers)");
  } else {
    RK_ARG(op, num_pairs >= 1 && chosen && rejected, "need at least one pair");
    RK_ARG(op, loss_type != RK_PREF_ORPO || (prompt_logps && prompt_lengths), "orpo needs the prompt log-probs");
  }
  const PreferenceLossParams p{num_responses, num_pairs, num_kl, loss_type, beta, label_smoothing, nll_alpha,
                               simpo_gamma, desirable_weight, undesirable_weight, grad_scale};
  RK_KERNEL_LAUNCH(preference_loss_kernel, 1, 1, 0, as_stream(stream))(
      logps, ref_logps, lengths, prompt_logps, prompt_lengths, chosen, rejected, labels, kl_logps, ref_kl_logps, d_logps,
      d_prompt_logps, stats, p);
  RK_LAUNCH_CHECK(op);
}

}}  // namespace rk::cuda
