#!/usr/bin/env bash
# The models the socket tests of tests/serve serve: mnist (784-400-20) and mnist2d (784-400-2),
# one epoch each on MNIST with seed 1 and one thread, converted to int8 by the converter.
# The mnist model then gets per-class latent statistics (10,000 training images) from the harness.
#   make_models.sh EDGEVAE_CLI SERVE_HARNESS MNIST_DIR OUT_DIR
set -euo pipefail
cli="$1" harness="$2" mnist="$3" out="$4"
mkdir -p "$out"
for shape in mnist mnist2d; do
  "$cli" train --data "$mnist" --shape "$shape" --epochs 1 --seed 1 --threads 1 \
    --out "$out/$shape.evae" >/dev/null
  "$cli" convert --in "$out/$shape.evae" --dtype int8 --calib-data "$mnist" \
    --calibration minmax --threads 1 --out "$out/$shape.q8.evae" >/dev/null
done
"$harness" --model "$out/mnist.q8.evae" --class-data "$mnist" --save-model "$out/mnist.q8.evae"
ls -l "$out"
