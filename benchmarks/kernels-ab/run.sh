#!/usr/bin/env bash
# A/B timing of the CPU attention, SwiGLU and RMSNorm kernels, this working tree against a base revision, alternating
# call by call in one process (so both see the same machine load); prints a markdown table.
#   benchmarks/kernels-ab/run.sh [base-ref, default main] [reps, default 7]
# Compiled with the kernels' portable flags (-O3 -mavx2 -mfma -fopenmp), base sources renamed into rk_base.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base="${1:-main}"
reps="${2:-7}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
flags=(-O3 -mavx2 -mfma -fno-math-errno -fopenmp -std=gnu++17)
for f in attention swiglu rmsnorm vec_exp; do
  # vec_exp.cpp is a dependency of the others where the base has it
  git -C "$root" cat-file -e "$base:rewardkit-kernels/native/cpu/$f.cpp" 2>/dev/null || continue
  git -C "$root" show "$base:rewardkit-kernels/native/cpu/$f.cpp" > "$work/${f}_base.cpp"
  g++ "${flags[@]}" -Drk=rk_base -I"$root/rewardkit-kernels/native/include" -c "$work/${f}_base.cpp" -o "$work/${f}_base.o"
done
srcs=("$root"/rewardkit-kernels/native/cpu/{attention,swiglu,rmsnorm}.cpp)
[[ -f "$root/rewardkit-kernels/native/cpu/vec_exp.cpp" ]] && srcs+=("$root/rewardkit-kernels/native/cpu/vec_exp.cpp")
g++ "${flags[@]}" -I"$root/rewardkit-kernels/native/include" "$root/benchmarks/kernels-ab/kernels_ab.cpp" "${srcs[@]}" \
  "$work"/*_base.o -o "$work/kernels_ab"
echo "kernels-ab: base $base ($(git -C "$root" rev-parse --short "$base")) vs working tree ($(git -C "$root" rev-parse --short HEAD)); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, OMP_NUM_THREADS=${OMP_NUM_THREADS:-default}; $(date -u +%Y-%m-%dT%H:%M:%SZ); load at start $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/kernels_ab" "$reps"
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
