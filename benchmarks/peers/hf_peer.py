#!/usr/bin/env python3
"""PyTorch peer for `rewardkit bench`: trains the same model shape on the same pairs, the usual way.

Hugging Face AutoModelForSequenceClassification (num_labels=1), bf16, SDPA attention, fused AdamW,
the pairwise loss -log sigmoid(r_chosen - r_rejected), and TRL-style dynamic padding: each
micro-batch of B pairs becomes 2B rows (prompt+chosen for every pair, then prompt+rejected),
right-padded to the longest row of the micro-batch. An optimizer step covers the same number of pairs
as RewardKit's (run.json pairs_per_step), split into micro-batches of --micro-batch-pairs pairs with
gradient accumulation (each micro-batch's loss weighted by its share of the step's pairs), then
global-norm clipping at 1.0 and one AdamW step at lr 1e-5, no weight decay: the same step as
io.rewardkit.bench.RewardModelStep.

Input: the folder written by `rewardkit bench --export-peer DIR` (config.json, pairs.jsonl, run.json).
Output: a JSON report (real tokens/s, pairs/s, step times, peak memory, MFU by the same formula).

    python3 benchmarks/peers/hf_peer.py --export DIR --json peer.json [--micro-batch-pairs 8]

Needs a CUDA GPU, torch >= 2.5 and transformers >= 4.45. Not run in RewardKit's development sessions
(no GPU there): the first GPU session runs it through benchmarks/peers/compare.sh.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time


def load_export(folder):
    with open(os.path.join(folder, "run.json")) as f:
        run = json.load(f)
    pairs = []
    with open(os.path.join(folder, "pairs.jsonl")) as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                p = json.loads(line)
                pairs.append((p["prompt_ids"], p["chosen_ids"], p["rejected_ids"]))
            except (ValueError, KeyError) as e:
                sys.exit(f"{folder}/pairs.jsonl:{line_no}: bad pair record: {e}")
    if len(pairs) != run["num_pairs"]:
        sys.exit(f"{folder}: pairs.jsonl has {len(pairs)} pairs, run.json says {run['num_pairs']}")
    return run, pairs


def non_embedding_params(cfg):
    """Same count as io.rewardkit.bench.ModelShape.nonEmbeddingParameters (layers, final norm, score head)."""
    d, f = cfg["hidden_size"], cfg["intermediate_size"]
    hq, hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // hq
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    attn = d * hq * hd + 2 * d * hkv * hd + hq * hd * d + ((hq + 2 * hkv) * hd if bias else 0)
    layer = attn + 3 * d * f + 2 * d
    return cfg["num_hidden_layers"] * layer + 2 * d


def model_flops(cfg, row_lengths):
    """FlopModel: 6 N_non-emb per real token + 12 L Hq hd per visible (causal) pair of each row."""
    hq = cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // hq
    n = non_embedding_params(cfg)
    tokens = sum(row_lengths)
    visible = sum(l * (l + 1) // 2 for l in row_lengths)
    return 6.0 * n * tokens + 12.0 * cfg["num_hidden_layers"] * hq * hd * visible


BF16_DENSE_PEAK = [  # same table as io.rewardkit.bench.DevicePeaks
    ("H200", 989.4e12), ("H100 PCIE", 756e12), ("H100 NVL", 835.5e12), ("H100", 989.4e12), ("H800", 989.4e12),
    ("GH200", 989.4e12), ("B200", 2250e12), ("A100", 312e12), ("A800", 312e12), ("L40S", 362.05e12),
    ("L40", 181.05e12), ("A10G", 70e12), ("L4", 121e12)]


def peak_for(name, override):
    if override > 0:
        return override * 1e12
    up = name.upper()
    for key, v in BF16_DENSE_PEAK:
        if all(k in up for k in key.split()):
            return v
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True, help="folder from `rewardkit bench --export-peer`")
    ap.add_argument("--json", required=True, help="where to write the report")
    ap.add_argument("--micro-batch-pairs", type=int, default=8, help="pairs per micro-batch (2B padded rows)")
    ap.add_argument("--master-fp32", action="store_true",
                    help="fp32 weights + bf16 autocast (HF Trainer bf16=True) instead of pure bf16 weights")
    ap.add_argument("--peak-tflops", type=float, default=0, help="dense bf16 peak for MFU; 0 = from the GPU name")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if not torch.cuda.is_available():
        sys.exit("hf_peer: no CUDA device")
    dev = torch.device("cuda")
    torch.manual_seed(args.seed)
    run, pairs = load_export(args.export)
    with open(os.path.join(args.export, "config.json")) as f:
        cfg_json = json.load(f)
    pad = cfg_json["pad_token_id"]

    config = AutoConfig.from_pretrained(args.export)
    config.num_labels = 1
    config.pad_token_id = pad
    config.use_cache = False
    weight_dtype = torch.float32 if args.master_fp32 else torch.bfloat16
    torch.cuda.init()
    torch.cuda.reset_peak_memory_stats()
    model = AutoModelForSequenceClassification.from_config(config, torch_dtype=weight_dtype, attn_implementation="sdpa")
    model.to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=True)

    def rows_of(batch):
        rows = [p + c for p, c, _ in batch] + [p + r for p, _, r in batch]
        # HF finds each row's last real token as the last id != pad_token_id: keep pad out of the data.
        rows = [[t if t != pad else pad - 1 for t in row] for row in rows]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, :len(r)] = 1
        return ids, mask, [len(r) for r in rows]

    P, B = run["pairs_per_step"], args.micro_batch_pairs
    steps_total = run["warmup_steps"] + run["steps"]
    plan = []  # per step: list of (ids, mask, lengths, n_pairs), built before timing like RewardKit's packing
    for s in range(steps_total):
        step_pairs = pairs[s * P:(s + 1) * P]
        plan.append([(*rows_of(step_pairs[i:i + B]), len(step_pairs[i:i + B])) for i in range(0, P, B)])

    step_ms, real_tokens, padded_tokens, flops, losses = [], 0, 0, 0.0, []
    for s, micro in enumerate(plan):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step_loss = 0.0
        for ids, mask, lengths, n in micro:
            ids, mask = ids.to(dev, non_blocking=True), mask.to(dev, non_blocking=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.master_fp32):
                rewards = model(input_ids=ids, attention_mask=mask).logits.squeeze(-1).float()
            loss = -torch.nn.functional.logsigmoid(rewards[:n] - rewards[n:]).mean()
            (loss * (n / P)).backward()
            step_loss += loss.detach() * (n / P)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        losses.append(float(step_loss))
        if not math.isfinite(losses[-1]):
            sys.exit(f"hf_peer: loss is {losses[-1]} at step {s}")
        if s >= run["warmup_steps"]:
            step_ms.append(dt * 1e3)
            for ids, mask, lengths, n in micro:
                real_tokens += sum(lengths)
                padded_tokens += ids.numel()
                flops += model_flops(cfg_json, lengths)

    seconds = sum(step_ms) / 1e3
    name = torch.cuda.get_device_name(dev)
    peak = peak_for(name, args.peak_tflops)
    free, total = torch.cuda.mem_get_info()
    report = {
        "run": {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": " ".join(sys.argv),
                "machine": platform.node(), "device": name, "torch": torch.__version__,
                "transformers": transformers.__version__, "cuda": torch.version.cuda},
        "config": {**run, "micro_batch_pairs": B, "weights": "fp32 + bf16 autocast" if args.master_fp32 else "bf16",
                   "attention": "sdpa", "optimizer": "torch.optim.AdamW(fused=True)"},
        "throughput": {
            "real_tokens_per_s": real_tokens / seconds,   # non-pad tokens of the 2B rows (prompt once per row)
            "padded_tokens_per_s": padded_tokens / seconds,
            "pairs_per_s": run["steps"] * P / seconds,
            "padding_efficiency": real_tokens / padded_tokens,
            "step_ms_mean": statistics.mean(step_ms),
            "step_ms_median": statistics.median(step_ms),
            "step_ms": step_ms,
            "model_tflops_per_s": flops / seconds / 1e12,
            "mfu": flops / seconds / peak,
        },
        "memory": {"peak_allocated_bytes": torch.cuda.max_memory_allocated(),
                   "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
                   "device_used_bytes_at_end": total - free},
        "loss": {"first": losses[0], "last": losses[-1]},
    }
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.json)
    t = report["throughput"]
    print(f"hf_peer: {name}: {t['real_tokens_per_s']:,.0f} real tokens/s, {t['pairs_per_s']:.2f} pairs/s, "
          f"step {t['step_ms_median']:.1f} ms, padding efficiency {100 * t['padding_efficiency']:.1f}%, "
          f"MFU {100 * t['mfu']:.1f}%, peak reserved {report['memory']['peak_reserved_bytes'] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
