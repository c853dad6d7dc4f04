#!/bin/sh
# Extracts rewardkit-cli/target/rewardkit-<version>-linux-x86_64.tar.xz into a temp dir and runs `bin/rewardkit info`
# with an empty environment whose PATH holds only sh/readlink/dirname (no JDK), to prove the
# bundle is self-contained. Usage: scripts/bundle/verify.sh [tarball]
set -eu
here="$(cd "$(dirname "$0")/../.." && pwd)"
tarball="${1:-$(ls "$here"/rewardkit-cli/target/rewardkit-*-linux-x86_64.tar.xz | head -n 1)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/path" "$work/home"
for b in sh readlink dirname; do ln -s "$(command -v "$b")" "$work/path/$b"; done
tar -xf "$tarball" -C "$work"
launcher="$(ls "$work"/rewardkit-*/bin/rewardkit)"
env -i HOME="$work/home" PATH="$work/path" "$work/path/sh" -c \
  'if command -v java >/dev/null 2>&1; then echo "java is on PATH" >&2; exit 1; fi; exec "$0" info' "$launcher"
