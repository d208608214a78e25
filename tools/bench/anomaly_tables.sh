#!/usr/bin/env bash
# Reproduces the anomaly-detection tables of docs/anomaly.md (int8 models throughout):
#   1. one-class MNIST: a model per digit trained on that digit's training images only, scored
#      on all 10,000 test images (the other nine digits are the anomalies), AUROC per method;
#   2. MNIST-trained model: MNIST test (normal) vs Fashion-MNIST test (anomalies);
#   3. Fashion-MNIST-trained model: Fashion test (normal) vs MNIST test (anomalies);
#   4. throughput of `edgevae score --method elbo` (and the threading alternatives).
# Usage: tools/bench/anomaly_tables.sh [OUT_DIR]   (default out/anomaly; models are kept there)
# Env: BUILD (build/release), MNIST (data/mnist), FASHION (/usr/share/datasets/fashion-mnist,
#      Debian's dataset-fashion-mnist), ONECLASS_EPOCHS (60), EPOCHS (10), SEED (1), THREADS (2),
#      PARTS (the tables to make, of "oneclass ood throughput"; default all three).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-$root/build/release}"
MNIST="${MNIST:-$root/data/mnist}"
FASHION="${FASHION:-/usr/share/datasets/fashion-mnist}"
ONECLASS_EPOCHS="${ONECLASS_EPOCHS:-60}"
EPOCHS="${EPOCHS:-10}"
SEED="${SEED:-1}"
THREADS="${THREADS:-2}"
PARTS="${PARTS:-oneclass ood throughput}"
out="${1:-$root/out/anomaly}"
E="$BUILD/tools/edgevae"
mkdir -p "$out"

auroc() {  # the summary's AUROC from `edgevae score ... --json --summary-only`
  python3 -c 'import json,sys; print("%.4f" % json.loads(sys.stdin.read().splitlines()[-1])["summary"]["auroc"])'
}
model() {  # name data epochs [classes]: trains (1 thread, deterministic) and converts to int8
  local name=$1 data=$2 epochs=$3 classes=${4:-}
  if [[ ! -f "$out/$name.q8.evae" ]]; then
    "$E" train --data "$data" --epochs "$epochs" --seed "$SEED" --threads 1 \
      ${classes:+--classes "$classes"} --out "$out/$name.evae" >/dev/null
    "$E" convert --in "$out/$name.evae" --dtype int8 --calib-data "$data" --threads 1 \
      --out "$out/$name.q8.evae" >/dev/null
  fi
}

methods=(bce mse elbo elbo-ic elbo-icr mse-icr mse3x3 mse3x3-icr)
if [[ " $PARTS " == *" oneclass "* ]]; then
echo "### One-class MNIST (AUROC, int8, $ONECLASS_EPOCHS epochs per digit, seed $SEED)"
echo
printf '| digit |'; printf ' %s |' "${methods[@]}"; echo
printf '|---|'; printf -- '---|%.0s' "${methods[@]}"; echo
declare -A sum
for d in 0 1 2 3 4 5 6 7 8 9; do
  model "oneclass$d" "$MNIST" "$ONECLASS_EPOCHS" "$d"
  printf '| %s |' "$d"
  for m in "${methods[@]}"; do
    a=$("$E" score --model "$out/oneclass$d.q8.evae" --input "$MNIST/t10k-images-idx3-ubyte" \
          --labels "$MNIST/t10k-labels-idx1-ubyte" --method "$m" --threads "$THREADS" --json \
          --summary-only | auroc)
    sum[$m]=$(python3 -c "print(${sum[$m]:-0} + $a)")
    printf ' %s |' "$a"
  done
  echo
done
printf '| **mean** |'
for m in "${methods[@]}"; do printf ' **%s** |' "$(python3 -c "print('%.4f' % (${sum[$m]} / 10))")"; done
echo; echo
fi

if [[ " $PARTS " == *" ood "* ]]; then
model mnist "$MNIST" "$EPOCHS"
model fashion "$FASHION" "$EPOCHS"
ood_methods=(bce mse elbo iw elbo-ic elbo-icr mse-icr mse3x3 mse3x3-icr)
echo "### Near and far: whole-data-set models ($EPOCHS epochs, int8), AUROC"
echo
printf '| model: normal vs anomalies |'; printf ' %s |' "${ood_methods[@]}"; echo
printf '|---|'; printf -- '---|%.0s' "${ood_methods[@]}"; echo
for pair in "mnist:$MNIST/t10k-images-idx3-ubyte:$FASHION/t10k-images-idx3-ubyte.gz:MNIST vs Fashion" \
            "fashion:$FASHION/t10k-images-idx3-ubyte.gz:$MNIST/t10k-images-idx3-ubyte:Fashion vs MNIST"; do
  IFS=: read -r name normal anomalies title <<<"$pair"
  printf '| %s |' "$title"
  for m in "${ood_methods[@]}"; do
    printf ' %s |' "$("$E" score --model "$out/$name.q8.evae" --input "$normal" --ood "$anomalies" \
      --method "$m" --iw 64 --threads "$THREADS" --json --summary-only | auroc)"
  done
  echo
done
echo

fi

if [[ " $PARTS " == *" throughput "* ]]; then
model mnist "$MNIST" "$EPOCHS"
echo "### Throughput (int8 MNIST model, 60,000 training images, median of 7 runs)"
echo
echo '```'
for t in 1 2; do
  "$BUILD/tools/edgevae_score_threads" "$out/mnist.q8.evae" "$MNIST/train-images-idx3-ubyte" "$t" elbo 7
done
for t in 1 2; do
  for r in 1 2 3 4 5; do
    "$E" score --model "$out/mnist.q8.evae" --input "$MNIST/train-images-idx3-ubyte" --method elbo \
      --threads "$t" --json --summary-only
  done | python3 -c '
import json, sys, statistics
rows = [json.loads(l)["summary"] for l in sys.stdin if l.strip()]
print("edgevae score --method elbo --threads %d: median %.0f images/s (scoring), %d images" % (
    rows[0]["threads"], statistics.median(r["images_per_s"] for r in rows), rows[0]["images"]))'
done
echo '```'
fi
