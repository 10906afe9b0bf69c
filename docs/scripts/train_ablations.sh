#!/usr/bin/env bash
# Trains the ablation models of docs/evaluation.md (models/ablations/). Short identical schedules
# (batch 16) so the rows are comparable with each other; rerun: bash docs/scripts/train_ablations.sh
# The shipped files were trained by this script on the current data (seventh session): about a
# minute per run on one thread of the 2-core machine with the synthesis cache built (building it
# first takes ~6 min). `python main.py evaluate` skips files trained on another data config.
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
