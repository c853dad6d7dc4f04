#!/usr/bin/env python3
"""Golden files for RewardKit's export-parity test (rewardkit-cli/src/test/java/io/rewardkit/eval/HfParityTest.java).

The question they answer: does PLAIN transformers, reading a checkpoint that RewardKit exported,
compute the same rewards as `rewardkit score`? Plain means AutoTokenizer + AutoModelForSequenceClassification
on a padded batch, with nothing hand-computed (no readout index): the pooling position comes from
config.json pad_token_id, as in every TRL / OpenRLHF / best-of-N script.

How the committed goldens were made (rewardkit-cli/src/test/resources/parity/):
  python3 tools/hf_parity.py --out rewardkit-cli/src/test/resources/parity
  (torch 2.13.0+cpu, transformers 5.18.0, tokenizers 0.23.2; needs ./rewardkit built)

For each case this script
  1. builds a tiny word-level tokenizer (tokenizer.json + tokenizer_config.json with a chat template)
     in the style of the family's real one, and a tiny random base checkpoint (fp32,
     save_pretrained) in <case>/base/: Qwen2 (tokenizer pad == eos), Qwen3 (pad <|endoftext|>,
     eos <|im_end|>), Llama (Llama-3 template: <|eot_id|> ends every turn, so EOS-like tokens come
     before the response; no pad token), Mistral (sliding_window 64 >= max_length, no pad token),
     a Qwen2 *ForCausalLM* base (converted by `train --model_name_or_path`: lm_head dropped, score
     initialised), and a Qwen3 case with a reward token from the vocabulary (--reward_token);
  2. exports it with `./rewardkit train --model_name_or_path <case>/base --learning_rate 0 --max_steps 1`
     (the weights stay the base's; the export writes config.json, tokenizer files, rewardkit.json);
  3. reads the export with AutoTokenizer + AutoModelForSequenceClassification: each conversation in
     <case>/input.jsonl (prompt messages + one response) is rendered with apply_chat_template, cut as
     rewardkit.json "readout" says, and the batch is run right-padded and left-padded;
  4. writes <case>/golden.json: the right-padded rewards per input line and response, the left-padded
     ones, and the pad token transformers used;
  5. for the *ForSequenceClassification bases, also "foreign_rewards": the base itself (no
     rewardkit.json) read by transformers on the full chat-template rendering, one text at a time,
     which `rewardkit score --model <case>/base` must reproduce.
The Java test repeats step 2 with the same arguments, runs `rewardkit score` on input.jsonl and
requires equality within 1e-5, and the same pad token in config.json and tokenizer_config.json.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

WORDS = ("hello there how are you doing today i am fine thanks what is the capital of france paris "
         "it lovely city tell me a joke why did chicken cross road to get other side sorry do not know "
         "please help with my homework sure which subject math two plus equals four good bad answer "
         "question ok yes no maybe can you write poem roses red violets blue").split()

QWEN_TEMPLATE = ("{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
                 "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")
LLAMA3_TEMPLATE = ("{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n'"
                   " + message.content + '<|eot_id|>' }}{%- endfor %}"
                   "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}")

CONVERSATIONS = [
    ([{"role": "user", "content": "hello there how are you"}], ["i am fine thanks", "no"]),
    ([{"role": "system", "content": "please help"}, {"role": "user", "content": "what is the capital of france"}],
     ["paris", "it is a lovely city paris", "i do not know sorry"]),
    ([{"role": "user", "content": "tell me a joke"}, {"role": "assistant", "content": "why did the chicken cross the road"},
      {"role": "user", "content": "why"}], ["to get to the other side", "ok"]),
    ([{"role": "user", "content": "two plus two equals what"}], ["four", "two plus two equals four good answer", "maybe"]),
]

CASES = {
    # name: (family, tokenizer style, causal_lm, extra train args)
    "qwen2": ("qwen2", "qwen_pad_eq_eos", False, []),
    "qwen3": ("qwen3", "qwen3", False, []),
    "llama": ("llama", "llama3", False, []),
    "mistral": ("mistral", "qwen_no_pad", False, []),
    "qwen2-causal": ("qwen2", "qwen3", True, []),
    "qwen3-reward-token": ("qwen3", "qwen3", False, ["--reward_token", "<|reward|>"]),
}
MAX_LENGTH = 128


QWEN_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
              "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def make_tokenizer(style, out):
    """A byte-level BPE like Qwen2/Qwen3/Llama-3 (their pre-tokenizer), trained on a few sentences (vocab ~300).

    Byte-level BPE matters: transformers 5 rebuilds a qwen2 checkpoint's tokenizer as Qwen2Tokenizer
    from vocab + merges with Qwen's own pipeline, so the file must be what that class expects."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    if style == "llama3":
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                    "<|finetune_right_pad_id|>"]
    else:
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|reward|>"]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    corpus = [" ".join(WORDS), "system user assistant", "\n\n"] + [m["content"] for p, _ in CONVERSATIONS for m in p] \
        + [r for _, rs in CONVERSATIONS for r in rs]
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens(specials)
    tok.save(os.path.join(out, "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
           "model_max_length": 1024, "add_bos_token": False, "add_eos_token": False}
    if style == "llama3":
        cfg.update(bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", chat_template=LLAMA3_TEMPLATE)
    else:
        cfg.update(eos_token="<|im_end|>", chat_template=QWEN_TEMPLATE)
        if style == "qwen3":
            cfg["pad_token"] = "<|endoftext|>"
        elif style == "qwen_pad_eq_eos":
            cfg["pad_token"] = "<|im_end|>"  # the trap: pad == eos == readout
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return tok.get_vocab_size()


def make_base(family, causal, vocab, tok_cfg, out, seed):
    import transformers as tf
    torch.manual_seed(seed)
    common = dict(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=False,
                  initializer_range=0.2, num_labels=1)
    # The base's own pad_token_id: what such checkpoints commonly carry (often the EOS id, or none).
    eos_id = None
    tok = json.load(open(os.path.join(out, "tokenizer.json")))
    ids = {t["content"]: t["id"] for t in tok["added_tokens"]}
    eos_id = ids[tok_cfg["eos_token"]]
    if family == "llama":
        cfg = tf.LlamaConfig(eos_token_id=eos_id, **common)
        cls = tf.LlamaForCausalLM if causal else tf.LlamaForSequenceClassification
    elif family == "qwen2":
        cfg = tf.Qwen2Config(eos_token_id=eos_id, pad_token_id=eos_id, use_sliding_window=False, **common)
        cls = tf.Qwen2ForCausalLM if causal else tf.Qwen2ForSequenceClassification
    elif family == "qwen3":
        cfg = tf.Qwen3Config(eos_token_id=eos_id, head_dim=8, use_sliding_window=False, **common)
        cls = tf.Qwen3ForCausalLM if causal else tf.Qwen3ForSequenceClassification
    else:
        cfg = tf.MistralConfig(eos_token_id=eos_id, sliding_window=MAX_LENGTH, **common)
        cls = tf.MistralForCausalLM if causal else tf.MistralForSequenceClassification
    model = cls(cfg).eval()
    with torch.no_grad():  # move norms off 1 so a kernel ignoring them fails
        for n, p in model.named_parameters():
            if "norm" in n:
                p.add_(0.3 * torch.randn_like(p))
    model.save_pretrained(out, safe_serialization=True)
    return model


def cut(text, eos):
    t = text.rstrip()
    assert t.endswith(eos), (t[-40:], eos)
    return t


def hf_rewards(export, texts, side):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(export)
    tok.padding_side = side
    model = AutoModelForSequenceClassification.from_pretrained(export, dtype=torch.float32).eval()
    batch = tok(texts, padding=True, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits[:, 0].tolist(), tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rewardkit", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rewardkit"))
    args = ap.parse_args()
    import transformers
    index = {"transformers": transformers.__version__, "torch": torch.__version__, "max_length": MAX_LENGTH, "cases": []}
    for seed, (name, (family, style, causal, extra)) in enumerate(CASES.items()):
        d = os.path.join(args.out, name)
        base = os.path.join(d, "base")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(base)
        vocab = make_tokenizer(style, base)
        tok_cfg = json.load(open(os.path.join(base, "tokenizer_config.json")))
        make_base(family, causal, vocab, tok_cfg, base, 1000 + seed)
        with open(os.path.join(d, "input.jsonl"), "w") as f:
            for prompt, responses in CONVERSATIONS:
                f.write(json.dumps({"prompt": prompt, "responses": responses}) + "\n")
        with open(os.path.join(d, "pairs.jsonl"), "w") as f:
            for prompt, responses in CONVERSATIONS:
                f.write(json.dumps({"prompt": prompt, "chosen": [{"role": "assistant", "content": responses[0]}],
                                    "rejected": [{"role": "assistant", "content": responses[1]}]}) + "\n")
        train_args = ["--dataset", os.path.join(d, "pairs.jsonl"), "--max_length", str(MAX_LENGTH),
                      "--max_tokens_per_batch", "512", "--learning_rate", "0", "--max_steps", "1", "--report", "false",
                      "--save_steps", "0"] + extra
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([args.rewardkit, "train", "--model_name_or_path", base, "--output_dir", tmp] + train_args,
                           check=True, stdout=subprocess.DEVNULL)
            export = os.path.join(tmp, "final")
            man = json.load(open(os.path.join(export, "rewardkit.json")))["readout"]
            from transformers import AutoTokenizer
            tok = AutoTokenizer.from_pretrained(export)
            texts = []
            for prompt, responses in CONVERSATIONS:
                for r in responses:
                    conv = prompt + [{"role": "assistant", "content": r}]
                    t = tok.apply_chat_template(conv, tokenize=False)
                    if "--reward_token" in extra:  # appended after the full rendering (rewardkit.json chat_records)
                        t = t + man["reward_token"]
                    else:
                        t = cut(t, man["reward_token"])
                    texts.append(t)
            # transformers may rebuild the tokenizer from the files (Qwen2Tokenizer); it must agree with tokenizer.json
            from tokenizers import Tokenizer
            raw = Tokenizer.from_file(os.path.join(export, "tokenizer.json"))
            for t in texts:
                assert tok(t, add_special_tokens=False)["input_ids"] == raw.encode(t, add_special_tokens=False).ids, (name, t)
            right, tok_r = hf_rewards(export, texts, "right")
            left, _ = hf_rewards(export, texts, "left")
            cfg = json.load(open(os.path.join(export, "config.json")))
            golden = {"case": name, "family": family, "causal_lm_base": causal, "train_args": train_args[2:],
                      "pad_token": tok_r.pad_token, "pad_token_id": cfg["pad_token_id"],
                      "reward_token_id": man["reward_token_id"], "texts": texts, "rewards_right_padded": [],
                      "rewards_left_padded": []}
            k = 0
            for _, responses in CONVERSATIONS:
                golden["rewards_right_padded"].append(right[k:k + len(responses)])
                golden["rewards_left_padded"].append(left[k:k + len(responses)])
                k += len(responses)
            assert cfg["pad_token_id"] != man["reward_token_id"], name
            assert max(abs(a - b) for a, b in zip(right, left)) < 1e-5, (name, right, left)
        if not causal:
            # The base itself, no rewardkit.json: how transformers reads any HF reward model (the full
            # chat-template rendering, nothing cut or appended, one text at a time so no pad is involved).
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            btok = AutoTokenizer.from_pretrained(base)
            bmodel = AutoModelForSequenceClassification.from_pretrained(base, dtype=torch.float32).eval()
            golden["foreign_rewards"] = []
            for prompt, responses in CONVERSATIONS:
                row = []
                for r in responses:
                    t = btok.apply_chat_template(prompt + [{"role": "assistant", "content": r}], tokenize=False)
                    ids = btok(t, add_special_tokens=False, return_tensors="pt")
                    with torch.no_grad():
                        row.append(bmodel(**ids).logits[0, 0].item())
                golden["foreign_rewards"].append(row)
        # pairs.jsonl's train args name the committed file relative to the case directory
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump(golden, f, indent=1)
        for junk in ("generation_config.json",):
            if os.path.exists(os.path.join(base, junk)):
                os.remove(os.path.join(base, junk))
        index["cases"].append(name)
        print(name, "pad", golden["pad_token"], golden["pad_token_id"], "rewards", [round(x, 4) for x in right])
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
