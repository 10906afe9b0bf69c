#!/usr/bin/env bash
# Trains the models behind docs/evaluation.md besides the default models/s2d_decoder.safetensors
# (python main.py train-decoder --linear-skip --steps 1200). Short identical schedules (batch 16)
# so the rows are comparable with each other; rerun: bash docs/scripts/train_ablations.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-300}
A=models/ablations
run() { OMP_NUM_THREADS=1 python main.py train-decoder --batch-size 16 --steps "$STEPS" "$@"; }
run --linear-skip --split expression --steps 500 --out $A/expr_S3.safetensors
run --linear-skip --loss dr --out $A/id_S1.safetensors
run --linear-skip --loss dr+pr --out $A/id_S2.safetensors
run --linear-skip --loss dr+wpr --out $A/id_S3.safetensors
run --loss dr+wpr --out $A/id_plain_S3.safetensors
run --linear-skip --normalization none --out $A/id_norm_none.safetensors
