#!/bin/sh
# Prints what the bundle is made of (jlink runtime, each jar, launcher) and fails when the tarball
# exceeds the limit. The GPU test machines accept at most 64 MiB of uploads per run, and the tarball
# must fit there with room for the proof harness, so every new dependency shows up here by name.
# Usage: scripts/bundle/size-check.sh BUNDLE_DIR TARBALL LIMIT_MB    (MB = 10^6 bytes)
set -eu
dir="$1"; tarball="$2"; limit_mb="$3"
[ -d "$dir" ] && [ -f "$tarball" ] || { echo "size-check: missing $dir or $tarball" >&2; exit 1; }
mb() { awk -v b="$1" 'BEGIN { printf "%7.2f MB", b / 1e6 }'; }
bytes() { du -sb "$1" | cut -f1; }
echo "bundle contents (uncompressed):"
echo "  $(mb "$(bytes "$dir/runtime")")  runtime/ (jlink)"
# Largest jars first: a dependency that grows the bundle is at the top.
for j in "$dir"/lib/*.jar; do echo "$(bytes "$j") $(basename "$j")"; done | sort -rn | while read -r b n; do
  echo "  $(mb "$b")  lib/$n"
done
echo "  $(mb "$(bytes "$dir/bin")")  bin/"
total="$(bytes "$dir")"
size="$(wc -c < "$tarball" | tr -d ' ')"
echo "  $(mb "$total")  total; tarball $(basename "$tarball"): $(mb "$size") (limit ${limit_mb} MB)"
if [ "$size" -gt $((limit_mb * 1000000)) ]; then
  echo "size-check: FAILED: the bundle is $(mb "$size"), over the ${limit_mb} MB limit (see the breakdown above)" >&2
  exit 1
fi
