#include "rewardkit/lora.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rk {
namespace {

void validate(const char* op, const LoraParams& p) {
  RK_REQUIRE(op, p.tokens >= 0 && p.in > 0 && p.out > 0 && p.rank > 0,
             "need T >= 0 and I, O, r > 0, got T " + std::to_string(p.tokens) + ", I " + std::to_string(p.in) +
                 ", O " + std::to_string(p.out) + ", r " + std::to_string(p.rank));
  RK_REQUIRE(op, std::isfinite(p.scale), "scale must be finite");
}

template <typename T>
void forward(T* out, T* u, const T* x, const T* a, const T* b, const LoraParams& p) {
  const int64_t n_in = p.in, n_out = p.out, r = p.rank;
  const T s = T(p.scale);
#pragma omp parallel for schedule(static) if (p.tokens * (n_in + n_out) * r > 65536)
  for (int64_t t = 0; t < p.tokens; ++t) {
    const T* xt = x + t * n_in;
    T* ut = u + t * r;
    for (int64_t j = 0; j < r; ++j) {  // u[t, j] = x[t, :] · a[j, :]
      const T* aj = a + j * n_in;
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < n_in; ++i) acc += xt[i] * aj[i];
      ut[j] = acc;
    }
    T* ot = out + t * n_out;
    for (int64_t o = 0; o < n_out; ++o) {  // out[t, o] += s · u[t, :] · b[o, :]
      const T* bo = b + o * r;
      T acc = 0;
      for (int64_t j = 0; j < r; ++j) acc += ut[j] * bo[j];
      ot[o] += s * acc;
    }
  }
}

template <typename T>
void backward(T* dx, T* da, T* db, T* du, const T* dout, const T* x, const T* u, const T* a, const T* b,
              const LoraParams& p) {
  const int64_t n_t = p.tokens, n_in = p.in, n_out = p.out, r = p.rank;
  const T s = T(p.scale);
  const bool par = n_t * (n_in + n_out) * r > 65536;
  // du[t, :] = s · dOut[t, :] · b   [T, r]
#pragma omp parallel for schedule(static) if (par)
  for (int64_t t = 0; t < n_t; ++t) {
    const T* gt = dout + t * n_out;
    T* dut = du + t * r;
    for (int64_t j = 0; j < r; ++j) dut[j] = 0;
    for (int64_t o = 0; o < n_out; ++o) {
      const T g = gt[o];
      const T* bo = b + o * r;
      for (int64_t j = 0; j < r; ++j) dut[j] += g * bo[j];
    }
    for (int64_t j = 0; j < r; ++j) dut[j] *= s;
  }
  // db[o, :] += s · Σ_t dOut[t, o] · u[t, :]   [O, r]
#pragma omp parallel if (par)
  {
    std::vector<T> acc(static_cast<size_t>(r));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < n_out; ++o) {
      for (int64_t j = 0; j < r; ++j) acc[j] = 0;
      for (int64_t t = 0; t < n_t; ++t) {
        const T g = dout[t * n_out + o];
        const T* ut = u + t * r;
        for (int64_t j = 0; j < r; ++j) acc[j] += g * ut[j];
      }
      T* dbo = db + o * r;
      for (int64_t j = 0; j < r; ++j) dbo[j] += s * acc[j];
    }
  }
  // da[:, i] += Σ_t du[t, :]ᵀ · x[t, i], in column blocks of 64 so each thread owns its da columns.
  const int64_t block = 64, n_blocks = (n_in + block - 1) / block;
#pragma omp parallel if (par)
  {
    std::vector<T> acc(static_cast<size_t>(r * block));
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
      const int64_t i0 = blk * block, w = std::min(block, n_in - i0);
      for (int64_t k = 0; k < r * w; ++k) acc[k] = 0;
      for (int64_t t = 0; t < n_t; ++t) {
        const T* xt = x + t * n_in + i0;
        const T* dut = du + t * r;
        for (int64_t j = 0; j < r; ++j) {
          const T g = dut[j];
          T* aj = acc.data() + j * w;
#pragma omp simd
          for (int64_t i = 0; i < w; ++i) aj[i] += g * xt[i];
        }
      }
      for (int64_t j = 0; j < r; ++j) {
        T* daj = da + j * n_in + i0;
        for (int64_t i = 0; i < w; ++i) daj[i] += acc[j * w + i];
      }
    }
  }
  if (dx == nullptr) return;
  // dx[t, :] += du[t, :] · a   [T, I]
#pragma omp parallel for schedule(static) if (par)
  for (int64_t t = 0; t < n_t; ++t) {
    const T* dut = du + t * r;
    T* dxt = dx + t * n_in;
    for (int64_t j = 0; j < r; ++j) {
      const T g = dut[j];
      const T* aj = a + j * n_in;
#pragma omp simd
      for (int64_t i = 0; i < n_in; ++i) dxt[i] += g * aj[i];
    }
  }
}

}  // namespace

#define RK_LORA_API(T)                                                                              \
  void lora_forward(T* out, T* u, const T* x, const T* a, const T* b, int64_t tokens, int64_t in,    \
                    int64_t out_features, int64_t rank, double scale) {                             \
    const LoraParams p{tokens, in, out_features, rank, scale};                                      \
    validate("lora_forward", p);                                                                    \
    forward(out, u, x, a, b, p);                                                                    \
  }                                                                                                 \
  void lora_backward(T* dx, T* da, T* db, T* du, const T* dout, const T* x, const T* u, const T* a, \
                     const T* b, int64_t tokens, int64_t in, int64_t out_features, int64_t rank,     \
                     double scale) {                                                                \
    const LoraParams p{tokens, in, out_features, rank, scale};                                      \
    validate("lora_backward", p);                                                                   \
    backward(dx, da, db, du, dout, x, u, a, b, p);                                                  \
  }
RK_LORA_API(float)
RK_LORA_API(double)

}  // namespace rk
