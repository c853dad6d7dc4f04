// Vectorised single-precision exp for the CPU kernels (attention softmax, SwiGLU's sigmoid), with one
// algorithm in three encodings: scalar C++, AVX2+FMA (the build's baseline) and AVX-512F (compiled with a
// target attribute, picked at run time when the CPU has it). All three perform the same float operations in
// the same order, so they return bit-identical results: a run does not change with the machine's ISA.
//
// Algorithm (x float):
//   x = NaN -> NaN;  x < -104 (incl. -inf) -> +0;  x > 89 (incl. +inf) -> +inf
//   n = rint(x · log2 e),  r = x − n·ln2 (two FMA steps: ln2 = kLn2Hi + kLn2Lo, Cody–Waite), |r| <= ~0.347
//   p = e^r by its degree-7 Taylor polynomial (truncation error r^8/8! < 3e-9 relative, below half an ulp)
//   e^x = (p · 2^n1) · 2^n2 with n1 = floor(n/2), n2 = n − n1: both factors are normal floats for every
//   n in [-150, 128], so results in the subnormal range are rounded once (correctly scaled) instead of
//   being flushed, and results above FLT_MAX overflow to +inf by themselves.
// Accuracy (checked by VecExpTest over the whole float range against double exp): max 2 ulp on normal
// results; subnormal results within one subnormal step (2^-149).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RK_VEC_EXP_AVX2 1
#endif

namespace rk {
namespace vexp {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693147182464599609375f;     // ln 2 rounded to float
constexpr float kLn2Lo = -1.90465429995776804e-09f;    // ln 2 − kLn2Hi, rounded to float
constexpr float kLow = -104.0f;   // exp(-104) = 6.8e-46 rounds to +0 (half the least subnormal is 7.0e-46)
constexpr float kHigh = 89.0f;    // exp(89) = 4.5e38 > FLT_MAX: overflows to +inf
// 1/k! for k = 7 .. 2 (Horner from the top); the k = 1, 0 terms are the final fma(p, r, 1) steps.
constexpr float kC7 = 1.0f / 5040, kC6 = 1.0f / 720, kC5 = 1.0f / 120, kC4 = 1.0f / 24, kC3 = 1.0f / 6,
                kC2 = 0.5f;

inline float pow2i(int32_t e) {  // 2^e for e in [-126, 127]
  const uint32_t bits = uint32_t(e + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace vexp

// Scalar e^x (float), the reference encoding of the algorithm above.
inline float exp_f32(float x) {
  using namespace vexp;
  if (std::isnan(x)) return x + x;
  if (x < kLow) return 0.0f;
  const float xc = x > kHigh ? kHigh : x;
  const float n = std::nearbyint(xc * kLog2e);
  float r = std::fma(-n, kLn2Hi, xc);
  r = std::fma(-n, kLn2Lo, r);
  float p = kC7;
  p = std::fma(p, r, kC6);
  p = std::fma(p, r, kC5);
  p = std::fma(p, r, kC4);
  p = std::fma(p, r, kC3);
  p = std::fma(p, r, kC2);
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  const int32_t ni = int32_t(n), n1 = ni >> 1, n2 = ni - n1;
  return (p * pow2i(n1)) * pow2i(n2);
}

#ifdef RK_VEC_EXP_AVX2
// Eight lanes of exp_f32, AVX2 + FMA.
inline __m256 exp_avx2(__m256 x) {
  using namespace vexp;
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kLow)), _mm256_set1_ps(kHigh));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kC7);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC5));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i ni = _mm256_cvtps_epi32(n);  // exact: n is integral
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(kLow), _CMP_LT_OQ), y);  // x < -104 (and -inf): +0
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  return _mm256_blendv_ps(y, _mm256_add_ps(x, x), nan);
}
#endif

// Instruction-set encodings of exp_f32; kExpAuto picks the best the CPU supports.
enum ExpIsa : int32_t { kExpAuto = -1, kExpScalar = 0, kExpAvx2 = 1, kExpAvx512 = 2 };

// y[i] = e^{x[i]} for i < n (y may alias x), with the best encoding this CPU supports (chosen once).
void vec_exp_f32(float* y, const float* x, int64_t n);
// The same with a named encoding (tests and benchmarks). Throws (rk::Error) if the CPU or the build
// lacks it; vec_exp_isa_supported says whether it would.
void vec_exp_f32_isa(float* y, const float* x, int64_t n, int32_t isa);
bool vec_exp_isa_supported(int32_t isa);
// The encoding vec_exp_f32 uses on this CPU (a kExp* value).
int32_t vec_exp_best_isa();

}  // namespace rk
