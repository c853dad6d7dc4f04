// FlashAttention-2 forward/backward (the real kernels and launchers in rewardkit-kernels/native/cuda/flash_*.cu, run by
// the host emulator in emu.h/emu.cpp) against the CPU reference kernel (rewardkit-kernels/native/cpu/attention.cpp,
// double overload) on the same bf16 inputs, itself cross-checked against a naive double loop here:
// checks tile / fragment / mask / GQA (per-query-head dK/dV partials and their reduce) / LSE / dQ-mode /
// head-dim padding index math and the cp.async load pipeline without a GPU, for every head-dim bucket the
// CUDA build instantiates (192 and 256 take the split dV / dK blocks). Cases 2, 4 and 5 run in mvn verify
// (FlashKernelEmulatorTest).
// Build + run: tools/kernel_emu/run.sh
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "rewardkit/attention.h"
#include "rewardkit/cuda/flash_attention.h"
#include "emu.h"
#include "flash_common.cuh"  // head_dim_bucket, the kernels' own rule

using namespace rk::cuda;

static float b2f_h(__nv_bfloat16 v) { return __bfloat162float(v); }

struct Case {
  int hd, hq, hkv;
  bool segments;
  int deterministic;
};

static int run_case(const Case& c, std::mt19937& rng) {
  const std::vector<int> cu = {0, 1, 71, 200};
  const int S = 3, T = 200, maxlen = 129, hd = c.hd, hq = c.hq, hkv = c.hkv, group = hq / hkv;
  std::vector<int> seg(T, 0);
  if (c.segments) {
    for (int i = 71 + 40; i < 71 + 90; ++i) seg[i] = 1;
    for (int i = 71 + 90; i < 200; ++i) seg[i] = 2;
  }
  std::normal_distribution<float> nd(0.f, 1.f);
  auto rnd = [&](size_t n) {
    std::vector<__nv_bfloat16> v(n);
    for (auto& x : v) x = __float2bfloat16_rn(nd(rng));
    return v;
  };
  auto q = rnd((size_t)T * hq * hd), k = rnd((size_t)T * hkv * hd), v = rnd((size_t)T * hkv * hd);
  auto dout = rnd((size_t)T * hq * hd);
  std::vector<__nv_bfloat16> o((size_t)T * hq * hd), dq(o.size()), dk(k.size()), dv(v.size());
  std::vector<float> lse((size_t)hq * T);
  const float scale = 1.f / std::sqrt((float)hd);

  auto bits = [](std::vector<__nv_bfloat16>& v) { return reinterpret_cast<bf16_bits*>(v.data()); };
  flash_attention_forward(bits(o), lse.data(), bits(q), bits(k), bits(v), cu.data(), c.segments ? seg.data() : nullptr,
                          S, T, maxlen, hq, hkv, hd, scale, nullptr);
  std::vector<unsigned char> ws(flash_attention_backward_workspace(T, hq, hkv, hd, c.deterministic));
  flash_attention_backward(bits(dq), bits(dk), bits(dv), bits(dout), bits(q), bits(k), bits(v), bits(o), lse.data(),
                           ws.data(), cu.data(), c.segments ? seg.data() : nullptr, S, T, maxlen, hq, hkv, hd, scale,
                           c.deterministic, nullptr);

  // Naive double reference from the same bf16 inputs.
  std::vector<double> ro(o.size(), 0), rlse(lse.size(), 0), rdq(o.size(), 0), rdk(k.size(), 0), rdv(v.size(), 0);
  for (int s = 0; s < S; ++s) {
    const int st = cu[s], len = cu[s + 1] - st;
    for (int h = 0; h < hq; ++h) {
      const int hk = h / group;
      for (int i = 0; i < len; ++i) {
        const int ti = st + i;
        std::vector<double> sc(len, -INFINITY), pr(len, 0);
        double mx = -INFINITY;
        for (int j = 0; j <= i; ++j) {
          const int tj = st + j;
          if (!(seg[tj] == 0 || seg[tj] == seg[ti]) && c.segments) continue;
          double d = 0;
          for (int x = 0; x < hd; ++x)
            d += (double)b2f_h(q[((size_t)ti * hq + h) * hd + x]) * b2f_h(k[((size_t)tj * hkv + hk) * hd + x]);
          sc[j] = d * scale;
          mx = std::max(mx, sc[j]);
        }
        double l = 0;
        for (int j = 0; j <= i; ++j) if (sc[j] > -INFINITY) { pr[j] = std::exp(sc[j] - mx); l += pr[j]; }
        rlse[(size_t)h * T + ti] = mx + std::log(l);
        for (int j = 0; j <= i; ++j) pr[j] /= l;
        double dsum_ref = 0;
        std::vector<double> out(hd, 0);
        for (int j = 0; j <= i; ++j)
          for (int x = 0; x < hd; ++x) out[x] += pr[j] * b2f_h(v[((size_t)(st + j) * hkv + hk) * hd + x]);
        for (int x = 0; x < hd; ++x) {
          ro[((size_t)ti * hq + h) * hd + x] = out[x];
          // D uses the kernel's (bf16) output, as the backward does
          dsum_ref += (double)b2f_h(dout[((size_t)ti * hq + h) * hd + x]) * b2f_h(o[((size_t)ti * hq + h) * hd + x]);
        }
        for (int j = 0; j <= i; ++j) {
          if (pr[j] == 0) continue;
          const int tj = st + j;
          double dp = 0;
          for (int x = 0; x < hd; ++x)
            dp += (double)b2f_h(dout[((size_t)ti * hq + h) * hd + x]) * b2f_h(v[((size_t)tj * hkv + hk) * hd + x]);
          const double ds = pr[j] * (dp - dsum_ref);
          for (int x = 0; x < hd; ++x) {
            rdq[((size_t)ti * hq + h) * hd + x] += scale * ds * b2f_h(k[((size_t)tj * hkv + hk) * hd + x]);
            rdk[((size_t)tj * hkv + hk) * hd + x] += scale * ds * b2f_h(q[((size_t)ti * hq + h) * hd + x]);
            rdv[((size_t)tj * hkv + hk) * hd + x] += pr[j] * b2f_h(dout[((size_t)ti * hq + h) * hd + x]);
          }
        }
      }
    }
  }
  // The CPU reference kernel (what CI and --device cpu run) on the same values, in double.
  auto dbl = [](const std::vector<__nv_bfloat16>& v) {
    std::vector<double> d(v.size());
    for (size_t i = 0; i < v.size(); ++i) d[i] = b2f_h(v[i]);
    return d;
  };
  const auto dq_in = dbl(q), dk_in = dbl(k), dv_in = dbl(v), ddout = dbl(dout), dko = dbl(o);
  std::vector<double> co(o.size()), clse(lse.size()), cdq(o.size()), cdk(k.size()), cdv(v.size());
  const int32_t* segp = c.segments ? seg.data() : nullptr;
  rk::attention_forward(co.data(), clse.data(), dq_in.data(), dk_in.data(), dv_in.data(), cu.data(), segp, S, T, maxlen,
                        hq, hkv, hd, scale);
  // Backward from the kernel's own bf16 output, as training does (D = rowsum(dO * O) uses it).
  rk::attention_backward(cdq.data(), cdk.data(), cdv.data(), ddout.data(), dq_in.data(), dk_in.data(), dv_in.data(),
                         dko.data(), clse.data(), cu.data(), segp, S, T, maxlen, hq, hkv, hd, scale);

  int failures = 0;
  auto check = [&](const char* what, const auto& got, const std::vector<double>& ref, double tol, auto conv) {
    double maxref = 0, maxdiff = 0;
    size_t worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      maxref = std::max(maxref, std::fabs(ref[i]));
      const double d = std::fabs((double)conv(got[i]) - ref[i]);
      if (!(d <= maxdiff)) { maxdiff = d; worst = i; }
    }
    const bool ok = maxdiff <= tol * maxref;
    std::printf("  %-4s max|diff| %.3e (%.2e of max|ref| %.3f) at %zu %s\n", what, maxdiff, maxdiff / maxref, maxref,
                worst, ok ? "ok" : "FAIL");
    if (!ok) ++failures;
  };
  auto fb = [](__nv_bfloat16 x) { return __bfloat162float(x); };
  auto ff = [](float x) { return x; };
  auto fd = [](double x) { return x; };
  std::printf("hd=%d (bucket %d) hq=%d hkv=%d segments=%d deterministic=%d\n", hd, rk::cuda::flash::head_dim_bucket(hd), hq, hkv,
              (int)c.segments, c.deterministic);
  // The CPU reference agrees with the naive loop (both double; a sanity check of the reference itself).
  check("cpu-ref out vs naive", co, ro, 1e-9, fd);
  check("cpu-ref dq vs naive", cdq, rdq, 1e-9, fd);
  check("out", o, co, 1.0 / 64, fb);
  check("lse", lse, clse, 1e-4, ff);
  check("dq", dq, cdq, 0.045, fb);
  check("dk", dk, cdk, 0.045, fb);
  check("dv", dv, cdv, 0.045, fb);
  // Head-dim padding: columns past hd are never written (the buffers are exactly [T, H, hd], so an
  // overrun would land in the next head's row; NaN poison there would show as a mismatch above).
  return failures;
}

// Arguments: indices of the cases to run (default all). Every head dim the models can have lands in one
// of the buckets 32, 64, 96, 128, 192, 256; the list covers each bucket, dims below and at a bucket's top
// (8, 16, 80, 160, 200),
// GQA / MQA / MHA, segments and both dQ modes.
int main(int argc, char** argv) {
  const Case cases[] = {{64, 4, 2, false, 1},  {128, 6, 1, true, 1}, {64, 2, 2, true, 0},   {128, 4, 4, false, 0},
                        {8, 4, 2, true, 1},    {16, 2, 1, false, 0}, {32, 3, 3, true, 1},   {80, 4, 2, true, 0},
                        {96, 2, 2, false, 1},  {160, 2, 1, true, 1}, {200, 2, 2, false, 0}, {256, 2, 1, true, 1}};
  const int n = sizeof(cases) / sizeof(cases[0]);
  int failures = 0;
  for (int i = 0; i < n; ++i) {
    bool selected = argc < 2;
    for (int a = 1; a < argc; ++a) selected |= std::atoi(argv[a]) == i;
    std::mt19937 rng(12345 + i);  // each case's inputs independent of which others run
    if (selected) failures += run_case(cases[i], rng);
  }
  std::printf(failures ? "FAILED (%d checks)\n" : "all checks passed\n", failures);
  return failures ? 1 : 0;
}
