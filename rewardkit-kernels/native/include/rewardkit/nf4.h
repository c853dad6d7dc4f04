// NF4 (4-bit NormalFloat) storage with double quantisation, as bitsandbytes'
// quantize_4bit(quant_type="nf4", blocksize=64, compress_statistics=True) / dequantize_4bit (QLoRA):
//   * w (n elements, a weight [O, I] flattened row-major) is cut into blocks of kNf4Block = 64;
//     absmax_b = max |w| over block b; each element gets the NF4 code nearest to w * (1 / absmax_b)
//     (bitsandbytes' midpoint decision tree, ties to the lower code); two codes per byte, the first
//     element in the high nibble;
//   * double quantisation: offset = mean(absmax) (accumulated in double, rounded to fp32), and
//     absmax - offset is quantised in blocks of kNf4AbsmaxBlock = 256 with the signed 8-bit dynamic map
//     (bitsandbytes create_dynamic_map(signed=True), RK_NF4_ABSMAX_MAP_VALUES) and per-block scale absmax2;
//   * dequantisation: absmax'_b = map[qabsmax_b] * absmax2_{b/256} + offset;  w'_i = nf4[q_i] * absmax'_b.
// Storage per element: 4 bits + 8/64 bits of qabsmax + 32/(64*256) bits of absmax2 = 4.127 bits.
// The tables and the decode arithmetic live here, shared by the CPU reference (native/cpu/nf4.cpp)
// and the CUDA kernel (native/cuda/nf4.cu). Golden: tools/nf4_golden.py.
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define RK_NF4_HD __host__ __device__
#else
#define RK_NF4_HD
#endif

namespace rk {

constexpr int64_t kNf4Block = 64;         // elements per absmax
constexpr int64_t kNf4AbsmaxBlock = 256;  // absmax values per absmax2

// bitsandbytes get_4bit_type("nf4"): quantiles of N(0, 1) normalised to [-1, 1], with an exact 0.
#define RK_NF4_CODE_VALUES                                                                          \
  -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f, \
  -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,  \
  0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,          \
  0.7229568362236023f, 1.0f

// bitsandbytes create_dynamic_map(signed=True) in fp32, sorted (printed by tools/nf4_golden.py --print-c-table).
#define RK_NF4_ABSMAX_MAP_VALUES \
  -0x1.fc66660000000p-1f, -0x1.f533340000000p-1f, -0x1.ee00000000000p-1f, -0x1.e6cccc0000000p-1f, \
  -0x1.df999a0000000p-1f, -0x1.d866660000000p-1f, -0x1.d133340000000p-1f, -0x1.ca00000000000p-1f, \
  -0x1.c2cccc0000000p-1f, -0x1.bb999a0000000p-1f, -0x1.b466660000000p-1f, -0x1.ad33340000000p-1f, \
  -0x1.a600000000000p-1f, -0x1.9ecccc0000000p-1f, -0x1.97999a0000000p-1f, -0x1.9066660000000p-1f, \
  -0x1.8933340000000p-1f, -0x1.8200000000000p-1f, -0x1.7acccc0000000p-1f, -0x1.73999a0000000p-1f, \
  -0x1.6c66680000000p-1f, -0x1.6533340000000p-1f, -0x1.5e00000000000p-1f, -0x1.56cccc0000000p-1f, \
  -0x1.4f999a0000000p-1f, -0x1.4866680000000p-1f, -0x1.4133340000000p-1f, -0x1.3a00000000000p-1f, \
  -0x1.32cccc0000000p-1f, -0x1.2b999a0000000p-1f, -0x1.2466680000000p-1f, -0x1.1d33340000000p-1f, \
  -0x1.1600000000000p-1f, -0x1.0ecccc0000000p-1f, -0x1.0799980000000p-1f, -0x1.0066660000000p-1f, \
  -0x1.f266640000000p-2f, -0x1.e400000000000p-2f, -0x1.d599980000000p-2f, -0x1.c733340000000p-2f, \
  -0x1.b8cccc0000000p-2f, -0x1.aa66660000000p-2f, -0x1.9c00000000000p-2f, -0x1.8d99980000000p-2f, \
  -0x1.7f33340000000p-2f, -0x1.70cccc0000000p-2f, -0x1.6266660000000p-2f, -0x1.5400000000000p-2f, \
  -0x1.4599980000000p-2f, -0x1.3733340000000p-2f, -0x1.28cccc0000000p-2f, -0x1.1a66680000000p-2f, \
  -0x1.0c00000000000p-2f, -0x1.fb33320000000p-3f, -0x1.de66660000000p-3f, -0x1.c1999a0000000p-3f, \
  -0x1.a4cccc0000000p-3f, -0x1.8800000000000p-3f, -0x1.6b33340000000p-3f, -0x1.4e66660000000p-3f, \
  -0x1.31999a0000000p-3f, -0x1.14cccc0000000p-3f, -0x1.f000000000000p-4f, -0x1.b666680000000p-4f, \
  -0x1.93d70a0000000p-4f, -0x1.8851ee0000000p-4f, -0x1.7cccce0000000p-4f, -0x1.7147ae0000000p-4f, \
  -0x1.65c2900000000p-4f, -0x1.5a3d700000000p-4f, -0x1.4eb8540000000p-4f, -0x1.4333340000000p-4f, \
  -0x1.37ae140000000p-4f, -0x1.2c28f60000000p-4f, -0x1.20a3d60000000p-4f, -0x1.151eba0000000p-4f, \
  -0x1.09999a0000000p-4f, -0x1.fc28f60000000p-5f, -0x1.e51eba0000000p-5f, -0x1.ce147a0000000p-5f, \
  -0x1.b70a3e0000000p-5f, -0x1.a000000000000p-5f, -0x1.88f5c20000000p-5f, -0x1.71eb860000000p-5f, \
  -0x1.5ae1460000000p-5f, -0x1.43d70a0000000p-5f, -0x1.2cccce0000000p-5f, -0x1.15c2900000000p-5f, \
  -0x1.fd70a40000000p-6f, -0x1.cf5c2a0000000p-6f, -0x1.a147ae0000000p-6f, -0x1.7333340000000p-6f, \
  -0x1.451eba0000000p-6f, -0x1.170a3e0000000p-6f, -0x1.d1eb860000000p-7f, -0x1.75c2900000000p-7f, \
  -0x1.3e76c80000000p-7f, -0x1.2c08300000000p-7f, -0x1.19999a0000000p-7f, -0x1.072b020000000p-7f, \
  -0x1.e978d40000000p-8f, -0x1.c49ba60000000p-8f, -0x1.9fbe760000000p-8f, -0x1.7ae1480000000p-8f, \
  -0x1.56041a0000000p-8f, -0x1.3126e80000000p-8f, -0x1.0c49ba0000000p-8f, -0x1.ced9140000000p-9f, \
  -0x1.851eb80000000p-9f, -0x1.3b645a0000000p-9f, -0x1.e353f80000000p-10f, -0x1.4fdf3a0000000p-10f, \
  -0x1.eecbfe0000000p-11f, -0x1.b3d07c0000000p-11f, -0x1.78d5000000000p-11f, -0x1.3dd9820000000p-11f, \
  -0x1.02de020000000p-11f, -0x1.8fc5060000000p-12f, -0x1.19ce0a0000000p-12f, -0x1.47ae160000000p-13f, \
  -0x1.743e960000000p-14f, -0x1.15df660000000p-14f, -0x1.6f00680000000p-15f, -0x1.64840c0000000p-16f, \
  -0x1.040bfe0000000p-17f, -0x1.b435280000000p-19f, -0x1.27476e0000000p-21f, 0x0.0p+0f, \
  0x1.27476e0000000p-21f, 0x1.b435280000000p-19f, 0x1.040bfe0000000p-17f, 0x1.64840c0000000p-16f, \
  0x1.6f00680000000p-15f, 0x1.15df660000000p-14f, 0x1.743e960000000p-14f, 0x1.47ae160000000p-13f, \
  0x1.19ce0a0000000p-12f, 0x1.8fc5060000000p-12f, 0x1.02de020000000p-11f, 0x1.3dd9820000000p-11f, \
  0x1.78d5000000000p-11f, 0x1.b3d07c0000000p-11f, 0x1.eecbfe0000000p-11f, 0x1.4fdf3a0000000p-10f, \
  0x1.e353f80000000p-10f, 0x1.3b645a0000000p-9f, 0x1.851eb80000000p-9f, 0x1.ced9140000000p-9f, \
  0x1.0c49ba0000000p-8f, 0x1.3126e80000000p-8f, 0x1.56041a0000000p-8f, 0x1.7ae1480000000p-8f, \
  0x1.9fbe760000000p-8f, 0x1.c49ba60000000p-8f, 0x1.e978d40000000p-8f, 0x1.072b020000000p-7f, \
  0x1.19999a0000000p-7f, 0x1.2c08300000000p-7f, 0x1.3e76c80000000p-7f, 0x1.75c2900000000p-7f, \
  0x1.d1eb860000000p-7f, 0x1.170a3e0000000p-6f, 0x1.451eba0000000p-6f, 0x1.7333340000000p-6f, \
  0x1.a147ae0000000p-6f, 0x1.cf5c2a0000000p-6f, 0x1.fd70a40000000p-6f, 0x1.15c2900000000p-5f, \
  0x1.2cccce0000000p-5f, 0x1.43d70a0000000p-5f, 0x1.5ae1460000000p-5f, 0x1.71eb860000000p-5f, \
  0x1.88f5c20000000p-5f, 0x1.a000000000000p-5f, 0x1.b70a3e0000000p-5f, 0x1.ce147a0000000p-5f, \
  0x1.e51eba0000000p-5f, 0x1.fc28f60000000p-5f, 0x1.09999a0000000p-4f, 0x1.151eba0000000p-4f, \
  0x1.20a3d60000000p-4f, 0x1.2c28f60000000p-4f, 0x1.37ae140000000p-4f, 0x1.4333340000000p-4f, \
  0x1.4eb8540000000p-4f, 0x1.5a3d700000000p-4f, 0x1.65c2900000000p-4f, 0x1.7147ae0000000p-4f, \
  0x1.7cccce0000000p-4f, 0x1.8851ee0000000p-4f, 0x1.93d70a0000000p-4f, 0x1.b666680000000p-4f, \
  0x1.f000000000000p-4f, 0x1.14cccc0000000p-3f, 0x1.31999a0000000p-3f, 0x1.4e66660000000p-3f, \
  0x1.6b33340000000p-3f, 0x1.8800000000000p-3f, 0x1.a4cccc0000000p-3f, 0x1.c1999a0000000p-3f, \
  0x1.de66660000000p-3f, 0x1.fb33320000000p-3f, 0x1.0c00000000000p-2f, 0x1.1a66680000000p-2f, \
  0x1.28cccc0000000p-2f, 0x1.3733340000000p-2f, 0x1.4599980000000p-2f, 0x1.5400000000000p-2f, \
  0x1.6266660000000p-2f, 0x1.70cccc0000000p-2f, 0x1.7f33340000000p-2f, 0x1.8d99980000000p-2f, \
  0x1.9c00000000000p-2f, 0x1.aa66660000000p-2f, 0x1.b8cccc0000000p-2f, 0x1.c733340000000p-2f, \
  0x1.d599980000000p-2f, 0x1.e400000000000p-2f, 0x1.f266640000000p-2f, 0x1.0066660000000p-1f, \
  0x1.0799980000000p-1f, 0x1.0ecccc0000000p-1f, 0x1.1600000000000p-1f, 0x1.1d33340000000p-1f, \
  0x1.2466680000000p-1f, 0x1.2b999a0000000p-1f, 0x1.32cccc0000000p-1f, 0x1.3a00000000000p-1f, \
  0x1.4133340000000p-1f, 0x1.4866680000000p-1f, 0x1.4f999a0000000p-1f, 0x1.56cccc0000000p-1f, \
  0x1.5e00000000000p-1f, 0x1.6533340000000p-1f, 0x1.6c66680000000p-1f, 0x1.73999a0000000p-1f, \
  0x1.7acccc0000000p-1f, 0x1.8200000000000p-1f, 0x1.8933340000000p-1f, 0x1.9066660000000p-1f, \
  0x1.97999a0000000p-1f, 0x1.9ecccc0000000p-1f, 0x1.a600000000000p-1f, 0x1.ad33340000000p-1f, \
  0x1.b466660000000p-1f, 0x1.bb999a0000000p-1f, 0x1.c2cccc0000000p-1f, 0x1.ca00000000000p-1f, \
  0x1.d133340000000p-1f, 0x1.d866660000000p-1f, 0x1.df999a0000000p-1f, 0x1.e6cccc0000000p-1f, \
  0x1.ee00000000000p-1f, 0x1.f533340000000p-1f, 0x1.fc66660000000p-1f, 0x1.0000000000000p+0f

inline int64_t nf4_num_blocks(int64_t n) { return (n + kNf4Block - 1) / kNf4Block; }
inline int64_t nf4_num_absmax_blocks(int64_t n) { return (nf4_num_blocks(n) + kNf4AbsmaxBlock - 1) / kNf4AbsmaxBlock; }
inline int64_t nf4_packed_bytes(int64_t n) { return (n + 1) / 2; }

// The dequantised absmax of NF4 block b (fp32 arithmetic, bitsandbytes' order of operations).
// Product and sum are rounded separately (bitsandbytes stores the product, then adds the offset): no FMA,
// which -mfma (host) and nvcc would otherwise contract them into.
RK_NF4_HD inline float nf4_block_scale(const float* map, const uint8_t* qabsmax, const float* absmax2, float offset,
                                       int64_t b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(__fmul_rn(map[qabsmax[b]], absmax2[b / kNf4AbsmaxBlock]), offset);
#else
  volatile float product = map[qabsmax[b]] * absmax2[b / kNf4AbsmaxBlock];
  return product + offset;
#endif
}

// packed [ceil(n/2)] u8, qabsmax [nf4_num_blocks(n)] u8, absmax2 [nf4_num_absmax_blocks(n)] f32, offset [1] f32;
// w [n] f32 (NaN/Inf refused). An all-zero block gets code 0 (-1.0), as in bitsandbytes (0 * (1/0) is NaN
// there), so it dequantises to -absmax', the double-quantised 0: within the absmax error of zero.
void nf4_quantize(uint8_t* packed, uint8_t* qabsmax, float* absmax2, float* offset, const float* w, int64_t n);

// out [n] = the dequantised weight (fp32 or fp64; the value is the fp32 product either way).
void nf4_dequantize(float* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2, float offset,
                    int64_t n);
void nf4_dequantize(double* out, const uint8_t* packed, const uint8_t* qabsmax, const float* absmax2, float offset,
                    int64_t n);

}  // namespace rk
