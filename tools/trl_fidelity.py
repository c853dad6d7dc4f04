#!/usr/bin/env python3
"""Golden files for RewardKit's preference-optimisation fidelity tests against TRL (DPO, IPO, CPO, SimPO, ORPO, KTO).

How the committed goldens were made (rewardkit-core/src/test/resources/trl/):
  python3 tools/trl_fidelity.py --out rewardkit-core/src/test/resources/trl --seed 2024
  torch 2.13 (CPU), transformers 5.18, trl 1.13 (versions recorded in index.json).

It builds a tiny random Qwen2ForCausalLM policy (untied lm_head) and a reference of the same shape (another
seed), saves both with save_pretrained into policy/ and ref/, and runs TRL's OWN loss code on a fixed batch
(TRL trainers are created with __new__ and given only the attributes their loss methods read, so no dataset,
tokenizer or accelerate launch is involved; the loss, metrics and autograd are TRL's and torch's):

  dpo   DPOTrainer._compute_loss        loss_type ["sigmoid", "sft"], loss_weights [1, rpo_alpha]
  ipo   DPOTrainer._compute_loss        loss_type ["ipo"]
  cpo   CPOTrainer.get_batch_loss_metrics  loss_type "sigmoid", label_smoothing, cpo_alpha
  simpo CPOTrainer.get_batch_loss_metrics  loss_type "simpo", simpo_gamma, cpo_alpha
  orpo  ORPOTrainer.get_batch_loss_metrics
  kto   KTOTrainer._compute_loss        unpaired rows (each pair's chosen is desirable, rejected undesirable),
                                        KL rows = prompt i + completion of row i-1 (TRL's cycling), calculate_KL

golden.safetensors (shared by all losses):
  prompt.<p>, chosen.<p>, rejected.<p>   int32    token ids of pair p (completions end with EOS = 95)
  policy_logps, ref_logps                f32 [2P] Σ log p(response token) per response (chosen p at 2p, rejected at
                                                  2p+1), from the plain HF forward, one sequence at a time
  policy_prompt_logps                    f32 [2P] Σ log p(prompt token) over the prompt's tokens after the first
  kto_kl_policy_logps, kto_kl_ref_logps  f32 [2P] the same for the KTO KL rows (row order: c0 c1 .. r0 r1 ..)
<task>.safetensors:
  loss                 f32 [1]
  metric.<TRL name>    f32 [1]   e.g. metric.rewards/chosen (TRL's logged values)
  grad.<hf name>       f32       d loss / d policy parameter
index.json: per task, its options (TRL names) and the metric names; the versions and seed.
"""
import argparse
import collections
import json
import os
import types

import torch
from safetensors.torch import save_file

VOCAB = 97
PAD = VOCAB - 1  # never in the inputs
EOS = VOCAB - 2  # ends every completion, as TRL appends eos_token to completions (RewardKit's readout token)
# (prompt, chosen, rejected) lengths, completions counting their EOS: a one-token prompt and EOS-only responses,
# responses longer and shorter than the prompt.
LENGTHS = [(5, 4, 2), (1, 1, 1), (3, 2, 6)]


def tiny_qwen2(seed):
    import transformers as tf

    cfg = tf.Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6,
                         rope_theta=1e6, initializer_range=0.1, tie_word_embeddings=False, pad_token_id=PAD,
                         attn_implementation="eager", dtype=torch.float32)
    torch.manual_seed(seed)
    m = tf.Qwen2ForCausalLM(cfg).float()
    with torch.no_grad():  # move norms away from 1 so a kernel that ignores them fails
        for n, p in m.named_parameters():
            if "norm" in n:
                p.add_(0.1 * torch.randn_like(p))
    return m


class Acc:
    """The slice of accelerate.Accelerator the TRL loss methods use, for one process."""
    device = torch.device("cpu")

    def gather_for_metrics(self, x):
        return x

    def gather(self, x):
        return x

    def unwrap_model(self, m):
        return m


def fake(cls, **attrs):
    t = cls.__new__(cls)
    t.__dict__.update(dict(accelerator=Acc(), aux_loss_enabled=False, _metrics=collections.defaultdict(
        lambda: collections.defaultdict(list)), _total_train_tokens=0, _tp_size=1,
        args=types.SimpleNamespace(gradient_checkpointing_kwargs=None)))
    t.__dict__.update(attrs)
    return t


def pad_rows(rows, value):
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def token_logps(model, prompt, completion):
    """log p(token | everything before it) for tokens 1.. of [prompt|completion], one sequence, plain HF forward."""
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logits = model(ids).logits[0].float()
    return torch.log_softmax(logits[:-1], dim=-1).gather(1, ids[0, 1:, None])[:, 0]


def seq_logps(model, prompt, completion):
    """Σ log p(completion token | everything before it)."""
    return token_logps(model, prompt, completion)[len(prompt) - 1:].sum().item()


def prompt_logps(model, prompt, completion):
    """Σ log p(prompt token | prompt before it) over prompt tokens 1.. (what TRL's ORPO NLL adds)."""
    return token_logps(model, prompt, completion)[:len(prompt) - 1].sum().item()


def completion_batch(prompts, completions):
    """TRL DPO/KTO layout: [prompt|completion] rows, right-padded, completion_mask on the completion."""
    ids = pad_rows([p + c for p, c in zip(prompts, completions)], PAD)
    att = pad_rows([[1] * (len(p) + len(c)) for p, c in zip(prompts, completions)], 0)
    comp = pad_rows([[0] * len(p) + [1] * len(c) for p, c in zip(prompts, completions)], 0)
    return ids, att, comp


def cpo_batch(prompts, chosen, rejected):
    """TRL CPO/ORPO layout: chosen_* / rejected_* rows with labels -100 on the prompt and padding."""
    b = {}
    for side, comps in (("chosen", chosen), ("rejected", rejected)):
        b[f"{side}_input_ids"] = pad_rows([p + c for p, c in zip(prompts, comps)], PAD)
        b[f"{side}_attention_mask"] = pad_rows([[1] * (len(p) + len(c)) for p, c in zip(prompts, comps)], 0)
        b[f"{side}_labels"] = pad_rows([[-100] * len(p) + c for p, c in zip(prompts, comps)], -100)
    return b


def metrics_of(t, returned=None):
    if returned is not None:
        return {k: float(v) for k, v in returned.items()}
    return {k: float(v[-1]) for k, v in t._metrics["train"].items() if k != "num_tokens"}


def run_task(task, opts, policy, ref, prompts, chosen, rejected):
    from trl.experimental.cpo.cpo_trainer import CPOTrainer
    from trl.experimental.orpo.orpo_trainer import ORPOTrainer
    from trl.trainer.dpo_trainer import DPOTrainer
    from trl.trainer.kto_trainer import KTOTrainer

    policy.zero_grad(set_to_none=True)
    policy.train()
    ref.eval()
    returned = None
    if task in ("dpo", "ipo"):
        loss_types = ["sigmoid", "sft"] if task == "dpo" else ["ipo"]
        weights = [1.0, opts["rpo_alpha"]] if task == "dpo" else [1.0]
        t = fake(DPOTrainer, model=policy, ref_model=ref, ld_alpha=None, precompute_ref_logps=False,
                 f_divergence_type="reverse_kl", loss_types=loss_types, loss_weights=weights, beta=opts["beta"],
                 label_smoothing=0.0, use_weighting=False)
        ids, att, comp = completion_batch(prompts * 2, chosen + rejected)
        loss = t._compute_loss(policy, {"input_ids": ids, "attention_mask": att, "completion_mask": comp}, False)
    elif task == "kto":
        t = fake(KTOTrainer, model=policy, ref_model=ref, precompute_ref_logps=False, calculate_KL=True,
                 loss_type="kto", beta=opts["beta"], desirable_weight=opts["desirable_weight"],
                 undesirable_weight=opts["undesirable_weight"], use_liger_kernel=False)
        rows_p, rows_c, labels = prompts * 2, chosen + rejected, [True] * len(chosen) + [False] * len(rejected)
        ids, att, comp = completion_batch(rows_p, rows_c)
        kl_c = rows_c[-1:] + rows_c[:-1]  # TRL: completions cycled by +1 within the batch
        kids, katt, kcomp = completion_batch(rows_p, kl_c)
        batch = {"input_ids": ids, "attention_mask": att, "completion_mask": comp, "label": torch.tensor(labels),
                 "KL_input_ids": kids, "KL_attention_mask": katt, "KL_completion_mask": kcomp}
        loss = t._compute_loss(policy, batch, False)
    elif task in ("cpo", "simpo"):
        t = fake(CPOTrainer, is_encoder_decoder=False, pad_token_id=PAD, label_pad_token_id=-100,
                 loss_type="sigmoid" if task == "cpo" else "simpo", beta=opts["beta"],
                 label_smoothing=opts.get("label_smoothing", 0.0), cpo_alpha=opts["cpo_alpha"],
                 simpo_gamma=opts.get("simpo_gamma", 0.5), alpha=0.0)
        loss, returned = t.get_batch_loss_metrics(policy, cpo_batch(prompts, chosen, rejected))
    elif task == "orpo":
        t = fake(ORPOTrainer, is_encoder_decoder=False, pad_token_id=PAD, padding_value=PAD, label_pad_token_id=-100,
                 beta=opts["beta"])
        loss, returned = t.get_batch_loss_metrics(policy, cpo_batch(prompts, chosen, rejected))
    else:
        raise ValueError(task)
    loss.backward()
    out = {"loss": torch.tensor([loss.item()], dtype=torch.float32)}
    metrics = metrics_of(t, returned)
    for k, v in metrics.items():
        out[f"metric.{k}"] = torch.tensor([v], dtype=torch.float32)
    for n, p in policy.named_parameters():
        out[f"grad.{n}"] = p.grad.detach().float().contiguous()
    return out, sorted(metrics)


TASKS = {
    "dpo": {"beta": 0.1, "rpo_alpha": 0.5},
    "ipo": {"beta": 0.1},
    "cpo": {"beta": 0.1, "label_smoothing": 0.1, "cpo_alpha": 1.0},
    "simpo": {"beta": 2.0, "simpo_gamma": 1.0, "cpo_alpha": 0.5},
    "orpo": {"beta": 0.1},
    "kto": {"beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.33},
}


def main():
    import transformers
    import trl

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = torch.Generator().manual_seed(args.seed)
    tok = lambda n: torch.randint(0, EOS, (n,), generator=g).tolist()
    prompts, chosen, rejected = [], [], []
    for lp, lc, lr in LENGTHS:
        prompts.append(tok(lp))
        chosen.append(tok(lc - 1) + [EOS])
        rejected.append(tok(lr - 1) + [EOS])
    rows_c = chosen + rejected
    kl_c = rows_c[-1:] + rows_c[:-1]  # TRL's KTO KL rows: completions cycled by +1
    policy = tiny_qwen2(args.seed)
    # The first reference seed after the policy's whose KTO KL estimate is positive: TRL clamps it at 0, and a
    # clamped estimate would leave its use in the loss unchecked.
    for ref_seed in range(args.seed + 1, args.seed + 50):
        ref = tiny_qwen2(ref_seed)
        kl = sum(seq_logps(policy, p, x) - seq_logps(ref, p, x) for p, x in zip(prompts * 2, kl_c)) / len(kl_c)
        if kl > 0.05:
            break
    else:
        raise SystemExit("no reference seed with a positive KL estimate")
    policy.save_pretrained(os.path.join(args.out, "policy"))
    ref.save_pretrained(os.path.join(args.out, "ref"))
    golden = {}
    for i, (p, c, r) in enumerate(zip(prompts, chosen, rejected)):
        golden[f"prompt.{i}"] = torch.tensor(p, dtype=torch.int32)
        golden[f"chosen.{i}"] = torch.tensor(c, dtype=torch.int32)
        golden[f"rejected.{i}"] = torch.tensor(r, dtype=torch.int32)
    order = [(p, x) for p, c, r in zip(prompts, chosen, rejected) for x in (c, r)]
    golden["policy_logps"] = torch.tensor([seq_logps(policy, p, x) for p, x in order])
    golden["ref_logps"] = torch.tensor([seq_logps(ref, p, x) for p, x in order])
    golden["policy_prompt_logps"] = torch.tensor([prompt_logps(policy, p, x) for p, x in order])
    golden["kto_kl_policy_logps"] = torch.tensor([seq_logps(policy, p, x) for p, x in zip(prompts * 2, kl_c)])
    golden["kto_kl_ref_logps"] = torch.tensor([seq_logps(ref, p, x) for p, x in zip(prompts * 2, kl_c)])
    save_file(golden, os.path.join(args.out, "golden.safetensors"))

    index = {"seed": args.seed, "ref_seed": ref_seed, "eos_token_id": EOS, "torch": torch.__version__, "transformers": transformers.__version__,
             "trl": trl.__version__, "pairs": len(LENGTHS), "tasks": {}}
    for task, opts in TASKS.items():
        out, names = run_task(task, opts, policy, ref, prompts, chosen, rejected)
        save_file(out, os.path.join(args.out, f"{task}.safetensors"))
        index["tasks"][task] = {"options": opts, "metrics": names, "loss": out["loss"].item()}
        print(task, "loss", out["loss"].item(), {k[7:]: round(v.item(), 6) for k, v in out.items() if k.startswith("metric.")})
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
