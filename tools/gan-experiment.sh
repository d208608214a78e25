#!/usr/bin/env bash
# One run of docs/gan.md's experiment: a GAN trained on MNIST to --epochs, judged after every
# epoch (models/judge.evae, 2,000 samples), with a grid of 64 samples saved at epochs 1, 5, 10,
# 25, 50 and 100. Training stops at each of those epochs and resumes (bit for bit the same as an
# uninterrupted run) so that the grid can be drawn.
#   [SHAPE=gan-deep] tools/gan-experiment.sh OUT_DIR LAMBDA D_STEPS G_STEPS SEED [EPOCHS] [THREADS]
# SHAPE is the GAN's table (default gan, the seed paper's 20-400-784 generator); TRAIN_ARGS, more
# `edgevae train` flags (e.g. "--lr-decay 0.98").
# Writes OUT_DIR/epochs.jsonl (one JSON object per epoch: losses of both players and the judge's
# figures), OUT_DIR/gan.evae (the checkpoint) and OUT_DIR/samples-EPOCH.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 lambda=$2 d=$3 g=$4 seed=$5 epochs=${6:-100} threads=${7:-1}
edgevae=${EDGEVAE:-build/release/tools/edgevae}
shape=${SHAPE:-gan}
read -r -a extra <<< "${TRAIN_ARGS:-}"
mkdir -p "$out"
: > "$out/epochs.jsonl"
ckpt="$out/gan.evae"
done_epochs=0
for milestone in 1 5 10 25 50 100 200 500; do
  (( milestone > epochs )) && milestone=$epochs
  (( milestone <= done_epochs )) && continue
  resume=()
  (( done_epochs > 0 )) && resume=(--resume "$ckpt")
  "$edgevae" train --shape "$shape" --epochs "$milestone" --batch 64 --gan-reg "$lambda" \
    --d-steps "$d" --g-steps "$g" --seed "$seed" --threads "$threads" \
    --judge models/judge.evae --judge-samples 2000 --out "$ckpt" "${resume[@]}" "${extra[@]}" --json \
    2>/dev/null | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["epochs"]:
    print(json.dumps(e))' >> "$out/epochs.jsonl"
  "$edgevae" sample --model "$ckpt" -n 64 --seed 1 --out "$out/samples-$milestone.png" \
    --no-preview >/dev/null
  done_epochs=$milestone
  (( done_epochs >= epochs )) && break
done
