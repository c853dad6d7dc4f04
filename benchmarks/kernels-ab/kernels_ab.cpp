// Alternating A/B timing of the CPU attention, SwiGLU and RMSNorm kernels: the working tree's (namespace rk) against a
// base revision's (the same sources compiled with -Drk=rk_base, see run.sh). On a shared machine the two builds
// see the same load because they alternate call by call; the figure to read is the ratio of the minima.
//   usage: kernels_ab <reps>      (prints one markdown table)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "rewardkit/attention.h"
#include "rewardkit/rmsnorm.h"
#include "rewardkit/swiglu.h"

namespace rk_base {
void attention_forward(float*, float*, const float*, const float*, const float*, const int32_t*, const int32_t*,
                       int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, double);
void attention_backward(float*, float*, float*, const float*, const float*, const float*, const float*,
                        const float*, const float*, const int32_t*, const int32_t*, int64_t, int64_t, int64_t,
                        int64_t, int64_t, int64_t, double);
void swiglu_forward(float*, const float*, const float*, int64_t);
void swiglu_backward(float*, float*, const float*, const float*, const float*, int64_t);
struct RmsNormParams;  // the same layout as rk::RmsNormParams (one header, compiled twice)
void rmsnorm_forward(float*, float*, const float*, const float*, const RmsNormParams&);
void rmsnorm_backward(float*, float*, const float*, const float*, const float*, const float*, const RmsNormParams&);
}  // namespace rk_base

namespace {

struct Shape {
  std::string name;
  int64_t tokens, seqlen, hq, hkv, hd, ffn;
};

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void fill(std::vector<float>& v, unsigned seed, float amp) {
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = amp * (float((seed >> 8) & 0xFFFF) / 32768.0f - 1.0f);
  }
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) scale = std::max(scale, double(std::fabs(a[i])));
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m / scale;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  // Qwen2.5-0.5B (HotPathOpsBenchmark's CPU point: 2048 tokens as 4 x 512) and the tiny Qwen2 example config.
  const std::vector<Shape> shapes = {{"Qwen2.5-0.5B", 2048, 512, 14, 2, 64, 4864},
                                     {"qwen2-tiny", 2048, 256, 4, 2, 32, 352}};
  std::printf("| op | shape | tokens x seqlen | base min ms | new min ms | base median ms | new median ms | speed-up (min) | max rel diff |\n");
  std::printf("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Shape& s : shapes) {
    const int64_t T = s.tokens, nseq = T / s.seqlen;
    std::vector<int32_t> cu(static_cast<size_t>(nseq + 1));
    for (int64_t i = 0; i <= nseq; ++i) cu[size_t(i)] = int32_t(i * s.seqlen);
    // shared-prefix segments: prompt 40 %, chosen 30 %, rejected 30 % of each sequence
    std::vector<int32_t> seg(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const int64_t pos = t % s.seqlen;
      seg[size_t(t)] = pos < s.seqlen * 4 / 10 ? 0 : pos < s.seqlen * 7 / 10 ? 1 : 2;
    }
    std::vector<float> q(static_cast<size_t>(T * s.hq * s.hd)), k(static_cast<size_t>(T * s.hkv * s.hd)), v(k.size()), dout(q.size());
    fill(q, 1, 2.0f), fill(k, 2, 2.0f), fill(v, 3, 1.0f), fill(dout, 4, 1.0f);
    std::vector<float> o[2], lse[2], dq[2], dk[2], dv[2];
    for (int b = 0; b < 2; ++b) {
      o[b].resize(q.size()), lse[b].resize(size_t(s.hq * T)), dq[b].resize(q.size()), dk[b].resize(k.size()),
          dv[b].resize(k.size());
    }
    const double scale = 1.0 / std::sqrt(double(s.hd));
    auto fwd = [&](int b) {
      auto f = b == 0 ? static_cast<void (*)(float*, float*, const float*, const float*, const float*, const int32_t*,
                                             const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                             double)>(rk_base::attention_forward)
                      : static_cast<void (*)(float*, float*, const float*, const float*, const float*, const int32_t*,
                                             const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                             double)>(rk::attention_forward);
      f(o[b].data(), lse[b].data(), q.data(), k.data(), v.data(), cu.data(), seg.data(), nseq, T, s.seqlen, s.hq,
        s.hkv, s.hd, scale);
    };
    auto bwd = [&](int b) {
      auto f = b == 0 ? static_cast<void (*)(float*, float*, float*, const float*, const float*, const float*,
                                             const float*, const float*, const float*, const int32_t*,
                                             const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                             double)>(rk_base::attention_backward)
                      : static_cast<void (*)(float*, float*, float*, const float*, const float*, const float*,
                                             const float*, const float*, const float*, const int32_t*,
                                             const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                             double)>(rk::attention_backward);
      f(dq[b].data(), dk[b].data(), dv[b].data(), dout.data(), q.data(), k.data(), v.data(), o[b].data(),
        lse[b].data(), cu.data(), seg.data(), nseq, T, s.seqlen, s.hq, s.hkv, s.hd, scale);
    };
    const int64_t n = T * s.ffn;
    const size_t nn = static_cast<size_t>(n);
    std::vector<float> gate(nn), up(nn), go(nn), so[2], dg[2], du[2];
    fill(gate, 5, 6.0f), fill(up, 6, 2.0f), fill(go, 7, 1.0f);
    for (int b = 0; b < 2; ++b) so[b].resize(size_t(n)), dg[b].resize(size_t(n)), du[b].resize(size_t(n));
    auto sfwd = [&](int b) {
      if (b == 0) rk_base::swiglu_forward(so[0].data(), gate.data(), up.data(), n);
      else rk::swiglu_forward(so[1].data(), gate.data(), up.data(), n);
    };
    auto sbwd = [&](int b) {
      if (b == 0) rk_base::swiglu_backward(dg[0].data(), du[0].data(), go.data(), gate.data(), up.data(), n);
      else rk::swiglu_backward(dg[1].data(), du[1].data(), go.data(), gate.data(), up.data(), n);
    };
    const int64_t D = s.hq * s.hd;  // hidden size
    const rk::RmsNormParams rp{T, D, 1e-6};
    const auto& rpb = reinterpret_cast<const rk_base::RmsNormParams&>(rp);
    std::vector<float> rx(static_cast<size_t>(T * D)), rw(static_cast<size_t>(D)), rg(rx.size()), ro[2], rs[2], rdx[2], rdw[2];
    fill(rx, 8, 3.0f), fill(rw, 9, 1.0f), fill(rg, 10, 1.0f);
    for (int b = 0; b < 2; ++b) ro[b].resize(rx.size()), rs[b].resize(size_t(T)), rdx[b].resize(rx.size()), rdw[b].resize(size_t(D));
    auto rfwd = [&](int b) {
      if (b == 0) rk_base::rmsnorm_forward(ro[0].data(), rs[0].data(), rx.data(), rw.data(), rpb);
      else rk::rmsnorm_forward(ro[1].data(), rs[1].data(), rx.data(), rw.data(), rp);
    };
    auto rbwd = [&](int b) {  // dw accumulates: cleared first (a memset of D floats, negligible)
      std::fill(rdw[b].begin(), rdw[b].end(), 0.0f);
      if (b == 0) rk_base::rmsnorm_backward(rdx[0].data(), rdw[0].data(), rg.data(), rx.data(), rw.data(), rs[0].data(), rpb);
      else rk::rmsnorm_backward(rdx[1].data(), rdw[1].data(), rg.data(), rx.data(), rw.data(), rs[1].data(), rp);
    };
    struct Op { const char* name; std::function<void(int)> run; std::function<double()> diff; };
    const std::vector<Op> ops = {
        {"attention.fwd", fwd, [&] { return max_rel_diff(o[0], o[1]); }},
        {"attention.bwd", bwd, [&] { return std::max({max_rel_diff(dq[0], dq[1]), max_rel_diff(dk[0], dk[1]),
                                                      max_rel_diff(dv[0], dv[1])}); }},
        {"swiglu.fwd", sfwd, [&] { return max_rel_diff(so[0], so[1]); }},
        {"swiglu.bwd", sbwd, [&] { return std::max(max_rel_diff(dg[0], dg[1]), max_rel_diff(du[0], du[1])); }},
        {"rmsnorm.fwd", rfwd, [&] { return max_rel_diff(ro[0], ro[1]); }},
        {"rmsnorm.bwd", rbwd, [&] { return std::max(max_rel_diff(rdx[0], rdx[1]), max_rel_diff(rdw[0], rdw[1])); }}};
    for (const Op& op : ops) {
      std::vector<double> t[2];
      op.run(0), op.run(1);  // warm-up (and outputs for the diff)
      for (int r = 0; r < reps; ++r) {
        for (int b = 0; b < 2; ++b) t[b].push_back(seconds([&] { op.run(b); }));
      }
      for (auto& x : t) std::sort(x.begin(), x.end());
      std::printf("| %s | %s | %lld x %lld | %.2f | %.2f | %.2f | %.2f | %.2fx | %.1e |\n", op.name, s.name.c_str(),
                  (long long)T, (long long)s.seqlen, 1e3 * t[0][0], 1e3 * t[1][0], 1e3 * t[0][size_t(reps / 2)],
                  1e3 * t[1][size_t(reps / 2)], t[0][0] / t[1][0], op.diff());
    }
  }
  return 0;
}
