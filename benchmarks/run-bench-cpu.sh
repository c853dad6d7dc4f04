#!/usr/bin/env bash
# The CPU end-to-end points recorded in benchmarks/RESULTS.md: `rewardkit bench --device cpu` on the
# Qwen2.5-0.5B shape (4 layers, and the full 24 layers at a small budget), both length profiles and real pairs.
# Usage: benchmarks/run-bench-cpu.sh [point]   (point: 05b-4L-hh, 05b-4L-uf, 05b-4L-hhdata, 05b-full-hh)
# JSON reports and tables go to benchmarks/results/bench-cpu-<stamp>-<point>.{json,txt}.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p benchmarks/results
only="${1:-}"   # optional: run just this point
run() {
  local name="$1"; shift
  [[ -z "$only" || "$only" == "$name" ]] || return 0
  echo "== $name: ${REWARDKIT_JAVA_OPTS:+REWARDKIT_JAVA_OPTS=\"$REWARDKIT_JAVA_OPTS\" }./rewardkit bench $*" >&2
  ./rewardkit bench "$@" --output_json "benchmarks/results/bench-cpu-$stamp-$name.json" | tee "benchmarks/results/bench-cpu-$stamp-$name.txt"
}
run 05b-4L-hh   --device cpu --layout shared_prefix --seed 1234 --shape Qwen2.5-0.5B:4L --lengths hh-rlhf       --pairs_per_step 8 --max_tokens_per_batch 4096 --max_length 1024 --warmup 1 --steps 3
run 05b-4L-uf   --device cpu --layout shared_prefix --seed 1234 --shape Qwen2.5-0.5B:4L --lengths ultrafeedback --pairs_per_step 4 --max_tokens_per_batch 4096 --max_length 2048 --warmup 1 --steps 3
# Real pairs: Anthropic hh-rlhf (harmless) through the data pipeline with the Qwen3 tokenizer (shared fixtures).
run 05b-4L-hhdata --device cpu --layout shared_prefix --seed 1234 --shape Qwen2.5-0.5B:4L --dataset ../shared/data/hh-rlhf-harmless/pairs-2000.jsonl \
    --tokenizer ../shared/fixtures/tokenizers/qwen3 --pairs_per_step 8 --max_tokens_per_batch 4096 --max_length 1024 --warmup 1 --steps 3
# The full model needs ~8 GB for weights, grads and AdamW moments: lift JavaCPP's default cap (the JVM's -Xmx).
REWARDKIT_JAVA_OPTS="-Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0" \
run 05b-full-hh --device cpu --layout shared_prefix --seed 1234 --shape Qwen2.5-0.5B    --lengths hh-rlhf       --pairs_per_step 4 --max_tokens_per_batch 2048 --max_length 1024 --warmup 1 --steps 2
