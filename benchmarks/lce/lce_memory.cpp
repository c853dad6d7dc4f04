// Peak memory of the policy head's forward + backward: the fused linear cross-entropy
// (rewardkit-kernels/native/cpu/linear_cross_entropy.cpp) against the plain way (materialise the [T, V] logits, log-softmax,
// then the [T, V] logits gradient). One mode per process, so each peak RSS is its own.
// Usage: lce_memory fused|naive TOKENS DIM VOCAB   (prints one JSON line)
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rewardkit/linear_cross_entropy.h"

static double peak_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // kB on Linux
}

// logp [T], dh [T, D] (overwritten), dw [V, D] (accumulated) with the whole logits matrix in memory.
static void naive(std::vector<float>& logp, std::vector<float>& dh, std::vector<float>& dw, const std::vector<float>& h,
                  const std::vector<float>& w, const std::vector<int32_t>& y, const std::vector<float>& g, int64_t T,
                  int64_t D, int64_t V) {
  std::vector<float> z(size_t(T * V));  // logits [T, V]: the memory the fused op avoids
#pragma omp parallel for
  for (int64_t t = 0; t < T; ++t)
    for (int64_t v = 0; v < V; ++v) {
      float acc = 0;
      for (int64_t k = 0; k < D; ++k) acc += h[t * D + k] * w[v * D + k];
      z[t * V + v] = acc;
    }
#pragma omp parallel for
  for (int64_t t = 0; t < T; ++t) {
    float* zt = z.data() + t * V;
    double m = -INFINITY, s = 0;
    for (int64_t v = 0; v < V; ++v) m = std::max(m, double(zt[v]));
    for (int64_t v = 0; v < V; ++v) s += std::exp(zt[v] - m);
    const double lse = m + std::log(s);
    logp[t] = float(zt[y[t]] - lse);
    for (int64_t v = 0; v < V; ++v) zt[v] = -g[t] * float(std::exp(zt[v] - lse));  // in place: dz
    zt[y[t]] += g[t];
  }
#pragma omp parallel for
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < D; ++k) {
      float acc = 0;
      for (int64_t v = 0; v < V; ++v) acc += z[t * V + v] * w[v * D + k];
      dh[t * D + k] = acc;
    }
#pragma omp parallel for
  for (int64_t v = 0; v < V; ++v)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < D; ++k) dw[v * D + k] += z[t * V + v] * h[t * D + k];
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s fused|naive TOKENS DIM VOCAB\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const int64_t T = std::atoll(argv[2]), D = std::atoll(argv[3]), V = std::atoll(argv[4]);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  const size_t nt = size_t(T), nh = size_t(T * D), nw = size_t(V * D);
  std::vector<float> h(nh), w(nw), g(nt, 1.f), logp(nt), lse(nt), dh(nh), dw(nw, 0.f);
  std::vector<int32_t> y(nt);
  for (auto& x : h) x = nd(rng);
  for (auto& x : w) x = 0.05f * nd(rng);
  for (int64_t t = 0; t < T; ++t) y[t] = int32_t(rng() % V);
  const double before = peak_mib();  // inputs, weights and gradients allocated and touched
  const auto t0 = std::chrono::steady_clock::now();
  if (mode == "fused") {
    rk::linear_cross_entropy_forward(logp.data(), lse.data(), h.data(), w.data(), y.data(), T, D, V, 0, 0);
    rk::linear_cross_entropy_backward(dh.data(), dw.data(), g.data(), lse.data(), h.data(), w.data(), y.data(), T, D, V, 0,
                                      0);
  } else if (mode == "naive") {
    naive(logp, dh, dw, h, w, y, g, T, D, V);
  } else {
    std::fprintf(stderr, "mode must be fused or naive, got %s\n", mode.c_str());
    return 2;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double sum = 0;
  for (float x : logp) sum += x;
  std::printf("{\"mode\": \"%s\", \"tokens\": %lld, \"dim\": %lld, \"vocab\": %lld, \"inputs_mib\": %.1f, "
              "\"peak_mib\": %.1f, \"op_extra_mib\": %.1f, \"seconds\": %.2f, \"sum_logp\": %.6g}\n",
              mode.c_str(), (long long)T, (long long)D, (long long)V, before, peak_mib(), peak_mib() - before, secs, sum);
  return 0;
}
