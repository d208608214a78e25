#!/usr/bin/env bash
# The models the socket tests of tests/serve serve: mnist (784-400-20) and mnist2d (784-400-2),
# one epoch each on MNIST with seed 1 and one thread, converted to int8 by the converter.
# The converter stores the per-class latent statistics that /digit draws from.
#   make_models.sh EDGEVAE_CLI MNIST_DIR OUT_DIR
set -euo pipefail
cli="$1" mnist="$2" out="$3"
mkdir -p "$out"
for shape in mnist mnist2d; do
  "$cli" train --data "$mnist" --shape "$shape" --epochs 1 --seed 1 --threads 1 \
    --out "$out/$shape.evae" >/dev/null
  "$cli" convert --in "$out/$shape.evae" --dtype int8 --calib-data "$mnist" \
    --calibration minmax --threads 1 --out "$out/$shape.q8.evae" >/dev/null
done
ls -l "$out"
