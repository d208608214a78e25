#!/usr/bin/env bash
# One run of docs/gan.md's ALI experiment: ALI trained on MNIST with one encoder-and-generator
# loss to EPOCHS, judged after every epoch (models/judge.evae, 2,000 samples), then its
# reconstruction error x -> E -> G (z = mu) over the 10,000 test images and a grid of samples.
#   [SHAPE=ali-deep] tools/ali-experiment.sh OUT_DIR su|standard SEED [EPOCHS] [THREADS]
# SHAPE is ALI's table (default ali, the seed paper's sizes); TRAIN_ARGS, more `edgevae train`
# flags (e.g. "--gan-reg 1").
# Writes OUT_DIR/epochs.jsonl (one JSON object per epoch), OUT_DIR/ali.evae,
# OUT_DIR/samples.png, OUT_DIR/reconstructions.png and OUT_DIR/reconstruction.json (mean mse and
# bce per test image).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 loss=$2 seed=$3 epochs=${4:-30} threads=${5:-1}
edgevae=${EDGEVAE:-build/release/tools/edgevae}
read -r -a extra <<< "${TRAIN_ARGS:-}"
mkdir -p "$out"
"$edgevae" train --shape "${SHAPE:-ali}" --ali-loss "$loss" --epochs "$epochs" --batch 64 --seed "$seed" \
  --threads "$threads" --judge models/judge.evae --judge-samples 2000 --out "$out/ali.evae" \
  "${extra[@]}" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["epochs"]:
    print(json.dumps(e))' > "$out/epochs.jsonl"
"$edgevae" sample --model "$out/ali.evae" -n 64 --seed 1 --out "$out/samples.png" --no-preview >/dev/null
"$edgevae" reconstruct --model "$out/ali.evae" -n 16 --out "$out/reconstructions.png" \
  --no-preview >/dev/null
for method in mse bce; do
  "$edgevae" score --model "$out/ali.evae" --input data/mnist/t10k-images-idx3-ubyte \
    --method "$method" --threads "$threads" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
scores = [json.loads(l)["score"] for l in sys.stdin if "score" in l and "summary" not in l]
print(json.dumps({"method": sys.argv[1], "images": len(scores), "mean": sum(scores) / len(scores)}))' "$method"
done > "$out/reconstruction.json"
