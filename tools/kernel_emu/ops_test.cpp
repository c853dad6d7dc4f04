// The non-attention CUDA kernels (real sources in rewardkit-kernels/native/cuda/*.cu, run by the host emulator)
// against double references, on awkward shapes. Build + run: tools/kernel_emu/run.sh
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rewardkit/cuda/ops.h"
#include "rewardkit/adamw.h"
#include "rewardkit/cuda/linear_cross_entropy.h"
#include "rewardkit/cuda/preference_loss.h"
#include "rewardkit/cuda/reward_loss.h"
#include "rewardkit/grad_norm.h"
#include "rewardkit/linear_cross_entropy.h"
#include "rewardkit/preference_loss.h"

using namespace rk::cuda;

static std::mt19937 rng(777);
static int failures = 0;

static float rb(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }
static std::vector<bf16_bits> to_bits(const std::vector<float>& f) {
  std::vector<bf16_bits> b(f.size());
  for (size_t i = 0; i < f.size(); ++i) { __nv_bfloat16 h = __float2bfloat16_rn(f[i]); b[i] = __bfloat16_as_ushort(h); }
  return b;
}
static std::vector<float> from_bits(const std::vector<bf16_bits>& b) {
  std::vector<float> f(b.size());
  for (size_t i = 0; i < b.size(); ++i) f[i] = __bfloat162float(__ushort_as_bfloat16(b[i]));
  return f;
}
static std::vector<float> randn(size_t n, double s) {
  std::normal_distribution<double> nd(0, s);
  std::vector<float> v(n);
  for (auto& x : v) x = rb(static_cast<float>(nd(rng)));
  return v;
}
template <class A, class B>
static void check(const std::string& what, const A& got, const B& ref, double tol) {
  double maxref = 0, maxdiff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    maxref = std::max(maxref, std::fabs((double)ref[i]));
    const double d = std::fabs((double)got[i] - (double)ref[i]);
    if (!(d <= maxdiff)) maxdiff = d;
  }
  const bool ok = maxdiff <= tol * std::max(maxref, 1e-30);
  std::printf("  %-28s max|diff| %.3e (max|ref| %.3e) %s\n", what.c_str(), maxdiff, maxref, ok ? "ok" : "FAIL");
  if (!ok) ++failures;
}

static void rmsnorm(int rows, int dim) {
  auto x = randn((size_t)rows * dim, 1.5), w = randn(dim, 1), dy = randn((size_t)rows * dim, 1);
  auto xb = to_bits(x), wb = to_bits(w), dyb = to_bits(dy);
  std::vector<bf16_bits> out(x.size()), dx(x.size());
  std::vector<float> rstd(rows), dw(dim, 0.25f), ws((size_t)column_reduce_chunks() * dim);
  const rk::RmsNormParams rp{rows, dim, 1e-6};
  rmsnorm_forward(out.data(), rstd.data(), xb.data(), wb.data(), rp, nullptr);
  rmsnorm_backward(dx.data(), dw.data(), dyb.data(), xb.data(), wb.data(), rstd.data(), ws.data(), rp, nullptr);
  std::vector<double> ro(x.size()), rr(rows), rdx(x.size()), rdw(dim, 0.25);
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int d = 0; d < dim; ++d) ss += (double)x[r * dim + d] * x[r * dim + d];
    const double rs = 1 / std::sqrt(ss / dim + 1e-6);
    rr[r] = rs;
    double dot = 0;
    for (int d = 0; d < dim; ++d) dot += (double)dy[r * dim + d] * w[d] * x[r * dim + d] * rs;
    for (int d = 0; d < dim; ++d) {
      const double n = x[r * dim + d] * rs;
      ro[r * dim + d] = n * w[d];
      rdx[r * dim + d] = rs * (dy[r * dim + d] * w[d] - n * dot / dim);
      rdw[d] += dy[r * dim + d] * n;
    }
  }
  const std::string s = " [" + std::to_string(rows) + "x" + std::to_string(dim) + "]";
  check("rmsnorm out" + s, from_bits(out), ro, 1.0 / 128);
  check("rmsnorm rstd" + s, rstd, rr, 1e-5);
  check("rmsnorm dx" + s, from_bits(dx), rdx, 1.0 / 64);
  check("rmsnorm dw" + s, dw, rdw, 1.0 / 128);
}

// The fused residual ops (residual_rmsnorm_forward, rmsnorm_backward with p.accumulate, add_out) against the
// unfused calls they replace: bit-identical (same bf16 roundings), and the sum against a double reference.
static void same_bits(const std::string& what, const std::vector<bf16_bits>& got, const std::vector<bf16_bits>& ref) {
  size_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) bad += got[i] != ref[i];
  std::printf("  %-28s %zu of %zu elements differ from the unfused path %s\n", what.c_str(), bad, ref.size(), bad ? "FAIL" : "ok");
  if (bad) ++failures;
}
static void same_floats(const std::string& what, const std::vector<float>& got, const std::vector<float>& ref) {
  size_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) bad += std::memcmp(&got[i], &ref[i], sizeof(float)) != 0;
  std::printf("  %-28s %zu of %zu elements differ from the unfused path %s\n", what.c_str(), bad, ref.size(), bad ? "FAIL" : "ok");
  if (bad) ++failures;
}

static void fused_residual(int rows, int dim) {
  const size_t n = (size_t)rows * dim;
  auto x = randn(n, 1.5), delta = randn(n, 0.5), w = randn(dim, 1), dy = randn(n, 1), dres = randn(n, 1);
  auto xb = to_bits(x), db = to_bits(delta), wb = to_bits(w), dyb = to_bits(dy), drb = to_bits(dres);
  const rk::RmsNormParams rp{rows, dim, 1e-6};
  // unfused: y = x; y += delta; rmsnorm(y)
  std::vector<bf16_bits> yRef = xb, outRef(n), y(n), out(n);
  std::vector<float> rstdRef(rows), rstd(rows);
  add_inplace_bf16(yRef.data(), db.data(), (int64_t)n, nullptr);
  rmsnorm_forward(outRef.data(), rstdRef.data(), yRef.data(), wb.data(), rp, nullptr);
  residual_rmsnorm_forward(y.data(), out.data(), rstd.data(), xb.data(), db.data(), wb.data(), rp, nullptr);
  const std::string s = " [" + std::to_string(rows) + "x" + std::to_string(dim) + "]";
  same_bits("residual y" + s, y, yRef);
  same_bits("residual out" + s, out, outRef);
  same_floats("residual rstd" + s, rstd, rstdRef);
  std::vector<double> ry(n);
  for (size_t i = 0; i < n; ++i) ry[i] = (double)x[i] + delta[i];
  check("residual y vs double" + s, from_bits(y), ry, 1.0 / 128);
  // y aliasing x
  std::vector<bf16_bits> xy = xb, out2(n);
  residual_rmsnorm_forward(xy.data(), out2.data(), rstd.data(), xy.data(), db.data(), wb.data(), rp, nullptr);
  same_bits("residual y in place" + s, xy, yRef);
  same_bits("residual out (y in place)" + s, out2, outRef);

  // backward: overwrite into a scratch + add_inplace_bf16 vs accumulate
  std::vector<float> ws((size_t)column_reduce_chunks() * dim), dwRef(dim, 0.25f), dw(dim, 0.25f);
  std::vector<bf16_bits> scratch(n), dxRef = drb, dx = drb;
  rmsnorm_backward(scratch.data(), dwRef.data(), dyb.data(), yRef.data(), wb.data(), rstdRef.data(), ws.data(), rp, nullptr);
  add_inplace_bf16(dxRef.data(), scratch.data(), (int64_t)n, nullptr);
  rk::RmsNormParams acc = rp;
  acc.accumulate = true;
  rmsnorm_backward(dx.data(), dw.data(), dyb.data(), yRef.data(), wb.data(), rstdRef.data(), ws.data(), acc, nullptr);
  same_bits("rmsnorm dx accumulate" + s, dx, dxRef);
  same_floats("rmsnorm dw (accumulate)" + s, dw, dwRef);

  // three-operand add vs add_inplace, bf16 and f32, out aliasing a
  std::vector<bf16_bits> sum(n), sumRef = xb;
  add_inplace_bf16(sumRef.data(), db.data(), (int64_t)n, nullptr);
  add_out_bf16(sum.data(), xb.data(), db.data(), (int64_t)n, nullptr);
  same_bits("add_out bf16" + s, sum, sumRef);
  std::vector<float> fa = x, fb = delta, fo(n), fRef = x;
  add_inplace_f32(fRef.data(), fb.data(), (int64_t)n, nullptr);
  add_out_f32(fo.data(), fa.data(), fb.data(), (int64_t)n, nullptr);
  same_floats("add_out f32" + s, fo, fRef);
  add_out_f32(fa.data(), fa.data(), fb.data(), (int64_t)n, nullptr);
  same_floats("add_out f32 into a" + s, fa, fRef);
}

static void embedding(int tokens, int vocab, int dim) {
  auto table = randn((size_t)vocab * dim, 1), dy = randn((size_t)tokens * dim, 1);
  std::vector<int32_t> ids(tokens);
  for (auto& i : ids) i = std::uniform_int_distribution<int>(0, vocab - 1)(rng);
  auto tb = to_bits(table), dyb = to_bits(dy);
  std::vector<bf16_bits> out((size_t)tokens * dim);
  std::vector<float> dt((size_t)vocab * dim, 0.5f);
  const rk::EmbeddingParams ep{tokens, vocab, dim};
  embedding_forward(out.data(), ids.data(), tb.data(), ep, nullptr);
  embedding_backward(dt.data(), dyb.data(), ids.data(), ep, nullptr);
  std::vector<double> ro(out.size()), rdt(dt.size(), 0.5);
  for (int t = 0; t < tokens; ++t)
    for (int d = 0; d < dim; ++d) {
      ro[(size_t)t * dim + d] = table[(size_t)ids[t] * dim + d];
      rdt[(size_t)ids[t] * dim + d] += dy[(size_t)t * dim + d];
    }
  check("embedding forward", from_bits(out), ro, 0);
  check("embedding backward", dt, rdt, 1e-6);
}

static void rope(int tokens, int heads, int hd, int maxpos) {
  auto x = randn((size_t)tokens * heads * hd, 1);
  std::vector<int32_t> pos(tokens);
  for (auto& p : pos) p = std::uniform_int_distribution<int>(0, maxpos - 1)(rng);
  const int half = hd / 2;
  std::vector<float> cs((size_t)maxpos * half), sn(cs.size());
  for (int p = 0; p < maxpos; ++p)
    for (int i = 0; i < half; ++i) {
      const double a = p * std::pow(10000.0, -2.0 * i / hd);
      cs[p * half + i] = (float)std::cos(a);
      sn[p * half + i] = (float)std::sin(a);
    }
  auto xb = to_bits(x);
  const rk::RopeParams rp{tokens, heads, hd, maxpos};
  rope_apply_f32(xb.data(), pos.data(), cs.data(), sn.data(), rp, 0, nullptr);
  std::vector<double> ref(x.size());
  for (int t = 0; t < tokens; ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        const size_t o = ((size_t)t * heads + h) * hd;
        const double c = cs[pos[t] * half + i], s = sn[pos[t] * half + i];
        ref[o + i] = x[o + i] * c - x[o + i + half] * s;
        ref[o + i + half] = x[o + i + half] * c + x[o + i] * s;
      }
  check("rope forward", from_bits(xb), ref, 1.0 / 64);
  rope_apply_f32(xb.data(), pos.data(), cs.data(), sn.data(), rp, 1, nullptr);
  check("rope inverse(forward(x)) = x", from_bits(xb), x, 1.0 / 64);
}

static void elementwise(int n) {
  auto g = randn(n, 3), u = randn(n, 1), dy = randn(n, 1);
  auto gb = to_bits(g), ub = to_bits(u), dyb = to_bits(dy);
  std::vector<bf16_bits> out(n), dg(n), du(n);
  swiglu_forward(out.data(), gb.data(), ub.data(), n, nullptr);
  swiglu_backward(dg.data(), du.data(), dyb.data(), gb.data(), ub.data(), n, nullptr);
  std::vector<double> ro(n), rdg(n), rdu(n), radd(n);
  for (int i = 0; i < n; ++i) {
    const double s = 1 / (1 + std::exp(-(double)g[i]));
    ro[i] = g[i] * s * u[i];
    rdu[i] = dy[i] * g[i] * s;
    rdg[i] = dy[i] * u[i] * s * (1 + g[i] * (1 - s));
    radd[i] = (double)u[i] + dy[i];
  }
  check("swiglu", from_bits(out), ro, 1.0 / 64);
  check("swiglu dgate", from_bits(dg), rdg, 1.0 / 64);
  check("swiglu dup", from_bits(du), rdu, 1.0 / 64);
  add_inplace_bf16(ub.data(), dyb.data(), n, nullptr);
  check("add bf16", from_bits(ub), radd, 1.0 / 128);
  std::vector<float> f32 = g, back(n);
  std::vector<bf16_bits> conv(n);
  f32_to_bf16(conv.data(), f32.data(), n, nullptr);
  bf16_to_f32(back.data(), conv.data(), n, nullptr);
  check("f32 -> bf16 -> f32 (bf16 values)", back, g, 0);
}

static void bias_and_score(int rows, int cols, int readouts) {
  auto y = randn((size_t)rows * cols, 1), bias = randn(cols, 1);
  auto yb = to_bits(y), bb = to_bits(bias);
  std::vector<float> db(cols, 1.f), ws((size_t)column_reduce_chunks() * cols);
  const rk::BiasParams bp{rows, cols};
  bias_add_backward(db.data(), yb.data(), ws.data(), bp, nullptr);
  bias_add_forward(yb.data(), bb.data(), bp, nullptr);
  std::vector<double> rdb(cols, 1.0), ry(y.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) { rdb[c] += y[(size_t)r * cols + c]; ry[(size_t)r * cols + c] = (double)y[(size_t)r * cols + c] + bias[c]; }
  check("bias grad", db, rdb, 1e-5);
  check("bias add", from_bits(yb), ry, 1.0 / 128);

  auto h = randn((size_t)rows * cols, 1), w = randn(cols, 0.1), dr = randn(readouts, 1);
  std::vector<int32_t> ro(readouts);
  for (auto& r : ro) r = std::uniform_int_distribution<int>(0, rows - 1)(rng);
  ro.back() = ro.front();  // two readouts on one row: gradients must add up
  auto hb = to_bits(h), wb = to_bits(w);
  std::vector<float> rw(readouts), dw(cols, 0.f);
  std::vector<bf16_bits> dh(h.size(), 0x7fc0);  // NaN garbage: must be overwritten
  const rk::ScoreParams sp{rows, cols, readouts};
  score_forward(rw.data(), hb.data(), ro.data(), wb.data(), sp, nullptr);
  score_backward(dh.data(), dw.data(), dr.data(), hb.data(), ro.data(), wb.data(), sp, nullptr);
  std::vector<double> rrw(readouts, 0), rdh(h.size(), 0), rdw(cols, 0);
  for (int r = 0; r < readouts; ++r)
    for (int c = 0; c < cols; ++c) {
      rrw[r] += (double)h[(size_t)ro[r] * cols + c] * w[c];
      rdh[(size_t)ro[r] * cols + c] += (double)dr[r] * w[c];
      rdw[c] += (double)dr[r] * h[(size_t)ro[r] * cols + c];
    }
  check("score forward", rw, rrw, 1e-5);
  check("score dhidden", from_bits(dh), rdh, 1.0 / 128);
  check("score dw", dw, rdw, 1e-5);
}

// The CUDA optimizer against the CPU one (native/cpu/adamw.cpp, grad_norm.cpp, compiled without emulation):
// both run rewardkit/adamw_math.h, so the masters and moments must agree bit for bit over several steps of
// one group (decay wd, or 0 for a no-decay group), with global-norm clipping active or not; and against a
// double AdamW reference to fp32 rounding.
static void optimizer(int n, double wd, double max_norm) {
  auto p0 = randn(n, 0.1);
  std::vector<float> pc = p0, pg = p0, mc(n, 0.f), vc(n, 0.f), mg(n, 0.f), vg(n, 0.f);
  std::vector<double> rp(p0.begin(), p0.end()), rm(n, 0.0), rv(n, 0.0);
  std::vector<bf16_bits> wbits(n);
  std::vector<double> out(1), partials(grad_norm_blocks());
  const double lr = 1e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8;
  bool clipped = false;
  for (int step = 1; step <= 4; ++step) {
    auto g = randn(n, 0.01 * step);
    grad_sumsq(out.data(), partials.data(), g.data(), n, nullptr);
    const double cpu_ss = rk::grad_sumsq(g.data(), n);
    double ss = 0;
    for (float x : g) ss += (double)x * x;
    check("grad sumsq vs double", std::vector<double>{out[0]}, std::vector<double>{ss}, 1e-12);
    check("grad sumsq vs cpu", std::vector<double>{out[0]}, std::vector<double>{cpu_ss}, 1e-12);
    const double scale = max_norm > 0 ? std::min(1.0, max_norm / (std::sqrt(ss) + 1e-6)) : 1.0;
    clipped |= scale < 1.0;
    const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
    const rk::AdamWParams ap{n, lr, b1, b2, eps, wd, bc1, bc2, scale};
    adamw_update(pg.data(), wbits.data(), g.data(), mg.data(), vg.data(), ap, nullptr);
    rk::adamw_update(pc.data(), g.data(), mc.data(), vc.data(), ap);
    for (int i = 0; i < n; ++i) {
      const double gi = g[i] * scale;
      rm[i] = b1 * rm[i] + (1 - b1) * gi;
      rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
      rp[i] = rp[i] * (1 - lr * wd) - (lr / bc1) * rm[i] / (std::sqrt(rv[i]) / std::sqrt(bc2) + eps);
    }
  }
  const std::string s = " [n " + std::to_string(n) + ", wd " + std::to_string(wd).substr(0, 4) +
                        (clipped ? ", clipped]" : ", unclipped]");
  check("adamw master = cpu" + s, pg, pc, 0);
  check("adamw m = cpu" + s, mg, mc, 0);
  check("adamw v = cpu" + s, vg, vc, 0);
  check("adamw master vs double" + s, pg, rp, 1e-5);
  check("adamw bf16 weights" + s, from_bits(wbits), pg, 1.0 / 128);
}

static void reward_loss() {
  const int pairs = 7, r = 2 * pairs + 1;
  auto rw = randn(r, 1.5);
  std::vector<int32_t> ch(pairs), rj(pairs);
  for (int i = 0; i < pairs; ++i) { ch[i] = 2 * i; rj[i] = 2 * i + 1; }
  std::vector<float> d(r);
  std::vector<double> stats(kRewardLossNumStats);
  const double cc = 0.01;
  reward_loss_forward_backward(rw.data(), ch.data(), rj.data(), nullptr, d.data(), stats.data(), r, pairs, 0, 0, 2,
                               0.05, -10, 10, cc, 1.0, nullptr);
  double loss = 0, pen = 0, cen = 0;
  std::vector<double> rd(r, 0);
  for (int i = 0; i < pairs; ++i) {
    const double c = rw[ch[i]], j = rw[rj[i]], s = 1 / (1 + std::exp(-(c - j)));
    loss += -std::log(s); pen += 0.5 * (c * c + j * j); cen += (c + j) * (c + j);
    rd[ch[i]] += (-(1 - s) + 0.05 * c + cc * 2 * (c + j)) / pairs;
    rd[rj[i]] += ((1 - s) + 0.05 * j + cc * 2 * (c + j)) / pairs;
  }
  const double total = loss / pairs + 0.05 * pen / pairs + cc * cen / pairs;
  check("reward loss (ranking + l2 + center)", std::vector<double>{stats[0]}, std::vector<double>{total}, 1e-12);
  check("reward loss d_rewards", d, rd, 1e-6);
}

// The CUDA linear cross-entropy against the CPU reference (run in double on the same bf16 values), with
// chunks that do not divide T, V or D, ignored targets, and a dweight that must be accumulated into.
static void linear_cross_entropy(int tokens, int dim, int vocab, int token_chunk, int vocab_chunk) {
  auto h = randn((size_t)tokens * dim, 1), w = randn((size_t)vocab * dim, 0.3), g = randn(tokens, 1);
  std::vector<int32_t> y(tokens);
  for (int t = 0; t < tokens; ++t) y[t] = t % 5 == 3 ? -100 : std::uniform_int_distribution<int>(0, vocab - 1)(rng);
  if (tokens > 1) y[1] = vocab - 1;  // the last vocabulary row (in the ragged last chunk)
  auto hb = to_bits(h), wb = to_bits(w);
  std::vector<float> ws(rk::cuda::linear_cross_entropy_workspace_floats(dim, token_chunk, vocab_chunk), NAN);
  std::vector<float> logp(tokens, NAN), lse(tokens, NAN), dw((size_t)vocab * dim, 0.5f);
  std::vector<bf16_bits> dh(h.size(), 0x7fc0);  // NaN garbage: must be overwritten
  rk::cuda::linear_cross_entropy_forward(logp.data(), lse.data(), hb.data(), wb.data(), y.data(), ws.data(), tokens, dim,
                                         vocab, token_chunk, vocab_chunk, nullptr);
  rk::cuda::linear_cross_entropy_backward(dh.data(), dw.data(), g.data(), lse.data(), hb.data(), wb.data(), y.data(),
                                          ws.data(), tokens, dim, vocab, token_chunk, vocab_chunk, nullptr);
  std::vector<double> hd(h.begin(), h.end()), wd(w.begin(), w.end()), gd(g.begin(), g.end());
  std::vector<double> rlogp(tokens), rlse(tokens), rdh(h.size()), rdw(w.size(), 0.5);
  rk::linear_cross_entropy_forward(rlogp.data(), rlse.data(), hd.data(), wd.data(), y.data(), tokens, dim, vocab, 0, 0);
  rk::linear_cross_entropy_backward(rdh.data(), rdw.data(), gd.data(), rlse.data(), hd.data(), wd.data(), y.data(), tokens,
                                    dim, vocab, 0, 0);
  const std::string s = " [T" + std::to_string(tokens) + " D" + std::to_string(dim) + " V" + std::to_string(vocab) + "]";
  check("lce logp" + s, logp, rlogp, 1e-5);
  check("lce lse" + s, lse, rlse, 1e-5);
  check("lce dhidden" + s, from_bits(dh), rdh, 1.0 / 128);
  check("lce dweight" + s, dw, rdw, 1e-5);
}

// The CUDA preference losses against the CPU reference (double), every loss type, one response in two pairs.
static void preference_loss(int type) {
  const int S = 9, P = 4, K = 5;
  std::vector<float> lp(S), ref(S), kl(K), rkl(K), plp(S);
  std::vector<int32_t> len(S), lab(S), plen(S), ch{0, 2, 4, 0}, rj{1, 3, 5, 6};
  for (int s = 0; s < S; ++s) {
    len[s] = 1 + s % 4;
    plen[s] = s % 3;
    plp[s] = -0.7f * plen[s];
    lp[s] = -0.3f * len[s] * (1 + std::uniform_real_distribution<float>(0, 1)(rng));
    ref[s] = lp[s] + std::uniform_real_distribution<float>(-0.5f, 0.5f)(rng);
    lab[s] = s % 3 != 0;
  }
  for (int k = 0; k < K; ++k) { kl[k] = -2.f + 0.3f * k; rkl[k] = -2.1f + 0.2f * k; }
  std::vector<float> d(S, NAN), dp(S, NAN);
  std::vector<double> stats(kPreferenceLossNumStats), rstats(kPreferenceLossNumStats);
  const double beta = type == 3 ? 2.0 : 0.1, ls = type == 0 || type == 2 ? 0.1 : 0, alpha = type == 4 ? 0 : 0.7;
  rk::cuda::preference_loss_forward_backward(lp.data(), ref.data(), len.data(), plp.data(), plen.data(), ch.data(),
                                             rj.data(), lab.data(), kl.data(), rkl.data(), d.data(), dp.data(),
                                             stats.data(), S, P, K, type, beta, ls, alpha, 1.0, 1.0, 1.33, 0.5, nullptr);
  std::vector<double> lpd(lp.begin(), lp.end()), refd(ref.begin(), ref.end()), kld(kl.begin(), kl.end()),
      rkld(rkl.begin(), rkl.end()), plpd(plp.begin(), plp.end()), rd(S), rdp(S);
  rk::preference_loss_forward_backward(lpd.data(), refd.data(), len.data(), plpd.data(), plen.data(), ch.data(), rj.data(),
                                       lab.data(), kld.data(), rkld.data(), rd.data(), rdp.data(), rstats.data(), S, P, K,
                                       type, beta, ls, alpha, 1.0, 1.0, 1.33, 0.5);
  std::vector<double> a, b;  // the stats both define (NaN where the loss has no such metric)
  for (int i = 0; i < kPreferenceLossNumStats; ++i) {
    if (std::isnan(rstats[i]) != std::isnan(stats[i])) { std::printf("  stat %d: NaN on one side only\n", i); ++failures; }
    if (!std::isnan(rstats[i])) { a.push_back(stats[i]); b.push_back(rstats[i]); }
  }
  const std::string name = "preference loss type " + std::to_string(type);
  check(name + " stats", a, b, 1e-12);
  check(name + " d_logps", d, rd, 1e-6);
  check(name + " d_prompt_logps", dp, rdp, 1e-6);
}

int main() {
  rmsnorm(37, 200);
  rmsnorm(3, 1000);
  fused_residual(1, 1);
  fused_residual(5, 13);
  fused_residual(4, 33);
  fused_residual(37, 200);
  fused_residual(3, 896);
  embedding(300, 7, 64);
  embedding(37, 1031, 200);
  rope(37, 3, 64, 50);
  elementwise(1000);
  bias_and_score(37, 200, 5);
  optimizer(100003, 0.1, 0.5);  // decay group, clipping active
  optimizer(77, 0.0, 0.0);      // no-decay group, no clipping
  optimizer(4099, 0.1, 1e6);    // clipping configured but inactive
  reward_loss();
  for (int type = 0; type <= 5; ++type) preference_loss(type);
  linear_cross_entropy(37, 40, 211, 16, 50);
  linear_cross_entropy(1, 24, 7, 0, 0);
  linear_cross_entropy(70, 33, 1031, 32, 256);
  std::printf(failures ? "FAILED (%d checks)\n" : "all checks passed\n", failures);
  return failures ? 1 : 0;
}
