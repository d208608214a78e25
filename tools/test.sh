#!/usr/bin/env bash
# The test command (README, .ci/run): dependencies, MNIST, a release build, every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/fetch-mnist.sh data/mnist
cmake --preset release
cmake --build --preset release
ctest --preset release -j 2
