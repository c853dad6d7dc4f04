#include "rewardkit/attention.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <vector>
#include <omp.h>

namespace rk {
namespace {

// Forward work item: kBlockQ query rows of one head. Keys are visited kBlockK at a time so the
// K/V tile (kBlockK x hd) stays in L1/L2 while every row of the block uses it.
constexpr int64_t kBlockQ = 32;
constexpr int64_t kBlockK = 64;
// Below this many multiply-adds (per pass) a call runs on one thread: waking the OpenMP team
// costs more than the work, and GradCheck runs thousands of tiny forwards.
constexpr double kParallelMinWork = 1 << 20;

void validate(const char* op, const AttentionParams& p) {
  RK_REQUIRE(op, p.num_seqs >= 0, "num_seqs must be >= 0, got " + std::to_string(p.num_seqs));
  RK_REQUIRE(op, p.total_tokens >= 0, "total_tokens must be >= 0, got " + std::to_string(p.total_tokens));
  RK_REQUIRE(op, p.num_q_heads > 0 && p.num_kv_heads > 0,
             "head counts must be > 0, got Hq=" + std::to_string(p.num_q_heads) +
                 " Hkv=" + std::to_string(p.num_kv_heads));
  RK_REQUIRE(op, p.num_q_heads % p.num_kv_heads == 0,
             "Hq must be a multiple of Hkv, got Hq=" + std::to_string(p.num_q_heads) +
                 " Hkv=" + std::to_string(p.num_kv_heads));
  RK_REQUIRE(op, p.head_dim > 0, "head_dim must be > 0, got " + std::to_string(p.head_dim));
  RK_REQUIRE(op, std::isfinite(p.scale), "scale must be finite");
  RK_REQUIRE(op, p.cu_seqlens != nullptr, "cu_seqlens is null");
  const int32_t* cu = p.cu_seqlens;
  RK_REQUIRE(op, cu[0] == 0, "cu_seqlens[0] must be 0, got " + std::to_string(cu[0]));
  int64_t longest = 0;
  for (int64_t s = 0; s < p.num_seqs; ++s) {
    RK_REQUIRE(op, cu[s + 1] >= cu[s],
               "cu_seqlens must be non-decreasing, got cu_seqlens[" + std::to_string(s + 1) + "] = " +
                   std::to_string(cu[s + 1]) + " < cu_seqlens[" + std::to_string(s) + "] = " +
                   std::to_string(cu[s]));
    longest = std::max<int64_t>(longest, cu[s + 1] - cu[s]);
  }
  RK_REQUIRE(op, cu[p.num_seqs] == p.total_tokens,
             "cu_seqlens[" + std::to_string(p.num_seqs) + "] = " + std::to_string(cu[p.num_seqs]) +
                 " must equal total_tokens " + std::to_string(p.total_tokens));
  RK_REQUIRE(op, p.max_seqlen >= longest,
             "max_seqlen " + std::to_string(p.max_seqlen) + " is less than the longest sequence (" +
                 std::to_string(longest) + " tokens)");
  if (p.segment_ids != nullptr) {
    for (int64_t t = 0; t < p.total_tokens; ++t) {
      RK_REQUIRE(op, p.segment_ids[t] >= 0,
                 "segment_ids[" + std::to_string(t) + "] = " + std::to_string(p.segment_ids[t]) +
                     " must be >= 0");
    }
  }
}

void require_buffers(const char* op, int64_t total_tokens, std::initializer_list<const void*> bufs) {
  if (total_tokens == 0) return;
  for (const void* b : bufs) RK_REQUIRE(op, b != nullptr, "a tensor argument is null");
}

template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t d = 0; d < n; ++d) acc += a[d] * b[d];
  return acc;
}

// y += a * x
template <typename T>
inline void axpy(T* y, T a, const T* x, int64_t n) {
#pragma omp simd
  for (int64_t d = 0; d < n; ++d) y[d] += a * x[d];
}

// kt[d * kBlockK + jj] = rows[(j0 + jj) * stride + d]: a key (or value) tile transposed, zero
// past its nj valid rows, so scores against the whole tile vectorise over keys (tile_scores).
// This is the CPU counterpart of a GPU kernel staging its K/V tile in shared memory.
template <typename T>
void load_tile_transposed(T* kt, const T* rows, int64_t j0, int64_t nj, int64_t stride, int64_t hd) {
  for (int64_t jj = 0; jj < nj; ++jj) {
    const T* row = rows + (j0 + jj) * stride;
    for (int64_t d = 0; d < hd; ++d) kt[d * kBlockK + jj] = row[d];
  }
  for (int64_t jj = nj; jj < kBlockK; ++jj) {
    for (int64_t d = 0; d < hd; ++d) kt[d * kBlockK + jj] = T(0);
  }
}

// sc[jj] = x · (row jj of a transposed tile). The inner loop runs across keys, so lanes are
// independent: no horizontal sums and no FMA latency chain as in one dot product per key.
// Entries for keys a row cannot see are computed anyway and masked by the caller.
template <typename T>
inline void tile_scores(T* sc, const T* x, const T* kt, int64_t hd) {
  std::fill_n(sc, kBlockK, T(0));
  for (int64_t d = 0; d < hd; ++d) {
    const T xd = x[d];
    const T* ktd = kt + d * kBlockK;
#pragma omp simd
    for (int64_t jj = 0; jj < kBlockK; ++jj) sc[jj] += xd * ktd[jj];
  }
}
// Sequences ordered longest first: work per sequence grows with len², so handing out the
// expensive items first keeps the threads balanced under dynamic scheduling.
std::vector<int64_t> seqs_longest_first(const AttentionParams& p) {
  std::vector<int64_t> order(size_t(p.num_seqs));
  std::iota(order.begin(), order.end(), int64_t(0));
  const int32_t* cu = p.cu_seqlens;
  std::stable_sort(order.begin(), order.end(), [cu](int64_t a, int64_t b) {
    return cu[a + 1] - cu[a] > cu[b + 1] - cu[b];
  });
  return order;
}

// Multiply-adds of one score pass: causal pairs x heads x head_dim.
double causal_work(const AttentionParams& p) {
  double pairs = 0;
  for (int64_t s = 0; s < p.num_seqs; ++s) {
    const double n = double(p.cu_seqlens[s + 1] - p.cu_seqlens[s]);
    pairs += n * (n + 1) / 2;
  }
  return pairs * double(p.num_q_heads) * double(p.head_dim);
}

// Online (streaming) softmax over key tiles: per row keep the running max m, the running sum
// l = Σ exp(s - m) and the unnormalised output acc; rescale both when the max grows.
template <typename T>
void forward(T* out, T* lse, const T* q, const T* k, const T* v, const AttentionParams& p) {
  const int64_t Tn = p.total_tokens, Hq = p.num_q_heads, Hkv = p.num_kv_heads, hd = p.head_dim;
  const int64_t G = p.group();
  const T scale = T(p.scale);
  const T neg_inf = -std::numeric_limits<T>::infinity();
  const int32_t* cu = p.cu_seqlens;
  const int32_t* seg = p.segment_ids;

  // Work items (sequence, first query row), longest sequences first; each runs for every head.
  struct Item { int64_t seq, i0; };
  std::vector<Item> items;
  for (int64_t s : seqs_longest_first(p)) {
    for (int64_t i0 = cu[s]; i0 < cu[s + 1]; i0 += kBlockQ) items.push_back({s, i0});
  }
  const int64_t n_work = int64_t(items.size()) * Hq;
  const bool parallel = causal_work(p) > kParallelMinWork;

#pragma omp parallel if (parallel)
  {
    // Per-thread: running max m [kBlockQ], sum l [kBlockQ], unnormalised output acc [kBlockQ, hd],
    // scores of one row sc [kBlockK], transposed K tile kt [hd, kBlockK].
    std::vector<T> m(kBlockQ), l(kBlockQ), acc(size_t(kBlockQ * hd)), sc(kBlockK), kt(size_t(hd * kBlockK));
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < n_work; ++w) {
      const Item it = items[size_t(w / Hq)];
      const int64_t h = w % Hq, g = h / G;
      const int64_t start = cu[it.seq], i0 = it.i0, i1 = std::min<int64_t>(i0 + kBlockQ, cu[it.seq + 1]);
      std::fill(m.begin(), m.end(), neg_inf);
      std::fill(l.begin(), l.end(), T(0));
      std::fill(acc.begin(), acc.end(), T(0));

      for (int64_t j0 = start; j0 < i1; j0 += kBlockK) {  // causal: no key after the last row
        const int64_t j1 = std::min<int64_t>(j0 + kBlockK, i1);
        load_tile_transposed(kt.data(), k + g * hd, j0, j1 - j0, Hkv * hd, hd);
        for (int64_t i = std::max(i0, j0); i < i1; ++i) {
          const int64_t r = i - i0, jend = std::min<int64_t>(j1, i + 1);
          int64_t visible = 0;
          for (int64_t j = j0; j < jend; ++j) visible += attention_visible(seg, i, j);
          if (visible == 0) continue;  // tile hidden from this row (segment rule): skip its work
          tile_scores(sc.data(), q + (i * Hq + h) * hd, kt.data(), hd);
          T rowmax = neg_inf;
          for (int64_t j = j0; j < j0 + kBlockK; ++j) {
            T& sj = sc[size_t(j - j0)];
            sj = j < jend && attention_visible(seg, i, j) ? scale * sj : neg_inf;
            rowmax = std::max(rowmax, sj);
          }
          const T m_new = std::max(m[r], rowmax);
          const T corr = std::exp(m[r] - m_new);  // exp(-inf) = 0 on the row's first visible tile
          T* ar = acc.data() + r * hd;
          l[r] *= corr;
          for (int64_t d = 0; d < hd; ++d) ar[d] *= corr;
          for (int64_t j = j0; j < jend; ++j) {
            if (sc[size_t(j - j0)] == neg_inf) continue;
            const T pj = std::exp(sc[size_t(j - j0)] - m_new);
            l[r] += pj;
            axpy(ar, pj, v + (j * Hkv + g) * hd, hd);
          }
          m[r] = m_new;
        }
      }
      for (int64_t i = i0; i < i1; ++i) {  // l >= 1: the diagonal term is exp(0) at the final max
        const int64_t r = i - i0;
        const T inv = T(1) / l[r];
        T* oi = out + (i * Hq + h) * hd;
        const T* ar = acc.data() + r * hd;
        for (int64_t d = 0; d < hd; ++d) oi[d] = ar[d] * inv;
        lse[h * Tn + i] = m[r] + std::log(l[r]);
      }
    }
  }
}

// One work item per (sequence, kv head): it owns dk/dv rows of that head and the dq rows of the
// head's query group inside the sequence, so no two threads write the same row and the
// summation order is fixed (deterministic for any thread count). Key tiles are the outer loop so
// the K, V, dK, dV tiles stay cached while every query row and group head streams past them.
template <typename T>
void backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* out,
              const T* lse, const AttentionParams& p) {
  const int64_t Tn = p.total_tokens, Hq = p.num_q_heads, Hkv = p.num_kv_heads, hd = p.head_dim;
  const int64_t G = p.group();
  const T scale = T(p.scale);
  const int32_t* cu = p.cu_seqlens;
  const int32_t* seg = p.segment_ids;

  // delta: [T, Hq], D_i = rowsum(dout_i ∘ out_i) (the softmax Jacobian's correction term).
  std::vector<T> delta(size_t(Tn * Hq));
  const bool parallel = causal_work(p) > kParallelMinWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < Tn * Hq; ++r) delta[size_t(r)] = dot(dout + r * hd, out + r * hd, hd);

  const std::vector<int64_t> order = seqs_longest_first(p);
  const int64_t n_work = p.num_seqs * Hkv;
#pragma omp parallel if (parallel)
  {
    // Per-thread: one row's scores sc = q·kᵀ and dp = dout·vᵀ [kBlockK]; transposed K and V tiles
    // kt, vt [hd, kBlockK].
    std::vector<T> sc(kBlockK), dp(kBlockK), kt(size_t(hd * kBlockK)), vt(size_t(hd * kBlockK));
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < n_work; ++w) {
      const int64_t s = order[size_t(w / Hkv)], g = w % Hkv;
      const int64_t start = cu[s], end = cu[s + 1];
      for (int64_t i = start; i < end; ++i) {
        std::fill_n(dq + (i * Hq + g * G) * hd, G * hd, T(0));  // the group's heads are adjacent
        std::fill_n(dk + (i * Hkv + g) * hd, hd, T(0));
        std::fill_n(dv + (i * Hkv + g) * hd, hd, T(0));
      }
      for (int64_t j0 = start; j0 < end; j0 += kBlockK) {
        const int64_t j1 = std::min<int64_t>(j0 + kBlockK, end);
        load_tile_transposed(kt.data(), k + g * hd, j0, j1 - j0, Hkv * hd, hd);
        load_tile_transposed(vt.data(), v + g * hd, j0, j1 - j0, Hkv * hd, hd);
        for (int64_t h = g * G; h < (g + 1) * G; ++h) {
          for (int64_t i = j0; i < end; ++i) {  // rows before j0 see none of these keys
            const int64_t jend = std::min<int64_t>(j1, i + 1);
            int64_t visible = 0;
            for (int64_t j = j0; j < jend; ++j) visible += attention_visible(seg, i, j);
            if (visible == 0) continue;  // tile hidden from this row (segment rule)
            const T* qi = q + (i * Hq + h) * hd;
            const T* doi = dout + (i * Hq + h) * hd;
            T* dqi = dq + (i * Hq + h) * hd;
            const T lse_i = lse[h * Tn + i], d_i = delta[size_t(i * Hq + h)];
            tile_scores(sc.data(), qi, kt.data(), hd);
            tile_scores(dp.data(), doi, vt.data(), hd);
            for (int64_t j = j0; j < jend; ++j) {
              if (!attention_visible(seg, i, j)) continue;
              const int64_t kv = (j * Hkv + g) * hd;
              const T pij = std::exp(scale * sc[size_t(j - j0)] - lse_i);
              const T dsij = pij * (dp[size_t(j - j0)] - d_i);
              axpy(dv + kv, pij, doi, hd);
              axpy(dk + kv, scale * dsij, qi, hd);
              axpy(dqi, scale * dsij, k + kv, hd);
            }
          }
        }
      }
    }
  }
}

AttentionParams make_params(const char* op, const int32_t* cu_seqlens, const int32_t* segment_ids,
                            int64_t num_seqs, int64_t total_tokens, int64_t max_seqlen,
                            int64_t num_q_heads, int64_t num_kv_heads, int64_t head_dim, double scale) {
  const AttentionParams p{total_tokens, num_seqs,  num_q_heads, num_kv_heads, head_dim,
                          max_seqlen,   scale,     cu_seqlens,  segment_ids};
  validate(op, p);
  return p;
}

}  // namespace

#define RK_ATTENTION_API(T)                                                                        \
  void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v,                       \
                         const int32_t* cu_seqlens, const int32_t* segment_ids, int64_t num_seqs,  \
                         int64_t total_tokens, int64_t max_seqlen, int64_t num_q_heads,            \
                         int64_t num_kv_heads, int64_t head_dim, double scale) {                   \
    const AttentionParams p = make_params("attention_forward", cu_seqlens, segment_ids, num_seqs,  \
                                          total_tokens, max_seqlen, num_q_heads, num_kv_heads,     \
                                          head_dim, scale);                                        \
    require_buffers("attention_forward", total_tokens, {out, lse, q, k, v});                       \
    forward(out, lse, q, k, v, p);                                                                 \
  }                                                                                                \
  void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,  \
                          const T* out, const T* lse, const int32_t* cu_seqlens,                   \
                          const int32_t* segment_ids, int64_t num_seqs, int64_t total_tokens,      \
                          int64_t max_seqlen, int64_t num_q_heads, int64_t num_kv_heads,           \
                          int64_t head_dim, double scale) {                                        \
    const AttentionParams p = make_params("attention_backward", cu_seqlens, segment_ids, num_seqs, \
                                          total_tokens, max_seqlen, num_q_heads, num_kv_heads,     \
                                          head_dim, scale);                                        \
    require_buffers("attention_backward", total_tokens, {dq, dk, dv, dout, q, k, v, out, lse});    \
    backward(dq, dk, dv, dout, q, k, v, out, lse, p);                                              \
  }
RK_ATTENTION_API(float)
RK_ATTENTION_API(double)

}  // namespace rk
