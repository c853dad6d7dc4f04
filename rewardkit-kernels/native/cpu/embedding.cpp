#include "rewardkit/embedding.h"

#include <algorithm>
#include <cstring>

namespace rk {
namespace {

// Columns per backward work item: 64 floats is one 256-byte stripe of a row.
constexpr int64_t kColumnBlock = 64;

void validate(const char* op, const EmbeddingParams& p, const int32_t* ids) {
  p.validate(op);
  RK_REQUIRE(op, p.tokens == 0 || ids, "null buffer");
  for (int64_t t = 0; t < p.tokens; ++t) {
    RK_REQUIRE(op, ids[t] >= 0 && ids[t] < p.vocab,
               "ids[" + std::to_string(t) + "] = " + std::to_string(ids[t]) +
                   " is outside the vocabulary [0, " + std::to_string(p.vocab) + ")");
  }
}

template <typename T>
void forward(T* out, const int32_t* ids, const T* table, const EmbeddingParams& p) {
  const int64_t D = p.dim;
#pragma omp parallel for schedule(static) if (p.tokens * D > 65536)
  for (int64_t t = 0; t < p.tokens; ++t) {
    std::memcpy(out + t * D, table + int64_t(ids[t]) * D, sizeof(T) * size_t(D));
  }
}

// Threads own disjoint column stripes and walk the tokens in order, so repeated ids never race
// and the sum order (token order) is the same for any thread count.
template <typename T>
void backward(T* dtable, const T* dout, const int32_t* ids, const EmbeddingParams& p) {
  const int64_t D = p.dim;
  const int64_t blocks = (D + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (p.tokens * D > 65536)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kColumnBlock, c1 = std::min(D, c0 + kColumnBlock);
    for (int64_t t = 0; t < p.tokens; ++t) {
      T* dst = dtable + int64_t(ids[t]) * D;
      const T* src = dout + t * D;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

}  // namespace

#define RK_EMBEDDING_API(T)                                                                   \
  void embedding_forward(T* out, const int32_t* ids, const T* table, const EmbeddingParams& p) { \
    validate("embedding_forward", p, ids);                                                    \
    forward(out, ids, table, p);                                                              \
  }                                                                                           \
  void embedding_backward(T* dtable, const T* dout, const int32_t* ids, const EmbeddingParams& p) { \
    validate("embedding_backward", p, ids);                                                   \
    backward(dtable, dout, ids, p);                                                           \
  }
RK_EMBEDDING_API(float)
RK_EMBEDDING_API(double)

}  // namespace rk
