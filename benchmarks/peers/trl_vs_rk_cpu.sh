#!/usr/bin/env bash
# RewardKit vs TRL's RewardTrainer on CPU, same initialisation, pairs, tokenization and --max_length (issue 17).
#
#   benchmarks/peers/trl_vs_rk_cpu.sh            # one command: both shapes, RK, TRL, RK, TRL each, 2 threads
#
# Env: THREADS (default 2), TINY_STEPS (default 62: one epoch of the 1749 train pairs), BIG_STEPS (default 20),
# SHAPES ("tiny big"), REPS (2), RK_VARIANTS (RewardKit runs per rep, default "env": the environment as it is;
# "own-blas": OPENBLAS_CORETYPE unset so OpenBLAS picks its kernels for this CPU; "bf16": --bf16 true;
# "own-blas-bf16": both), PYTHON (a python3 with torch, transformers, trl and datasets), OUT (results folder,
# default benchmarks/peers/out/trl-cpu-<stamp>, gitignored).
# Shapes: examples/qwen2-tiny-config.json (19.8M parameters) and examples/shapes/qwen2.5-0.5b-config.json cut to
# 2 layers. Data: the 2000 shared hh-rlhf pairs (../shared), prepared once with the Qwen3 tokenizer fixture at
# --max_length 512. Both trainers start from one HF checkpoint made by transformers with a fixed seed
# (trl_cpu.py init) and hold out the same 10 % of pairs. The runs alternate (RK variants, TRL, RK variants, TRL) so a change
# of machine load hits both; the table gives each run, the median ratio and `uptime` before and after.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
threads="${THREADS:-2}"
tiny_steps="${TINY_STEPS:-62}"
big_steps="${BIG_STEPS:-20}"
shapes="${SHAPES:-tiny big}"
reps="${REPS:-2}"
variants="${RK_VARIANTS:-env}"
out="${OUT:-benchmarks/peers/out/trl-cpu-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
"$python" -c "import torch, transformers, trl, datasets" 2>/dev/null \
  || { echo "trl_vs_rk_cpu.sh: $python lacks torch/transformers/trl/datasets (set PYTHON)" >&2; exit 2; }

cache="$out/hh-cache"
if [[ ! -f "$cache/manifest.json" ]]; then
  ./rewardkit prepare --dataset ../shared/data/hh-rlhf-harmless/pairs-2000.jsonl \
    --tokenizer ../shared/fixtures/tokenizers/qwen3 --on_bad_record skip --max_length 512 --output_dir "$cache" \
    > "$out/prepare.log" 2>&1
fi
eff=$("$python" -c "import json;print(json.load(open('$cache/manifest.json'))['packing_epoch0']['efficiency'])")

"$python" - "$out/big-config.json" <<'PY'
import json, sys
c = json.load(open("examples/shapes/qwen2.5-0.5b-config.json"))
c["num_hidden_layers"] = 2
c.pop("layer_types", None)
c["max_window_layers"] = 2
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY

summary="$out/summary.md"
{
  echo "uptime before: $(uptime)"
  echo
  echo "| shape | run, RK variant | RK real tok/s | TRL real tok/s | ratio | RK slots/s | TRL slots/s | per-slot RK/PyTorch | TRL padding eff. | RK eval acc | TRL eval acc | load (1 min) after RK / before TRL |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$summary"

for shape in $shapes; do
  case "$shape" in
    tiny) cfg=examples/qwen2-tiny-config.json; steps=$tiny_steps ;;
    big) cfg="$out/big-config.json"; steps=$big_steps ;;
    *) echo "trl_vs_rk_cpu.sh: unknown shape $shape (tiny, big)" >&2; exit 2 ;;
  esac
  init="$out/$shape-init"
  [[ -f "$init/config.json" ]] || "$python" benchmarks/peers/trl_cpu.py init --config "$cfg" --seed 0 --out "$init" \
    --tokenizer ../shared/fixtures/tokenizers/qwen3 > "$out/$shape-init.log"
  for rep in $(seq 1 "$reps"); do
    # RewardKit's variants first, then TRL: each rep alternates the two trainers
    for variant in $variants; do
      case "$variant" in
        env) rk_env=(); rk_args=() ;;                                   # the environment as it is
        own-blas) rk_env=(-u OPENBLAS_CORETYPE); rk_args=() ;;          # OpenBLAS picks its kernels for this CPU
        bf16) rk_env=(); rk_args=(--bf16 true) ;;                       # bf16 GEMMs (AVX512-BF16)
        own-blas-bf16) rk_env=(-u OPENBLAS_CORETYPE); rk_args=(--bf16 true) ;;
        *) echo "trl_vs_rk_cpu.sh: unknown RK variant $variant (env, own-blas, bf16, own-blas-bf16)" >&2; exit 2 ;;
      esac
      rk="$out/$shape-rk-$variant-$rep"
      rm -rf "$rk"
      env "${rk_env[@]}" ./rewardkit train --model_name_or_path "$init" --dataset "$cache" --eval_split 0.1 \
        --learning_rate 1e-3 --lr_scheduler_type cosine --warmup_ratio 0.1 --max_steps "$steps" --save_steps 0 \
        --threads "$threads" "${rk_args[@]}" --output_dir "$rk" > "$rk.log" 2>&1
      echo "$(cut -d' ' -f1 /proc/loadavg)" > "$rk.load"
    done
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$python" benchmarks/peers/trl_cpu.py train --model "$init" --cache "$cache" --eval_split 0.1 --threads "$threads" \
      --max_steps "$steps" --output_dir "$out/$shape-trl-$rep" --json "$out/$shape-trl-$rep.json" > "$out/$shape-trl-$rep.log" 2>&1
    for variant in $variants; do
      rk="$out/$shape-rk-$variant-$rep"
      "$python" - "$rk/metrics.jsonl" "$out/$shape-trl-$rep.json" "$eff" "$shape" "$rep $variant" "$(cat "$rk.load") / $load" \
        >> "$summary" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
train = [r for r in recs if r.get("record") == "train"][-1]
end = [r for r in recs if r.get("record") == "run_end"][-1]
trl = json.load(open(sys.argv[2]))
eff = float(sys.argv[3])
rk_tps = train["tokens_per_s"]
rk_slots = rk_tps / eff  # budget packing: slots = real tokens / packing efficiency
ratio = rk_tps / trl["real_tokens_per_s"]
per_slot = rk_slots / trl["slots_per_s"]
print(f"| {sys.argv[4]} | {sys.argv[5]} | {rk_tps:.0f} | {trl['real_tokens_per_s']:.0f} | {ratio:.2f}x | {rk_slots:.0f} | "
      f"{trl['slots_per_s']:.0f} | {per_slot:.2f} | {trl['padding_efficiency']:.3f} | "
      f"{end['final'].get('eval_accuracy', float('nan')):.3f} | {trl['eval_accuracy']:.3f} | {sys.argv[6]} |")
PY
      tail -n 1 "$summary"
    done
  done
done
echo >> "$summary"
echo "uptime after: $(uptime)" >> "$summary"
echo "threads $threads, steps tiny $tiny_steps / big $big_steps, RK packing efficiency $eff; logs in $out" >> "$summary"
cat "$summary"
