#!/usr/bin/env bash
# QLoRA's accuracy cost on a base that has learned something (issue 18), on the embedded copy task where a tiny model
# gets far above chance in seconds (the hh-rlhf pairs leave a tiny random-init model near chance, see qlora-bench.sh B).
#  1. The 4-bit base alone: a trained default model evaluated through a --load_in_4bit run at learning rate 0 (its
#     eval is the NF4 model's) beside the same run without --load_in_4bit.
#  2. LoRA vs QLoRA fine-tuning from a partly trained base (80 steps), same data and steps; both adapters then scored
#     on the original base (`score`), with a second LoRA seed for the seed-to-seed spread of the rewards.
# Run from the repository root: benchmarks/qlora-accuracy.sh   (outputs under $OUT, about 4 minutes on 2 cores)
set -euo pipefail
OUT=${OUT:-runs/qlora-accuracy}
RK=${RK:-./rewardkit}
STEPS=${STEPS:-200}
mkdir -p "$OUT"
echo "== start $(date -u +%FT%TZ) $(uptime)"
python3 "$(dirname "$0")/synth_copy_pairs.py" "$OUT"   # synth-train/eval/score.jsonl
$RK train --output_dir "$OUT/base" --report false --overwrite_output_dir | grep '^done'
$RK train --output_dir "$OUT/half" --max_steps 80 --report false --overwrite_output_dir | grep '^done'
common=(--dataset "$OUT/synth-train.jsonl" --eval_dataset "$OUT/synth-eval.jsonl" --tokenizer byte --max_length 48
  --save_steps 0 --report false --overwrite_output_dir --use_peft --lora_r 16 --lora_alpha 32)
for mode in lora qlora; do
  flags=(); [[ $mode == qlora ]] && flags=(--load_in_4bit)
  echo "== 1. $mode, learning rate 0 (the base as the run sees it)"
  $RK train --model_name_or_path "$OUT/base/final" "${common[@]}" "${flags[@]}" --learning_rate 0 --max_steps 1 \
    --output_dir "$OUT/lr0-$mode" | grep '^done'
done
for run in lora:42 qlora:42 lora:43; do
  mode=${run%:*} seed=${run#*:}; flags=(); [[ $mode == qlora ]] && flags=(--load_in_4bit)
  echo "== 2. $mode seed $seed from the partly trained base"
  $RK train --model_name_or_path "$OUT/half/final" "${common[@]}" "${flags[@]}" --seed "$seed" --learning_rate 2e-3 \
    --max_steps "$STEPS" --output_dir "$OUT/ft-$mode-$seed" | grep '^done'
  $RK score --model "$OUT/ft-$mode-$seed" --input "$OUT/synth-score.jsonl" --output "$OUT/ft-$mode-$seed.jsonl" | tail -1
done
python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
def load(n): return [json.loads(l)["rewards"] for l in open(f"{d}/ft-{n}.jsonl")]
def diff(a, b): x = [abs(p - q) for ra, rb in zip(a, b) for p, q in zip(ra, rb)]; return sum(x) / len(x)
def acc(a): return sum(r[0] > r[1] for r in a) / len(a)
lora, qlora, lora2 = load("lora-42"), load("qlora-42"), load("lora-43")
mag = [abs(x) for r in lora for x in r]
print("score on the original base, %d held-out pairs: accuracy LoRA %.3f (seed 43: %.3f), QLoRA %.3f" % (len(lora), acc(lora), acc(lora2), acc(qlora)))
print("mean |reward difference|: QLoRA vs LoRA %.3f; LoRA seed 42 vs 43 %.3f; mean |reward| (LoRA) %.3f" % (diff(qlora, lora), diff(lora, lora2), sum(mag) / len(mag)))
PY
echo "== done $(date -u +%FT%TZ) $(uptime)"
