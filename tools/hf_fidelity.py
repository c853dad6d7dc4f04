#!/usr/bin/env python3
"""Golden files for RewardKit's HF-fidelity test (rewardkit-core/src/test/java/io/rewardkit/model/HfFidelityTest.java).

How the committed goldens were made (rewardkit-core/src/test/resources/fidelity/, see its README.md):
  /tmp/hfenv/bin/python tools/hf_fidelity.py --out rewardkit-core/src/test/resources/fidelity --seed 1234
  torch 2.13.0+cpu, transformers 5.18.0, safetensors 0.8.0, CPU, seed 1234 (recorded per file in metadata).

For each family (qwen2, llama, qwen3) this builds a tiny, randomly initialised
`<Family>ForSequenceClassification` (num_labels=1, fp32, eager attention), moves its norm weights
and biases away from their 1/0 init (so a kernel ignoring them fails), saves it with
`save_pretrained` (config.json + model.safetensors, HF names) into <family>/model/, and writes
<family>/golden.safetensors:

  input_ids       int32 [T]     packed token ids, one sequence per response (separate layout)
  cu_seqlens      int32 [S+1]   sequence starts; sequence 2p is pair p's chosen, 2p+1 its rejected
  position_ids    int32 [T]     positions restart at 0 in every sequence
  readout         int32 [S]     index (into the packed tokens) of each sequence's last token
  sp_input_ids    int32 [T']    the same pairs packed shared-prefix style: [prompt|chosen|rejected]
  sp_cu_seqlens   int32 [P+1]   one sequence per pair
  sp_segment_ids  int32 [T']    0 prompt, 1 chosen, 2 rejected (io.rewardkit.kernels.VarlenLayout)
  sp_position_ids int32 [T']    rejected positions continue from the prompt, not from chosen
  sp_readout      int32 [2P]    chosen/rejected last tokens in the shared-prefix packing
  rewards         f32   [S]     HF rewards (logits[:, 0] of the real HF forward), one sequence at a time
  loss            f32   [1]     Bradley-Terry ranking loss  mean_p -logsigmoid(r_chosen - r_rejected)
  grad.<name>     f32           d loss / d parameter (torch autograd) for every named parameter (HF names)
  bf16_rewards    f32   [S]     the same HF forward with the model cast to bfloat16
  bf16_grad_relerr.<name> f32 [1]  ||g_bf16 - g_fp32|| / ||g_fp32|| of HF's own bf16 run
  bf16_grad_maxerr.<name> f32 [1]  max |g_bf16 - g_fp32| of HF's own bf16 run

The bf16 entries measure HF's own bf16 error against its fp32 result; the CUDA (bf16) variant of
the Java test allows twice that. The shared-prefix packing is checked here, in HF itself: running
each [prompt|chosen|rejected] sequence with a 4D mask that hides chosen from rejected, and the
shared-prefix positions, must reproduce the separate rewards and gradients (asserted, not stored).
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

VOCAB = 97
PAD = VOCAB - 1  # never appears in inputs, so HF's "last non-pad token" is the last token
# (prompt, chosen, rejected) lengths: one-token prompt and responses, a prompt longer than both
# responses, responses of unequal length in both directions.
LENGTHS = [(11, 7, 3), (1, 1, 1), (4, 2, 9), (6, 5, 1)]


def tiny_config(family):
    import transformers as tf

    common = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # GQA
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
        num_labels=1,
        pad_token_id=PAD,
        tie_word_embeddings=False,
        initializer_range=0.1,
        attn_implementation="eager",  # plain softmax attention: no SDPA/flash numerics
    )
    if family == "llama":
        # llama3 rope scaling with a short original context, so all three frequency bands occur.
        rope = dict(rope_type="llama3", rope_theta=500000.0, factor=4.0, low_freq_factor=1.0,
                    high_freq_factor=4.0, original_max_position_embeddings=16)
        return tf.LlamaConfig(attention_bias=True, mlp_bias=False, rope_parameters=rope, **common), \
            tf.LlamaForSequenceClassification
    if family == "qwen2":
        return tf.Qwen2Config(use_sliding_window=False, rope_parameters=dict(rope_type="default", rope_theta=1e6),
                              **common), tf.Qwen2ForSequenceClassification
    if family == "qwen3":
        # head_dim deliberately != hidden/heads (16 vs 8) to catch code that derives it.
        return tf.Qwen3Config(head_dim=16, attention_bias=False, use_sliding_window=False,
                              rope_parameters=dict(rope_type="default", rope_theta=1e6), **common), \
            tf.Qwen3ForSequenceClassification
    raise ValueError(family)


def make_pairs(gen):
    """Random (prompt, chosen, rejected) token lists with the LENGTHS above; no PAD tokens."""
    draw = lambda n: torch.randint(0, PAD, (n,), generator=gen).tolist()
    return [(draw(lp), draw(lc), draw(lr)) for lp, lc, lr in LENGTHS]


def varlen_layout(pairs):
    ids, cu, pos, readout = [], [0], [], []
    for prompt, chosen, rejected in pairs:
        for resp in (chosen, rejected):
            seq = prompt + resp
            ids += seq
            pos += list(range(len(seq)))
            cu.append(cu[-1] + len(seq))
            readout.append(cu[-1] - 1)
    return ids, cu, pos, readout


def shared_prefix_layout(pairs):
    ids, cu, seg, pos, readout = [], [0], [], [], []
    for prompt, chosen, rejected in pairs:
        start = cu[-1]
        lp = len(prompt)
        ids += prompt + chosen + rejected
        seg += [0] * lp + [1] * len(chosen) + [2] * len(rejected)
        pos += list(range(lp)) + list(range(lp, lp + len(chosen))) + list(range(lp, lp + len(rejected)))
        readout += [start + lp + len(chosen) - 1, start + lp + len(chosen) + len(rejected) - 1]
        cu.append(start + lp + len(chosen) + len(rejected))
    return ids, cu, seg, pos, readout


def i32(x):
    return torch.tensor(x, dtype=torch.int32)


def ranking_loss(rewards):
    chosen, rejected = rewards[0::2], rewards[1::2]
    return -F.logsigmoid(chosen - rejected).mean()


def hf_rewards(model, ids, cu, pos):
    """The real HF forward, one sequence per call (batch 1, no padding): exactly the varlen semantics."""
    out = []
    for s in range(len(cu) - 1):
        seq = torch.tensor(ids[cu[s]:cu[s + 1]], dtype=torch.long)[None, :]
        p = torch.tensor(pos[cu[s]:cu[s + 1]], dtype=torch.long)[None, :]
        logits = model(input_ids=seq, position_ids=p).logits  # [1, num_labels]
        out.append(logits[0, 0])
    return torch.stack(out)


def hf_shared_prefix_rewards(model, ids, cu, seg, pos, readout):
    """HF's decoder over each [prompt|chosen|rejected] sequence with a custom 4D additive mask
    (causal, and rejected never sees chosen), score head at the readouts."""
    out = []
    for s in range(len(cu) - 1):
        a, b = cu[s], cu[s + 1]
        n = b - a
        sg = torch.tensor(seg[a:b])
        i = torch.arange(n)
        allowed = (i[None, :] <= i[:, None]) & ~((sg[:, None] == 2) & (sg[None, :] == 1))
        dtype = next(model.parameters()).dtype
        mask = torch.zeros(1, 1, n, n, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
        h = model.model(input_ids=torch.tensor(ids[a:b])[None, :], position_ids=torch.tensor(pos[a:b])[None, :],
                        attention_mask=mask).last_hidden_state[0]  # [n, hidden]
        local = [r - a for r in readout if a <= r < b]
        out.append(model.score(h[local])[:, 0])
    return torch.cat(out)


def grads_of(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


def build(family, out_dir, seed):
    import transformers as tf

    torch.manual_seed(seed)
    config, cls = tiny_config(family)
    model = cls(config).to(torch.float32)
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    with torch.no_grad():
        # HF initialises the score head like any Linear; scale it so rewards are O(1), not ~0.
        model.score.weight.normal_(0.0, 0.5)
        # norm weights and biases away from 1 / 0 so their gradients are generic and a kernel
        # that ignores them fails.
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.add_(0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.normal_(0.0, 0.1)
    model.train(False)  # no dropout; gradients still flow

    gen = torch.Generator().manual_seed(seed + 1)
    pairs = make_pairs(gen)
    ids, cu, pos, readout = varlen_layout(pairs)
    sp_ids, sp_cu, sp_seg, sp_pos, sp_readout = shared_prefix_layout(pairs)

    rewards = hf_rewards(model, ids, cu, pos)
    loss = ranking_loss(rewards)
    grads = grads_of(model, loss)
    names = [name for name, _ in model.named_parameters()]
    missing = [n for n in names if n not in grads]
    if missing:
        sys.exit(f"{family}: parameters without gradient: {missing}")

    # The shared-prefix packing, run through HF with an explicit mask, must give the same numbers.
    sp_rewards = hf_shared_prefix_rewards(model, sp_ids, sp_cu, sp_seg, sp_pos, sp_readout)
    sp_grads = grads_of(model, ranking_loss(sp_rewards))
    sp_rerr = (sp_rewards - rewards).abs().max().item()
    sp_gerr = max(((sp_grads[n] - grads[n]).norm() / grads[n].norm()).item() for n in names)
    assert sp_rerr < 1e-5 and sp_gerr < 1e-5, f"{family}: shared-prefix HF run differs: {sp_rerr} {sp_gerr}"

    # HF's own bf16 error against its fp32 result (the yardstick for RewardKit's bf16 CUDA path).
    m16 = copy.deepcopy(model).to(torch.bfloat16)
    r16 = hf_rewards(m16, ids, cu, pos)
    g16 = grads_of(m16, ranking_loss(r16))

    fam_dir = os.path.join(out_dir, family)
    model_dir = os.path.join(fam_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    model.save_pretrained(model_dir, safe_serialization=True)

    tensors = {
        "input_ids": i32(ids), "cu_seqlens": i32(cu), "position_ids": i32(pos), "readout": i32(readout),
        "sp_input_ids": i32(sp_ids), "sp_cu_seqlens": i32(sp_cu), "sp_segment_ids": i32(sp_seg),
        "sp_position_ids": i32(sp_pos), "sp_readout": i32(sp_readout),
        "rewards": rewards.detach().to(torch.float32).contiguous(),
        "loss": loss.detach().reshape(1).to(torch.float32),
        "bf16_rewards": r16.detach().to(torch.float32).contiguous(),
    }
    worst16 = 0.0
    for name in names:
        g = grads[name]
        tensors["grad." + name] = g.to(torch.float32).contiguous()
        d = g16[name].to(torch.float32) - g
        rel = (d.norm() / g.norm()).item()
        worst16 = max(worst16, rel)
        tensors["bf16_grad_relerr." + name] = torch.tensor([rel], dtype=torch.float32)
        tensors["bf16_grad_maxerr." + name] = torch.tensor([d.abs().max().item()], dtype=torch.float32)
    metadata = {
        "family": family, "seed": str(seed), "pairs": str(len(pairs)), "torch": torch.__version__,
        "transformers": tf.__version__, "loss": "mean(-logsigmoid(r_chosen - r_rejected))",
        "attn_implementation": "eager", "dtype": "float32",
    }
    tmp = os.path.join(fam_dir, "golden.safetensors.tmp")
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, os.path.join(fam_dir, "golden.safetensors"))  # atomic: never a half-written golden
    r16err = (r16.float() - rewards).abs().max().item()
    print(f"{family}: {len(cu) - 1} sequences, {len(ids)} tokens ({len(sp_ids)} shared-prefix), loss {loss.item():.6f}, "
          f"{len(names)} gradients; HF shared-prefix vs separate: rewards {sp_rerr:.2e}, grads (rel) {sp_gerr:.2e}; "
          f"HF bf16 vs fp32: rewards {r16err:.2e}, worst grad rel {worst16:.2e} -> {fam_dir}")
    return metadata


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="rewardkit-core/src/test/resources/fidelity")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--families", default="qwen2,llama,qwen3")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    index = {}
    for family in args.families.split(","):
        index[family.strip()] = build(family.strip(), args.out, args.seed)
    tmp = os.path.join(args.out, "index.json.tmp")
    with open(tmp, "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, os.path.join(args.out, "index.json"))


if __name__ == "__main__":
    main()
