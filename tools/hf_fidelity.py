#!/usr/bin/env python3
"""Golden files for RewardKit's HF-fidelity tests.

For each family (qwen2, llama, qwen3) this script builds a tiny, randomly initialised
`<Family>ForSequenceClassification` (num_labels=1, fp32, eager attention), saves it with
`save_pretrained(..., safe_serialization=True)` (config.json + model.safetensors, HF names), and
writes `golden.safetensors` beside it:

  input_ids      int32 [T]      packed token ids, one sequence per response (varlen layout)
  cu_seqlens     int32 [S+1]    sequence starts; sequence 2p is pair p's chosen, 2p+1 its rejected
  position_ids   int32 [T]      positions restart at 0 in every sequence
  readout        int32 [S]      index (into the packed tokens) of each sequence's last token
  sp_input_ids   int32 [T']     the same pairs packed shared-prefix style: [prompt|chosen|rejected]
  sp_cu_seqlens  int32 [P+1]    one sequence per pair
  sp_segment_ids int32 [T']     0 prompt, 1 chosen, 2 rejected (io.rewardkit.kernels.VarlenLayout)
  sp_position_ids int32 [T']    rejected positions continue from the prompt, not from chosen
  sp_readout     int32 [2P]     chosen/rejected last tokens in the shared-prefix packing
  rewards        f32   [S]      HF rewards (logits[:, 0]) for each sequence, computed one sequence at a time
  loss           f32   [1]      Bradley-Terry ranking loss  mean_p -logsigmoid(r_chosen - r_rejected)
  grad.<name>    f32            d loss / d parameter for every named parameter (HF names)

Both packings must give the same rewards (the shared-prefix rule makes rejected tokens blind to
chosen ones), which is what the Java tests check against these goldens.

Requires torch and transformers >= 4.51 (Qwen3). Usage:
  python tools/hf_fidelity.py --out java/src/test/resources/fidelity [--seed 1234]
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

VOCAB = 160
PAD = VOCAB - 1  # never appears in inputs, so HF's "last non-pad token" is the last token


def tiny_config(family):
    import transformers as tf

    common = dict(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        num_labels=1,
        pad_token_id=PAD,
        tie_word_embeddings=False,
        initializer_range=0.05,
    )
    if family == "llama":
        return tf.LlamaConfig(attention_bias=False, mlp_bias=False, **common), tf.LlamaForSequenceClassification
    if family == "qwen2":
        return tf.Qwen2Config(use_sliding_window=False, **common), tf.Qwen2ForSequenceClassification
    if family == "qwen3":
        # head_dim deliberately != hidden/heads to catch code that derives it.
        return tf.Qwen3Config(head_dim=32, attention_bias=False, use_sliding_window=False, **common), \
            tf.Qwen3ForSequenceClassification
    raise ValueError(family)


def make_pairs(gen, n_pairs):
    """Random (prompt, chosen, rejected) token lists with awkward lengths; no PAD tokens."""
    pairs = []
    for _ in range(n_pairs):
        lp, lc, lr = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in ((1, 12), (1, 9), (1, 9)))
        draw = lambda n: torch.randint(0, VOCAB - 1, (n,), generator=gen).tolist()
        pairs.append((draw(lp), draw(lc), draw(lr)))
    return pairs


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


def build(family, out_dir, seed, n_pairs):
    import transformers as tf

    torch.manual_seed(seed)
    config, cls = tiny_config(family)
    config._attn_implementation = "eager"  # plain softmax attention: no SDPA/flash numerics
    model = cls(config).to(torch.float32)
    # HF initialises the score head like any Linear; scale it so rewards are O(1), not ~0.
    with torch.no_grad():
        model.score.weight.normal_(0.0, 0.5)
    model.train(False)  # no dropout; gradients still flow

    gen = torch.Generator().manual_seed(seed + 1)
    pairs = make_pairs(gen, n_pairs)
    ids, cu, pos, readout = varlen_layout(pairs)

    # One forward per sequence (batch 1, no padding): exactly the varlen semantics.
    rewards = []
    for s in range(len(cu) - 1):
        seq = torch.tensor(ids[cu[s]:cu[s + 1]], dtype=torch.long)[None, :]
        p = torch.tensor(pos[cu[s]:cu[s + 1]], dtype=torch.long)[None, :]
        logits = model(input_ids=seq, position_ids=p).logits  # [1, num_labels]
        rewards.append(logits[0, 0])
    rewards = torch.stack(rewards)
    chosen, rejected = rewards[0::2], rewards[1::2]
    loss = -F.logsigmoid(chosen - rejected).mean()
    model.zero_grad(set_to_none=True)
    loss.backward()

    fam_dir = os.path.join(out_dir, family)
    model_dir = os.path.join(fam_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    model.save_pretrained(model_dir, safe_serialization=True)

    sp_ids, sp_cu, sp_seg, sp_pos, sp_readout = shared_prefix_layout(pairs)
    tensors = {
        "input_ids": i32(ids), "cu_seqlens": i32(cu), "position_ids": i32(pos), "readout": i32(readout),
        "sp_input_ids": i32(sp_ids), "sp_cu_seqlens": i32(sp_cu), "sp_segment_ids": i32(sp_seg),
        "sp_position_ids": i32(sp_pos), "sp_readout": i32(sp_readout),
        "rewards": rewards.detach().to(torch.float32).contiguous(),
        "loss": loss.detach().reshape(1).to(torch.float32),
    }
    missing = []
    for name, param in model.named_parameters():
        if param.grad is None:
            missing.append(name)
            continue
        tensors["grad." + name] = param.grad.detach().to(torch.float32).contiguous()
    if missing:
        print(f"{family}: parameters without gradient: {missing}", file=sys.stderr)
    metadata = {
        "family": family, "seed": str(seed), "pairs": str(n_pairs), "torch": torch.__version__,
        "transformers": tf.__version__, "loss": "mean(-logsigmoid(r_chosen - r_rejected))",
        "attn_implementation": "eager", "dtype": "float32",
    }
    tmp = os.path.join(fam_dir, "golden.safetensors.tmp")
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, os.path.join(fam_dir, "golden.safetensors"))  # atomic: never a half-written golden
    print(f"{family}: {len(cu) - 1} sequences, {len(ids)} tokens, loss {loss.item():.6f}, "
          f"{sum(1 for k in tensors if k.startswith('grad.'))} gradients -> {fam_dir}")
    return metadata


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="java/src/test/resources/fidelity")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--families", default="qwen2,llama,qwen3")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    index = {}
    for family in args.families.split(","):
        index[family] = build(family.strip(), args.out, args.seed, args.pairs)
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
