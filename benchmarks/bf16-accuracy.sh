#!/usr/bin/env bash
# The accuracy effect of --bf16 on CPU (issue 17): the same runs (embedded default: tiny Llama-style model, byte
# tokenizer, the copy task, where a tiny model gets far above chance in a few hundred steps; same data) trained with
# fp32 and with bf16 matmuls for each seed in SEEDS. Reports held-out accuracy (the run's own 500 eval pairs, and
# `score` on 500 more pairs of the task) and the reward drift on the scored pairs, mean and max |r_bf16 - r_fp32|
# relative to mean |r_fp32|: bf16 training + bf16 scoring vs fp32 (same seed), bf16 scoring alone of each fp32 model,
# and, for scale, fp32 seed to seed.
# Run from the repository root: benchmarks/bf16-accuracy.sh   (outputs under $OUT; needs an AVX512-BF16 CPU, else
# the --bf16 runs warn and stay fp32, which the script reports)
set -euo pipefail
OUT=${OUT:-runs/bf16-accuracy}
RK=${RK:-./rewardkit}
STEPS=${STEPS:-600}
SEEDS=${SEEDS:-42 43 44}
THREADS=${THREADS:-2}
mkdir -p "$OUT"
echo "== start $(date -u +%FT%TZ) $(uptime)"
python3 "$(dirname "$0")/synth_copy_pairs.py" "$OUT"   # synth-score.jsonl: 500 pairs to score
for seed in $SEEDS; do for prec in fp32 bf16; do
  bf=false; [[ $prec == bf16 ]] && bf=true
  echo "== train $prec seed $seed"
  $RK train --output_dir "$OUT/$prec-$seed" --bf16 $bf --seed "$seed" --max_steps "$STEPS" --threads "$THREADS" \
    --save_steps 0 --report false --overwrite_output_dir | grep -E '^done|AVX512'
  grep -o '"matmul_precision":"[a-z0-9]*"' "$OUT/$prec-$seed/metrics.jsonl" | head -1
  $RK score --model "$OUT/$prec-$seed" --bf16 $bf --threads "$THREADS" --input "$OUT/synth-score.jsonl" \
    --output "$OUT/score-$prec-$seed.jsonl" | tail -1
done
  echo "== score the fp32 model of seed $seed with bf16 matmuls"
  $RK score --model "$OUT/fp32-$seed" --bf16 true --threads "$THREADS" --input "$OUT/synth-score.jsonl" \
    --output "$OUT/score-fp32as16-$seed.jsonl" | tail -1
done
python3 - "$OUT" $SEEDS <<'PY'
import json, sys
d, seeds = sys.argv[1], sys.argv[2:]
def load(n): return [json.loads(l)["rewards"] for l in open(f"{d}/score-{n}.jsonl")]
def acc(a): return sum(r[0] > r[1] for r in a) / len(a)
def drift(a, b):
    x = [abs(p - q) for ra, rb in zip(a, b) for p, q in zip(ra, rb)]
    return sum(x) / len(x), max(x)
def evalacc(n): return [json.loads(l) for l in open(f"{d}/{n}/metrics.jsonl") if '"record":"eval"' in l][-1]["eval_accuracy"]
def mean(x): return sum(x) / len(x)
rows = []
for s in seeds:
    fp, bf, inf = load(f"fp32-{s}"), load(f"bf16-{s}"), load(f"fp32as16-{s}")
    mag = sum(abs(x) for r in fp for x in r) / (2 * len(fp))
    print("seed %s: eval accuracy fp32 %.3f bf16 %.3f | scored accuracy fp32 %.3f bf16 %.3f, fp32 model scored in bf16 %.3f"
          % (s, evalacc(f"fp32-{s}"), evalacc(f"bf16-{s}"), acc(fp), acc(bf), acc(inf)))
    for name, other in [("bf16 train+score vs fp32", bf), ("fp32 model, bf16 vs fp32 scoring", inf)]:
        m, x = drift(other, fp)
        print("  %-34s mean |dr| %.4g (%.3g%% of mean |r| %.3f), max |dr| %.4g (%.3g%%)" % (name, m, 100 * m / mag, mag, x, 100 * x / mag))
    rows.append((evalacc(f"fp32-{s}"), evalacc(f"bf16-{s}"), acc(fp), acc(bf)))
print("mean over %d seeds: eval accuracy fp32 %.3f bf16 %.3f; scored accuracy fp32 %.3f bf16 %.3f"
      % (len(rows), mean([r[0] for r in rows]), mean([r[1] for r in rows]), mean([r[2] for r in rows]), mean([r[3] for r in rows])))
for a, b in zip(seeds, seeds[1:]):
    m, x = drift(load(f"fp32-{b}"), load(f"fp32-{a}"))
    print("fp32 seed %s vs %s (spread): mean |dr| %.4g, max |dr| %.4g" % (b, a, m, x))
PY
echo "== done $(date -u +%FT%TZ) $(uptime)"
