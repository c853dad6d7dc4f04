#!/usr/bin/env python3
"""Golden file for RewardKit's NF4 test (rewardkit-core/src/test/java/io/rewardkit/model/Nf4GoldenTest.java).

bitsandbytes is not installable from this project's package index (`pip install --retries 0 --timeout 5
bitsandbytes`: "No matching distribution", 2026-12-01), so this is a reimplementation, in torch float32
arithmetic, of what bitsandbytes documents and does for
    bnb.functional.quantize_4bit(w, blocksize=64, compress_statistics=True, quant_type="nf4")
    bnb.functional.dequantize_4bit(packed, quant_state)
(QLoRA, Dettmers et al. 2023, section 3; bitsandbytes functional.py + csrc/kernels.cu):

  * NF4 code: the 16 values of get_4bit_type("nf4"); an element x of block b (64 consecutive elements
    of the flattened tensor) gets the code whose value is nearest to x * (1 / absmax_b), found by
    bitsandbytes' decision tree on the midpoints between neighbouring codes (dQuantizeNF4: strict '>',
    so a value exactly on a midpoint takes the lower code). Two codes per byte, the first element in the
    high nibble; a missing last element (odd n) is quantised from 0.0, as the kernel's zero-filled load.
  * double quantisation: offset = mean(absmax) (fp32); absmax - offset is quantised blockwise
    (256 per block) with the signed 8-bit dynamic map create_dynamic_map(signed=True) and the
    kernel's binary search dQuantize<0>; absmax2 is each block's max |absmax - offset|.
  * dequantisation: absmax'_b = map[qabsmax_b] * absmax2_{b/256} + offset;  w' = nf4[q] * absmax'_b.

Writes (safetensors, all small):
  w           bf16 [65, 257]  input weight (bf16 values, so fp32 reads them exactly): N(0, 1) per block
                              times a per-block scale e^N(0, 1.5), block 5 all zero
  packed      u8   [8353]     NF4 codes, two per byte (n = 16705 is odd: the last low nibble is padding)
  qabsmax     u8   [262]      8-bit codes of absmax - offset
  absmax2     f32  [2]        per-256-block scale of the absmax quantisation
  offset      f32  [1]        mean of the fp32 absmax
  absmax      f32  [262]      the fp32 absmax before double quantisation (for error bounds)
  dequant     f32  [65, 257]  dequantize_4bit's output in fp32
  nf4_code    f32  [16]       the NF4 values
  dynamic_map f32  [256]      the 8-bit map (also printed as the C table RK_NF4_ABSMAX_MAP_VALUES)

Usage: python3 tools/nf4_golden.py --out rewardkit-core/src/test/resources/nf4/golden.safetensors [--print-c-table]
"""
import argparse

import torch
from safetensors.torch import save_file

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]


def create_dynamic_map(max_exponent_bits=7, total_bits=8):
    """bitsandbytes.functional.create_dynamic_map(signed=True), same float32 steps."""
    data = []
    non_sign_bits = total_bits - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def f32(x):
    return torch.tensor(x, dtype=torch.float32)


NF4_MID = [f32((NF4[i] + NF4[i + 1]) / 2.0) for i in range(15)]


def quantize_nf4_value(x):
    """dQuantizeNF4: the number of midpoints strictly below x (x a float32 scalar; NaN -> 0)."""
    q = 0
    for m in NF4_MID:
        if x > m:
            q += 1
    return q


def dquantize(code, x):
    """dQuantize<0> of csrc/kernels.cu: binary search on the sorted 256-entry map, then the nearer neighbour."""
    pivot, upper_pivot, lower_pivot = 127, 255, 0
    lower, upper = f32(-1.0), f32(1.0)
    val = code[pivot]
    i = 64
    while i > 0:
        if x > val:
            lower_pivot, lower = pivot, val
            pivot += i
        else:
            upper_pivot, upper = pivot, val
            pivot -= i
        val = code[pivot]
        i >>= 1
    if upper_pivot == 255:
        upper = code[upper_pivot]
    if lower_pivot == 0:
        lower = code[lower_pivot]
    if x > val:
        mid = (upper + val) * f32(0.5)
        return upper_pivot if x > mid else pivot
    mid = (lower + val) * f32(0.5)
    return lower_pivot if x < mid else pivot


def quantize(w, blocksize=64, blocksize2=256):
    flat = w.reshape(-1).to(torch.float32)
    n = flat.numel()
    nb = (n + blocksize - 1) // blocksize
    absmax = torch.zeros(nb, dtype=torch.float32)
    codes = []
    for b in range(nb):
        blk = flat[b * blocksize:(b + 1) * blocksize]
        am = blk.abs().max()
        absmax[b] = am
        inv = f32(1.0) / am  # 1/0 = inf; 0 * inf = NaN -> code 0, as on the GPU
        vals = list(blk) + [f32(0.0)] * (blocksize - blk.numel())
        valid = blk.numel() + (blk.numel() % 2)  # pad to the byte boundary only
        codes += [quantize_nf4_value(v * inv) for v in vals[:valid]]
    codes = codes[:n + (n % 2)]
    packed = torch.tensor([(codes[2 * j] << 4) | codes[2 * j + 1] for j in range(len(codes) // 2)], dtype=torch.uint8)

    dmap = create_dynamic_map()
    offset = absmax.mean()
    centred = absmax - offset
    nb2 = (nb + blocksize2 - 1) // blocksize2
    absmax2 = torch.zeros(nb2, dtype=torch.float32)
    qabsmax = []
    for b in range(nb2):
        blk = centred[b * blocksize2:(b + 1) * blocksize2]
        am = blk.abs().max()
        absmax2[b] = am
        inv = f32(1.0) / am
        qabsmax += [dquantize(dmap, v * inv) for v in blk]
    return packed, torch.tensor(qabsmax, dtype=torch.uint8), absmax2, offset.reshape(1), absmax, dmap


def dequantize(packed, qabsmax, absmax2, offset, dmap, n, blocksize=64, blocksize2=256):
    nb = qabsmax.numel()
    am = torch.stack([dmap[int(qabsmax[b])] * absmax2[b // blocksize2] for b in range(nb)]) + offset[0]
    code = torch.tensor(NF4, dtype=torch.float32)
    q = torch.stack([packed >> 4, packed & 15], dim=1).reshape(-1)[:n].long()
    idx = torch.arange(n) // blocksize
    return code[q] * am[idx]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--print-c-table", action="store_true")
    a = ap.parse_args()
    g = torch.Generator().manual_seed(a.seed)
    rows, cols = 65, 257
    n = rows * cols
    nb = (n + 63) // 64
    scale = torch.exp(torch.randn(nb, generator=g) * 1.5)
    scale[5] = 0.0
    w = torch.randn(n, generator=g) * scale.repeat_interleave(64)[:n]
    w = w.to(torch.bfloat16).reshape(rows, cols)
    packed, qabsmax, absmax2, offset, absmax, dmap = quantize(w)
    deq = dequantize(packed, qabsmax, absmax2, offset, dmap, n).reshape(rows, cols)
    # torch's fp32 mean and the mean accumulated in double agree here (RewardKit uses the latter).
    assert float(offset[0]) == float(torch.tensor(absmax.double().mean().item(), dtype=torch.float32)), "mean differs"
    save_file({"w": w.contiguous(), "packed": packed, "qabsmax": qabsmax, "absmax2": absmax2, "offset": offset,
               "absmax": absmax, "dequant": deq.contiguous(), "nf4_code": torch.tensor(NF4, dtype=torch.float32),
               "dynamic_map": dmap},
              a.out, metadata={"generator": "tools/nf4_golden.py", "seed": str(a.seed), "torch": torch.__version__,
                               "reimplements": "bitsandbytes quantize_4bit(nf4, blocksize=64, compress_statistics=True)"})
    err = (deq - w.float()).abs()
    print(f"wrote {a.out}: n={n}, blocks={nb}, max|err|={err.max():.4g}, mean|err|/mean|w|="
          f"{err.mean() / w.float().abs().mean():.4f}")
    if a.print_c_table:
        vals = [float(v).hex() for v in dmap.tolist()]
        print("#define RK_NF4_ABSMAX_MAP_VALUES \\")
        for i in range(0, 256, 4):
            print("  " + ", ".join(v + "f" for v in vals[i:i + 4]) + ("," if i + 4 < 256 else "") + " \\")


if __name__ == "__main__":
    main()
