#!/usr/bin/env bash
# Load benchmark of `rewardkit serve` (a measurement, not a test). Starts the server on a free loopback
# port, runs the Java load client (io.rewardkit.bench.ServeLoad: C concurrent clients, a fixed number of
# one-query /get_reward requests each answered before the client's next), reads the server's peak RSS
# (VmHWM), stops it with SIGTERM (must exit 0), then times `rewardkit score` called once per request for
# comparison. Prints a markdown block for benchmarks/RESULTS.md with machine, date, commit and load.
#
#   benchmarks/serve-load.sh MODEL TEXTS [REQUESTS] [C1,C2,...] [-- serve options]
#   benchmarks/serve-load.sh /tmp/default-run synthetic 2000 8,32,128
#   benchmarks/serve-load.sh runs/hh ../shared/data/hh-rlhf-harmless/pairs-2000.jsonl 256 8,32,128 -- --max_length 512
#
# TEXTS: `synthetic` (the default model's task) or a JSONL file (see ServeLoad). Env: SKIP_BUILD=1 uses
# rewardkit-cli/target/ and benchmarks/target/ as built; SCORE_CALLS (default 3) `rewardkit score` runs for the per-request comparison.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
model="$1"; texts="$2"; requests="${3:-1000}"; conc="${4:-8,32,128}"
shift $(( $# < 4 ? $# : 4 ))
[[ "${1:-}" == "--" ]] && shift
serve_opts=("$@")

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "serve-load: building (mvn -q -DskipTests -pl benchmarks -am package) ..." >&2
  mvn -B -q -DskipTests -pl benchmarks -am package >&2
  touch rewardkit-cli/target/.launcher-stamp
fi
cp="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
work="$(mktemp -d)"
trap 'rm -rf "$work"; [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true' EXIT

load0="$(uptime | sed 's/.*load average: //')"
./rewardkit serve --model "$model" --port 0 "${serve_opts[@]}" > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$work/serve.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
url="$(grep -o 'http://[0-9.]*:[0-9]*' "$work/serve.log" | head -1)"
head -1 "$work/serve.log" >&2

table="$(java -Xss16m -cp "$cp" io.rewardkit.bench.ServeLoad "$url" "$texts" "$requests" "$conc")"
rss_kb="$(awk '/VmHWM/ {print $2}' /proc/$pid/status)"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=""
load1="$(uptime | sed 's/.*load average: //')"

# Comparison: one `rewardkit score` process per request (JVM start + model load + one text).
calls="${SCORE_CALLS:-3}"
java -cp "$cp" io.rewardkit.bench.ServeLoad --score-input "$texts" "$calls" > "$work/score-in.txt"
t0=$(date +%s.%N)
for i in $(seq 1 "$calls"); do
  sed -n "${i}p" "$work/score-in.txt" > "$work/one.jsonl"
  ./rewardkit score --model "$model" --input "$work/one.jsonl" > /dev/null
done
t1=$(date +%s.%N)
per_call="$(echo "($t1 - $t0) / $calls" | bc -l)"

echo "### serve-load: $(basename "$model"), texts $texts, $requests requests per row ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD))"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, SHARED with other sessions;"
echo "load average before / after: $load0 / $load1. Command: \`benchmarks/serve-load.sh $model $texts $requests $conc${serve_opts[*]:+ -- ${serve_opts[*]}}\`"
echo
echo "$table"
echo
printf 'Server peak RSS (VmHWM): %.0f MiB; SIGTERM exit code: %s.\n' "$(echo "$rss_kb / 1024" | bc -l)" "$rc"
printf '`rewardkit score` per request (process per call, %s calls): %.2f s per request = %.3f requests/s.\n' "$calls" "$per_call" "$(echo "1 / $per_call" | bc -l)"
