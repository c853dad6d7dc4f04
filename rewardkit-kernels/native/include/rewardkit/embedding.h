// Token embedding (HF embed_tokens):
//   forward:  out[t, :] = table[ids[t], :]
//   backward: dtable[ids[t], :] += dout[t, :]  (scatter-add; repeated ids sum, in token order)
// The CPU (native/cpu/embedding.cpp) and CUDA (native/cuda/embedding.cu, rewardkit/cuda/ops.h) entry points take
// the same EmbeddingParams, so sizes are set by name and cannot be swapped by position.
#pragma once
#include <string>

#include "rewardkit/common.h"

namespace rk {

struct EmbeddingParams {
  int64_t tokens;  // T
  int64_t vocab;   // V
  int64_t dim;     // D

  // The sizes check of both backends; ids are range-checked where the host can read them (CPU).
  void validate(const char* op) const {
    RK_REQUIRE(op, tokens >= 0, "tokens must be >= 0, got " + std::to_string(tokens));
    RK_REQUIRE(op, vocab > 0, "vocab must be > 0, got " + std::to_string(vocab));
    RK_REQUIRE(op, dim > 0, "dim must be > 0, got " + std::to_string(dim));
  }
};

// out: [T, D]   ids: [T], each in [0, V)   table: [V, D]
void embedding_forward(float* out, const int32_t* ids, const float* table, const EmbeddingParams& p);
void embedding_forward(double* out, const int32_t* ids, const double* table, const EmbeddingParams& p);

// dtable: [V, D] (accumulated)   dout: [T, D]   ids: [T], each in [0, V)
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, const EmbeddingParams& p);
void embedding_backward(double* dtable, const double* dout, const int32_t* ids, const EmbeddingParams& p);

}  // namespace rk
