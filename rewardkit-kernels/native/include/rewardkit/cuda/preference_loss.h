// Fused direct-preference losses on the GPU: the semantics of rewardkit/preference_loss.h (the CPU reference)
// on device buffers; the arithmetic is the shared preference_loss_math.h run by one GPU thread (S is small),
// in double, so the result matches the CPU up to libm differences in the last ulp. Index arrays are checked
// on the device: a pair index outside [0, S), a label other than 0/1 or a length < 1 makes every stat NaN and
// d_logps zero (the caller checks stats[0]). stats: double[kPreferenceLossNumStats] on the device.
#pragma once
#include <cstdint>

namespace rk { namespace cuda {

constexpr int kPreferenceLossNumStats = 11;

void preference_loss_forward_backward(const float* logps, const float* ref_logps, const int32_t* lengths,
                                      const float* prompt_logps, const int32_t* prompt_lengths, const int32_t* chosen,
                                      const int32_t* rejected, const int32_t* labels, const float* kl_logps,
                                      const float* ref_kl_logps, float* d_logps, float* d_prompt_logps, double* stats,
                                      int64_t num_responses, int64_t num_pairs, int64_t num_kl, int loss_type,
                                      double beta, double label_smoothing, double nll_alpha, double simpo_gamma,
                                      double desirable_weight, double undesirable_weight, double grad_scale,
                                      void* stream);

}}  // namespace rk::cuda
