#!/usr/bin/env bash
# The memory plan beside the measured peak RSS of real CPU training runs (benchmarks/RESULTS.md, "Memory plan").
# Usage: benchmarks/memory-plan-rss.sh LAYERS TOKENS [extra train options...]
#   Qwen2.5-0.5B widths (examples/shapes/qwen2.5-0.5b-config.json) with LAYERS decoder layers, random init,
#   the shared hh-rlhf pairs with the Qwen3 tokenizer, --max_tokens_per_batch TOKENS, 3 optimizer steps.
# Prints the run's plan line, peak RSS (GNU time) and the mean step time from metrics.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
layers="$1"; tokens="$2"; shift 2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s/\"num_hidden_layers\": 24/\"num_hidden_layers\": $layers/" examples/shapes/qwen2.5-0.5b-config.json > "$work/config.json"
/usr/bin/time -v ./rewardkit train --init_config "$work/config.json" --tokenizer ../shared/fixtures/tokenizers/qwen3 \
  --dataset ../shared/data/hh-rlhf-harmless/pairs-2000.jsonl --on_bad_record skip --max_length 512 \
  --max_tokens_per_batch "$tokens" --max_steps 3 --logging_steps 1 --save_steps 0 --report false \
  --learning_rate 1e-4 --output_dir "$work/run" "$@" > "$work/out.txt" 2> "$work/time.txt" || { cat "$work/out.txt" "$work/time.txt"; exit 1; }
grep -m1 '^memory plan' "$work/out.txt"
grep 'Maximum resident set size' "$work/time.txt" | awk '{printf "peak RSS %.2f GiB\n", $6 / 1048576}'
python3 - "$work/run/metrics.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tr = [r for r in recs if r.get("record") == "train"]
end = [r for r in recs if r.get("record") == "run_end"]
if tr:
    print("steps %d, tokens/s %s, train_runtime %.1f s" % (tr[-1]["global_step"], tr[-1].get("tokens_per_s"), end[-1]["train_runtime"] if end else float("nan")))
PY
