// Fallback librewardkit_cuda for builds without nvcc: the same C API as native/cuda/*.cu, so the
// JNI glue links everywhere. probe() reports why there is no CUDA; every other entry point throws.
#include <cstring>
#include <stdexcept>
#include <string>

#include "rewardkit/cuda/flash_attention.h"
#include "rewardkit/cuda/linear_cross_entropy.h"
#include "rewardkit/cuda/ops.h"
#include "rewardkit/cuda/preference_loss.h"
#include "rewardkit/cuda/reward_loss.h"
#include "rewardkit/cuda/runtime.h"

#ifndef RK_CUDA_STUB_REASON
#define RK_CUDA_STUB_REASON "built without CUDA"
#endif

namespace rk { namespace cuda {

namespace {
[[noreturn]] void unavailable(const char* fn) {
  throw std::runtime_error(std::string(fn) + ": librewardkit_cuda was " RK_CUDA_STUB_REASON);
}
}  // namespace

int probe(char* buf, int64_t capacity) {
  if (buf != nullptr && capacity > 0) {
    std::strncpy(buf, RK_CUDA_STUB_REASON, static_cast<size_t>(capacity - 1));
    buf[capacity - 1] = '\0';
  }
  return 0;
}
int built_with_cuda() { return 0; }

void set_device(int) { unavailable("set_device"); }
void* device_malloc(int64_t) { unavailable("device_malloc"); }
void device_free(void*) { unavailable("device_free"); }
void memcpy_h2d(void*, const void*, int64_t, void*) { unavailable("memcpy_h2d"); }
void memcpy_d2h(void*, const void*, int64_t, void*) { unavailable("memcpy_d2h"); }
void memcpy_d2d(void*, const void*, int64_t, void*) { unavailable("memcpy_d2d"); }
void memset_async(void*, int, int64_t, void*) { unavailable("memset_async"); }
void* stream_create() { unavailable("stream_create"); }
void stream_destroy(void*) { unavailable("stream_destroy"); }
void stream_synchronize(void*) { unavailable("stream_synchronize"); }
void check_errors(const char*) { unavailable("check_errors"); }

int column_reduce_chunks() { unavailable("column_reduce_chunks"); }
void f32_to_bf16(bf16_bits*, const float*, int64_t, void*) { unavailable("f32_to_bf16"); }
void bf16_to_f32(float*, const bf16_bits*, int64_t, void*) { unavailable("bf16_to_f32"); }
void embedding_forward(bf16_bits*, const int32_t*, const bf16_bits*, const rk::EmbeddingParams&, void*) {
  unavailable("embedding_forward");
}
void embedding_backward(float*, const bf16_bits*, const int32_t*, const rk::EmbeddingParams&, void*) {
  unavailable("embedding_backward");
}
void rmsnorm_forward(bf16_bits*, float*, const bf16_bits*, const bf16_bits*, const rk::RmsNormParams&, void*) {
  unavailable("rmsnorm_forward");
}
void residual_rmsnorm_forward(bf16_bits*, bf16_bits*, float*, const bf16_bits*, const bf16_bits*, const bf16_bits*,
                              const rk::RmsNormParams&, void*) {
  unavailable("residual_rmsnorm_forward");
}
void rmsnorm_backward(bf16_bits*, float*, const bf16_bits*, const bf16_bits*, const bf16_bits*, const float*,
                      float*, const rk::RmsNormParams&, void*) {
  unavailable("rmsnorm_backward");
}
void rope_apply_f32(bf16_bits*, const int32_t*, const float*, const float*, const rk::RopeParams&, int, void*) {
  unavailable("rope_apply_f32");
}
void rope_apply_bf16(bf16_bits*, const int32_t*, const bf16_bits*, const bf16_bits*, const rk::RopeParams&, int,
                     void*) {
  unavailable("rope_apply_bf16");
}
void swiglu_forward(bf16_bits*, const bf16_bits*, const bf16_bits*, int64_t, void*) { unavailable("swiglu_forward"); }
void swiglu_backward(bf16_bits*, bf16_bits*, const bf16_bits*, const bf16_bits*, const bf16_bits*, int64_t, void*) {
  unavailable("swiglu_backward");
}
void add_inplace_bf16(bf16_bits*, const bf16_bits*, int64_t, void*) { unavailable("add_inplace_bf16"); }
void add_inplace_f32(float*, const float*, int64_t, void*) { unavailable("add_inplace_f32"); }
void add_out_bf16(bf16_bits*, const bf16_bits*, const bf16_bits*, int64_t, void*) { unavailable("add_out_bf16"); }
void add_out_f32(float*, const float*, const float*, int64_t, void*) { unavailable("add_out_f32"); }
void bias_add_forward(bf16_bits*, const bf16_bits*, const rk::BiasParams&, void*) { unavailable("bias_add_forward"); }
void bias_add_backward(float*, const bf16_bits*, float*, const rk::BiasParams&, void*) { unavailable("bias_add_backward"); }
void score_forward(float*, const bf16_bits*, const int32_t*, const bf16_bits*, const rk::ScoreParams&, void*) {
  unavailable("score_forward");
}
void score_backward(bf16_bits*, float*, const float*, const bf16_bits*, const int32_t*, const bf16_bits*,
                    const rk::ScoreParams&, void*) {
  unavailable("score_backward");
}
int grad_norm_blocks() { unavailable("grad_norm_blocks"); }
void grad_sumsq(double*, double*, const float*, int64_t, void*) { unavailable("grad_sumsq"); }
void adamw_update(float*, bf16_bits*, const float*, float*, float*, const rk::AdamWParams&, void*) {
  unavailable("adamw_update");
}

void flash_attention_forward(bf16_bits*, float*, const bf16_bits*, const bf16_bits*, const bf16_bits*,
                             const int32_t*, const int32_t*, int, int, int, int, int, int, float, void*) {
  unavailable("flash_attention_forward");
}
int64_t flash_attention_backward_workspace(int, int, int, int, int) { unavailable("flash_attention_backward_workspace"); }
void flash_attention_backward(bf16_bits*, bf16_bits*, bf16_bits*, const bf16_bits*, const bf16_bits*,
                              const bf16_bits*, const bf16_bits*, const bf16_bits*, const float*, void*,
                              const int32_t*, const int32_t*, int, int, int, int, int, int, float, int, void*) {
  unavailable("flash_attention_backward");
}

void reward_loss_forward_backward(const float*, const int32_t*, const int32_t*, const float*, float*, double*,
                                  int64_t, int64_t, int, double, int, double, double, double, double, double, void*) {
  unavailable("reward_loss_forward_backward");
}

int64_t linear_cross_entropy_workspace_floats(int64_t, int64_t, int64_t) {
  unavailable("linear_cross_entropy_workspace_floats");
}
void linear_cross_entropy_forward(float*, float*, const bf16_bits*, const bf16_bits*, const int32_t*, float*, int64_t,
                                  int64_t, int64_t, int64_t, int64_t, void*) {
  unavailable("linear_cross_entropy_forward");
}
void linear_cross_entropy_backward(bf16_bits*, float*, const float*, const float*, const bf16_bits*,
                                   const bf16_bits*, const int32_t*, float*, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, void*) {
  unavailable("linear_cross_entropy_backward");
}
void preference_loss_forward_backward(const float*, const float*, const int32_t*, const float*, const int32_t*,
                                      const int32_t*, const int32_t*, const int32_t*, const float*, const float*, float*,
                                      float*, double*, int64_t, int64_t,
                                      int64_t, int, double, double, double, double, double, double, double, void*) {
  unavailable("preference_loss_forward_backward");
}
void nf4_dequantize_bf16(bf16_bits*, const uint8_t*, const uint8_t*, const float*, float, int64_t, void*) {
  unavailable("nf4_dequantize_bf16");
}

}}  // namespace rk::cuda
