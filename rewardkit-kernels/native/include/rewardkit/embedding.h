// Token embedding (HF embed_tokens):
//   forward:  out[t, :] = table[ids[t], :]
//   backward: dtable[ids[t], :] += dout[t, :]  (scatter-add; repeated ids sum, in token order)
#pragma once
#include "rewardkit/common.h"

namespace rk {

struct EmbeddingParams {
  int64_t tokens;  // T
  int64_t vocab;   // V
  int64_t dim;     // D
};

// out: [T, D]   ids: [T], each in [0, V)   table: [V, D]
void embedding_forward(float* out, const int32_t* ids, const float* table,
                       int64_t tokens, int64_t vocab, int64_t dim);
void embedding_forward(double* out, const int32_t* ids, const double* table,
                       int64_t tokens, int64_t vocab, int64_t dim);

// dtable: [V, D] (accumulated)   dout: [T, D]   ids: [T], each in [0, V)
void embedding_backward(float* dtable, const float* dout, const int32_t* ids,
                        int64_t tokens, int64_t vocab, int64_t dim);
void embedding_backward(double* dtable, const double* dout, const int32_t* ids,
                        int64_t tokens, int64_t vocab, int64_t dim);

}  // namespace rk
