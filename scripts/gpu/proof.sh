#!/usr/bin/env bash
# RewardKit's first contact with a GPU as ONE call on a GPU machine that has a driver, nvcc, python3 +
# PyTorch, but no JDK and no network; plus its preparation here and a dry run without a GPU.
#
#   scripts/gpu/proof.sh prepare   (dev machine: JDK 17+, Maven, nvcc) builds target/gpu-proof/: the
#                                  bundle (jlink runtime, slim jars), the test classes + JUnit console,
#                                  the hh-rlhf pairs and the Qwen3 tokenizer from ../shared (copied into
#                                  target/, never into the repository), the flash harness built for sm_90a.
#                                  Refuses when the payload exceeds GPU_PROOF_LIMIT_MB (default 60 MiB).
#   scripts/gpu/proof.sh run       GPU machine, from the repository root, target/gpu-proof carried along
#                                  (device tool: carry ["target/gpu-proof"]). At most GPU_PROOF_BUDGET seconds
#                                  (default 540); every stage has its own limit, and $OUT (default
#                                  target/gpu-proof/out) is rewritten after every stage, so a timeout still
#                                  returns what ran: summary.md, logs.tar.gz, flashcheck.json, bench JSONs.
#   scripts/gpu/proof.sh dryrun    the same stages here, without a GPU: every stage's plumbing (the launcher,
#                                  library discovery, clean CUDA refusals, the harness on the host emulator,
#                                  JUnit selection, peer export). Exit 1 when a stage's plumbing broke.
#                                  GPU_PROOF_PAYLOAD=dev runs it from rewardkit-cli/target/classes + lib (or the class
#                                  path GPU_PROOF_CP, java GPU_PROOF_JAVA) instead of a prepared payload: what
#                                  GpuProofScriptTest does in `mvn verify`, so the script cannot rot.
#   GPU_PROOF_STAGES=env,info,...  runs a subset.
#
# Stages: env, info, flashcheck, sanitize, junit, train, bench (see each st_* function).
set -uo pipefail

self="$(readlink -f "${BASH_SOURCE[0]}")"
repo="$(cd "$(dirname "$self")/../.." && pwd)"
mode="${1:-}"
pdir="$repo/target/gpu-proof"
die() { echo "proof: $*" >&2; exit 1; }

# Kernel harness build flags (one place: prepare and the on-GPU fallback both use them).
nvcc_flags() { echo "-O3 -std=c++17 --expt-relaxed-constexpr -lineinfo -gencode=arch=compute_90a,code=sm_90a -I$repo/rewardkit-kernels/native/include"; }

# build_harness DIR: DIR/libflash_capi.so (ctypes, flashcheck.py) and DIR/flash_sanitize from the repo's kernels.
build_harness() {
  local d="$1" f o objs=""; mkdir -p "$d/obj"
  for f in rewardkit-kernels/native/cuda/flash_fwd.cu rewardkit-kernels/native/cuda/flash_bwd.cu scripts/gpu/flash_capi.cu scripts/gpu/flash_sanitize.cu; do
    o="$d/obj/$(basename "$f" .cu).o"
    nvcc $(nvcc_flags) -Xcompiler -fPIC -c "$repo/$f" -o "$o" || return 1
  done
  nvcc -shared -cudart static "$d/obj/flash_fwd.o" "$d/obj/flash_bwd.o" "$d/obj/flash_capi.o" -o "$d/libflash_capi.so" || return 1
  nvcc -cudart static "$d/obj/flash_fwd.o" "$d/obj/flash_bwd.o" "$d/obj/flash_sanitize.o" -o "$d/flash_sanitize" || return 1
  rm -rf "$d/obj"
}

# ------------------------------------------------------------------------------------------ prepare
prepare() {
  local shared="${GPU_PROOF_SHARED:-$repo/../shared}" limit_mb="${GPU_PROOF_LIMIT_MB:-60}"
  local cli="$repo/rewardkit-cli/target" tests=("$repo/rewardkit-kernels/target/test-classes" "$repo/rewardkit-core/target/test-classes")
  local tarball; tarball="$(ls "$cli"/rewardkit-*-linux-x86_64.tar.xz 2>/dev/null | head -n 1)"
  if [[ -z "$tarball" || ! -d "${tests[0]}/io" || ! -d "${tests[1]}/io" ]]; then
    # The bundle's own 60 MB check is lifted here: what must fit is the payload, checked at the end.
    echo "prepare: building the bundle and test classes (mvn -B -q -Pbundle -DskipTests -pl rewardkit-cli -am package) ..." >&2
    (cd "$repo" && mvn -B -q -Pbundle -DskipTests -Dbundle.limit.mb=1000 -pl rewardkit-cli -am package) || die "bundle build failed"
    tarball="$(ls "$cli"/rewardkit-*-linux-x86_64.tar.xz | head -n 1)"
  fi
  local junit_v=1.11.4 junit
  junit="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$junit_v/junit-platform-console-standalone-$junit_v.jar"
  [[ -f "$junit" ]] || mvn -q -B dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_v" >&2 \
    || die "cannot get the JUnit console launcher"
  local stage; stage="$(mktemp -d)"; local p="$stage/payload"
  mkdir -p "$p/junit" "$p/shared/data/hh-rlhf-harmless" "$p/shared/fixtures/tokenizers/qwen3" "$p/flash"
  tar -xf "$tarball" -C "$p" && mv "$p"/rewardkit-*/ "$p/bundle" || die "cannot unpack $tarball"
  # No stage reads Parquet/Arrow or starts the HTTP server: those jars stay here (about 8 MB less to upload).
  rm -f "$p"/bundle/lib/{parquet,arrow,aircompressor,flatbuffers,jetty,prometheus}-*.jar
  # The GPU tests (kernels.cuda) and the core tests the GPU run adds (optimizer state, HF fidelity).
  mkdir -p "$p/test-classes"; cp -a "${tests[0]}/." "${tests[1]}/." "$p/test-classes/"
  cp "$junit" "$p/junit/"
  # Test dependencies the bundle lacks (JMH is referenced by benchmark classes the GPU tests do not load).
  if [[ -d "$shared/data" ]]; then
    cp "$shared/data/hh-rlhf-harmless/pairs-2000.jsonl" "$p/shared/data/hh-rlhf-harmless/"
    cp "$shared/fixtures/tokenizers/qwen3/tokenizer.json" "$shared/fixtures/tokenizers/qwen3/tokenizer_config.json" \
      "$p/shared/fixtures/tokenizers/qwen3/"
  else
    echo "prepare: WARNING: no $shared: the hh-rlhf train stage and the shared-data tests will skip" >&2
  fi
  # Prebuilt here (nvcc 13.0 like the GPU image; the kernels compiled once for both); the run rebuilds there
  # when these do not load.
  echo "prepare: building the flash harness for sm_90a (nvcc) ..." >&2
  build_harness "$p/flash" || echo "prepare: WARNING: flash harness not built here; the run builds it there" >&2
  rm -rf "$pdir"; mkdir -p "$pdir"
  (cd "$stage" && tar -cf - payload | xz -T2 -6 > "$pdir/payload.tar.xz") || die "packing failed"
  rm -rf "$stage"
  local bytes; bytes="$(du -sb "$pdir" | cut -f1)"
  echo "prepare: $pdir is $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB (limit $limit_mb MiB);" \
    "carry it: device run with carry [\"target/gpu-proof\"], command: bash scripts/gpu/proof.sh run" >&2
  (( bytes <= limit_mb * 1048576 )) || die "payload too large for one GPU run"
}

# ---------------------------------------------------------------------------------------------- run
run_all() {
  dry="$1"
  OUT="${OUT:-$pdir/out}"; mkdir -p "$OUT"
  W="$(mktemp -d -t rk-proof.XXXXXX)"; mkdir -p "$W/logs" "$W/home"
  # The dry run runs on shared dev/CI machines where nothing is timed: three times the limits there.
  slack=$(( $1 == 1 ? 3 : 1 ))
  start=$(date +%s); deadline=$(( start + slack * ${GPU_PROOF_BUDGET:-540} ))
  STAGES="${GPU_PROOF_STAGES:-env,info,flashcheck,sanitize,junit,train,bench}"
  printf '| stage | rc | seconds | note |\n|---|---:|---:|---|\n' > "$W/stages.md"
  if [[ "${GPU_PROOF_PAYLOAD:-}" == dev ]]; then
    # rewardkit-cli/target/ of this checkout, the system java: the plumbing without a bundle (tests, quick checks).
    P="$W/payload"; mkdir -p "$P"
    JAVA="${GPU_PROOF_JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}"
    local t="$repo/rewardkit-cli/target"
    CP="${GPU_PROOF_CP:-$t/classes:$t/lib/*}"
    TESTCP="${GPU_PROOF_CP:-$repo/rewardkit-kernels/target/test-classes:$repo/rewardkit-core/target/test-classes:$CP}"
    [[ -n "${GPU_PROOF_CP:-}" || ( -f "$t/classes/io/rewardkit/cli/RewardKitCli.class" && -d "$t/lib" ) ]] \
      || die "GPU_PROOF_PAYLOAD=dev needs a built rewardkit-cli/target/ (mvn package) or GPU_PROOF_CP"
    SHARED="${GPU_PROOF_SHARED:-$repo/../shared}"
  else
    [[ -f "$pdir/payload.tar.xz" ]] || die "no $pdir/payload.tar.xz: run 'scripts/gpu/proof.sh prepare' first"
    if command -v xz >/dev/null; then tar -xJf "$pdir/payload.tar.xz" -C "$W"
    else python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$pdir/payload.tar.xz" "$W"; fi \
      || die "cannot unpack the payload"
    P="$W/payload"; JAVA="$P/bundle/runtime/bin/java"; CP="$P/bundle/lib/*"
    TESTCP="$P/test-classes:$P/bundle/lib/*:$P/junit/*"; SHARED="$P/shared"
  fi
  export W OUT P JAVA CP TESTCP SHARED dry STAGES deadline REAL_HOME="$HOME" HOME="$W/home" PYTHONUNBUFFERED=1
  local failed=0 s
  # Limits add up to the default budget (540 s, inside the device tool's 600 s per command).
  for s in "env 40" "info 40" "flashcheck 100" "sanitize 70" "junit 90" "train 100" "bench 100"; do
    stage ${s% *} $(( slack * ${s#* } )) || failed=1
  done
  publish
  echo "proof: done in $(( $(date +%s) - start )) s; $OUT/summary.md" >&2
  cat "$OUT/summary.md"
  return $failed
}

# The launcher's JVM flags (scripts/bundle/rewardkit), so dev and bundle runs are the same program.
jvm_flags() {
  RK_JVM=(--enable-native-access=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED -Xss16m -Dorg.bytedeco.javacpp.maxBytes=0
    -Dorg.bytedeco.javacpp.maxPhysicalBytes=0
    "-Dorg.bytedeco.javacpp.cachedir=$W/javacpp-cache")
}
rk() { jvm_flags; "$JAVA" "${RK_JVM[@]}" -cp "$CP" io.rewardkit.cli.RewardKitCli "$@"; }

# stage NAME LIMIT: runs st_NAME under min(LIMIT, time left), logs to $W/logs/NAME.log, republishes.
stage() {
  local name="$1" limit="$2"
  [[ ",$STAGES," == *",$name,"* ]] || return 0
  local left=$(( deadline - $(date +%s) - 10 ))
  if (( left < 20 )); then echo "| $name | - | - | skipped: budget spent |" >> "$W/stages.md"; publish; return 0; fi
  local lim=$(( limit < left ? limit : left )) t0; t0=$(date +%s)
  echo "== $name (limit ${lim}s) $(date -u +%H:%M:%S)" >&2
  timeout -k 5 "$lim" bash "$self" __stage "$name" > "$W/logs/$name.log" 2>&1
  local rc=$? note=""
  (( rc == 124 || rc == 137 )) && note="timed out at ${lim}s"
  echo "| $name | $rc | $(( $(date +%s) - t0 )) | $note |" >> "$W/stages.md"
  tail -n 4 "$W/logs/$name.log" | sed 's/^/   /' >&2
  publish
  return $rc
}

# At most 8 files come back from $OUT: summary.md, logs.tar.gz, flashcheck.json and the bench JSONs.
publish() {
  {
    echo "# RewardKit GPU proof, $(date -u +%Y-%m-%dT%H:%M:%SZ) ($([[ $dry == 1 ]] && echo "dry run, no GPU" || echo "GPU run"))"
    echo; cat "$W/stages.md"; echo
    local f
    for f in "$W"/logs/*.log; do
      [[ -f "$f" ]] || continue
      echo "## $(basename "$f" .log)"; echo '```'
      grep -E '^(KEY|RESULT|case |speed |\| )|^ *(driver|library|backend|missing|cuda:|cpu:)|tests (successful|failed|aborted|skipped)|ERROR SUMMARY|step +[0-9]+|eval_accuracy|error:' "$f" \
        | cut -c1-300 | head -n 60
      echo '```'
    done
    [[ -f "$W/flash/flashcheck.md" ]] && { echo "## flashcheck table"; cat "$W/flash/flashcheck.md"; }
  } > "$OUT/summary.md" 2>/dev/null
  [[ -f "$W/flash/flashcheck.json" ]] && cp "$W/flash/flashcheck.json" "$OUT/"
  for f in "$W"/bench/*.json; do [[ -f "$f" ]] && cp "$f" "$OUT/"; done
  (cd "$W" && tar -czf "$OUT/logs.tar.gz" logs stages.md $(ls -d flash junit-reports runs/*/metrics.jsonl 2>/dev/null)) 2>/dev/null
}

# ------------------------------------------------------------------------------------------- stages
st_env() {
  echo "KEY date $(date -u +%FT%TZ) host $(hostname) cores $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv 2>&1 | sed 's/^/KEY nvidia-smi: /'
  echo "KEY nvcc: $(nvcc --version 2>&1 | tail -n 1)"
  timeout 30 python3 -c "import torch;print('KEY torch',torch.__version__,'cuda',torch.version.cuda,'cudnn',torch.backends.cudnn.version(),'gpu',torch.cuda.get_device_name() if torch.cuda.is_available() else None)" 2>&1 | tail -n 1
  echo "KEY java: $("$JAVA" -version 2>&1 | head -n 1) (system java on PATH: $(command -v java || echo none))"
  echo "KEY compute-sanitizer: $(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1 || echo none)"
  echo "KEY LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} (RewardKit must find the CUDA 13 libraries without it)"
  return 0
}

# rewardkit info: driver, device, every CUDA library with path and version; on a GPU the backend must be ready.
st_info() {
  rk info; local rc=$?
  echo "KEY rewardkit info rc=$rc"
  (( rc == 0 )) || return 1
  if [[ $dry == 1 ]]; then rk info | grep -q "backend  not usable here (no CUDA device)" || { echo "KEY unexpected verdict"; return 1; }
  else rk info | grep -q "backend  ready" || { echo "KEY the CUDA backend is not ready"; return 1; }; fi
}

st_flashcheck() {
  mkdir -p "$W/flash"
  if [[ $dry == 1 ]]; then
    # No GPU: the same harness on the host emulator (tools/kernel_emu), two small cases, when torch is here.
    python3 -m py_compile "$repo/scripts/gpu/flashcheck.py" || return 1
    if ! python3 -c "import torch" 2>/dev/null || [[ "${GPU_PROOF_EMU:-1}" == 0 ]]; then
      echo "KEY flashcheck.py compiles; emulator run skipped (no torch here, or GPU_PROOF_EMU=0)"; return 0
    fi
    local e="$repo/tools/kernel_emu" o="$W/emu" f
    local flags="-std=c++20 -O1 -pthread -w -fPIC -I${CUDA_HOME:-/usr/local/cuda}/include -I$repo/rewardkit-kernels/native/include -I$repo/rewardkit-kernels/native/cuda"
    mkdir -p "$o"; g++ $flags -c "$e/emu.cpp" -o "$o/emu.o" || return 1
    for f in "$repo/rewardkit-kernels/native/cuda/flash_fwd.cu" "$repo/rewardkit-kernels/native/cuda/flash_bwd.cu" "$repo/scripts/gpu/flash_capi.cu"; do
      g++ $flags -x c++ -include "$e/emu.h" -c "$f" -o "$o/$(basename "$f" .cu).o" || return 1
    done
    g++ -shared -pthread "$o"/*.o -o "$o/libflash_capi_emu.so" || return 1
    python3 "$repo/scripts/gpu/flashcheck.py" --lib "$o/libflash_capi_emu.so" --emu --cases 2,4 --out "$W/flash"
    return $?
  fi
  local lib="$P/flash/libflash_capi.so"
  if ! python3 -c "import ctypes,sys; ctypes.CDLL(sys.argv[1])" "$lib" 2>/dev/null; then
    echo "KEY prebuilt libflash_capi.so does not load here; building the harness with nvcc"
    build_harness "$W/harness" || return 1
    lib="$W/harness/libflash_capi.so"
  fi
  python3 "$repo/scripts/gpu/flashcheck.py" --lib "$lib" --out "$W/flash"
}

st_sanitize() {
  local cs; cs="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)"
  if [[ $dry == 1 || -z "$cs" ]]; then echo "KEY sanitize skipped: $([[ $dry == 1 ]] && echo "no GPU" || echo "no compute-sanitizer")"; return 0; fi
  local exe="$P/flash/flash_sanitize"
  if ! "$exe" >/dev/null 2>&1; then
    [[ -x "$W/harness/flash_sanitize" ]] || build_harness "$W/harness" || return 1
    exe="$W/harness/flash_sanitize"
  fi
  local rc=0 t r
  for t in memcheck racecheck synccheck initcheck; do
    echo "KEY --- $t"; timeout 60 "$cs" --tool "$t" --error-exitcode 9 "$exe"; r=$?
    echo "KEY sanitizer $t rc=$r"; (( r != 0 )) && rc=$r
  done
  return $rc
}

# The GPU JUnit tests with the bundle's own runtime (they skip with the probe's reason without a GPU).
st_junit() {
  local launcher sel=(--select-package io.rewardkit.kernels.cuda)
  launcher="$(ls "$P"/junit/junit-platform-console-standalone-*.jar \
    "$REAL_HOME"/.m2/repository/org/junit/platform/junit-platform-console-standalone/*/*.jar 2>/dev/null | head -n 1)"
  if [[ -z "$launcher" ]]; then echo "KEY junit skipped: no JUnit console launcher (prepare adds it)"; [[ $dry == 1 ]]; return; fi
  # On the GPU also the CUDA cases of the optimizer-state and HF-fidelity tests (CPU-heavy: not in the dry run).
  [[ $dry == 1 ]] || sel+=(--select-class io.rewardkit.train.OptimizerStateTest --select-class io.rewardkit.model.HfFidelityTest)
  jvm_flags
  "$JAVA" "${RK_JVM[@]}" -Drewardkit.shared="$SHARED" -cp "$TESTCP:$launcher" org.junit.platform.console.ConsoleLauncher execute \
    --disable-banner --disable-ansi-colors --details=tree "${sel[@]}" --reports-dir "$W/junit-reports"
}

# train --device cuda on the default task and on the shared hh-rlhf pairs, each against the same run on CPU.
st_train() {
  local rc=0 r
  train_pair default "" --max_steps 120 || rc=1
  if [[ -f "$SHARED/data/hh-rlhf-harmless/pairs-2000.jsonl" ]]; then
    train_pair hh "" --init_config "$repo/examples/qwen2-tiny-config.json" --tokenizer "$SHARED/fixtures/tokenizers/qwen3" \
      --dataset "$SHARED/data/hh-rlhf-harmless/pairs-2000.jsonl" --on_bad_record skip --eval_split 0.1 --max_length 512 \
      --max_tokens_per_batch 8192 --learning_rate 1e-3 --lr_scheduler_type cosine --warmup_ratio 0.1 --max_steps 20 || rc=1
  else
    echo "KEY hh-rlhf run skipped: no $SHARED/data"
  fi
  # LoRA (--use_peft, the CUDA low-rank GEMMs) on the default run's CPU checkpoint as the frozen base, on 64 pairs
  # of its copy task, against the same run on CPU. Last, so it cannot starve the runs above. The dry run has no
  # base: its cuda run must refuse (no device) before reading one, so any existing directory stands in.
  local base="$W/runs/default-cpu/final"; [[ $dry == 1 ]] && base="$W"
  copy_pairs 64 > "$W/copy-pairs.jsonl"
  train_pair lora "" --model_name_or_path "$base" --tokenizer byte --max_length 64 --dataset "$W/copy-pairs.jsonl" \
    --eval_split 0.25 --use_peft --lora_r 8 --lora_alpha 16 --learning_rate 1e-3 --max_steps 20 || rc=1
  return $rc
}

# copy_pairs N: N preference pairs of the embedded default's task ("copy abc:" -> "abc" chosen over a one-letter
# edit), as JSONL, seeded (awk's srand(7)).
copy_pairs() {
  awk -v n="$1" 'BEGIN { srand(7); s = "abcdefgh"
    for (i = 0; i < n; i++) {
      w = ""; for (k = 0; k < 3; k++) w = w substr(s, int(rand() * 8) + 1, 1)
      p = int(rand() * 3) + 1; c = substr(s, int(rand() * 8) + 1, 1); if (c == substr(w, p, 1)) c = (c == "a" ? "b" : "a")
      printf "{\"prompt\": \"copy %s:\", \"chosen\": \"%s\", \"rejected\": \"%s\"}\n", w, w, substr(w, 1, p - 1) c substr(w, p + 1)
    } }'
}

train_pair() {  # TAG _ OPTIONS...: cuda run, then the same on cpu; on the dry run cuda must refuse cleanly
  local tag="$1"; shift 2
  local t0=$(date +%s) r
  rk train --device cuda --logging_steps 10 --output_dir "$W/runs/$tag-cuda" "$@" > "$W/logs/train-$tag-cuda.txt" 2>&1; r=$?
  echo "KEY $tag --device cuda rc=$r $(( $(date +%s) - t0 ))s: $(grep -E 'error:|eval_accuracy' "$W/logs/train-$tag-cuda.txt" | tail -n 1 | cut -c1-200)"
  if [[ $dry == 1 ]]; then
    grep -q "error: --device cuda: no CUDA device" "$W/logs/train-$tag-cuda.txt" && (( r == 1 )) \
      || { echo "KEY dry run: expected a one-line 'no CUDA device' refusal with exit code 1"; cat "$W/logs/train-$tag-cuda.txt"; return 1; }
    return 0
  fi
  t0=$(date +%s)
  rk train --device cpu --logging_steps 10 --output_dir "$W/runs/$tag-cpu" "$@" > "$W/logs/train-$tag-cpu.txt" 2>&1
  echo "KEY $tag --device cpu rc=$? $(( $(date +%s) - t0 ))s"
  local d m
  for d in cuda cpu; do
    m="$W/runs/$tag-$d/metrics.jsonl"
    [[ -f "$m" ]] && echo "RESULT $tag $d first: $(head -n 1 "$m" | cut -c1-220)" && echo "RESULT $tag $d last: $(tail -n 1 "$m" | cut -c1-220)"
  done
  return $r
}

# bench --device cuda on the Qwen2.5-0.5B shape with hh-rlhf lengths, and the HF peer on the same pairs.
st_bench() {
  mkdir -p "$W/bench"
  local opts=(--shape Qwen2.5-0.5B --lengths hh-rlhf --layout shared_prefix --seed 1234 --pairs_per_step 32 --max_tokens_per_batch 16384 --max_length 2048 --warmup 2 --steps 5)
  rk bench "${opts[@]}" --export_peer "$W/bench/peer-data" || return 1
  echo "KEY peer export: $(ls "$W/bench/peer-data" | tr '\n' ' ')"
  if [[ $dry == 1 ]]; then
    python3 -m py_compile "$repo/benchmarks/peers/hf_peer.py" 2>/dev/null && echo "KEY hf_peer.py compiles"
    rk bench --device cuda "${opts[@]}" > "$W/bench/rk.txt" 2>&1; local r=$?
    grep -q "no CUDA device" "$W/bench/rk.txt" && (( r != 0 )) || { echo "KEY expected a clean refusal"; cat "$W/bench/rk.txt"; return 1; }
    echo "KEY bench --device cuda refuses cleanly without a GPU (rc=$r)"; return 0
  fi
  rk bench --device cuda "${opts[@]}" --output_json "$W/bench/rk-q05-hh.json"; local rc=$?
  echo "KEY rk bench rc=$rc"
  python3 "$repo/benchmarks/peers/hf_peer.py" --export "$W/bench/peer-data" --json "$W/bench/peer-q05-hh.json" --micro-batch-pairs 8
  echo "KEY peer rc=$?"
  python3 - "$W/bench/rk-q05-hh.json" "$W/bench/peer-q05-hh.json" <<'PY' || true
import json, sys
rk, peer = (json.load(open(p)) for p in sys.argv[1:3])
r = rk["throughput"]["pairs_per_s"] / peer["throughput"]["pairs_per_s"]
print(f"RESULT RewardKit {rk['throughput']['pairs_per_s']:.2f} pairs/s, HF peer {peer['throughput']['pairs_per_s']:.2f} pairs/s:"
      f" ratio {r:.2f}x")
PY
  return $rc
}

case "$mode" in
  __stage) st_"$2" ;;  # one stage in its own process, so `timeout` can bound it (see stage())
  prepare) prepare ;;
  run) run_all 0 ;;
  dryrun) run_all 1 ;;
  *) die "usage: scripts/gpu/proof.sh prepare | run | dryrun" ;;
esac
