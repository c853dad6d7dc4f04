#!/usr/bin/env bash
# Runs the JMH suite with short settings and writes JSON + a markdown report to benchmarks/results/.
#
#   benchmarks/run-jmh.sh                      # CPU: ceilings + every hot-path op at Qwen2.5-0.5B, 2048 tokens
#   benchmarks/run-jmh.sh --gpu                # GPU: the same ops on the CUDA backend at the GPU shapes/budgets
#   benchmarks/run-jmh.sh 'TokenizePack|CpuStep'   # any JMH include regex
#   benchmarks/run-jmh.sh HotPathOps -p op=attention.fwd,attention.bwd -p tokens=4096   # extra args go to JMH
#
# Short configuration (documented here, used for every figure in benchmarks/RESULTS.md): one fork, 2 warm-up
# and 3 measurement iterations of 1 s each (-f 1 -wi 2 -i 3 -w 1s -r 1s). JMH's defaults (5 forks x 5+5
# iterations of 10 s) take ~8 minutes per benchmark on 2 cores. Override with JMH_OPTS.
# Env: SKIP_BUILD=1 reuses benchmarks/target/ as built; JMH_OPTS replaces the short settings.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
invocation="benchmarks/run-jmh.sh${*:+ $*}"

short=(-f 1 -wi 2 -i 3 -w 1s -r 1s)
if [[ -n "${JMH_OPTS:-}" ]]; then read -r -a short <<< "$JMH_OPTS"; fi

include='io.rewardkit.bench.(CeilingsBenchmark|HotPathOpsBenchmark)'
extra=()
if [[ "${1:-}" == "--gpu" ]]; then
  shift
  # GPU point: the 0.5B and 1.5B shapes at realistic budgets; ceilings are the cuBLASLt/D2D ones.
  extra=(-p device=cuda -p shape=Qwen2.5-0.5B,Qwen2.5-1.5B -p tokens=16384 -p seqlen=512,2048)
elif [[ $# -gt 0 && "${1:0:1}" != "-" ]]; then
  include="$1"
  shift
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "run-jmh: building (mvn -q -DskipTests -pl benchmarks -am package) ..." >&2
  mvn -B -q -DskipTests -pl benchmarks -am package >&2
fi
[[ -f benchmarks/target/classpath.txt ]] || { echo "run-jmh: benchmarks/target/classpath.txt missing; build first" >&2; exit 1; }
cp="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"

mkdir -p benchmarks/results
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
load0="$(cut -d" " -f1-3 /proc/loadavg)"
out="benchmarks/results/jmh-$stamp.json"
java --enable-native-access=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED -Xss16m -cp "$cp" org.openjdk.jmh.Main \
  "${short[@]}" -rf json -rff "$out" "$include" ${extra[@]+"${extra[@]}"} "$@"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
{
  echo "# JMH run $stamp"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)"
  echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit, JMH ${short[*]}, load average at start/end: $load0 / $(cut -d" " -f1-3 /proc/loadavg)"
  echo
  java -cp "$cp" io.rewardkit.bench.JmhReport "$out" "$invocation  (JMH: ${short[*]} $include ${extra[*]+${extra[*]} }$*)"
} > "${out%.json}.md"
echo "run-jmh: results in $out and ${out%.json}.md" >&2
cat "${out%.json}.md"
