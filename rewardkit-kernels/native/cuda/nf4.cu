// NF4 dequantisation for QLoRA's frozen base (format: rewardkit/nf4.h, shared with the CPU reference).
// Each thread decodes one packed byte (two elements) with its block's double-quantised absmax.
#include "common.cuh"
#include "rewardkit/nf4.h"

namespace rk { namespace cuda {

namespace {
__constant__ float kNf4Code[16] = {RK_NF4_CODE_VALUES};
__constant__ float kNf4Map[256] = {RK_NF4_ABSMAX_MAP_VALUES};

__global__ void nf4_dequantize_kernel(__nv_bfloat16* out, const uint8_t* packed, const uint8_t* qabsmax,
                                      const float* absmax2, float offset, int64_t n) {
  const int64_t bytes = (n + 1) / 2;
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < bytes; j += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = 2 * j;  // even, so both elements are in block i / 64
    const float s = nf4_block_scale(kNf4Map, qabsmax, absmax2, offset, i / kNf4Block);
    const unsigned p = packed[j];
    out[i] = __float2bfloat16_rn(kNf4Code[p >> 4] * s);
    if (i + 1 < n) out[i + 1] = __float2bfloat16_rn(kNf4Code[p & 15u] * s);
  }
}
}  // namespace

void nf4_dequantize_bf16(bf16_bits* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2,
                         float offset, int64_t n, void* stream) {
  RK_ARG("nf4_dequantize_bf16", n > 0 && out && packed && qabsmax && absmax2, "null buffer or n <= 0");
  const int64_t bytes = (n + 1) / 2;
  RK_KERNEL_LAUNCH(nf4_dequantize_kernel, grid_for(bytes, 256), 256, 0, as_stream(stream))(bf(out), packed, qabsmax,
                                                                                          absmax2, offset, n);
  RK_LAUNCH_CHECK("nf4_dequantize_bf16");
}

}}  // namespace rk::cuda
