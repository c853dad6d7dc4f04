"""Regenerates the HF parity fixtures in this directory (needs torch + transformers; run offline).

Each <family>/ is a tiny random <Family>ForSequenceClassification checkpoint written by HF
save_pretrained, and expected.json holds the rewards HF computes for a few token sequences (float64
forward over the stored float32 weights). RewardModelHfParityTest loads the checkpoints with
RewardKit and compares. Used: transformers 5.18.0, torch 2.13.0+cpu.
"""
import json, os, torch
from transformers import (AutoModelForSequenceClassification, LlamaConfig, Qwen2Config, Qwen3Config,
                          MistralConfig)

HERE = os.path.dirname(os.path.abspath(__file__))
common = dict(hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=37, max_position_embeddings=64, rms_norm_eps=1e-6,
              initializer_range=0.25, bos_token_id=1, eos_token_id=2, pad_token_id=2, num_labels=1,
              tie_word_embeddings=False)
configs = {
    'qwen2': Qwen2Config(rope_theta=1e6, **common),
    'qwen3': Qwen3Config(head_dim=8, rope_theta=1e6, attention_bias=False, **common),
    'llama': LlamaConfig(attention_bias=True, rope_theta=5e5, rope_scaling=dict(
        rope_type='llama3', factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
        original_max_position_embeddings=16), **common),
    'mistral': MistralConfig(rope_theta=1e4, sliding_window=None, **common),
}
g = torch.Generator().manual_seed(7)
seqs = [torch.randint(3, 37, (n,), generator=g).tolist() for n in (5, 13, 40)]
expected = {'seqs': seqs, 'rewards': {}}
for i, (name, cfg) in enumerate(configs.items()):
    torch.manual_seed(100 + i)
    m = AutoModelForSequenceClassification.from_config(cfg).float().eval()
    with torch.no_grad():  # biases and norms away from their 0/1 init so they matter
        for n, p in m.named_parameters():
            if n.endswith('bias') or n.endswith('norm.weight'):
                p.add_(0.2 * torch.randn_like(p))
    d = os.path.join(HERE, name)
    m.save_pretrained(d, max_shard_size='8KB' if name == 'qwen3' else '5GB')
    m2 = AutoModelForSequenceClassification.from_pretrained(d, dtype=torch.float32).double().eval()
    with torch.no_grad():
        expected['rewards'][name] = [m2(torch.tensor([s])).logits[0, 0].item() for s in seqs]
with open(os.path.join(HERE, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=1)
print(json.dumps(expected['rewards']))
