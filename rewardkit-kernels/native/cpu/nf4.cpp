// NF4 quantisation with double quantisation: the CPU reference (see rewardkit/nf4.h for the format).
#include "rewardkit/nf4.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rewardkit/common.h"

namespace rk {
namespace {

const float kCode[16] = {RK_NF4_CODE_VALUES};
const float kMap[256] = {RK_NF4_ABSMAX_MAP_VALUES};

// bitsandbytes' dQuantizeNF4 thresholds: midpoints of neighbouring codes, computed in double, as fp32.
struct Midpoints {
  float m[15];
  Midpoints() {
    for (int i = 0; i < 15; ++i) m[i] = static_cast<float>((static_cast<double>(kCode[i]) + kCode[i + 1]) / 2.0);
  }
};
const Midpoints kMid;

// The code of a normalised value: the number of midpoints strictly below it (the decision tree of
// dQuantizeNF4 for sorted thresholds; NaN, from an all-zero block's 0 * inf, gives code 0 as there).
inline uint8_t nf4_code_of(float x) {
  uint8_t q = 0;
  for (int i = 0; i < 15; ++i) q += x > kMid.m[i];
  return q;
}

// dQuantize<0> of bitsandbytes' csrc/kernels.cu: binary search over the sorted 256-entry map, then the
// nearer of the last two pivots (its exact steps, so the codes match bit for bit).
uint8_t map_code_of(float x) {
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f;
  float val = kMap[pivot];
  for (int i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lower_pivot = pivot;
      lower = val;
      pivot += i;
    } else {
      upper_pivot = pivot;
      upper = val;
      pivot -= i;
    }
    val = kMap[pivot];
  }
  if (upper_pivot == 255) upper = kMap[upper_pivot];
  if (lower_pivot == 0) lower = kMap[lower_pivot];
  if (x > val) {
    const float mid = (upper + val) * 0.5f;
    return static_cast<uint8_t>(x > mid ? upper_pivot : pivot);
  }
  const float mid = (lower + val) * 0.5f;
  return static_cast<uint8_t>(x < mid ? lower_pivot : pivot);
}

template <typename T>
void dequantize(T* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2, float offset, int64_t n) {
  const int64_t blocks = nf4_num_blocks(n);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < blocks; ++b) {
    const float s = nf4_block_scale(kMap, qabsmax, absmax2, offset, b);
    const int64_t end = std::min(n, (b + 1) * kNf4Block);
    for (int64_t i = b * kNf4Block; i < end; ++i) {
      const uint8_t p = packed[i / 2];
      out[i] = static_cast<T>(kCode[(i & 1) ? (p & 15) : (p >> 4)] * s);
    }
  }
}

void validate(const char* op, const void* a, const void* b, const void* c, const void* d, int64_t n) {
  RK_REQUIRE(op, n > 0, "n must be > 0, got " + std::to_string(n));
  RK_REQUIRE(op, a && b && c && d, "null buffer");
}

}  // namespace

void nf4_quantize(uint8_t* packed, uint8_t* qabsmax, float* absmax2, float* offset, const float* w, int64_t n) {
  validate("nf4_quantize", packed, qabsmax, absmax2, w, n);
  RK_REQUIRE("nf4_quantize", offset, "null buffer");
  const int64_t blocks = nf4_num_blocks(n), blocks2 = nf4_num_absmax_blocks(n);
  std::vector<float> absmax(blocks);
  int64_t bad = -1;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t begin = b * kNf4Block, end = std::min(n, begin + kNf4Block);
    float am = 0.f;
    for (int64_t i = begin; i < end; ++i) {
      if (!std::isfinite(w[i])) {
#pragma omp critical
        bad = bad < 0 || i < bad ? i : bad;
      }
      am = std::max(am, std::fabs(w[i]));
    }
    absmax[b] = am;
    // bitsandbytes multiplies by the reciprocal (1/0 = inf for an all-zero block: codes 0, values 0).
    const float inv = 1.0f / am;
    for (int64_t i = begin; i < end; i += 2) {
      const uint8_t hi = nf4_code_of(w[i] * inv);
      // a missing last element (odd n) is quantised from 0, as the kernel's zero-filled load
      const uint8_t lo = nf4_code_of((i + 1 < end ? w[i + 1] : 0.f) * inv);
      packed[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
    }
  }
  RK_REQUIRE("nf4_quantize", bad < 0, "weight element " + std::to_string(bad) + " is not finite");
  double sum = 0;
  for (int64_t b = 0; b < blocks; ++b) sum += absmax[b];
  const float off = static_cast<float>(sum / static_cast<double>(blocks));
  *offset = off;
  for (int64_t b2 = 0; b2 < blocks2; ++b2) {
    const int64_t begin = b2 * kNf4AbsmaxBlock, end = std::min(blocks, begin + kNf4AbsmaxBlock);
    float am = 0.f;
    for (int64_t b = begin; b < end; ++b) am = std::max(am, std::fabs(absmax[b] - off));
    absmax2[b2] = am;
    const float inv = 1.0f / am;
    for (int64_t b = begin; b < end; ++b) qabsmax[b] = map_code_of((absmax[b] - off) * inv);
  }
}

void nf4_dequantize(float* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2, float offset,
                    int64_t n) {
  validate("nf4_dequantize", out, packed, qabsmax, absmax2, n);
  dequantize(out, packed, qabsmax, absmax2, offset, n);
}

void nf4_dequantize(double* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2, float offset,
                    int64_t n) {
  validate("nf4_dequantize", out, packed, qabsmax, absmax2, n);
  dequantize(out, packed, qabsmax, absmax2, offset, n);
}

}  // namespace rk
