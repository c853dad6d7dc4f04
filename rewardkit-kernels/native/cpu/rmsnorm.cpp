#include "rewardkit/rmsnorm.h"

#include <cmath>
#include <vector>
#include <omp.h>

namespace rk {
namespace {

// Sums f(i) for i in [0, n) in double over kLanes independent partial sums, combined in a fixed order.
// The lanes let the compiler vectorise a sum it may not reorder (one serial chain ran at ~5 % of memcpy
// speed); the order depends only on n, never on the row's address or the thread, so a row's result is
// the same wherever it sits in a batch.
constexpr int64_t kLanes = 8;

template <typename F>
inline double lane_sum(int64_t n, F f) {
  double acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t whole = n / kLanes * kLanes;
  for (int64_t i = 0; i < whole; i += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) acc[j] += f(i + j);
  }
  for (int64_t i = whole; i < n; ++i) acc[i - whole] += f(i);
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

// One row of the forward: the code both rmsnorm_forward and residual_rmsnorm_forward run, so the two agree
// bit for bit.
template <typename T>
inline void forward_row(T* outr, T& rstd, const T* xr, const T* w, int64_t D, double eps) {
  // The mean square in double for f32 too: rows are long (up to 8k) and this is cheap.
  const double ss = lane_sum(D, [xr](int64_t i) { return double(xr[i]) * double(xr[i]); });
  const T s = T(1.0 / std::sqrt(ss / double(D) + eps));
  rstd = s;
  for (int64_t i = 0; i < D; ++i) outr[i] = xr[i] * s * w[i];
}

template <typename T>
void forward(T* out, T* rstd, const T* x, const T* w, const RmsNormParams& p) {
  const int64_t D = p.dim;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.rows; ++r) forward_row(out + r * D, rstd[r], x + r * D, w, D, p.eps);
}

// y = x + delta row by row, each row normed while it is still in cache.
template <typename T>
void residual_forward(T* y, T* out, T* rstd, const T* x, const T* delta, const T* w, const RmsNormParams& p) {
  const int64_t D = p.dim;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.rows; ++r) {
    T* yr = y + r * D;
    const T* xr = x + r * D;
    const T* dr = delta + r * D;
#pragma omp simd
    for (int64_t i = 0; i < D; ++i) yr[i] = xr[i] + dr[i];
    forward_row(out + r * D, rstd[r], yr, w, D, p.eps);
  }
}

// y_i = x_i s w_i, s = (mean(x^2)+eps)^-1/2  =>  dx_i = s (g_i w_i) - x_i s^3/D * sum_j g_j w_j x_j
// (one element's value, rounded to T; shared by the overwriting and the accumulating loop)
template <typename T>
inline T dx_value(T s, T g, T w, T x, T c) {
  return s * g * w - x * c;
}

template <typename T>
void backward(T* dx, T* dw, const T* dout, const T* x, const T* w, const T* rstd,
              const RmsNormParams& p) {
  const int64_t D = p.dim;
  const int nthreads = omp_get_max_threads();
  // Per-thread dw partials, reduced in a fixed order so results are deterministic.
  std::vector<T> partial(size_t(nthreads) * size_t(D), T(0));
#pragma omp parallel num_threads(nthreads)
  {
    const int tid = omp_get_thread_num();
    T* dwp = partial.data() + size_t(tid) * size_t(D);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < p.rows; ++r) {
      const T* xr = x + r * D;
      const T* gr = dout + r * D;
      T* dxr = dx + r * D;
      const T s = rstd[r];
      const double dot = lane_sum(D, [gr, w, xr](int64_t i) { return double(gr[i]) * double(w[i]) * double(xr[i]); });
      for (int64_t i = 0; i < D; ++i) dwp[i] += gr[i] * xr[i] * s;
      const T c = T(dot * double(s) * double(s) * double(s) / double(D));
      if (p.accumulate) {
        // The rounded gradient first, then the add: as the overwrite into a scratch and add_inplace did.
        for (int64_t i = 0; i < D; ++i) dxr[i] += dx_value(s, gr[i], w[i], xr[i], c);
      } else {
        for (int64_t i = 0; i < D; ++i) dxr[i] = dx_value(s, gr[i], w[i], xr[i], c);
      }
    }
  }
  for (int t = 0; t < nthreads; ++t) {
    const T* dwp = partial.data() + size_t(t) * size_t(D);
    for (int64_t i = 0; i < D; ++i) dw[i] += dwp[i];
  }
}

}  // namespace

#define RK_RMSNORM_API(T)                                                                     \
  void rmsnorm_forward(T* out, T* rstd, const T* x, const T* w, const RmsNormParams& p) {     \
    p.validate("rmsnorm_forward");                                                            \
    forward(out, rstd, x, w, p);                                                              \
  }                                                                                           \
  void rmsnorm_backward(T* dx, T* dw, const T* dout, const T* x, const T* w, const T* rstd,   \
                        const RmsNormParams& p) {                                             \
    p.validate("rmsnorm_backward");                                                           \
    backward(dx, dw, dout, x, w, rstd, p);                                                    \
  }                                                                                           \
  void residual_rmsnorm_forward(T* y, T* out, T* rstd, const T* x, const T* delta, const T* w, \
                                const RmsNormParams& p) {                                     \
    p.validate("residual_rmsnorm_forward");                                                   \
    residual_forward(y, out, rstd, x, delta, w, p);                                           \
  }
RK_RMSNORM_API(float)
RK_RMSNORM_API(double)

}  // namespace rk
