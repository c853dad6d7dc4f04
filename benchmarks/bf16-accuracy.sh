#!/usr/bin/env bash
# The accuracy effect of --bf16 on CPU (issue 17): the same run (embedded default: tiny Llama-style model, byte
# tokenizer, the copy task, where a tiny model gets far above chance in a few hundred steps; same seed, same data)
# trained with fp32 and with bf16 matmuls, plus a second fp32 seed for the seed-to-seed spread. Reports held-out
# accuracy (the run's own 500 eval pairs, and `score` on 500 more pairs of the task) and the reward drift on the
# scored pairs: mean and max |r_bf16 - r_fp32| relative to mean |r_fp32|, for bf16 training + bf16 scoring, and for
# bf16 scoring alone of the fp32 model.
# Run from the repository root: benchmarks/bf16-accuracy.sh   (outputs under $OUT; needs an AVX512-BF16 CPU, else
# the --bf16 runs warn and stay fp32, which the script reports)
set -euo pipefail
OUT=${OUT:-runs/bf16-accuracy}
RK=${RK:-./rewardkit}
STEPS=${STEPS:-300}
THREADS=${THREADS:-2}
mkdir -p "$OUT"
echo "== start $(date -u +%FT%TZ) $(uptime)"
python3 "$(dirname "$0")/synth_copy_pairs.py" "$OUT"   # synth-score.jsonl: 500 pairs to score
for run in fp32:42 bf16:42 fp32:43; do
  prec=${run%:*} seed=${run#*:}; bf=false; [[ $prec == bf16 ]] && bf=true
  echo "== train $prec seed $seed"
  $RK train --output_dir "$OUT/$prec-$seed" --bf16 $bf --seed "$seed" --max_steps "$STEPS" --threads "$THREADS" \
    --save_steps 0 --report false --overwrite_output_dir | grep -E '^done|AVX512'
  grep -o '"matmul_precision":"[a-z0-9]*"' "$OUT/$prec-$seed/metrics.jsonl" | head -1
  $RK score --model "$OUT/$prec-$seed" --bf16 $bf --threads "$THREADS" --input "$OUT/synth-score.jsonl" \
    --output "$OUT/score-$prec-$seed.jsonl" | tail -1
done
echo "== score the fp32 model with bf16 matmuls"
$RK score --model "$OUT/fp32-42" --bf16 true --threads "$THREADS" --input "$OUT/synth-score.jsonl" \
  --output "$OUT/score-fp32-42-as-bf16.jsonl" | tail -1
python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
def load(n): return [json.loads(l)["rewards"] for l in open(f"{d}/score-{n}.jsonl")]
def acc(a): return sum(r[0] > r[1] for r in a) / len(a)
def drift(a, b):
    x = [abs(p - q) for ra, rb in zip(a, b) for p, q in zip(ra, rb)]
    return sum(x) / len(x), max(x)
fp, bf, fp2, inf = load("fp32-42"), load("bf16-42"), load("fp32-43"), load("fp32-42-as-bf16")
mag = sum(abs(x) for r in fp for x in r) / (2 * len(fp))
print("scored held-out pairs: %d; accuracy fp32 %.3f, bf16 %.3f, fp32 seed 43 %.3f, fp32 model scored in bf16 %.3f"
      % (len(fp), acc(fp), acc(bf), acc(fp2), acc(inf)))
print("mean |r_fp32| %.4f" % mag)
for name, other in [("bf16 train+score vs fp32", bf), ("fp32 model, bf16 scoring vs fp32 scoring", inf),
                    ("fp32 seed 43 vs seed 42 (spread)", fp2)]:
    m, x = drift(other, fp)
    print("%-42s mean |dr| %.4g (%.3g%% of mean |r|), max |dr| %.4g (%.3g%%)" % (name, m, 100 * m / mag, x, 100 * x / mag))
PY
echo "== done $(date -u +%FT%TZ) $(uptime)"
