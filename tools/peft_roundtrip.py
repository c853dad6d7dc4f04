#!/usr/bin/env python3
"""Golden files for RewardKit's LoRA adapter test (rewardkit-core/src/test/java/io/rewardkit/model/lora/PeftRoundTripTest.java).

The questions they answer: does PEFT, reading an adapter directory that RewardKit wrote, compute the
same rewards as RewardKit (`PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(base), dir)`,
nothing hand-computed), and does RewardKit, reading an adapter that PEFT wrote, compute PEFT's rewards?

How the committed goldens were made (rewardkit-core/src/test/resources/peft/):
  python3 tools/peft_roundtrip.py --out rewardkit-core/src/test/resources/peft
  (torch 2.13.0+cpu, transformers 5.18.0, peft 0.21.0; needs ./rewardkit built)

The base model of every case is the tiny Qwen2 *ForSequenceClassification checkpoint of the parity goldens
(rewardkit-cli/src/test/resources/parity/qwen2/base: q/k/v biases, GQA, 2 layers), copied to <out>/base (config.json,
model.safetensors) so that rewardkit-core's tests have it. For each case this script
  1. makes the adapter:
     rewardkit-all-linear:   `./rewardkit train --use_peft --lora_r 4 --lora_alpha 8` (all-linear) for 3 steps on the
                             parity pairs, final/ kept (adapter_config.json + adapter_model.safetensors);
     rewardkit-rslora-qvd:   the same with --use_rslora --lora_target_modules q_proj,v_proj,down_proj --lora_r 2;
     peft-all-linear:        get_peft_model(base, LoraConfig(task_type=SEQ_CLS, r=4, lora_alpha=8, target_modules=
                             "all-linear")) with lora_B and the score head set to seeded random values, save_pretrained;
     peft-rslora-qv:         the same with r=2, lora_alpha=4, use_rslora=True, target_modules=["q_proj", "v_proj"];
  2. loads it with PeftModel.from_pretrained onto a freshly loaded base and computes the reward of each
     sequence in golden.json "seqs" (token ids, one sequence per forward, no padding; config.pad_token_id set to
     an id that occurs in none of them, so transformers pools at the last token), and again after
     merge_and_unload() ("merged_rewards");
  3. writes golden.json. Every adapter_config.json gets base_model_name_or_path "peft/base" (relative to the
     test resources); the Java test points it at the resource directory in a temporary copy.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(ROOT, "rewardkit-cli/src/test/resources/parity/qwen2/base")
PAIRS = os.path.join(ROOT, "rewardkit-cli/src/test/resources/parity/qwen2/pairs.jsonl")
PAD = 300  # RewardKit's pad for this tokenizer (its rewardkit.json), in none of the sequences
EOS = 302


def sequences():
    g = torch.Generator().manual_seed(7)
    out = []
    for n in (2, 6, 11, 19, 31):
        ids = torch.randint(0, 300, (n,), generator=g).tolist()
        out.append(ids + [EOS])
    return out


def load_base():
    from transformers import AutoModelForSequenceClassification
    m = AutoModelForSequenceClassification.from_pretrained(BASE, dtype=torch.float32)
    m.config.pad_token_id = PAD
    return m.eval()


@torch.no_grad()
def rewards(model, seqs):
    return [float(model(input_ids=torch.tensor([s])).logits[0, 0]) for s in seqs]


def rewardkit_adapter(out, extra):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(ROOT, "rewardkit"), "train", "--model_name_or_path", BASE, "--dataset", PAIRS, "--use_peft",
               "--max_steps", "3", "--learning_rate", "0.05", "--max_length", "128", "--max_tokens_per_batch", "512",
               "--report", "false", "--output_dir", os.path.join(tmp, "run")] + extra
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        os.makedirs(out, exist_ok=True)
        for f in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy(os.path.join(tmp, "run", "final", f), os.path.join(out, f))


def peft_adapter(out, **lora_kwargs):
    from peft import LoraConfig, TaskType, get_peft_model
    torch.manual_seed(11)
    model = get_peft_model(load_base(), LoraConfig(task_type=TaskType.SEQ_CLS, **lora_kwargs))
    g = torch.Generator().manual_seed(13)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (0.3 if "lora_B" in name else 1.0))
    model.save_pretrained(out)


def keep_adapter_only(d, base):
    """Leaves only the adapter's two files in d (save_pretrained may add a README.md model card) and names its base
    as the Java tests resolve it."""
    for f in os.listdir(d):
        if f not in ("adapter_config.json", "adapter_model.safetensors"):
            os.remove(os.path.join(d, f))
    cfg_path = os.path.join(d, "adapter_config.json")
    cfg = json.load(open(cfg_path))
    cfg["base_model_name_or_path"] = base
    json.dump(cfg, open(cfg_path, "w"), indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from peft import PeftModel
    import peft
    import transformers
    os.makedirs(os.path.join(args.out, "base"), exist_ok=True)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(BASE, f), os.path.join(args.out, "base", f))
    seqs = sequences()
    cases = {
        "rewardkit-all-linear": lambda d: rewardkit_adapter(d, ["--lora_r", "4", "--lora_alpha", "8"]),
        "rewardkit-rslora-qvd": lambda d: rewardkit_adapter(d, ["--lora_r", "2", "--lora_alpha", "4", "--use_rslora", "true",
                                                                "--lora_target_modules", "q_proj,v_proj,down_proj"]),
        "peft-all-linear": lambda d: peft_adapter(d, r=4, lora_alpha=8, target_modules="all-linear"),
        "peft-rslora-qv": lambda d: peft_adapter(d, r=2, lora_alpha=4, use_rslora=True, target_modules=["q_proj", "v_proj"]),
    }
    golden = {"seqs": seqs, "pad_token_id": PAD, "base": "peft/base",
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
              "cases": {}}
    for name, make in cases.items():
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        make(d)
        keep_adapter_only(d, "peft/base")
        model = PeftModel.from_pretrained(load_base(), d).eval()
        r = rewards(model, seqs)
        merged = rewards(model.merge_and_unload().eval(), seqs)
        golden["cases"][name] = {"rewards": r, "merged_rewards": merged}
        print(name, r, file=sys.stderr)
    json.dump(golden, open(os.path.join(args.out, "golden.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
