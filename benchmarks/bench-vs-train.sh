#!/usr/bin/env bash
# bench vs train (issues 13 and 17): does `rewardkit bench` measure what `rewardkit train` does? Both run the tiny
# Qwen2 shape (examples/qwen2-tiny-config.json) on the shared hh-rlhf pairs with the Qwen3 tokenizer, the same
# --threads, layout (train's default), token budget and max length; bench times train's steps (--pairs_per_step 0:
# one micro-batch per step, filled to the budget by train's packer). Train's steady state is the median tokens_per_s of its logging windows after the first
# (metrics.jsonl); bench's figure is its real tokens/s over the timed steps. Appends one row to
# benchmarks/results/bench-vs-train.md. Run from the repository root with ../shared present.
#   THREADS=2 STEPS=120 ./benchmarks/bench-vs-train.sh
set -euo pipefail
RK=${RK:-./rewardkit}
OUT=${OUT:-runs/bench-vs-train}
THREADS=${THREADS:-2}
STEPS=${STEPS:-120}          # train steps (logged every LOG steps)
LOG=${LOG:-10}
BENCH_STEPS=${BENCH_STEPS:-30}
BUDGET=${BUDGET:-8192}
MAXLEN=${MAXLEN:-512}
DATA=../shared/data/hh-rlhf-harmless/pairs-2000.jsonl
TOK=../shared/fixtures/tokenizers/qwen3
CFG=examples/qwen2-tiny-config.json
ROWS=benchmarks/results/bench-vs-train.md
mkdir -p "$OUT" "$(dirname "$ROWS")"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%FT%TZ)

$RK train --init_config $CFG --tokenizer $TOK --dataset $DATA --on_bad_record skip --max_length $MAXLEN \
  --max_tokens_per_batch $BUDGET --threads $THREADS --learning_rate 1e-3 --max_steps $STEPS --logging_steps $LOG \
  --eval_steps 0 --save_steps 0 --report false --overwrite_output_dir --output_dir $OUT/train > $OUT/train.log
read -r train_tps pairs_per_batch layout < <(python3 - $OUT/train/metrics.jsonl <<'PY'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
start = next(r for r in recs if r["record"] == "run_start")
windows = [r["tokens_per_s"] for r in recs if r["record"] == "train"][1:]  # the first window holds JIT warm-up
d = start["data"]
print(statistics.median(windows), round(d["train_pairs"] / d["train_micro_batches_per_epoch"]), start["options"]["layout"])
PY
)
$RK bench --device cpu --shape $CFG --dataset $DATA --tokenizer $TOK --max_length $MAXLEN --max_tokens_per_batch $BUDGET \
  --layout $layout --threads $THREADS --pairs_per_step 0 --warmup 3 --steps $BENCH_STEPS \
  --output_json $OUT/bench.json > $OUT/bench.log
read -r bench_tps bench_median_tps iqr median <<<"$(python3 -c "
import json; t = json.load(open('$OUT/bench.json'))['throughput']
print(t['real_tokens_per_s'], t['median_step_real_tokens_per_s'], t['step_ms_iqr'], t['step_ms_median'])")"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
[[ -f $ROWS ]] || printf '%s\n\n%s\n%s\n' "# bench vs train rows (benchmarks/bench-vs-train.sh)" \
  "| date (UTC) | machine | threads | layout | train tokens/s (median window) | bench tokens/s (mean; median step) | bench / train | bench step median, IQR (ms) | load before; after |" \
  "|---|---|---:|---|---:|---:|---:|---:|---|" > $ROWS
machine="$(nproc) cores $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
ratio=$(python3 -c "print(f'{$bench_tps / $train_tps:.3f}')")
printf '| %s | %s | %s | %s | %.0f | %.0f; %.0f | %s | %.1f, %.1f | %s; %s |\n' "$started" "$machine" $THREADS $layout \
  $train_tps $bench_tps $bench_median_tps $ratio $median $iqr "$load_before" "$load_after" | tee -a $ROWS
