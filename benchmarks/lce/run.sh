#!/bin/sh
# Peak memory of the policy head (forward + backward): fused linear cross-entropy vs materialised logits.
# Usage: benchmarks/lce/run.sh [TOKENS DIM VOCAB]   (default 1024 tokens, dim 32, the Qwen vocabulary 151936)
# The logits' memory does not depend on DIM; a small DIM keeps the run short on a CPU.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${TMPDIR:-/tmp}/rewardkit_lce_memory"
mkdir -p "$out"
g++ -std=c++17 -O3 -fopenmp -mavx2 -mfma -I"$root/rewardkit-kernels/native/include" "$here/lce_memory.cpp" \
    "$root/rewardkit-kernels/native/cpu/linear_cross_entropy.cpp" -o "$out/lce_memory"
T="${1:-1024}" D="${2:-32}" V="${3:-151936}"
for mode in fused naive; do "$out/lce_memory" "$mode" "$T" "$D" "$V"; done
