// Host emulation of RewardKit's FlashAttention-2 kernels: runs the real kernel source
// (native/cuda/flash_*_kernel.cuh) on the CPU, one std::thread per CUDA thread, with the block
// barrier, warp shuffles, atomics and the m16n8k16 bf16 MMA emulated with the PTX fragment layout.
// It checks the tile / fragment / mask / GQA / LSE index math against a naive double reference on a
// machine without a GPU. It does NOT check timing, occupancy, shared-memory limits or real-hardware
// numerics. Build + run: tools/flash_emu/run.sh
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#define RK_FLASH_HOST_EMULATION 1
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace emu {
struct Block {
  explicit Block(int threads) : bar(threads) {
    for (auto& w : warp_bar) w = std::make_unique<std::barrier<>>(32);
  }
  std::barrier<> bar;
  std::unique_ptr<std::barrier<>> warp_bar[4];
  std::atomic<int> orv{0};
  float shfl[4][32];
  uint32_t a[4][32][4], b[4][32][2];
};
struct Ctx {
  uint3 tid, bid;
  dim3 gdim, bdim;
  Block* blk;
};
thread_local Ctx ctx;
}  // namespace emu

#undef threadIdx
#undef blockIdx
#undef gridDim
#undef blockDim
#define threadIdx (emu::ctx.tid)
#define blockIdx (emu::ctx.bid)
#define gridDim (emu::ctx.gdim)
#define blockDim (emu::ctx.bdim)
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

inline void __syncthreads() { emu::ctx.blk->bar.arrive_and_wait(); }
inline int __syncthreads_or(int p) {
  emu::Block* b = emu::ctx.blk;
  if (p) b->orv.fetch_or(1);
  b->bar.arrive_and_wait();
  int r = b->orv.load();
  b->bar.arrive_and_wait();
  if (threadIdx.x == 0) b->orv.store(0);
  b->bar.arrive_and_wait();
  return r;
}
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
  emu::Block* b = emu::ctx.blk;
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  b->shfl[w][lane] = v;
  b->warp_bar[w]->arrive_and_wait();
  float r = b->shfl[w][lane ^ lane_mask];
  b->warp_bar[w]->arrive_and_wait();
  return r;
}
inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
using std::max;
using std::min;

namespace rk { namespace cuda { namespace flash {
alignas(16) unsigned char smem_raw[1 << 18];
}}}  // namespace rk::cuda::flash

#include "flash_bwd_kernel.cuh"  // -I native/cuda (run.sh)
#include "flash_fwd_kernel.cuh"

namespace rk { namespace cuda { namespace flash {
static float bf_lo(uint32_t v) { uint32_t x = (v & 0xffffu) << 16; float f; std::memcpy(&f, &x, 4); return f; }
static float bf_hi(uint32_t v) { uint32_t x = v & 0xffff0000u; float f; std::memcpy(&f, &x, 4); return f; }
// Warp-wide D = A·B + C with the PTX m16n8k16 fragment layout (see flash_common.cuh).
void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  emu::Block* blk = emu::ctx.blk;
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
  std::memcpy(blk->a[w][lane], a, 16);
  std::memcpy(blk->b[w][lane], b, 8);
  blk->warp_bar[w]->arrive_and_wait();
  for (int e = 0; e < 4; ++e) {
    const int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
    float acc = c[e];
    for (int k = 0; k < 16; ++k) {
      const uint32_t av = blk->a[w][(row % 8) * 4 + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)];
      const uint32_t bv = blk->b[w][col * 4 + (k % 8) / 2][k >= 8 ? 1 : 0];
      acc += ((k & 1) ? bf_hi(av) : bf_lo(av)) * ((k & 1) ? bf_hi(bv) : bf_lo(bv));
    }
    c[e] = acc;
  }
  blk->warp_bar[w]->arrive_and_wait();
}
}}}  // namespace rk::cuda::flash

using namespace rk::cuda;
using rk::cuda::flash::Params;

template <class Kernel>
static void launch(dim3 grid, int threads, Kernel kernel, const Params& p) {
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        emu::Block blk(threads);
        std::vector<std::thread> ts;
        for (int i = 0; i < threads; ++i)
          ts.emplace_back([&, i] {
            emu::ctx.tid = make_uint3(i, 0, 0);
            emu::ctx.bid = make_uint3(x, y, z);
            emu::ctx.gdim = grid;
            emu::ctx.bdim = dim3(threads);
            emu::ctx.blk = &blk;
            kernel(p);
          });
        for (auto& t : ts) t.join();
      }
}

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
  std::vector<float> lse((size_t)hq * T), dsum((size_t)hq * T), dq_acc(o.size(), 0.f);
  const float scale = 1.f / std::sqrt((float)hd);

  Params p{};
  p.q = q.data(); p.k = k.data(); p.v = v.data(); p.o = o.data(); p.dout = dout.data();
  p.o_out = o.data(); p.dq = dq.data(); p.dk = dk.data(); p.dv = dv.data();
  p.lse = lse.data(); p.dsum = dsum.data(); p.dq_accum = dq_acc.data();
  p.cu_seqlens = cu.data(); p.seg = c.segments ? seg.data() : nullptr;
  p.num_seqs = S; p.total_tokens = T; p.max_seqlen = maxlen; p.heads_q = hq; p.heads_kv = hkv; p.head_dim = hd;
  p.scale = scale; p.scale_log2 = scale * flash::kLog2e; p.deterministic = c.deterministic;

  const dim3 gq((maxlen + 63) / 64, hq, S), gkv((maxlen + 63) / 64, hkv, S);
  if (hd == 64) launch(gq, 128, flash::flash_fwd_kernel<64>, p); else launch(gq, 128, flash::flash_fwd_kernel<128>, p);
  const int rows = T * hq;
  if (hd == 64) launch(dim3((rows + 3) / 4), 128, flash::flash_bwd_dsum_kernel<64>, p);
  else launch(dim3((rows + 3) / 4), 128, flash::flash_bwd_dsum_kernel<128>, p);
  std::fill(dk.begin(), dk.end(), __float2bfloat16_rn(0.f));
  std::fill(dv.begin(), dv.end(), __float2bfloat16_rn(0.f));
  std::fill(dq.begin(), dq.end(), __float2bfloat16_rn(0.f));
  if (hd == 64) launch(gkv, 128, flash::flash_bwd_dkdv_kernel<64>, p); else launch(gkv, 128, flash::flash_bwd_dkdv_kernel<128>, p);
  if (c.deterministic) {
    if (hd == 64) launch(gq, 128, flash::flash_bwd_dq_kernel<64>, p); else launch(gq, 128, flash::flash_bwd_dq_kernel<128>, p);
  } else {
    for (size_t i = 0; i < dq.size(); ++i) dq[i] = __float2bfloat16_rn(dq_acc[i]);
  }

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
  std::printf("hd=%d hq=%d hkv=%d segments=%d deterministic=%d\n", hd, hq, hkv, (int)c.segments, c.deterministic);
  check("out", o, ro, 1.0 / 64, fb);
  check("lse", lse, rlse, 1e-4, ff);
  check("dq", dq, rdq, 0.045, fb);
  check("dk", dk, rdk, 0.045, fb);
  check("dv", dv, rdv, 0.045, fb);
  return failures;
}

// Optional argument: index of the one case to run (0-3); default all.
int main(int argc, char** argv) {
  std::mt19937 rng(12345);
  const Case cases[] = {{64, 4, 2, false, 1}, {128, 6, 1, true, 1}, {64, 2, 2, true, 0}, {128, 4, 4, false, 0}};
  int failures = 0;
  for (int i = 0; i < 4; ++i)
    if (argc < 2 || std::atoi(argv[1]) == i) failures += run_case(cases[i], rng);
  std::printf(failures ? "FAILED (%d checks)\n" : "all checks passed\n", failures);
  return failures ? 1 : 0;
}
