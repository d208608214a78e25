#!/usr/bin/env bash
# One run of docs/gan.md's AAE-against-VAE experiment: a model of FAMILY (aae, or vae for the
# comparison) trained on MNIST to EPOCHS, judged after every epoch (models/judge.evae, 2,000
# samples); then on the 10,000 test images its reconstruction error x -> E -> G (z = E(x), or mu),
# its code_kl (a Gaussian fitted to the codes against N(0, I)) and a grid of samples; then the
# one-class protocol of docs/anomaly.md (a model per digit, ONECLASS_EPOCHS epochs, int8, AUROC
# of mse and mse-icr over all test images) unless ONECLASS_EPOCHS=0.
#   [SHAPE=aae-deep] tools/aae-experiment.sh OUT_DIR aae|vae LAMBDA SEED [EPOCHS] [THREADS]
# (LAMBDA: the AAE's.) SHAPE is the table (default: the family's, aae or mnist).
# Writes OUT_DIR/epochs.jsonl, OUT_DIR/model.evae, OUT_DIR/samples.png,
# OUT_DIR/reconstructions.png, OUT_DIR/eval.json, OUT_DIR/reconstruction.json and
# OUT_DIR/oneclass.jsonl (one line per digit).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 family=$2 lambda=$3 seed=$4 epochs=${5:-30} threads=${6:-1}
oneclass_epochs=${ONECLASS_EPOCHS:-30}
edgevae=${EDGEVAE:-build/release/tools/edgevae}
mnist=data/mnist
mkdir -p "$out"
flags=(--family "$family")
[[ -n ${SHAPE:-} ]] && flags=(--shape "$SHAPE")
flags+=(--seed "$seed" --threads "$threads")
# The adversarial families' settings (batch 64, the CLI's lr 2e-4 and beta1 0.5); the VAE's
# defaults (batch 128, lr 1e-3) otherwise.
if [[ $family == aae ]]; then flags+=(--aae-lambda "$lambda" --batch 64); fi
"$edgevae" train "${flags[@]}" --epochs "$epochs" --judge models/judge.evae --judge-samples 2000 \
  --out "$out/model.evae" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["epochs"]:
    print(json.dumps(e))' > "$out/epochs.jsonl"
"$edgevae" sample --model "$out/model.evae" -n 64 --seed 1 --out "$out/samples.png" --no-preview >/dev/null
"$edgevae" reconstruct --model "$out/model.evae" -n 16 --out "$out/reconstructions.png" \
  --no-preview >/dev/null
"$edgevae" eval --model "$out/model.evae" --data "$mnist" --json > "$out/eval.json"
for method in mse bce; do
  "$edgevae" score --model "$out/model.evae" --input "$mnist/t10k-images-idx3-ubyte" \
    --method "$method" --threads "$threads" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
scores = [json.loads(l)["score"] for l in sys.stdin if "score" in l and "summary" not in l]
print(json.dumps({"method": sys.argv[1], "images": len(scores), "mean": sum(scores) / len(scores)}))' "$method"
done > "$out/reconstruction.json"
[[ $oneclass_epochs == 0 ]] && exit 0
: > "$out/oneclass.jsonl"
for d in 0 1 2 3 4 5 6 7 8 9; do
  m="$out/oneclass$d"
  "$edgevae" train "${flags[@]}" --epochs "$oneclass_epochs" --classes "$d" --out "$m.evae" \
    >/dev/null 2>&1
  "$edgevae" convert --in "$m.evae" --dtype int8 --calib-data "$mnist" --threads "$threads" \
    --out "$m.q8.evae" >/dev/null
  line="{\"digit\": $d"
  for method in mse mse-icr; do
    a=$("$edgevae" score --model "$m.q8.evae" --input "$mnist/t10k-images-idx3-ubyte" \
          --labels "$mnist/t10k-labels-idx1-ubyte" --method "$method" --threads "$threads" \
          --json --summary-only | /usr/bin/python3 -c '
import json, sys; print("%.4f" % json.loads(sys.stdin.read().splitlines()[-1])["summary"]["auroc"])')
    line+=", \"$method\": $a"
  done
  echo "$line}" >> "$out/oneclass.jsonl"
done
