#!/usr/bin/env python3
"""RewardKit's own varlen FlashAttention kernels (rewardkit-kernels/native/cuda/flash_{fwd,bwd}.cu, called through a tiny
extern "C" shim with ctypes) against PyTorch on the same device:

  * correctness: fp32 (GPU) / fp64 (host) reference of the shared-prefix rule
    (key j visible to query i iff same sequence, j <= i, seg[j] == 0 or seg[j] == seg[i]),
    outputs poisoned with NaN before every call (an unwritten element shows up), tolerances of the
    project's own tests (out 2^-6, grads 2^-4.5 of max|ref|), bitwise determinism of the default dq mode;
  * speed (GPU only): RewardKit fwd/bwd vs torch SDPA with the flash backend (FA2 inside PyTorch) and the
    cuDNN backend, same shapes, T = 16384 tokens cut into equal causal sequences, CUDA events, median.

The shim's own static cudart and PyTorch's runtime share the primary context and the stream handle, the
same arrangement RewardKit's Java backend relies on (static cudart + Bytedeco's dynamic one).

    python3 flashcheck.py --lib libflashcheck_gpu.so --out DIR            # on a GPU
    python3 flashcheck.py --lib libflashcheck_emu.so --emu --cases 0,1    # host emulator, no GPU
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch

BF16 = torch.bfloat16


def load(path):
    lib = ctypes.CDLL(os.path.abspath(path))
    vp, i, f = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
    lib.rkf_fwd.argtypes = [vp] * 7 + [i] * 6 + [f, vp, ctypes.c_char_p, i]
    lib.rkf_fwd.restype = i
    lib.rkf_ws.argtypes = [i, i, i, i, i]
    lib.rkf_ws.restype = ctypes.c_longlong
    lib.rkf_bwd.argtypes = [vp] * 12 + [i] * 6 + [f, i, vp, ctypes.c_char_p, i]
    lib.rkf_bwd.restype = i
    return lib


def ptr(t):
    return None if t is None else ctypes.c_void_p(t.data_ptr())


class RK:
    def __init__(self, lib, dev):
        self.lib, self.dev = lib, dev
        self.err = ctypes.create_string_buffer(2048)

    def stream(self):
        return ctypes.c_void_p(torch.cuda.current_stream().cuda_stream if self.dev.type == "cuda" else 0)

    def fwd(self, o, lse, q, k, v, cu, seg, S, T, maxlen, hq, hkv, hd, scale):
        rc = self.lib.rkf_fwd(ptr(o), ptr(lse), ptr(q), ptr(k), ptr(v), ptr(cu), ptr(seg), S, T, maxlen, hq, hkv, hd,
                              scale, self.stream(), self.err, len(self.err))
        if rc:
            raise RuntimeError(self.err.value.decode())

    def ws(self, T, hq, hkv, hd, det):
        n = self.lib.rkf_ws(T, hq, hkv, hd, det)
        return torch.empty(max(n, 16), dtype=torch.uint8, device=self.dev)

    def bwd(self, dq, dk, dv, dout, q, k, v, o, lse, ws, cu, seg, S, T, maxlen, hq, hkv, hd, scale, det):
        rc = self.lib.rkf_bwd(ptr(dq), ptr(dk), ptr(dv), ptr(dout), ptr(q), ptr(k), ptr(v), ptr(o), ptr(lse), ptr(ws),
                              ptr(cu), ptr(seg), S, T, maxlen, hq, hkv, hd, scale, det, self.stream(), self.err,
                              len(self.err))
        if rc:
            raise RuntimeError(self.err.value.decode())


def layout(lengths, parts=None):
    """cu_seqlens and segment ids; parts[s] = (prompt, chosen, rejected) lengths of sequence s or None."""
    cu = [0]
    for n in lengths:
        cu.append(cu[-1] + n)
    seg = None
    if parts is not None:
        seg = []
        for n, p in zip(lengths, parts):
            pl, cl, rl = p
            assert pl + cl + rl == n
            seg += [0] * pl + [1] * cl + [2] * rl
    return cu, seg


def reference(q, k, v, dout, cu, seg, scale, dtype):
    """Exact attention of the bf16 inputs in `dtype` (fp32 on GPU, fp64 on host), per sequence, with autograd."""
    T, hq, hd = q.shape
    hkv = k.shape[1]
    g = hq // hkv
    qf, kf, vf = (x.to(dtype).detach().requires_grad_() for x in (q, k, v))
    outs, lses = [], []
    for s in range(len(cu) - 1):
        a, b = cu[s], cu[s + 1]
        L = b - a
        qs = qf[a:b].transpose(0, 1)                                    # [hq, L, hd]
        ks = kf[a:b].transpose(0, 1).repeat_interleave(g, dim=0)         # [hq, L, hd]
        vs = vf[a:b].transpose(0, 1).repeat_interleave(g, dim=0)
        sc = torch.matmul(qs, ks.transpose(1, 2)) * scale                # [hq, L, L]
        i = torch.arange(L, device=q.device)
        mask = i[None, :] <= i[:, None]
        if seg is not None:
            sg = seg[a:b]
            mask = mask & ((sg[None, :] == 0) | (sg[None, :] == sg[:, None]))
        sc = sc.masked_fill(~mask, float("-inf"))
        lses.append(torch.logsumexp(sc, dim=-1))                         # [hq, L]
        outs.append(torch.matmul(torch.softmax(sc, dim=-1), vs).transpose(0, 1))  # [L, hq, hd]
    out = torch.cat(outs, 0)
    lse = torch.cat(lses, 1)                                             # [hq, T]
    dq, dk, dv = torch.autograd.grad(out, (qf, kf, vf), dout.to(dtype))
    return out.detach(), lse.detach(), dq, dk, dv


def rel_err(got, ref, mask_rows=None):
    got, ref = got.double(), ref.double()
    m = ref.abs().max().item()
    d = (got - ref).abs()
    return d.max().item() / max(m, 1e-12), (torch.linalg.vector_norm(got - ref) / max(torch.linalg.vector_norm(ref), 1e-30)).item()


def check_case(rk, dev, name, hd, hq, hkv, lengths, parts, seed, dets=(1, 0)):
    torch.manual_seed(seed)
    cu, seg = layout(lengths, parts)
    T, S, maxlen = cu[-1], len(lengths), max(lengths)
    scale = 1.0 / math.sqrt(hd)
    q = torch.randn(T, hq, hd, device=dev).to(BF16)
    k = torch.randn(T, hkv, hd, device=dev).to(BF16)
    v = torch.randn(T, hkv, hd, device=dev).to(BF16)
    dout = torch.randn(T, hq, hd, device=dev).to(BF16)
    cu_t = torch.tensor(cu, dtype=torch.int32, device=dev)
    seg_t = None if seg is None else torch.tensor(seg, dtype=torch.int32, device=dev)
    o = torch.full((T, hq, hd), float("nan"), device=dev).to(BF16)
    lse = torch.full((hq, T), float("nan"), device=dev)
    rk.fwd(o, lse, q, k, v, cu_t, seg_t, S, T, maxlen, hq, hkv, hd, scale)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dtype = torch.float32 if dev.type == "cuda" else torch.float64
    r_out, r_lse, r_dq, r_dk, r_dv = reference(q, k, v, dout, cu, None if seg_t is None else seg_t, scale, dtype)
    rows = []
    res = {"case": name, "hd": hd, "hq": hq, "hkv": hkv, "T": T, "seqs": S, "maxlen": maxlen, "segments": seg is not None,
           "checks": []}
    ok = True

    def add(what, got, ref, tol):
        nonlocal ok
        finite = bool(torch.isfinite(got.float()).all().item())
        mx, nrm = rel_err(got, ref) if finite else (float("nan"), float("nan"))
        good = finite and mx <= tol
        ok &= good
        res["checks"].append({"what": what, "max_rel": mx, "norm_rel": nrm, "tol": tol, "finite": finite, "ok": good})

    add("out", o, r_out, 2 ** -6)
    add("lse", lse, r_lse, 1e-4)
    for det in dets:
        dq = torch.full_like(q, float("nan"))
        dk = torch.full_like(k, float("nan"))
        dv = torch.full_like(v, float("nan"))
        ws = rk.ws(T, hq, hkv, hd, det)
        rk.bwd(dq, dk, dv, dout, q, k, v, o, lse, ws, cu_t, seg_t, S, T, maxlen, hq, hkv, hd, scale, det)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        mode = "det" if det else "atomic"
        add(f"dq[{mode}]", dq, r_dq, 2 ** -4.5)
        add(f"dk[{mode}]", dk, r_dk, 2 ** -4.5)
        add(f"dv[{mode}]", dv, r_dv, 2 ** -4.5)
        if det:
            dq2, dk2, dv2 = torch.empty_like(dq), torch.empty_like(dk), torch.empty_like(dv)
            rk.bwd(dq2, dk2, dv2, dout, q, k, v, o, lse, ws, cu_t, seg_t, S, T, maxlen, hq, hkv, hd, scale, det)
            same = bool(torch.equal(dq, dq2) and torch.equal(dk, dk2) and torch.equal(dv, dv2))
            ok &= same
            res["checks"].append({"what": "det bitwise repeat", "ok": same})
    res["ok"] = ok
    return res


def random_pairs(n, lo_p, hi_p, lo_r, hi_r, gen):
    lengths, parts = [], []
    for _ in range(n):
        p = int(torch.randint(lo_p, hi_p + 1, (1,), generator=gen))
        c = int(torch.randint(lo_r, hi_r + 1, (1,), generator=gen))
        r = int(torch.randint(lo_r, hi_r + 1, (1,), generator=gen))
        lengths.append(p + c + r)
        parts.append((p, c, r))
    return lengths, parts


def cases(dev_is_gpu):
    # The four cases of the project's emulator / JUnit tests: sequences [1, 70, 129]; with segments the
    # 129-token one is [prompt 40 | chosen 50 | rejected 39] (the 1- and 70-token ones are all prompt).
    base = [1, 70, 129]
    segp = [(1, 0, 0), (70, 0, 0), (40, 50, 39)]
    out = [
        ("junit-0 hd64 gqa2", 64, 4, 2, base, None),
        ("junit-1 hd128 mqa seg", 128, 6, 1, base, segp),
        ("junit-2 hd64 seg", 64, 2, 2, base, segp),
        ("junit-3 hd128 mha", 128, 4, 4, base, None),
    ]
    # Every head-dim bucket (kernels exist for 32, 64, 96, 128, 192, 256; smaller dims are zero-padded): the
    # project's own small models (8, 16, 32), common large ones (80, 96, 256) and an odd multiple of 8.
    for hd, seg in ((8, True), (16, False), (32, True), (80, True), (96, False), (160, True), (200, False), (256, True)):
        out.append((f"hd{hd} gqa2{' seg' if seg else ''}", hd, 4, 2, base, segp if seg else None))
    if dev_is_gpu:
        g = torch.Generator().manual_seed(7)
        L, P = random_pairs(24, 1, 700, 1, 500, g)
        out.append(("qwen3-0.6B heads, 24 random shared-prefix pairs", 128, 16, 8, L, P))
        L, P = random_pairs(40, 1, 300, 1, 200, g)
        out.append(("qwen2.5-0.5B heads, 40 random shared-prefix pairs", 64, 14, 2, L, P))
        edge = [64, 128, 63, 65, 1, 2, 127, 129, 192, 1000]
        out.append(("tile-edge lengths, plain causal", 128, 8, 2, edge, None))
        out.append(("tile-edge lengths, segments at tile edges", 64, 4, 1, [64 + 64 + 64, 128 + 1 + 63, 3],
                    [(64, 64, 64), (128, 1, 63), (1, 1, 1)]))
        out.append(("one 4096-token sequence", 128, 8, 8, [4096], None))
    return out


def time_cuda(fn, warmup=3, reps=10):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(ts)


SHAPES = {"Qwen2.5-0.5B": (14, 2, 64), "Qwen2.5-1.5B": (12, 2, 128), "Qwen3-0.6B": (16, 8, 128),
          "Llama-3-8B": (32, 8, 128), "Phi-2-like hd80": (32, 32, 80), "Gemma-like hd256": (8, 4, 256)}


def speed(rk, dev, shapes, seqlens, tokens=16384):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F
    rows = []
    for name in shapes:
        hq, hkv, hd = SHAPES[name]
        for L in seqlens:
            B = tokens // L
            T = B * L
            scale = 1.0 / math.sqrt(hd)
            vis = B * L * (L + 1) // 2
            fl_f, fl_b = 4.0 * hd * hq * vis, 8.0 * hd * hq * vis   # io.rewardkit.bench.FlopModel's counts
            q = torch.randn(T, hq, hd, device=dev, dtype=BF16)
            k = torch.randn(T, hkv, hd, device=dev, dtype=BF16)
            v = torch.randn(T, hkv, hd, device=dev, dtype=BF16)
            dout = torch.randn(T, hq, hd, device=dev, dtype=BF16)
            cu = torch.arange(0, T + 1, L, dtype=torch.int32, device=dev)
            o = torch.empty_like(q)
            lse = torch.empty(hq, T, device=dev)
            dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
            row = {"shape": name, "hq": hq, "hkv": hkv, "hd": hd, "seqlen": L, "seqs": B}
            row["rk_fwd_s"] = time_cuda(lambda: rk.fwd(o, lse, q, k, v, cu, None, B, T, L, hq, hkv, hd, scale))
            for det in (1, 0):
                ws = rk.ws(T, hq, hkv, hd, det)
                row["rk_bwd_det_s" if det else "rk_bwd_atomic_s"] = time_cuda(
                    lambda: rk.bwd(dq, dk, dv, dout, q, k, v, o, lse, ws, cu, None, B, T, L, hq, hkv, hd, scale, det))
            # Shared-prefix layout of the same tokens: each sequence [L/2 prompt | L/4 chosen | L/4 rejected].
            seg = torch.tensor(([0] * (L // 2) + [1] * (L // 4) + [2] * (L - L // 2 - L // 4)) * B, dtype=torch.int32,
                               device=dev)
            row["rk_fwd_seg_s"] = time_cuda(lambda: rk.fwd(o, lse, q, k, v, cu, seg, B, T, L, hq, hkv, hd, scale))
            # SDPA on the dense [B, H, L, hd] batch (every sequence has length L: no padding).
            qd = q.view(B, L, hq, hd).transpose(1, 2).contiguous().requires_grad_()
            kd = k.view(B, L, hkv, hd).transpose(1, 2).contiguous().requires_grad_()
            vd = v.view(B, L, hkv, hd).transpose(1, 2).contiguous().requires_grad_()
            dd = dout.view(B, L, hq, hd).transpose(1, 2).contiguous()
            for be_name, be in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                for gqa in ("enable_gqa", "k/v expanded"):
                    try:
                        if gqa == "enable_gqa" or hq == hkv:
                            kk, vv, kw = kd, vd, ({"enable_gqa": True} if hq != hkv else {})
                        else:  # backend without GQA: expand k/v once, outside the timed region
                            kk = kd.detach().repeat_interleave(hq // hkv, dim=1).requires_grad_()
                            vv = vd.detach().repeat_interleave(hq // hkv, dim=1).requires_grad_()
                            kw = {}
                        with sdpa_kernel([be]):
                            call = lambda: F.scaled_dot_product_attention(qd, kk, vv, is_causal=True, **kw)
                            out = call()
                            row[f"sdpa_{be_name}_fwd_s"] = time_cuda(call)
                            row[f"sdpa_{be_name}_bwd_s"] = time_cuda(
                                lambda: torch.autograd.grad(out, (qd, kk, vv), dd, retain_graph=True))
                        row[f"sdpa_{be_name}_gqa"] = gqa
                        row.pop(f"sdpa_{be_name}_error", None)
                        break
                    except Exception as e:  # noqa: BLE001 - report, keep going
                        row[f"sdpa_{be_name}_error"] = f"{gqa}: {type(e).__name__}: {str(e)[:200]}"
            for key in list(row):
                if key.endswith("_s") and "fwd" in key:
                    row[key.replace("_s", "_tflops")] = fl_f / row[key] / 1e12
                elif key.endswith("_s") and "bwd" in key:
                    row[key.replace("_s", "_tflops")] = fl_b / row[key] / 1e12
            if "sdpa_flash_fwd_s" in row:
                row["ratio_fwd_vs_fa2"] = row["sdpa_flash_fwd_s"] / row["rk_fwd_s"]
                row["ratio_bwd_det_vs_fa2"] = row["sdpa_flash_bwd_s"] / row["rk_bwd_det_s"]
                row["ratio_bwd_atomic_vs_fa2"] = row["sdpa_flash_bwd_s"] / row["rk_bwd_atomic_s"]
            rows.append(row)
            print(f"speed {name} L={L}: " + ", ".join(f"{k}={v:.3g}" for k, v in row.items()
                                                      if isinstance(v, float) and ("ratio" in k or "tflops" in k)),
                  flush=True)
            del q, k, v, dout, o, dq, dk, dv, qd, kd, vd, dd
            torch.cuda.empty_cache()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--emu", action="store_true", help="host emulator library: CPU tensors, fp64 reference")
    ap.add_argument("--cases", default="", help="comma-separated case indices (default: all)")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--shapes", default="Qwen2.5-0.5B,Qwen2.5-1.5B,Llama-3-8B")
    ap.add_argument("--seqlens", default="512,2048")
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    dev = torch.device("cpu" if args.emu else "cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("flashcheck: no CUDA device")
    rk = RK(load(args.lib), dev)
    os.makedirs(args.out, exist_ok=True)
    report = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else "host emulator",
              "torch": torch.__version__, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "correctness": [], "speed": []}
    sel = {int(x) for x in args.cases.split(",") if x.strip()}
    all_ok = True
    for idx, (name, hd, hq, hkv, lengths, parts) in enumerate(cases(dev.type == "cuda")):
        if sel and idx not in sel:
            continue
        t0 = time.time()
        try:
            r = check_case(rk, dev, name, hd, hq, hkv, lengths, parts, seed=1000 + idx)
        except Exception as e:  # noqa: BLE001
            r = {"case": name, "ok": False, "error": f"{type(e).__name__}: {e}"}
        r["seconds"] = time.time() - t0
        all_ok &= r["ok"]
        report["correctness"].append(r)
        worst = ", ".join(f"{c['what']} {c.get('max_rel', 0):.2e}{'' if c['ok'] else ' FAIL'}" for c in r.get("checks", []))
        print(f"case {idx} {name}: {'ok' if r['ok'] else 'FAIL'} ({r['seconds']:.1f} s) {r.get('error', '')} {worst}",
              flush=True)
        with open(os.path.join(args.out, "flashcheck.json"), "w") as f:
            json.dump(report, f, indent=1)
    if dev.type == "cuda" and not args.no_speed:
        try:
            report["speed"] = speed(rk, dev, args.shapes.split(","), [int(x) for x in args.seqlens.split(",")])
        except Exception as e:  # noqa: BLE001
            report["speed_error"] = f"{type(e).__name__}: {e}"
            print("speed: " + report["speed_error"], flush=True)
    with open(os.path.join(args.out, "flashcheck.json"), "w") as f:
        json.dump(report, f, indent=1)
    lines = [f"Device {report['device']}, torch {report['torch']}, {report['date_utc']}", "",
             "| case | result | worst max-rel error (check) |", "|---|---|---|"]
    for r in report["correctness"]:
        cs = [c for c in r.get("checks", []) if "max_rel" in c]
        w = max(cs, key=lambda c: c["max_rel"] / c["tol"]) if cs else None
        lines.append(f"| {r['case']} | {'ok' if r['ok'] else 'FAIL ' + r.get('error', '')} | "
                     + (f"{w['max_rel']:.2e} ({w['what']}, tol {w['tol']:.2e})" if w else "-") + " |")
    if report["speed"]:
        lines += ["", "| shape | L x seqs | RK fwd TF/s | FA2 fwd | cuDNN fwd | RK/FA2 fwd | RK bwd det | RK bwd atomic | FA2 bwd |"
                  " cuDNN bwd | RK det/FA2 | RK atomic/FA2 | RK fwd with segments TF/s (same tokens) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report["speed"]:
            g = lambda k: f"{r[k]:.1f}" if k in r else "n/a"
            h = lambda k: f"{r[k]:.2f}x" if k in r else "n/a"
            lines.append(f"| {r['shape']} | {r['seqlen']} x {r['seqs']} | {g('rk_fwd_tflops')} | {g('sdpa_flash_fwd_tflops')} | "
                         f"{g('sdpa_cudnn_fwd_tflops')} | {h('ratio_fwd_vs_fa2')} | {g('rk_bwd_det_tflops')} | "
                         f"{g('rk_bwd_atomic_tflops')} | {g('sdpa_flash_bwd_tflops')} | {g('sdpa_cudnn_bwd_tflops')} | "
                         f"{h('ratio_bwd_det_vs_fa2')} | {h('ratio_bwd_atomic_vs_fa2')} | {g('rk_fwd_seg_tflops')} |")
        lines.append("")
        lines.append("TFLOP/s by io.rewardkit.bench.FlopModel (fwd 4*hd*Hq, bwd 8*hd*Hq per visible pair; the shared-"
                     "prefix column uses the plain-causal count, so it shows the time saved by skipped tiles); "
                     "targets RK/FA2 >= 0.90 fwd, >= 0.85 bwd.")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "flashcheck.md"), "w") as f:
        f.write(text)
    print(text)
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
