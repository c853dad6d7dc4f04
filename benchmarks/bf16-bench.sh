#!/usr/bin/env bash
# End-to-end effect of --bf16 on CPU training throughput (issue 17): `rewardkit bench` with and without --bf16,
# alternating (fp32, bf16, fp32, bf16, ...) so that a shared machine's load hits both alike, at the tiny Qwen2 shape
# on real hh-rlhf pairs and at the Qwen2.5-0.5B shape cut to 2 layers (hh-rlhf length profile). Prints real tokens/s
# per run, the bf16/fp32 ratio of the medians and of the best runs, and the load; JSON under benchmarks/results/.
# Run from the repository root: benchmarks/bf16-bench.sh   (REPS alternations per shape, default 2; THREADS 2)
set -euo pipefail
REPS=${REPS:-2}
THREADS=${THREADS:-2}
RK=${RK:-./rewardkit}
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p benchmarks/results
tiny=(--shape examples/qwen2-tiny-config.json --dataset ../shared/data/hh-rlhf-harmless/pairs-2000.jsonl
  --tokenizer ../shared/fixtures/tokenizers/qwen3 --pairs_per_step 22 --warmup 2 --steps 10)
big=(--shape Qwen2.5-0.5B:2L --layout shared_prefix --seed 1234 --lengths hh-rlhf --pairs_per_step 8
  --max_tokens_per_batch 4096 --max_length 1024 --warmup 1 --steps 3)
echo "== start $(date -u +%FT%TZ) $(uptime)"
for shape in tiny big; do
  declare -n args=$shape
  for rep in $(seq 1 "$REPS"); do
    for bf in false true; do
      out="benchmarks/results/bench-bf16-$stamp-$shape-$bf-$rep.json"
      $RK bench --device cpu --threads "$THREADS" --bf16 $bf "${args[@]}" --output_json "$out" > /dev/null
      python3 - "$out" "$shape" "$bf" "$rep" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("%-5s bf16=%-5s rep %s: %8.0f real tok/s  (%s, matmuls %s)  load %s" % (sys.argv[2], sys.argv[3], sys.argv[4],
      d["throughput"]["real_tokens_per_s"], d["backend"], d.get("matmul_precision"), open("/proc/loadavg").read().split()[0]))
PY
    done
  done
done
python3 - benchmarks/results "$stamp" <<'PY'
import glob, json, statistics, sys
d, stamp = sys.argv[1], sys.argv[2]
for shape in ("tiny", "big"):
    tps = {bf: [json.load(open(f))["throughput"]["real_tokens_per_s"] for f in sorted(glob.glob(f"{d}/bench-bf16-{stamp}-{shape}-{bf}-*.json"))]
           for bf in ("false", "true")}
    f, b = tps["false"], tps["true"]
    print("%-5s fp32 median %.0f best %.0f | bf16 median %.0f best %.0f | ratio bf16/fp32: median %.2fx, best %.2fx"
          % (shape, statistics.median(f), max(f), statistics.median(b), max(b), statistics.median(b) / statistics.median(f), max(b) / max(f)))
PY
echo "== done $(date -u +%FT%TZ) $(uptime)"
