#!/usr/bin/env python3
"""Golden for MemoryPlanTest: trainable parameters as PEFT counts them for a reward model.

For each model config (the HF-fidelity fixtures and the real Qwen2.5-0.5B / Qwen3-8B / Llama-3.1-8B
shapes in examples/shapes/, instantiated on the meta device, so nothing is allocated), builds
AutoModelForSequenceClassification(num_labels=1) and wraps it with
    peft.get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=R, target_modules=T))
(PEFT adds the score head to modules_to_save for SEQ_CLS), then records
    lora:      the numel of every lora_A / lora_B parameter
    trainable: every parameter with requires_grad (LoRA + the score head copy)
    total:     the base model's parameters (without the PEFT copies)

Usage: python3 tools/peft_lora_counts.py > rewardkit-core/src/test/resources/memoryplan/peft_counts.json
(made with peft 0.21, transformers 5.18, torch 2.13 CPU)
"""
import json
import sys

import peft
import torch
import transformers
from transformers import AutoConfig, AutoModelForSequenceClassification

CONFIGS = {
    "qwen3-fixture": "rewardkit-core/src/test/resources/fidelity/qwen3/model/config.json",
    "llama-fixture": "rewardkit-core/src/test/resources/fidelity/llama/model/config.json",
    "qwen2-fixture": "rewardkit-core/src/test/resources/fidelity/qwen2/model/config.json",
    "qwen2.5-0.5b": "examples/shapes/qwen2.5-0.5b-config.json",
    "qwen3-8b": "examples/shapes/qwen3-8b-config.json",
    "llama-3.1-8b": "examples/shapes/llama-3.1-8b-config.json",
}
CASES = [(16, "all-linear"), (8, ["q_proj", "v_proj"]), (4, ["gate_proj", "up_proj", "down_proj", "o_proj"])]


def main():
    out = {"peft": peft.__version__, "transformers": transformers.__version__, "cases": []}
    for name, path in CONFIGS.items():
        cfg = AutoConfig.from_pretrained(path)
        cfg.num_labels = 1
        for r, targets in CASES:
            with torch.device("meta"):
                model = AutoModelForSequenceClassification.from_config(cfg)
            total = sum(p.numel() for p in model.parameters())
            pm = peft.get_peft_model(model, peft.LoraConfig(task_type="SEQ_CLS", r=r, lora_alpha=2 * r, target_modules=targets))
            lora = sum(p.numel() for n, p in pm.named_parameters() if "lora_" in n)
            trainable = sum(p.numel() for p in pm.parameters() if p.requires_grad)
            out["cases"].append({"config": path, "name": name, "r": r,
                                 "target_modules": targets if isinstance(targets, str) else sorted(targets),
                                 "base_parameters": total, "lora_parameters": lora, "trainable_parameters": trainable})
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
