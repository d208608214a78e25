#!/usr/bin/env bash
# The quick-start demo: dependencies, a release build of the digit demo, then digits from the
# shipped int8 model (models/mnist.q8.evae, compiled into edgevae-digits): a grid sampled from the
# prior and a row of sevens, written to out/digits.png and out/sevens.png and shown in the
# terminal. No data download and no training: the model was trained and converted by edgevae
# itself (the commands are in docs/digits-demo.md, "Shipped models", and in the model's metadata).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target edgevae_digits edgevae_cli
digits=build/release/firmware/digits/edgevae-digits
mkdir -p out
"$digits" sample -n 64 --seed 1 --png out/digits.png --preview
"$digits" digit 7 -n 10 --seed 1 --png out/sevens.png --preview
