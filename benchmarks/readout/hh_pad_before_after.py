#!/usr/bin/env python3
"""Issue 10 (2), measured: does PLAIN transformers score a RewardKit export like `rewardkit score`?

  python3 benchmarks/readout/hh_pad_before_after.py --model runs/hh/final \
      --pairs ../shared/data/hh-rlhf-harmless/pairs-2000.jsonl --rewardkit ./rewardkit

For every hh-rlhf pair (split into prompt / chosen / rejected at the last shared "\\n\\nAssistant:",
as RewardKit's hh-rlhf reader does) it scores both responses three ways:
  rewardkit  `rewardkit score` (the RewardKit readout; pairs RewardKit drops are left out everywhere)
  after      AutoModelForSequenceClassification + AutoTokenizer on the export as written
             (config.json pad_token_id = the tokenizer's pad, not the readout token), right-padded
  before     the same with config.json pad_token_id set to the EOS/readout token, as exports did
             before the fix (transformers then pools at the token before the readout)
Text fed to transformers: prompt + response + eos_token, tokenized in one piece without special
tokens, as a user would. Prints accuracies and how many preferences flip.
"""
import argparse
import json
import os
import subprocess
import tempfile

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

SEP = "\n\nAssistant:"


def split(chosen, rejected):
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    cut = chosen[:n].rfind(SEP)
    if cut < 0:
        return None
    p = cut + len(SEP)
    return chosen[:p], chosen[p:], rejected[p:]


def hf_scores(model_dir, texts, pad_override=None, batch=8):
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
    if pad_override is not None:
        model.config.pad_token_id = pad_override
        tok.pad_token = tok.convert_ids_to_tokens(pad_override)
    out = []
    for i in range(0, len(texts), batch):
        b = tok(texts[i:i + batch], padding=True, add_special_tokens=False, return_tensors="pt")
        with torch.no_grad():
            out += model(**b).logits[:, 0].tolist()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--rewardkit", default="./rewardkit")
    a = ap.parse_args()
    rows = []
    for line in open(a.pairs):
        r = json.loads(line)
        s = split(r["chosen"], r["rejected"])
        if s:
            rows.append(s)
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.jsonl"), os.path.join(tmp, "out.jsonl")
        with open(inp, "w") as f:
            for p, c, rj in rows:
                f.write(json.dumps({"prompt": p, "responses": [c, rj]}) + "\n")
        subprocess.run([a.rewardkit, "score", "--model", a.model, "--input", inp, "--output", out], check=True)
        rk = [json.loads(l)["rewards"] for l in open(out)]
    keep = [i for i, r in enumerate(rk) if r[0] is not None and r[1] is not None]
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    eos = cfg["eos_token_id"] if isinstance(cfg["eos_token_id"], int) else cfg["eos_token_id"][0]
    tok = AutoTokenizer.from_pretrained(a.model)
    texts = []
    for i in keep:
        p, c, rj = rows[i]
        texts += [p + c + tok.eos_token, p + rj + tok.eos_token]
    after = hf_scores(a.model, texts)
    before = hf_scores(a.model, texts, pad_override=eos)
    res = {}
    for name, s in (("rewardkit score", [x for i in keep for x in rk[i]]), ("transformers, after", after),
                    ("transformers, before", before)):
        pref = [s[2 * k] > s[2 * k + 1] for k in range(len(keep))]
        res[name] = pref
        print(f"{name:22s} accuracy {sum(pref) / len(pref):.4f} on {len(pref)} pairs")
    rkv = [x for i in keep for x in rk[i]]
    print("max |after - rewardkit| =", max(abs(x - y) for x, y in zip(after, rkv)))
    print("max |before - rewardkit| =", max(abs(x - y) for x, y in zip(before, rkv)))
    for name in ("transformers, after", "transformers, before"):
        flips = sum(1 for x, y in zip(res[name], res["rewardkit score"]) if x != y)
        print(f"{name}: {flips} preferences differ from rewardkit score")
    print(f"pad_token_id: config {cfg['pad_token_id']} (after), {eos} (before); pairs in file {len(rows)}, scored by rewardkit {len(keep)}")


if __name__ == "__main__":
    main()
