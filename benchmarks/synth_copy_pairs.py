"""Writes the embedded copy task's pairs (train/SyntheticTask.java: copy 3 letters of 8; rejected changes one letter)
as JSONL for runs that need them as files: DIR/synth-train.jsonl (6000 pairs, seed 11), DIR/synth-eval.jsonl (500,
seed 12) and DIR/synth-score.jsonl (the eval pairs as `rewardkit score` input: responses [chosen, rejected]).
Used by qlora-accuracy.sh and bf16-accuracy.sh.   python3 benchmarks/synth_copy_pairs.py DIR"""
import json, random, sys


def gen(n, seed):
    r = random.Random(seed); a = "abcdefgh"; out = []
    for _ in range(n):
        s = [r.choice(a) for _ in range(3)]
        w = list(s); at = r.randrange(3)
        w[at] = r.choice([c for c in a if c != s[at]])
        out.append({"prompt": "copy " + "".join(s) + ":", "chosen": "".join(s), "rejected": "".join(w)})
    return out


d = sys.argv[1]
for name, n, seed in [("synth-train", 6000, 11), ("synth-eval", 500, 12)]:
    with open(f"{d}/{name}.jsonl", "w") as f:
        for e in gen(n, seed): f.write(json.dumps(e) + "\n")
with open(f"{d}/synth-score.jsonl", "w") as f:
    for l in open(f"{d}/synth-eval.jsonl"):
        r = json.loads(l); f.write(json.dumps({"prompt": r["prompt"], "responses": [r["chosen"], r["rejected"]]}) + "\n")
