#!/bin/sh
# Static resource usage of the flash-attention kernels (registers, stack, spills per kernel) as ptxas reports it:
# no GPU needed, only nvcc. Usage: tools/kernel_emu/resource_usage.sh [arch (default sm_80)] [kernel source dir]
# The headers are taken from <kernel source dir>/../include. Prints "kernel | registers | stack frame | spill stores | spill loads" rows (markdown).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
arch="${1:-sm_80}"
src="${2:-$root/rewardkit-kernels/native/cuda}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "| kernel ($arch) | registers | stack frame | spill stores | spill loads |"
echo "|---|---|---|---|---|"
for f in flash_fwd flash_bwd; do
  nvcc -std=c++17 --expt-relaxed-constexpr -O3 -arch="$arch" -Xptxas -v -I"$src/../include" -I"$src" \
    -c "$src/$f.cu" -o "$out/$f.o" 2> "$out/$f.log"
  awk '/Compiling entry/ { match($0, /_Z[A-Za-z0-9_]*/); name = substr($0, RSTART, RLENGTH) }
       /bytes stack frame/ { for (i = 1; i <= NF; i++) { if ($i == "stack") st = $(i-2); if ($i == "stores,") ss = $(i-3); if ($i == "loads") sl = $(i-3) } }
       /Used [0-9]+ registers/ { match($0, /Used [0-9]+/); print name "\t" substr($0, RSTART + 5, RLENGTH - 5) "\t" st "\t" ss "\t" sl }' "$out/$f.log"
done | c++filt | sed 's/rk::cuda::flash:://g; s/(Params)//' | sort -t'	' -k1,1 | awk -F'\t' '{ print "| " $1 " | " $2 " | " $3 " | " $4 " | " $5 " |" }'
