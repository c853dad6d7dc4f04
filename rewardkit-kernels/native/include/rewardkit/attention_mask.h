// The shared-prefix attention mask, the ONE definition of which (query, key) pairs attend: included by the
// CPU reference (rewardkit/attention.h) and the CUDA flash kernels (native/cuda/flash_common.cuh), so the
// two back ends cannot drift apart (tools/kernel_emu checks the CUDA kernels against the CPU one).
// Header-only and plain C++ (host + device under nvcc).
#pragma once
#include <cstdint>

#ifndef RK_HD
#ifdef __CUDACC__
#define RK_HD __host__ __device__
#else
#define RK_HD
#endif
#endif

namespace rk {

// Key kj is visible to query qi of the same sequence (positions local to it, the caller guarantees the
// sequence) iff it is not after the query and lies in the shared prefix (segment 0) or in the query's own
// segment. Plain causal attention passes segment 0 for every token. In the layout
// [prompt (0) | chosen (1) | rejected (2)] the rejected response therefore sees the prompt and itself only.
RK_HD inline bool attention_mask_visible(int64_t qi, int64_t kj, int32_t seg_q, int32_t seg_k) {
  return kj <= qi && (seg_k == 0 || seg_k == seg_q);
}

}  // namespace rk
