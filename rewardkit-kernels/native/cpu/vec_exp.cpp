#include "rewardkit/vec_exp.h"

#include "rewardkit/common.h"

#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RK_VEC_EXP_AVX512 1
// GCC 12's avx512fintrin.h initialises its "undefined" vectors from themselves (__m512 __Y = __Y), which
// -Wmaybe-uninitialized reports once per intrinsic; nothing here reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rk {
namespace {

void exp_scalar(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_f32(x[i]);
}

#ifdef RK_VEC_EXP_AVX2
void exp_avx2_array(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {  // tail through the same vector code, so every element gets identical arithmetic
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
    _mm256_store_ps(buf, exp_avx2(_mm256_load_ps(buf)));
    for (int64_t j = i; j < n; ++j) y[j] = buf[j - i];
  }
}
#endif

#ifdef RK_VEC_EXP_AVX512
// Sixteen lanes of exp_f32, AVX-512F; compiled for AVX-512 by attribute only (the build's baseline is
// AVX2), and called only after __builtin_cpu_supports("avx512f").
__attribute__((target("avx512f"))) inline __m512 exp_avx512(__m512 x) {
  using namespace vexp;
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kLow)), _mm512_set1_ps(kHigh));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kC7);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC5));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512i ni = _mm512_cvtps_epi32(n);
  const __m512i n1 = _mm512_srai_epi32(ni, 1), n2 = _mm512_sub_epi32(ni, n1);
  const __m512i bias = _mm512_set1_epi32(127);
  const __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
  const __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
  const __mmask16 low = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kLow), _CMP_LT_OQ);
  y = _mm512_mask_mov_ps(y, low, _mm512_setzero_ps());
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_add_ps(y, nan, x, x);
}

__attribute__((target("avx512f"))) void exp_avx512_array(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp_avx512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, exp_avx512(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
#endif

using ExpFn = void (*)(float*, const float*, int64_t);

ExpFn encoding(int32_t isa) {
  switch (isa) {
    case kExpScalar: return exp_scalar;
#ifdef RK_VEC_EXP_AVX2
    case kExpAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? exp_avx2_array : nullptr;
#endif
#ifdef RK_VEC_EXP_AVX512
    case kExpAvx512: return __builtin_cpu_supports("avx512f") ? exp_avx512_array : nullptr;
#endif
    default: return nullptr;
  }
}

int32_t best_isa() {
  for (int32_t isa : {kExpAvx512, kExpAvx2}) {
    if (encoding(isa) != nullptr) return isa;
  }
  return kExpScalar;
}

}  // namespace

int32_t vec_exp_best_isa() {
  static const int32_t best = best_isa();
  return best;
}

bool vec_exp_isa_supported(int32_t isa) { return isa == kExpAuto || encoding(isa) != nullptr; }

void vec_exp_f32(float* y, const float* x, int64_t n) {
  static const ExpFn best = encoding(vec_exp_best_isa());
  best(y, x, n);
}

void vec_exp_f32_isa(float* y, const float* x, int64_t n, int32_t isa) {
  RK_REQUIRE("vec_exp_f32", n >= 0, "n must be >= 0, got " + std::to_string(n));
  if (isa == kExpAuto) isa = vec_exp_best_isa();
  const ExpFn fn = encoding(isa);
  RK_REQUIRE("vec_exp_f32", fn != nullptr,
             "instruction set " + std::to_string(isa) + " is not supported by this CPU or build");
  if (n > 0) RK_REQUIRE("vec_exp_f32", y != nullptr && x != nullptr, "a buffer is null");
  fn(y, x, n);
}

}  // namespace rk
