#include "rewardkit/grad_norm.h"

#include <algorithm>
#include <vector>

namespace rk {
namespace {

constexpr int64_t kChunk = 4096;

template <typename T>
double sumsq(const T* g, int64_t n) {
  RK_REQUIRE("grad_sumsq", n >= 0, "n must be >= 0");
  RK_REQUIRE("grad_sumsq", n == 0 || g, "null buffer");
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(size_t(chunks), 0.0);
#pragma omp parallel for schedule(static) if (chunks > 16)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t lo = c * kChunk, hi = std::min(n, lo + kChunk);
    double s = 0;
    for (int64_t i = lo; i < hi; ++i) s += double(g[i]) * double(g[i]);
    partial[size_t(c)] = s;
  }
  double total = 0;
  for (double s : partial) total += s;  // fixed order: independent of the thread count
  return total;
}

}  // namespace

double grad_sumsq(const float* g, int64_t n) { return sumsq(g, n); }
double grad_sumsq(const double* g, int64_t n) { return sumsq(g, n); }

}  // namespace rk
