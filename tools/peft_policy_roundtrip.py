#!/usr/bin/env python3
"""Golden files for RewardKit's policy LoRA test (rewardkit-core/src/test/java/io/rewardkit/policy/PolicyLoraTest.java).

The question they answer: does PEFT, reading a CAUSAL_LM adapter directory on its base
(`PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), dir)`, nothing hand-computed), give the
per-token log-probs of response tokens that RewardKit's policy forward gives with the same adapter, unmerged and
after merge_and_unload()? And does RewardKit read an adapter PEFT wrote?

How the committed goldens were made (rewardkit-core/src/test/resources/peft_policy/):
  python3 tools/peft_policy_roundtrip.py --out rewardkit-core/src/test/resources/peft_policy
  (torch 2.13.0+cpu, transformers 5.18.0, peft 0.21.0; needs ./rewardkit built)

Cases:
  peft-untied:     base = the tiny random Qwen2ForCausalLM of the TRL goldens (rewardkit-core/src/test/resources/
                   trl/policy: untied lm_head, vocab 97); get_peft_model(base, LoraConfig(task_type=CAUSAL_LM, r=4,
                   lora_alpha=8, target_modules="all-linear")) with lora_B set to seeded random values, save_pretrained.
  rewardkit-tied:  base = a tiny random Qwen2ForCausalLM with tied embeddings and the byte tokenizer's vocabulary
                   (264), written to <out>/base-tied; the adapter is final/ of
                   `./rewardkit train --task dpo --use_peft --lora_r 2 --lora_alpha 4 --use_rslora true
                   --lora_target_modules q_proj,v_proj,down_proj` for 3 steps on examples/rewardbench-sample.jsonl.
For each case golden.json holds (prompt, chosen, rejected) token-id triples and, per response, the log-prob of each
response token given everything before it (one sequence per forward, no padding), under the unmerged PEFT model
("logps") and after merge_and_unload() ("merged_logps"). Every adapter_config.json gets base_model_name_or_path
relative to the test resources ("trl/policy", "peft_policy/base-tied"); the Java test points it at the resource
directory in a temporary copy.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

from peft_roundtrip import keep_adapter_only  # the same adapter tidy-up as the reward-model goldens

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RES = os.path.join(ROOT, "rewardkit-core/src/test/resources")
UNTIED_BASE = "trl/policy"
TIED_BASE = "peft_policy/base-tied"
BYTE_VOCAB, BYTE_EOS = 264, 256


def tied_base(out):
    import transformers as tf
    cfg = tf.Qwen2Config(vocab_size=BYTE_VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-6,
                         rope_theta=10000.0, initializer_range=0.1, tie_word_embeddings=True, eos_token_id=BYTE_EOS,
                         dtype=torch.float32)
    torch.manual_seed(5)
    m = tf.Qwen2ForCausalLM(cfg).float()
    with torch.no_grad():  # norms away from 1, so a kernel that ignores them fails
        for n, p in m.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.3 * torch.randn(p.shape))
    m.save_pretrained(out)
    for f in os.listdir(out):
        if f not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(out, f))


def triples(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for p, c, r in ((4, 3, 5), (1, 2, 1), (7, 6, 3)):
        out.append([torch.randint(0, vocab, (n,), generator=g).tolist() for n in (p, c, r)])
    return out


@torch.no_grad()
def response_logps(model, prompt, response):
    ids = torch.tensor([prompt + response])
    logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
    return [float(logp[t - 1, ids[0, t]]) for t in range(len(prompt), ids.shape[1])]


def all_logps(model, trips):
    return [[response_logps(model, p, c), response_logps(model, p, r)] for p, c, r in trips]


def load(base):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(os.path.join(RES, base), dtype=torch.float32).eval()


def peft_adapter(out, base, **kw):
    from peft import LoraConfig, TaskType, get_peft_model
    torch.manual_seed(11)
    model = get_peft_model(load(base), LoraConfig(task_type=TaskType.CAUSAL_LM, **kw))
    g = torch.Generator().manual_seed(13)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    model.save_pretrained(out)


def rewardkit_adapter(out, base, extra):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(ROOT, "rewardkit"), "train", "--task", "dpo", "--use_peft", "--model_name_or_path",
               os.path.join(RES, base), "--tokenizer", "byte", "--dataset", os.path.join(ROOT, "examples/rewardbench-sample.jsonl"),
               "--max_length", "256", "--truncation", "prompt_left", "--on_bad_record", "skip", "--max_tokens_per_batch", "1024",
               "--max_steps", "3", "--learning_rate", "0.05", "--report", "false", "--output_dir", os.path.join(tmp, "run")] + extra
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        os.makedirs(out, exist_ok=True)
        for f in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy(os.path.join(tmp, "run", "final", f), os.path.join(out, f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import peft
    import transformers
    from peft import PeftModel
    os.makedirs(args.out, exist_ok=True)
    tied_dir = os.path.join(args.out, "base-tied")
    shutil.rmtree(tied_dir, ignore_errors=True)
    tied_base(tied_dir)
    cases = {
        "peft-untied": (UNTIED_BASE, 97, lambda d: peft_adapter(d, UNTIED_BASE, r=4, lora_alpha=8, target_modules="all-linear")),
        "rewardkit-tied": (TIED_BASE, BYTE_VOCAB, lambda d: rewardkit_adapter(d, TIED_BASE, [
            "--lora_r", "2", "--lora_alpha", "4", "--use_rslora", "true", "--lora_target_modules", "q_proj,v_proj,down_proj"])),
    }
    golden = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
              "cases": {}}
    for i, (name, (base, vocab, make)) in enumerate(cases.items()):
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        make(d)
        keep_adapter_only(d, base)
        # PeftModel resolves base_model_name_or_path only for the config; the base is given loaded
        model = PeftModel.from_pretrained(load(base), d).eval()
        trips = triples(vocab, 100 + i)
        logps = all_logps(model, trips)
        merged = all_logps(model.merge_and_unload().eval(), trips)
        golden["cases"][name] = {"base": base, "tied": bool(load(base).config.tie_word_embeddings),
                                 "pairs": trips, "logps": logps, "merged_logps": merged}
        print(name, logps[0][0], file=sys.stderr)
    json.dump(golden, open(os.path.join(args.out, "golden.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
