// extern "C" wrapper around RewardKit's varlen flash attention, for ctypes (scripts/gpu/flashcheck.py).
// Built from the repo's own rewardkit-kernels/native/cuda/flash_{fwd,bwd}.cu; on the host emulator with g++ -include emu.h.
#include <cstdio>
#include <exception>
#include "rewardkit/cuda/flash_attention.h"
using rk::cuda::bf16_bits;
static void put(char* err, int cap, const char* m) { if (err && cap > 0) std::snprintf(err, cap, "%s", m); }
extern "C" int rkf_fwd(void* o, void* lse, const void* q, const void* k, const void* v, const void* cu,
                       const void* seg, int S, int T, int maxlen, int hq, int hkv, int hd, float scale,
                       void* stream, char* err, int cap) {
  try {
    rk::cuda::flash_attention_forward((bf16_bits*)o, (float*)lse, (const bf16_bits*)q, (const bf16_bits*)k,
                                      (const bf16_bits*)v, (const int32_t*)cu, (const int32_t*)seg, S, T, maxlen,
                                      hq, hkv, hd, scale, stream);
    return 0;
  } catch (const std::exception& e) { put(err, cap, e.what()); return 1; }
}
extern "C" long long rkf_ws(int T, int hq, int hkv, int hd, int det) {
  try { return rk::cuda::flash_attention_backward_workspace(T, hq, hkv, hd, det); } catch (...) { return -1; }
}
extern "C" int rkf_bwd(void* dq, void* dk, void* dv, const void* dout, const void* q, const void* k, const void* v,
                       const void* o, const void* lse, void* ws, const void* cu, const void* seg, int S, int T,
                       int maxlen, int hq, int hkv, int hd, float scale, int det, void* stream, char* err, int cap) {
  try {
    rk::cuda::flash_attention_backward((bf16_bits*)dq, (bf16_bits*)dk, (bf16_bits*)dv, (const bf16_bits*)dout,
                                       (const bf16_bits*)q, (const bf16_bits*)k, (const bf16_bits*)v,
                                       (const bf16_bits*)o, (const float*)lse, ws, (const int32_t*)cu,
                                       (const int32_t*)seg, S, T, maxlen, hq, hkv, hd, scale, det, stream);
    return 0;
  } catch (const std::exception& e) { put(err, cap, e.what()); return 1; }
}
