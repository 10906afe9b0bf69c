#!/usr/bin/env bash
# Trains the models behind docs/evaluation.md (besides the default models/s2d_decoder.safetensors).
# Short, identical schedules so the rows are comparable; rerun: bash docs/scripts/train_ablations.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-600}
A=models/ablations
run() { OMP_NUM_THREADS=1 python main.py train-decoder --steps "$STEPS" "$@"; }
queue1() {
  run --linear-skip --loss dr --out $A/id_S1.safetensors
  run --linear-skip --loss dr+pr --out $A/id_S2.safetensors
  run --linear-skip --loss dr+wpr --out $A/id_S3.safetensors
}
queue2() {
  run --linear-skip --split expression --steps 900 --out $A/expr_S3.safetensors
  run --loss dr+wpr --out $A/id_plain_S3.safetensors
  run --linear-skip --normalization none --out $A/id_norm_none.safetensors
}
queue1 > /tmp/abl_q1.log 2>&1 &
queue2 > /tmp/abl_q2.log 2>&1 &
wait
