#!/usr/bin/env python3
"""RewardKit's varlen attention vs PyTorch SDPA (flash backend), forward and backward, same sequence lengths.

For each shape (heads as in io.rewardkit.bench.ModelShape) and sequence length L, 16384 tokens are cut into
B = 16384 / L causal sequences. SDPA gets them as a dense [B, H, L, hd] bf16 batch (no padding: every
sequence has length L), is_causal=True, GQA through enable_gqa, restricted to the flash backend. RewardKit's
figures come from the JMH HotPathOpsBenchmark (device=cuda, op=attention.fwd/bwd, tokens=16384, seqlen=L),
which times each call with device events; this script runs that benchmark unless --rk-json gives a result file.

Both sides use one FLOP count (io.rewardkit.bench.FlopModel): forward 4*hd*Hq per visible (query, key)
pair, backward 8*hd*Hq (model FLOPs, no recomputation counted), so the TFLOP/s ratio equals the time ratio.
Targets: >= 0.90x forward, >= 0.85x backward.

    python3 benchmarks/peers/attention_vs_sdpa.py [--rk-json benchmarks/results/jmh-....json] [--md out.md]

Needs a CUDA GPU and torch >= 2.5. Not run in RewardKit's development sessions (no GPU there).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

SHAPES = {  # name: (Hq, Hkv, hd), mirrors ModelShape
    "Qwen2.5-0.5B": (14, 2, 64),
    "Qwen2.5-1.5B": (12, 2, 128),
    "Qwen2.5-7B": (28, 4, 128),
    "Llama-3-8B": (32, 8, 128),
}
TOKENS = 16384


def visible(b, l):
    return b * l * (l + 1) // 2


def time_cuda(fn, warmup=5, reps=20):
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e-3)
    times.sort()
    return times[len(times) // 2]


def sdpa_seconds(hq, hkv, hd, seqlen):
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F
    b = TOKENS // seqlen
    dev, dt = "cuda", torch.bfloat16
    q = torch.randn(b, hq, seqlen, hd, device=dev, dtype=dt, requires_grad=True)
    k = torch.randn(b, hkv, seqlen, hd, device=dev, dtype=dt, requires_grad=True)
    v = torch.randn(b, hkv, seqlen, hd, device=dev, dtype=dt, requires_grad=True)
    note = "enable_gqa"
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        try:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            call = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            grads_of = (q, k, v)
        except RuntimeError:
            # Flash without GQA support in this torch: expand k/v once, outside the timed region.
            note = "k/v expanded"
            k2 = k.detach().repeat_interleave(hq // hkv, dim=1).requires_grad_()
            v2 = v.detach().repeat_interleave(hq // hkv, dim=1).requires_grad_()
            call = lambda: F.scaled_dot_product_attention(q, k2, v2, is_causal=True)
            out = call()
            grads_of = (q, k2, v2)
        fwd = time_cuda(lambda: call())
        dout = torch.randn_like(out)
        bwd = time_cuda(lambda: torch.autograd.grad(out, grads_of, dout, retain_graph=True))
    return fwd, bwd, note


def rk_seconds(rk_json):
    """{(shape, seqlen, op): seconds} from a JMH result file of HotPathOpsBenchmark on cuda."""
    with open(rk_json) as f:
        rows = json.load(f)
    out = {}
    for r in rows:
        if not r["benchmark"].endswith("HotPathOpsBenchmark.run"):
            continue
        p = r["params"]
        if p.get("device") != "cuda" or int(p["tokens"]) != TOKENS:
            continue
        sec = r.get("secondaryMetrics", {})
        calls = sec.get("deviceCalls", {}).get("score", 0)
        if not calls:
            continue
        out[(p["shape"], int(p["seqlen"]), p["op"])] = sec["deviceNanos"]["score"] / calls * 1e-9
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="Qwen2.5-0.5B,Qwen2.5-1.5B")
    ap.add_argument("--seqlens", default="512,2048,4096")
    ap.add_argument("--rk-json", help="JMH JSON with HotPathOpsBenchmark attention rows on cuda (else run it)")
    ap.add_argument("--md", help="also write the table here")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    seqlens = [int(s) for s in args.seqlens.split(",")]
    for s in shapes:
        if s not in SHAPES:
            sys.exit(f"unknown shape {s}; known: {', '.join(SHAPES)}")
        for l in seqlens:
            if TOKENS % l:
                sys.exit(f"seqlen {l} must divide {TOKENS}")

    import torch
    if not torch.cuda.is_available():
        sys.exit("attention_vs_sdpa: no CUDA device")

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rk_json = args.rk_json
    if rk_json is None:
        cmd = [os.path.join(root, "benchmarks", "run-jmh.sh"), "io.rewardkit.bench.HotPathOpsBenchmark",
               "-p", "device=cuda", "-p", "op=attention.fwd,attention.bwd", "-p", "shape=" + ",".join(shapes),
               "-p", f"tokens={TOKENS}", "-p", "seqlen=" + ",".join(map(str, seqlens))]
        print("attention_vs_sdpa: running " + " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, cwd=root, stdout=sys.stderr)
        rk_json = max(glob.glob(os.path.join(root, "benchmarks", "results", "jmh-*.json")), key=os.path.getmtime)
    rk = rk_seconds(rk_json)

    lines = [f"Device: {torch.cuda.get_device_name()}; torch {torch.__version__}; "
             f"date {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}; RewardKit figures from {os.path.relpath(rk_json, root)}",
             "",
             "| shape | seqlen x seqs | pass | RewardKit TFLOP/s | SDPA flash TFLOP/s | ratio | target |",
             "|---|---|---|---:|---:|---:|---:|"]
    for s in shapes:
        hq, hkv, hd = SHAPES[s]
        for l in seqlens:
            fwd, bwd, note = sdpa_seconds(hq, hkv, hd, l)
            vis = visible(TOKENS // l, l)
            for op, sdpa_s, flops, target in (("attention.fwd", fwd, 4.0 * hd * hq * vis, 0.90),
                                               ("attention.bwd", bwd, 8.0 * hd * hq * vis, 0.85)):
                rk_s = rk.get((s, l, op))
                rk_tf = flops / rk_s / 1e12 if rk_s else float("nan")
                sd_tf = flops / sdpa_s / 1e12
                ratio = rk_tf / sd_tf if rk_s else float("nan")
                lines.append(f"| {s} | {l} x {TOKENS // l} | {op.split('.')[1]} | {rk_tf:.1f} | {sd_tf:.1f} ({note}) | "
                             f"{ratio:.2f}x | >= {target:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
