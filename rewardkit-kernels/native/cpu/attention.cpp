#include "rewardkit/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <vector>
#include <omp.h>

#include "rewardkit/vec_exp.h"

namespace rk {
namespace {

// Tiles: kBlockQ query rows x kBlockK keys. The score tile (32 x 64) and a K/V tile (64 x hd) stay in
// L1/L2 while the block's rows use them; kBlockK is a multiple of every vector width used below.
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

// ---- tile micro-GEMM ------------------------------------------------------------------------------
// C[M x N] (row stride ldc) = / += A[M x K] · B[K x N] (row stride ldb), with A read through strides
// (A(m, k) = A[m * sam + k * sak]) so the same kernel serves A and Aᵀ (Pᵀ·dO, dSᵀ·Q in the backward).
// Register tile: kRows rows x one 32-byte-vector pair of columns, accumulated in GCC vector registers
// (8 floats or 4 doubles per vector; AVX2 + FMA in the build's baseline). The k loop is innermost and in
// order, so every C element is a fixed-order sum: results do not depend on threads or tile placement.
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int kLanes = int(32 / sizeof(T));
};

template <typename T>
inline typename Vec<T>::type vload(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void vstore(T* p, const typename Vec<T>::type& v) { std::memcpy(p, &v, sizeof v); }

constexpr int kRows = 4;

template <typename T, int R>
inline void gemm_panel(T* C, int64_t ldc, const T* A, int64_t sam, int64_t sak, const T* B, int64_t ldb,
                       int64_t c0, int64_t K, bool accumulate) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::kLanes;
  V acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) {
    if (accumulate) {
      acc0[r] = vload(C + r * ldc + c0);
      acc1[r] = vload(C + r * ldc + c0 + L);
    } else {
      acc0[r] = V{};
      acc1[r] = V{};
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    const V b0 = vload(B + k * ldb + c0), b1 = vload(B + k * ldb + c0 + L);
    for (int r = 0; r < R; ++r) {
      const T a = A[r * sam + k * sak];
      acc0[r] += a * b0;
      acc1[r] += a * b1;
    }
  }
  for (int r = 0; r < R; ++r) {
    vstore(C + r * ldc + c0, acc0[r]);
    vstore(C + r * ldc + c0 + L, acc1[r]);
  }
}

template <typename T, int R>
inline void gemm_rows(T* C, int64_t ldc, const T* A, int64_t sam, int64_t sak, const T* B, int64_t ldb,
                      int64_t N, int64_t K, bool accumulate) {
  constexpr int64_t W = 2 * Vec<T>::kLanes;
  int64_t c0 = 0;
  for (; c0 + W <= N; c0 += W) gemm_panel<T, R>(C, ldc, A, sam, sak, B, ldb, c0, K, accumulate);
  if (c0 == N) return;
  const int64_t tail = N - c0;  // column tail (head dims that are not a multiple of W), tail < W
  for (int r = 0; r < R; ++r) {
    T* cr = C + r * ldc + c0;
    if (!accumulate) std::fill_n(cr, tail, T(0));
    for (int64_t k = 0; k < K; ++k) {
      const T a = A[r * sam + k * sak];
      const T* bk = B + k * ldb + c0;
      for (int64_t c = 0; c < tail && c < W; ++c) cr[c] += a * bk[c];
    }
  }
}

template <typename T>
void gemm(T* C, int64_t ldc, const T* A, int64_t sam, int64_t sak, const T* B, int64_t ldb, int64_t M,
          int64_t N, int64_t K, bool accumulate) {
  int64_t m = 0;
  for (; m + kRows <= M; m += kRows) {
    gemm_rows<T, kRows>(C + m * ldc, ldc, A + m * sam, sam, sak, B, ldb, N, K, accumulate);
  }
  for (; m < M; ++m) gemm_rows<T, 1>(C + m * ldc, ldc, A + m * sam, sam, sak, B, ldb, N, K, accumulate);
}

// ---- exp over a row of scores ---------------------------------------------------------------------
// float: the vectorised exp (rewardkit/vec_exp.h; -inf -> 0 for masked scores); double: std::exp.
inline void exp_row(float* x, int64_t n) { vec_exp_f32(x, x, n); }
inline void exp_row(double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}
inline float exp_one(float x) { return exp_f32(x); }
inline double exp_one(double x) { return std::exp(x); }

// kt[d * kBlockK + jj] = rows[(j0 + jj) * stride + d]: a key (or value) tile transposed, zero past
// its nj valid rows, so Q·Kᵀ against the whole tile is a plain [rows x hd]·[hd x kBlockK] GEMM.
template <typename T>
void load_tile_transposed(T* kt, const T* rows, int64_t j0, int64_t nj, int64_t stride, int64_t hd) {
  for (int64_t jj = 0; jj < nj; ++jj) {
    const T* row = rows + (j0 + jj) * stride;
    for (int64_t d = 0; d < hd; ++d) kt[d * kBlockK + jj] = row[d];
  }
  for (int64_t d = 0; d < hd; ++d) std::fill(kt + d * kBlockK + nj, kt + (d + 1) * kBlockK, T(0));
}

// Whether any query row in [i0, i1) sees any key in [j0, j1) (causal + segment rule). Tiles hidden by
// the shared-prefix rule (rejected queries x chosen keys) are skipped whole.
inline bool tile_visible(const int32_t* seg, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  for (int64_t i = std::max(i0, j0); i < i1; ++i) {
    const int64_t jend = std::min(j1, i + 1);
    for (int64_t j = j0; j < jend; ++j) {
      if (attention_visible(seg, i, j)) return true;
    }
  }
  return false;
}

// row[jj] = scale · row[jj] − shift for the keys query i sees, −inf for the others (and the padding
// past nj); returns the row's maximum of the visible entries before the shift (−inf if none).
template <typename T>
inline T mask_row(T* row, const int32_t* seg, int64_t i, int64_t j0, int64_t nj, T scale) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  const int64_t jend = std::min<int64_t>(nj, i - j0 + 1);  // causal: keys j <= i
  T mx = neg_inf;
  if (seg == nullptr) {
    for (int64_t jj = 0; jj < jend; ++jj) {
      row[jj] *= scale;
      mx = std::max(mx, row[jj]);
    }
  } else {
    for (int64_t jj = 0; jj < jend; ++jj) {
      row[jj] = attention_visible(seg, i, j0 + jj) ? scale * row[jj] : neg_inf;
      mx = std::max(mx, row[jj]);
    }
  }
  for (int64_t jj = std::max<int64_t>(jend, 0); jj < kBlockK; ++jj) row[jj] = neg_inf;
  return mx;
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

// Flash-style forward. Work item: kBlockQ query rows of one sequence and one head. Per key tile:
// S = Q·Kᵀ (tile GEMM), mask + online softmax per row (running max m, running sum l, output rescaled
// by exp(m_old − m_new) when the max grows), then acc += P·V (tile GEMM).
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
    // Per-thread: m, l [kBlockQ]; acc [kBlockQ, hd]; scores/probabilities sc [kBlockQ, kBlockK];
    // transposed K tile kt [hd, kBlockK].
    std::vector<T> m(kBlockQ), l(kBlockQ), acc(size_t(kBlockQ * hd)), sc(size_t(kBlockQ * kBlockK)),
        kt(size_t(hd * kBlockK));
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < n_work; ++w) {
      const Item it = items[size_t(w / Hq)];
      const int64_t h = w % Hq, g = h / G;
      const int64_t start = cu[it.seq], i0 = it.i0, i1 = std::min<int64_t>(i0 + kBlockQ, cu[it.seq + 1]);
      const int64_t nq = i1 - i0;
      std::fill(m.begin(), m.end(), neg_inf);
      std::fill(l.begin(), l.end(), T(0));
      std::fill(acc.begin(), acc.end(), T(0));

      for (int64_t j0 = start; j0 < i1; j0 += kBlockK) {  // causal: no key after the last row
        const int64_t nj = std::min<int64_t>(kBlockK, i1 - j0);
        if (seg != nullptr && !tile_visible(seg, i0, i1, j0, j0 + nj)) continue;
        load_tile_transposed(kt.data(), k + g * hd, j0, nj, Hkv * hd, hd);
        gemm(sc.data(), kBlockK, q + (i0 * Hq + h) * hd, Hq * hd, 1, kt.data(), kBlockK, nq, kBlockK, hd, false);
        for (int64_t r = 0; r < nq; ++r) {
          T* row = sc.data() + r * kBlockK;
          const T rowmax = mask_row(row, seg, i0 + r, j0, nj, scale);
          if (rowmax == neg_inf) {  // row sees no key of this tile: its P row is 0, m and l unchanged
            std::fill_n(row, kBlockK, T(0));
            continue;
          }
          const T m_new = std::max(m[r], rowmax);
          for (int64_t jj = 0; jj < kBlockK; ++jj) row[jj] -= m_new;
          exp_row(row, kBlockK);
          T sum = 0;
          for (int64_t jj = 0; jj < kBlockK; ++jj) sum += row[jj];
          const T corr = exp_one(m[r] - m_new);  // exp(-inf) = 0 on the row's first visible tile
          l[r] = l[r] * corr + sum;
          if (corr != T(1)) {
            T* ar = acc.data() + r * hd;
            for (int64_t d = 0; d < hd; ++d) ar[d] *= corr;
          }
          m[r] = m_new;
        }
        gemm(acc.data(), hd, sc.data(), kBlockK, 1, v + (j0 * Hkv + g) * hd, Hkv * hd, nq, hd, nj, true);
      }
      for (int64_t r = 0; r < nq; ++r) {  // l >= 1: the diagonal term is exp(0) at the final max
        const int64_t i = i0 + r;
        const T inv = T(1) / l[r];
        T* oi = out + (i * Hq + h) * hd;
        const T* ar = acc.data() + r * hd;
        for (int64_t d = 0; d < hd; ++d) oi[d] = ar[d] * inv;
        lse[h * Tn + i] = m[r] + std::log(l[r]);
      }
    }
  }
}

// Flash-style backward (FlashAttention-2 order). One work item per (sequence, kv head): it owns the
// dk/dv rows of that head and the dq rows of the head's query group inside the sequence, so no two
// threads write the same row and every sum has a fixed order (deterministic for any thread count).
// Key tiles are the outer loop; dK/dV of a tile accumulate in per-thread buffers while every query
// block of every group head streams past:
//   S = Q·Kᵀ, P = exp(scale·S − lse) (masked: 0), dP = dO·Vᵀ, dS = scale · P ∘ (dP − D)
//   dV += Pᵀ·dO,  dK += dSᵀ·Q,  dQ += dS·K
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
    // Per-thread: P and dS [kBlockQ, kBlockK] (sc, dp); transposed K and V tiles kt, vt [hd, kBlockK];
    // the tile's dK, dV accumulators [kBlockK, hd].
    std::vector<T> sc(size_t(kBlockQ * kBlockK)), dp(size_t(kBlockQ * kBlockK)), kt(size_t(hd * kBlockK)),
        vt(size_t(hd * kBlockK)), dkt(size_t(kBlockK * hd)), dvt(size_t(kBlockK * hd));
#pragma omp for schedule(dynamic, 1)
    for (int64_t w = 0; w < n_work; ++w) {
      const int64_t s = order[size_t(w / Hkv)], g = w % Hkv;
      const int64_t start = cu[s], end = cu[s + 1];
      for (int64_t i = start; i < end; ++i) {
        std::fill_n(dq + (i * Hq + g * G) * hd, G * hd, T(0));  // the group's heads are adjacent
      }
      for (int64_t j0 = start; j0 < end; j0 += kBlockK) {
        const int64_t nj = std::min<int64_t>(kBlockK, end - j0);
        load_tile_transposed(kt.data(), k + g * hd, j0, nj, Hkv * hd, hd);
        load_tile_transposed(vt.data(), v + g * hd, j0, nj, Hkv * hd, hd);
        std::fill(dkt.begin(), dkt.end(), T(0));
        std::fill(dvt.begin(), dvt.end(), T(0));
        for (int64_t h = g * G; h < (g + 1) * G; ++h) {
          for (int64_t i0 = j0; i0 < end; i0 += kBlockQ) {  // rows before j0 see none of these keys
            const int64_t i1 = std::min<int64_t>(i0 + kBlockQ, end), nq = i1 - i0;
            if (seg != nullptr && !tile_visible(seg, i0, i1, j0, j0 + nj)) continue;
            const T* qb = q + (i0 * Hq + h) * hd;
            const T* dob = dout + (i0 * Hq + h) * hd;
            gemm(sc.data(), kBlockK, qb, Hq * hd, 1, kt.data(), kBlockK, nq, kBlockK, hd, false);
            gemm(dp.data(), kBlockK, dob, Hq * hd, 1, vt.data(), kBlockK, nq, kBlockK, hd, false);
            for (int64_t r = 0; r < nq; ++r) {
              const int64_t i = i0 + r;
              T* pr = sc.data() + r * kBlockK;
              T* dsr = dp.data() + r * kBlockK;
              mask_row(pr, seg, i, j0, nj, scale);
              const T lse_i = lse[h * Tn + i], d_i = delta[size_t(i * Hq + h)];
              for (int64_t jj = 0; jj < kBlockK; ++jj) pr[jj] -= lse_i;
              exp_row(pr, kBlockK);  // masked and padded keys: exp(-inf) = 0
              for (int64_t jj = 0; jj < kBlockK; ++jj) dsr[jj] = scale * (pr[jj] * (dsr[jj] - d_i));
            }
            // dV[jj] += Σ_r P[r, jj] dO[r];  dK[jj] += Σ_r dS[r, jj] Q[r]  (Pᵀ, dSᵀ read through strides)
            gemm(dvt.data(), hd, sc.data(), 1, kBlockK, dob, Hq * hd, nj, hd, nq, true);
            gemm(dkt.data(), hd, dp.data(), 1, kBlockK, qb, Hq * hd, nj, hd, nq, true);
            // dQ[r] += Σ_jj dS[r, jj] K[jj]
            gemm(dq + (i0 * Hq + h) * hd, Hq * hd, dp.data(), kBlockK, 1, k + (j0 * Hkv + g) * hd, Hkv * hd, nq,
                 hd, nj, true);
          }
        }
        for (int64_t jj = 0; jj < nj; ++jj) {
          std::copy_n(dkt.data() + jj * hd, hd, dk + ((j0 + jj) * Hkv + g) * hd);
          std::copy_n(dvt.data() + jj * hd, hd, dv + ((j0 + jj) * Hkv + g) * hd);
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
