#!/usr/bin/env bash
# RewardKit vs the PyTorch/HF peer on the same GPU, one after the other, on the same pairs.
#
#   benchmarks/peers/compare.sh                 # the four target points: {Qwen2.5-0.5B, Qwen2.5-1.5B} x {hh-rlhf, ultrafeedback}
#   benchmarks/peers/compare.sh --shape Qwen2.5-1.5B --lengths ultrafeedback [more rewardkit bench options]
#
# For each point: `rewardkit bench --export_peer` writes the run's pairs + config, `rewardkit bench --device cuda`
# measures RewardKit, hf_peer.py measures the peer on the exported pairs (same pairs per optimizer step), and the
# ratios are printed: throughput (pairs/s, equal to the ratio of pair-row tokens/s since the pairs are the same)
# and peak memory. Targets: >= 3.0x on hh-rlhf, >= 1.5x on ultrafeedback; memory <= 0.6x the peer's.
# Results go to benchmarks/peers/out/<stamp>/ (gitignored); copy the printed table into benchmarks/RESULTS.md.
#
# Env: PEER_MICRO_BATCH_PAIRS (default 8), PYTHON (default python3), BENCH_OPTS (extra rewardkit bench options
# for every point). Needs a CUDA GPU, torch and transformers for the peer.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
mb="${PEER_MICRO_BATCH_PAIRS:-8}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
outroot="benchmarks/peers/out/$stamp"
mkdir -p "$outroot"

common=(--device cuda --layout shared_prefix --seed 1234 --pairs_per_step 64 --max_tokens_per_batch 16384 --max_length 2048 --warmup 3 --steps 10)
points=()
if [[ $# -gt 0 ]]; then
  points=("custom")
else
  points=("Qwen2.5-0.5B hh-rlhf" "Qwen2.5-0.5B ultrafeedback" "Qwen2.5-1.5B hh-rlhf" "Qwen2.5-1.5B ultrafeedback")
fi

summary="$outroot/summary.md"
{
  echo "| shape | lengths | RewardKit pairs/s | peer pairs/s | ratio | target | RK peak GiB | peer peak GiB | mem ratio | RK MFU | peer MFU |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$summary"

for point in "${points[@]}"; do
  if [[ "$point" == custom ]]; then
    opts=("${common[@]}" "$@")
    name="custom"
  else
    read -r shape lengths <<< "$point"
    opts=("${common[@]}" --shape "$shape" --lengths "$lengths")
    name="$shape-$lengths"
  fi
  # shellcheck disable=SC2206
  opts+=(${BENCH_OPTS:-})
  dir="$outroot/$name"
  mkdir -p "$dir"
  echo "== $name: rewardkit bench ${opts[*]}" >&2
  ./rewardkit bench "${opts[@]}" --export_peer "$dir/data" >&2
  ./rewardkit bench "${opts[@]}" --output_json "$dir/rewardkit.json" | tee "$dir/rewardkit.txt" >&2
  echo "== $name: hf_peer.py --micro-batch-pairs $mb" >&2
  "$python" benchmarks/peers/hf_peer.py --export "$dir/data" --json "$dir/peer.json" --micro-batch-pairs "$mb" >&2
  "$python" - "$dir/rewardkit.json" "$dir/peer.json" >> "$summary" <<'PY'
import json, sys
rk, peer = (json.load(open(p)) for p in sys.argv[1:3])
lengths = rk["config"]["lengths"]
target = {"hh-rlhf": 3.0, "ultrafeedback": 1.5}.get(lengths, float("nan"))
ratio = rk["throughput"]["pairs_per_s"] / peer["throughput"]["pairs_per_s"]
rk_mem = rk["memory"]["peak_bytes"] / 2**30
peer_mem = peer["memory"]["peak_reserved_bytes"] / 2**30
print(f"| {rk['config']['shape']} | {lengths} | {rk['throughput']['pairs_per_s']:.2f} | "
      f"{peer['throughput']['pairs_per_s']:.2f} | {ratio:.2f}x | >= {target:.1f}x | {rk_mem:.2f} | {peer_mem:.2f} | "
      f"{rk_mem / peer_mem:.2f}x | {100 * rk['throughput']['mfu']:.1f}% | {100 * peer['throughput']['mfu']:.1f}% |")
PY
done

{
  echo
  echo "Machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1); date $(date -u +%Y-%m-%dT%H:%M:%SZ);"
  echo "commit $(git rev-parse --short HEAD); command: benchmarks/peers/compare.sh $*; peer micro-batch $mb pairs."
  echo "RK peak = device memory in use above the level after backend start (cudaMemGetInfo, sampled after every op);"
  echo "peer peak = torch.cuda.max_memory_reserved()."
} >> "$summary"
cat "$summary"
