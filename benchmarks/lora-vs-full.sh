#!/usr/bin/env bash
# LoRA vs full fine-tuning on CPU (issue 18): held-out accuracy on the shared hh-rlhf pairs with the tiny
# Qwen2 config, and step time / peak memory at the Qwen2.5-0.5B shape (layers cut to LAYERS). Run from
# the repository root with ../shared present; outputs under $OUT (default runs/lora-bench).
set -euo pipefail
OUT=${OUT:-runs/lora-bench}
RK=${RK:-./rewardkit}   # the launcher (a copy of the built jar keeps a long run safe from rebuilds)
LAYERS=${LAYERS:-4}
DATA=../shared/data/hh-rlhf-harmless/pairs-2000.jsonl
TOK=../shared/fixtures/tokenizers/qwen3
echo "== $(date -u +%FT%TZ) $(uptime)"
[[ -d $OUT/hh-cache ]] || $RK prepare --dataset $DATA --tokenizer $TOK --on_bad_record skip --max_length 512 \
  --output_dir $OUT/hh-cache
# The random init both runs start from: one step at learning rate 0 writes it as an HF checkpoint.
[[ -d $OUT/base/final ]] || $RK train --init_config examples/qwen2-tiny-config.json --dataset $OUT/hh-cache \
  --learning_rate 0 --max_steps 1 --report false --output_dir $OUT/base
COMMON=(--dataset $OUT/hh-cache --eval_split 0.1 --learning_rate 1e-3 --lr_scheduler_type cosine --warmup_ratio 0.1 --report false)
echo "== full $(date -u +%FT%TZ) $(uptime)"
$RK train --model_name_or_path $OUT/base/final "${COMMON[@]}" --overwrite_output_dir --output_dir $OUT/full | tail -4
echo "== lora $(date -u +%FT%TZ) $(uptime)"
$RK train --model_name_or_path $OUT/base/final --use_peft --lora_r 16 --lora_alpha 32 "${COMMON[@]}" \
  --overwrite_output_dir --output_dir $OUT/lora | tail -4
BENCH=(--device cpu --shape Qwen2.5-0.5B:${LAYERS}L --dataset $DATA --tokenizer $TOK --pairs_per_step 8
  --max_tokens_per_batch 4096 --warmup 1 --steps 3)
echo "== bench full $(date -u +%FT%TZ) $(uptime)"
$RK bench "${BENCH[@]}" --output_json $OUT/bench-full.json
echo "== bench lora $(date -u +%FT%TZ) $(uptime)"
$RK bench "${BENCH[@]}" --use_peft --lora_r 16 --lora_alpha 32 --output_json $OUT/bench-lora.json
echo "== done $(date -u +%FT%TZ) $(uptime)"
