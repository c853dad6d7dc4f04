#!/bin/sh
# Builds and runs the host emulation of the FlashAttention kernels (no GPU needed; needs g++ >= 12
# and the CUDA headers for cuda_bf16.h). Usage: tools/flash_emu/run.sh [case 0-3]
# RK_KERNEL_DIR overrides where the kernel headers come from (e.g. a mutated copy, to see it fail).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
cuda_inc="${CUDA_HOME:-/usr/local/cuda}/include"
out="${TMPDIR:-/tmp}/rewardkit_flash_emu"
g++ -std=c++20 -O2 -pthread -I"$cuda_inc" -I"$here/../../native/include" -I"${RK_KERNEL_DIR:-$here/../../native/cuda}" \
  "$here/flash_emu.cpp" -o "$out"
exec "$out" "$@"
