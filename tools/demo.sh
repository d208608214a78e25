#!/usr/bin/env bash
# The quick-start demo: dependencies, MNIST, a release build, a few epochs of training, then a
# grid of digits sampled from the prior, written to out/digits.png and shown in the terminal.
# EPOCHS (default 3) and THREADS (default: all cores) may be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${EPOCHS:-3}
threads=${THREADS:-0}
bash tools/setup.sh
bash tools/fetch-mnist.sh data/mnist
cmake --preset release >/dev/null
cmake --build --preset release --target edgevae_cli
cli=build/release/tools/edgevae
mkdir -p out
resume=()
# A model from an earlier run is resumed (and left as is once it has enough epochs).
[ -f out/mnist.evae ] && resume=(--resume out/mnist.evae)
"$cli" train --data data/mnist --shape mnist --epochs "$epochs" --seed 1 --threads "$threads" \
  --out out/mnist.evae "${resume[@]}"
"$cli" sample --model out/mnist.evae -n 64 --seed 1 --out out/digits.png --preview
