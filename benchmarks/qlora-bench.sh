#!/usr/bin/env bash
# QLoRA on CPU (issue 18), two parts; run from the repository root with ../shared present, outputs under $OUT.
#  A. The memory plan beside peak RSS (GNU time) and step time for full, LoRA, QLoRA and LoRA + checkpointing at the
#     Qwen2.5-0.5B widths cut to LAYERS decoder layers (random init saved as an HF checkpoint), STEPS steps each.
#  B. QLoRA vs LoRA on the same data from the same tiny base (examples/qwen2-tiny-config.json): random init, or with
#     BASE_LR > 0 a base first trained in full for one epoch on the first half of the training pairs (the adapters then
#     train on the second half), so that the 4-bit base carries learned weights:
#     held-out accuracy (the run's final eval; QLoRA's on its 4-bit model) and, per held-out pair, the rewards both
#     adapters give on the original base (`rewardkit score`): mean |difference| and accuracy.
set -euo pipefail
OUT=${OUT:-runs/qlora-bench}
RK=${RK:-./rewardkit}
LAYERS=${LAYERS:-4}
TOKENS=${TOKENS:-2048}
STEPS=${STEPS:-2}
TINY_STEPS=${TINY_STEPS:--1}   # -1: one epoch
PARTS=${PARTS:-A B}
BASE_LR=${BASE_LR:-0}          # B: 0 = random-init base; e.g. 1e-3 = a base trained in full first
DATA=../shared/data/hh-rlhf-harmless/pairs-2000.jsonl
TOK=../shared/fixtures/tokenizers/qwen3
mkdir -p "$OUT"
echo "== start $(date -u +%FT%TZ) $(uptime)"
head -n 1800 $DATA > "$OUT/train.jsonl"
tail -n 200 $DATA > "$OUT/heldout.jsonl"
[[ -d $OUT/cache ]] || $RK prepare --dataset "$OUT/train.jsonl" --tokenizer $TOK --on_bad_record skip --max_length 512 \
  --max_tokens_per_batch "$TOKENS" --output_dir "$OUT/cache" | tail -1

# ---- A ----
if [[ " $PARTS " == *" A "* ]]; then
sed "s/\"num_hidden_layers\": 24/\"num_hidden_layers\": $LAYERS/" examples/shapes/qwen2.5-0.5b-config.json > "$OUT/config-${LAYERS}L.json"
[[ -d $OUT/base05/final ]] || $RK train --init_config "$OUT/config-${LAYERS}L.json" --dataset "$OUT/cache" --learning_rate 0 \
  --max_steps 1 --save_steps 0 --report false --output_dir "$OUT/base05" > /dev/null
for mode in full lora qlora lora-ckpt; do
  case $mode in
    full) flags=() ;;
    lora) flags=(--use_peft --lora_r 16 --lora_alpha 32) ;;
    qlora) flags=(--use_peft --load_in_4bit --lora_r 16 --lora_alpha 32) ;;
    lora-ckpt) flags=(--use_peft --lora_r 16 --lora_alpha 32 --gradient_checkpointing) ;;
  esac
  echo "== A $mode $(date -u +%FT%TZ) $(uptime)"
  /usr/bin/time -v $RK train --model_name_or_path "$OUT/base05/final" --dataset "$OUT/cache" --max_steps "$STEPS" \
    --logging_steps 1 --save_steps 0 --report false --learning_rate 1e-4 --overwrite_output_dir --output_dir "$OUT/a-$mode" \
    "${flags[@]}" > "$OUT/a-$mode.out" 2> "$OUT/a-$mode.time"
  grep -m1 '^memory plan' "$OUT/a-$mode.out"
  grep 'Maximum resident set size' "$OUT/a-$mode.time" | awk '{printf "peak RSS %.2f GiB\n", $6 / 1048576}'
  python3 - "$OUT/a-$mode/metrics.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
end = [r for r in recs if r.get("record") == "run_end"][-1]
print("steps %d, train_runtime %.1f s, %.1f s/step" % (end["global_step"], end["train_runtime"], end["train_runtime"] / end["global_step"]))
PY
done
fi

# ---- B ----
if [[ " $PARTS " == *" B "* ]]; then
adapter_data="$OUT/cache"
if [[ $BASE_LR == 0 ]]; then
  [[ -d $OUT/tiny/final ]] || $RK train --init_config examples/qwen2-tiny-config.json --dataset "$OUT/cache" --learning_rate 0 \
    --max_steps 1 --save_steps 0 --report false --output_dir "$OUT/tiny" > /dev/null
else
  head -n 900 "$OUT/train.jsonl" > "$OUT/train-base.jsonl"
  tail -n 900 "$OUT/train.jsonl" > "$OUT/train-adapters.jsonl"
  for half in base adapters; do
    [[ -d $OUT/cache-$half ]] || $RK prepare --dataset "$OUT/train-$half.jsonl" --tokenizer $TOK --on_bad_record skip \
      --max_length 512 --max_tokens_per_batch "$TOKENS" --output_dir "$OUT/cache-$half" | tail -1
  done
  adapter_data="$OUT/cache-adapters"
  echo "== B base (full fine-tuning, lr $BASE_LR) $(date -u +%FT%TZ) $(uptime)"
  [[ -d $OUT/tiny/final ]] || $RK train --init_config examples/qwen2-tiny-config.json --dataset "$OUT/cache-base" \
    --eval_dataset "$OUT/heldout.jsonl" --learning_rate "$BASE_LR" --lr_scheduler_type cosine --warmup_ratio 0.1 \
    --logging_steps 10 --save_steps 0 --report false --output_dir "$OUT/tiny" | grep '^done'
fi
python3 - "$OUT/heldout.jsonl" "$OUT/heldout-score.jsonl" <<'PY'
import json, re, sys
# hh-rlhf: chosen and rejected share the dialogue up to the last "\n\nAssistant:"; score takes it as messages
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    r = json.loads(line)
    c, j = r["chosen"], r["rejected"]
    k = c.rfind("\n\nAssistant:")
    if k < 0 or c[:k] != j[:k]: continue
    turns = re.split(r"\n\n(Human|Assistant): ?", c[:k])
    msgs = [{"role": "user" if turns[i] == "Human" else "assistant", "content": turns[i + 1]} for i in range(1, len(turns) - 1, 2)]
    pre = len("\n\nAssistant:")
    out.write(json.dumps({"prompt": msgs, "responses": [c[k + pre:].lstrip(" "), j[k + pre:].lstrip(" ")]}) + "\n")
PY
for mode in lora qlora; do
  echo "== B $mode $(date -u +%FT%TZ) $(uptime)"
  flags=(--use_peft --lora_r 16 --lora_alpha 32)
  [[ $mode == qlora ]] && flags+=(--load_in_4bit)
  $RK train --model_name_or_path "$OUT/tiny/final" --dataset "$adapter_data" --eval_dataset "$OUT/heldout.jsonl" \
    --max_steps "$TINY_STEPS" --learning_rate 1e-3 --lr_scheduler_type cosine --warmup_ratio 0.1 --logging_steps 10 \
    --save_steps 0 --report false --overwrite_output_dir --output_dir "$OUT/b-$mode" "${flags[@]}" | grep '^done'
  $RK score --model "$OUT/b-$mode" --input "$OUT/heldout-score.jsonl" --output "$OUT/b-$mode-scores.jsonl" 2>&1 | tail -1
done
$RK score --model "$OUT/tiny/final" --input "$OUT/heldout-score.jsonl" --output "$OUT/b-base-scores.jsonl" 2>&1 | tail -1
python3 - "$OUT/b-lora-scores.jsonl" "$OUT/b-qlora-scores.jsonl" "$OUT/b-base-scores.jsonl" <<'PY'
import json, sys
a = [json.loads(l)["rewards"] for l in open(sys.argv[1])]
b = [json.loads(l)["rewards"] for l in open(sys.argv[2])]
base = [json.loads(l)["rewards"] for l in open(sys.argv[3])]
ok = [r for r in base if None not in r]
print("base alone: score accuracy %.4f on %d pairs" % (sum(r[0] > r[1] for r in ok) / len(ok), len(ok)))
# pairs with a response over --max_length get null rewards in both: left out
keep = [i for i in range(len(a)) if None not in a[i] and None not in b[i]]
a, b = [a[i] for i in keep], [b[i] for i in keep]
d = [abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)]
spread = [abs(x) for ra in a for x in ra]
print("pairs %d; mean |reward_qlora - reward_lora| %.4f (max %.4f); mean |reward_lora| %.4f; score accuracy lora %.4f qlora %.4f" % (
    len(a), sum(d) / len(d), max(d), sum(spread) / len(spread),
    sum(r[0] > r[1] for r in a) / len(a), sum(r[0] > r[1] for r in b) / len(b)))
PY
fi
echo "== done $(date -u +%FT%TZ) $(uptime)"
