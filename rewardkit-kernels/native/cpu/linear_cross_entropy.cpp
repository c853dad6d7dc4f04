#include "rewardkit/linear_cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace rk {
namespace {

struct LceParams {
  int64_t tokens, dim, vocab, token_chunk, vocab_chunk;
};

LceParams params(int64_t tokens, int64_t dim, int64_t vocab, int64_t token_chunk, int64_t vocab_chunk) {
  return {tokens, dim, vocab, token_chunk > 0 ? token_chunk : kLceTokenChunk,
          vocab_chunk > 0 ? vocab_chunk : kLceVocabChunk};
}

// Validates the shapes and targets; returns the rows that have a target (the only ones computed).
std::vector<int64_t> active_rows(const char* op, const LceParams& p, const int32_t* targets) {
  RK_REQUIRE(op, p.tokens >= 0, "tokens must be >= 0, got " + std::to_string(p.tokens));
  RK_REQUIRE(op, p.dim > 0, "dim must be > 0, got " + std::to_string(p.dim));
  RK_REQUIRE(op, p.vocab > 0, "vocab must be > 0, got " + std::to_string(p.vocab));
  std::vector<int64_t> rows;
  for (int64_t t = 0; t < p.tokens; ++t) {
    RK_REQUIRE(op, targets[t] < p.vocab,
               "targets[" + std::to_string(t) + "] = " + std::to_string(targets[t]) + " is outside the vocabulary [0, " +
                   std::to_string(p.vocab) + ")");
    if (targets[t] >= 0) rows.push_back(t);
  }
  return rows;
}

template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t k = 0; k < n; ++k) acc += a[k] * b[k];
  return acc;
}

// z [n, vn] (row stride vc) = hidden[rows[i]] · weight[v0 + j] for the tile's n rows and vn columns.
template <typename T>
void logits_tile(T* z, const T* hidden, const T* weight, const int64_t* rows, int64_t n, int64_t v0, int64_t vn,
                 int64_t vc, int64_t D) {
  for (int64_t j = 0; j < vn; ++j) {
    const T* w = weight + (v0 + j) * D;  // [D], stays in L1 across the tile's rows
    for (int64_t i = 0; i < n; ++i) z[i * vc + j] = dot(hidden + rows[i] * D, w, D);
  }
}

// In place: z -> dz = g (1[v = y] - exp(z - lse)) for the tile.
template <typename T>
void dlogits_tile(T* z, const int64_t* rows, int64_t n, int64_t v0, int64_t vn, int64_t vc, const T* dlogp,
                  const T* lse, const int32_t* targets) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = rows[i];
    const T g = dlogp[t], l = lse[t];
    T* zi = z + i * vc;
    for (int64_t j = 0; j < vn; ++j) zi[j] = -g * std::exp(zi[j] - l);
    const int64_t y = targets[t] - v0;
    if (y >= 0 && y < vn) zi[y] += g;
  }
}

template <typename T>
void forward(T* logp, T* lse, const T* hidden, const T* weight, const int32_t* targets, const LceParams& p) {
  const std::vector<int64_t> rows = active_rows("linear_cross_entropy_forward", p, targets);
  for (int64_t t = 0; t < p.tokens; ++t) logp[t] = lse[t] = T(0);
  const int64_t n_rows = int64_t(rows.size()), TC = p.token_chunk, VC = p.vocab_chunk, D = p.dim, V = p.vocab;
  const int64_t chunks = (n_rows + TC - 1) / TC;
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t* r = rows.data() + c * TC;
    const int64_t n = std::min(TC, n_rows - c * TC);
    std::vector<T> z(size_t(TC * VC));  // z [TC, VC]: the only logits that exist
    // Online log-sum-exp per row in double: m = running max, s = Σ exp(z - m).
    std::vector<double> m(size_t(n), -std::numeric_limits<double>::infinity()), s(size_t(n), 0.0), tgt(size_t(n), 0.0);
    for (int64_t v0 = 0; v0 < V; v0 += VC) {
      const int64_t vn = std::min(VC, V - v0);
      logits_tile(z.data(), hidden, weight, r, n, v0, vn, VC, D);
      for (int64_t i = 0; i < n; ++i) {
        const T* zi = z.data() + i * VC;
        double mx = m[i];
        for (int64_t j = 0; j < vn; ++j) mx = std::max(mx, double(zi[j]));
        double sum = s[i] * std::exp(m[i] - mx);  // rescale the running sum to the new max (exp(-inf) = 0)
        for (int64_t j = 0; j < vn; ++j) sum += std::exp(double(zi[j]) - mx);
        m[i] = mx;
        s[i] = sum;
        const int64_t y = targets[r[i]] - v0;
        if (y >= 0 && y < vn) tgt[i] = zi[y];
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const double l = m[i] + std::log(s[i]);
      lse[r[i]] = T(l);
      logp[r[i]] = T(tgt[i] - l);
    }
  }
}

template <typename T>
void backward(T* dhidden, T* dweight, const T* dlogp, const T* lse, const T* hidden, const T* weight,
              const int32_t* targets, const LceParams& p) {
  const std::vector<int64_t> rows = active_rows("linear_cross_entropy_backward", p, targets);
  const int64_t n_rows = int64_t(rows.size()), TC = p.token_chunk, VC = p.vocab_chunk, D = p.dim, V = p.vocab;
  std::memset(dhidden, 0, sizeof(T) * size_t(p.tokens * D));
  if (n_rows == 0) return;
  // Pass 1, dhidden: each token chunk owns its rows and walks the whole vocabulary.
  const int64_t t_chunks = (n_rows + TC - 1) / TC;
#pragma omp parallel for schedule(dynamic, 1) if (t_chunks > 1)
  for (int64_t c = 0; c < t_chunks; ++c) {
    const int64_t* r = rows.data() + c * TC;
    const int64_t n = std::min(TC, n_rows - c * TC);
    std::vector<T> z(size_t(TC * VC));   // dz tile [TC, VC]
    std::vector<T> dh(size_t(n * D), T(0));  // [n, D]
    for (int64_t v0 = 0; v0 < V; v0 += VC) {
      const int64_t vn = std::min(VC, V - v0);
      logits_tile(z.data(), hidden, weight, r, n, v0, vn, VC, D);
      dlogits_tile(z.data(), r, n, v0, vn, VC, dlogp, lse, targets);
      for (int64_t i = 0; i < n; ++i) {
        T* dhi = dh.data() + i * D;
        for (int64_t j = 0; j < vn; ++j) {
          const T g = z[size_t(i * VC + j)];
          const T* w = weight + (v0 + j) * D;
#pragma omp simd
          for (int64_t k = 0; k < D; ++k) dhi[k] += g * w[k];
        }
      }
    }
    for (int64_t i = 0; i < n; ++i) std::memcpy(dhidden + r[i] * D, dh.data() + i * D, sizeof(T) * size_t(D));
  }
  // Pass 2, dweight: each vocab chunk owns its rows and walks the active tokens in order. A frozen head (LoRA
  // policies) passes no dweight and skips the pass, half the backward's logits work.
  if (dweight == nullptr) return;
  const int64_t v_chunks = (V + VC - 1) / VC;
#pragma omp parallel for schedule(dynamic, 1) if (v_chunks > 1)
  for (int64_t vc = 0; vc < v_chunks; ++vc) {
    const int64_t v0 = vc * VC, vn = std::min(VC, V - v0);
    std::vector<T> z(size_t(TC * VC));  // dz tile [TC, VC]
    for (int64_t c = 0; c < t_chunks; ++c) {
      const int64_t* r = rows.data() + c * TC;
      const int64_t n = std::min(TC, n_rows - c * TC);
      logits_tile(z.data(), hidden, weight, r, n, v0, vn, VC, D);
      dlogits_tile(z.data(), r, n, v0, vn, VC, dlogp, lse, targets);
      for (int64_t j = 0; j < vn; ++j) {
        T* dw = dweight + (v0 + j) * D;
        for (int64_t i = 0; i < n; ++i) {
          const T g = z[size_t(i * VC + j)];
          const T* h = hidden + r[i] * D;
#pragma omp simd
          for (int64_t k = 0; k < D; ++k) dw[k] += g * h[k];
        }
      }
    }
  }
}

}  // namespace

#define RK_LCE_API(T)                                                                                              \
  void linear_cross_entropy_forward(T* logp, T* lse, const T* hidden, const T* weight, const int32_t* targets,     \
                                    int64_t tokens, int64_t dim, int64_t vocab, int64_t token_chunk,              \
                                    int64_t vocab_chunk) {                                                        \
    RK_REQUIRE("linear_cross_entropy_forward", tokens == 0 || (logp && lse && hidden && weight && targets),       \
               "null buffer");                                                                                    \
    forward(logp, lse, hidden, weight, targets, params(tokens, dim, vocab, token_chunk, vocab_chunk));             \
  }                                                                                                               \
  void linear_cross_entropy_backward(T* dhidden, T* dweight, const T* dlogp, const T* lse, const T* hidden,       \
                                     const T* weight, const int32_t* targets, int64_t tokens, int64_t dim,        \
                                     int64_t vocab, int64_t token_chunk, int64_t vocab_chunk) {                   \
    RK_REQUIRE("linear_cross_entropy_backward",                                                                   \
               tokens == 0 || (dhidden && dlogp && lse && hidden && weight && targets), "null buffer");         \
    backward(dhidden, dweight, dlogp, lse, hidden, weight, targets,                                               \
             params(tokens, dim, vocab, token_chunk, vocab_chunk));                                               \
  }
RK_LCE_API(float)
RK_LCE_API(double)

}  // namespace rk
