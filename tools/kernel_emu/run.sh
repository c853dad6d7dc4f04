#!/bin/sh
# Runs RewardKit's CUDA kernel sources on the CPU through the host emulator (emu.h) and checks them
# against double references: no GPU needed (g++ >= 12 and the CUDA headers for cuda_bf16.h).
# Usage: tools/kernel_emu/run.sh [ops|flash|nf4|all] [flash case indices ...] (flash_test.cpp lists the cases)
# RK_KERNEL_DIR overrides where the kernel sources come from (e.g. a mutated copy, to see a check fail).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src="${RK_KERNEL_DIR:-$root/rewardkit-kernels/native/cuda}"
inc="${CUDA_HOME:-/usr/local/cuda}/include"
out="${TMPDIR:-/tmp}/rewardkit_kernel_emu"
mkdir -p "$out"
flags="-std=c++20 -O2 -pthread -w -I$inc -I$root/rewardkit-kernels/native/include -I$src"
what="${1:-all}"
[ $# -gt 0 ] && shift
g++ $flags -c "$here/emu.cpp" -o "$out/emu.o"
# The CPU reference kernels the checks compare against (plain g++, no emulation): attention (+ its vec_exp) for the flash
# checks; adamw, grad_norm, linear_cross_entropy and preference_loss for the checks of ops_test, nf4 for the NF4 check.
objs="$out/emu.o"
cpu="attention vec_exp"
[ "$what" = nf4 ] && cpu="nf4"
[ "$what" = flash ] || [ "$what" = nf4 ] || cpu="attention vec_exp adamw grad_norm linear_cross_entropy preference_loss nf4"
for f in $cpu; do
  g++ $flags -fopenmp -c "$root/rewardkit-kernels/native/cpu/$f.cpp" -o "$out/cpu_$f.o"
  objs="$objs $out/cpu_$f.o"
done
kernels="flash_fwd flash_bwd"  # `flash` needs only these, `nf4` only nf4; ops_test links every kernel
[ "$what" = nf4 ] && kernels="nf4"
[ "$what" = flash ] || [ "$what" = nf4 ] || kernels="convert embedding rmsnorm rope swiglu residual bias score optimizer reward_loss preference_loss linear_cross_entropy nf4 $kernels"
for f in $kernels; do
  g++ $flags -x c++ -include "$here/emu.h" -c "$src/$f.cu" -o "$out/$f.o"
  objs="$objs $out/$f.o"
done
status=0
if [ "$what" = ops ] || [ "$what" = all ]; then
  g++ $flags -fopenmp "$here/ops_test.cpp" $objs -o "$out/ops_test" && "$out/ops_test" || status=1
fi
if [ "$what" = flash ] || [ "$what" = all ]; then
  g++ $flags -fopenmp "$here/flash_test.cpp" $objs -o "$out/flash_test" && OMP_NUM_THREADS=1 "$out/flash_test" "$@" || status=1
fi
if [ "$what" = nf4 ] || [ "$what" = all ]; then
  g++ $flags -fopenmp "$here/nf4_test.cpp" $objs -o "$out/nf4_test" && "$out/nf4_test" || status=1
fi
exit $status
