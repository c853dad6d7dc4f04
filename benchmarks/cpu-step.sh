#!/usr/bin/env bash
# One CPU training step (forward + backward) of a Qwen2.5-0.5B-shaped reward model, next to the
# OpenBLAS sgemm rate. Needs ~11 GiB of RAM at the default 4096 tokens.
#   benchmarks/cpu-step.sh [--layers 24] [--seqs 16] [--seqlen 256] [--steps 2]
# SKIP_BUILD=1 reuses benchmarks/target/ as built; MVN_FLAGS (e.g. -o) is passed to Maven.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  mvn -B -q ${MVN_FLAGS:-} -DskipTests -pl benchmarks -am package
fi
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
# Native memory is JavaCPP's, not the Java heap: lift its default cap (= -Xmx).
exec java --enable-native-access=ALL-UNNAMED -Xmx2g \
  -Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 \
  -Dorg.bytedeco.javacpp.cachedir=benchmarks/target/javacpp-cache \
  -cp "$CP" io.rewardkit.bench.CpuStepBenchmark "$@"
