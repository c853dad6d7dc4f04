#!/usr/bin/env python3
"""TRL's RewardTrainer on CPU, on RewardKit's own pairs and initialisation: the peer of `rewardkit train`.

    python3 benchmarks/peers/trl_cpu.py init --config examples/qwen2-tiny-config.json --seed 0 --out INIT_DIR \
        --tokenizer ../shared/fixtures/tokenizers/qwen3
    python3 benchmarks/peers/trl_cpu.py train --model INIT_DIR --cache CACHE_DIR --eval_split 0.1 --threads 2 \
        --max_steps 20 --json out.json

`init` writes a Hugging Face Qwen2ForSequenceClassification checkpoint (num_labels 1) made by transformers from
the config with a fixed torch seed; `rewardkit train --model_name_or_path INIT_DIR` and `train` here both start
from it. `train` reads the pairs of a `rewardkit prepare` cache (pairs.bin: the same token ids, chat template and
--max_length as RewardKit's run), makes the same train/held-out split as `rewardkit train --eval_split` (the
cache's seed, SplitMix64 shuffle), and runs trl.RewardTrainer on the train pairs: fp32, torch threads set to
--threads, right padding to the longest sequence of each micro-batch (TRL's collator), the same optimizer settings
as the RewardKit run (AdamW, --learning_rate, cosine schedule, --warmup_ratio, no weight decay, clipping 1.0) and
the same pairs per optimizer step (--pairs_per_step; RewardKit's budget packing gives ~28 at 8192 tokens/batch).
It prints one JSON report: real (non-pad) tokens/s of training, computed token slots (padded), padding
efficiency, pairs/s, and held-out accuracy (reward of chosen > rejected) on the split's held-out pairs.
Needs torch, transformers and trl (CPU builds are enough); benchmarks/peers/trl_vs_rk_cpu.sh runs it.
"""
import argparse
import math
import json
import os
import struct
import sys
import time

MASK64 = (1 << 64) - 1


def to_signed(x):
    x &= MASK64
    return x - (1 << 64) if x >> 63 else x


class SplitMix64:
    """io.rewardkit.data.Packer.SplitMix64, bit for bit (Java longs, wrapping)."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_int(self, bound):
        while True:
            bits = self.next() >> 1
            val = bits % bound
            if to_signed(bits - val + (bound - 1)) >= 0:
                return val

    def shuffle(self, a):
        for i in range(len(a) - 1, 0, -1):
            j = self.next_int(i + 1)
            a[i], a[j] = a[j], a[i]


def read_cache(folder):
    """pairs.bin of a rewardkit prepared cache (see io.rewardkit.data.PreparedCache): [(prompt, chosen, rejected)]."""
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(folder, "pairs.bin"), "rb") as f:
        data = f.read()
    if data[:8] != b"RKPAIRS1":
        sys.exit(f"{folder}/pairs.bin: not a rewardkit prepared cache (bad magic)")
    version, readout = struct.unpack_from("<ii", data, 8)
    if version != 1:
        sys.exit(f"{folder}/pairs.bin: version {version}, this script reads version 1")
    n, t = struct.unpack_from("<qq", data, 16)
    off = 32

    def ints(fmt, count):
        nonlocal off
        vals = struct.unpack_from(f"<{count}{fmt}", data, off)
        off += count * struct.calcsize(fmt)
        return vals

    pl, cl, rl = ints("i", n), ints("i", n), ints("i", n)
    ints("f", n)  # margins
    ints("i", n)  # dataset ids
    ints("q", n)  # pair ids
    (bins,) = ints("i", 1)
    ints("i", bins + 1)
    ints("i", n)
    off = (off + 7) // 8 * 8
    tokens = ints("i", t)
    pairs, at = [], 0
    for i in range(n):
        p = list(tokens[at:at + pl[i]]); at += pl[i]
        c = list(tokens[at:at + cl[i]]); at += cl[i]
        r = list(tokens[at:at + rl[i]]); at += rl[i]
        pairs.append((p, c, r))
    if at != t:
        sys.exit(f"{folder}/pairs.bin: lengths sum to {at} tokens, header says {t}")
    seed = int(manifest["options"]["seed"])
    return pairs, seed


def split(pairs, seed, eval_fraction):
    """EncodedDataset.split: the same held-out pairs as `rewardkit train --eval_split`."""
    n = len(pairs)
    n_eval = 0 if eval_fraction == 0 else max(1, int(round_half_up(n * eval_fraction)))
    order = list(range(n))
    SplitMix64(seed ^ 0x5EED5EED5EED).shuffle(order)
    ev, tr = sorted(order[:n_eval]), sorted(order[n_eval:])
    return [pairs[i] for i in tr], [pairs[i] for i in ev]


def round_half_up(x):
    import math
    return math.floor(x + 0.5)  # Java Math.round


def cmd_init(a):
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification
    with open(a.config) as f:
        cfg_dict = json.load(f)
    cfg = AutoConfig.for_model(**cfg_dict)
    cfg.num_labels = 1
    cfg.architectures = None
    if cfg.pad_token_id is None:
        cfg.pad_token_id = cfg_dict.get("bos_token_id", 0)
    torch.manual_seed(a.seed)
    model = AutoModelForSequenceClassification.from_config(cfg, dtype=torch.float32)
    model.save_pretrained(a.out, safe_serialization=True)
    if a.tokenizer:  # rewardkit train --model_name_or_path wants the tokenizer beside the weights
        import shutil
        for name in ("tokenizer.json", "tokenizer_config.json"):
            if os.path.exists(os.path.join(a.tokenizer, name)):
                shutil.copy(os.path.join(a.tokenizer, name), os.path.join(a.out, name))
    print(json.dumps({"init": a.out, "parameters": sum(p.numel() for p in model.parameters()),
                      "class": type(model).__name__, "seed": a.seed}))


def cmd_train(a):
    import torch
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback
    import trl
    from trl import RewardConfig, RewardTrainer

    pairs, seed = read_cache(a.cache)
    train_pairs, eval_pairs = split(pairs, seed, a.eval_split)
    model = AutoModelForSequenceClassification.from_pretrained(a.model, num_labels=1, dtype=torch.float32)
    pad = model.config.pad_token_id

    ds = Dataset.from_dict({
        "chosen_ids": [p + c for p, c, _ in train_pairs],  # already tokenized: TRL skips its own tokenization
        "rejected_ids": [p + r for p, _, r in train_pairs],
    })

    stats = {"batches": []}  # (real tokens, slots, pairs) per collated micro-batch, in training order

    class Timer(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            stats["t0"] = time.perf_counter()

        def on_train_end(self, args, state, control, **kw):
            stats["t1"] = time.perf_counter()

    cfg = RewardConfig(
        output_dir=a.output_dir, per_device_train_batch_size=a.pairs_per_step, gradient_accumulation_steps=1,
        learning_rate=a.learning_rate, lr_scheduler_type="cosine", warmup_steps=math.ceil(a.warmup_ratio * a.max_steps), weight_decay=0.0,
        max_grad_norm=1.0, max_steps=a.max_steps, num_train_epochs=1, logging_steps=10, save_strategy="no",
        report_to=[], use_cpu=True, bf16=False, fp16=False, seed=a.seed, data_seed=a.seed,
        dataloader_num_workers=0, remove_unused_columns=False, max_length=None, disable_tqdm=True)
    trainer = RewardTrainer(model=model, args=cfg, train_dataset=ds, processing_class=AutoTokenizer.from_pretrained(a.cache), callbacks=[Timer()])
    inner = trainer.data_collator

    def counting(features):
        batch = inner(features)
        ids = batch["input_ids"]
        mask = batch.get("attention_mask")
        real = int(mask.sum()) if mask is not None else int((ids != pad).sum())
        stats["batches"].append((real, ids.numel(), ids.shape[0] // 2))
        return batch

    trainer.data_collator = counting
    trainer.train()
    secs = stats["t1"] - stats["t0"]
    # the data loader may collate a batch ahead: count the micro-batches the steps consumed
    used = stats["batches"][:trainer.state.global_step * cfg.gradient_accumulation_steps]
    stats["real"], stats["slots"], stats["pairs"] = (sum(b[i] for b in used) for i in range(3))

    # held-out accuracy: reward(prompt+chosen) > reward(prompt+rejected), right-padded batches
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(eval_pairs), 16):
            chunk = eval_pairs[s:s + 16]
            seqs = [p + c for p, c, _ in chunk] + [p + r for p, _, r in chunk]
            width = max(len(x) for x in seqs)
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, x in enumerate(seqs):
                ids[i, :len(x)] = torch.tensor(x)
                mask[i, :len(x)] = 1
            r = model(input_ids=ids, attention_mask=mask).logits[:, 0]
            k = len(chunk)
            correct += int((r[:k] > r[k:]).sum())
    out = {
        "peer": "trl.RewardTrainer", "trl": trl.__version__, "torch": torch.__version__, "threads": a.threads,
        "steps": trainer.state.global_step, "pairs": stats["pairs"], "train_s": round(secs, 3),
        "real_tokens": stats["real"], "slots": stats["slots"],
        "padding_efficiency": round(stats["real"] / max(1, stats["slots"]), 4),
        "real_tokens_per_s": round(stats["real"] / secs, 1), "slots_per_s": round(stats["slots"] / secs, 1),
        "pairs_per_s": round(stats["pairs"] / secs, 3),
        "eval_pairs": len(eval_pairs), "eval_accuracy": round(correct / max(1, len(eval_pairs)), 4),
    }
    print(json.dumps(out))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init", help="write the shared initial checkpoint")
    i.add_argument("--config", required=True)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--out", required=True)
    i.add_argument("--tokenizer", help="folder whose tokenizer.json/tokenizer_config.json to copy beside the weights")
    t = sub.add_parser("train", help="train with trl.RewardTrainer and report")
    t.add_argument("--model", required=True)
    t.add_argument("--cache", required=True)
    t.add_argument("--eval_split", type=float, default=0.1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--max_steps", type=int, default=-1)
    t.add_argument("--pairs_per_step", type=int, default=28)
    t.add_argument("--learning_rate", type=float, default=1e-3)
    t.add_argument("--warmup_ratio", type=float, default=0.1)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--output_dir", default="/tmp/trl_cpu_out")
    t.add_argument("--json")
    a = ap.parse_args()
    {"init": cmd_init, "train": cmd_train}[a.cmd](a)


if __name__ == "__main__":
    main()
