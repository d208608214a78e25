#!/usr/bin/env bash
# The Raspberry Pi lane (CI runs it after tools/test.sh): cross toolchains, qemu and sysroots, then
#   pi-aarch64: build, and every test under qemu-aarch64 (Cortex-A72, a Pi 4);
#   pi-armhf:   build, the packaging tests and the micro programs' byte-for-byte comparisons (CI's
#               time budget; run the whole suite under qemu-arm with `ctest --preset pi-armhf`,
#               about as long as the aarch64 one).
# PI_ARMHF_TESTS=all runs the whole armhf suite too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --pi
bash tools/fetch-mnist.sh data/mnist
lane() { printf '\n== %s (%ds so far)\n' "$*" "$SECONDS"; }
lane "pi-aarch64: build"
cmake --preset pi-aarch64 >/dev/null
cmake --build --preset pi-aarch64
lane "pi-aarch64: ctest under qemu-aarch64"
ctest --preset pi-aarch64 -j 2
lane "pi-armhf: build"
cmake --preset pi-armhf >/dev/null
if [[ "${PI_ARMHF_TESTS:-packaging}" == all ]]; then
  cmake --build --preset pi-armhf
else
  # Only what the tests below use: the installed programs (and so the libraries) and the micro
  # programs; the unit-test binaries, about a third of the build, run only with PI_ARMHF_TESTS=all.
  cmake --build --preset pi-armhf --target edgevae_cli edgevae_digits edgevae-anomalyd \
    micro_digits micro_anomaly
fi
if [[ "${PI_ARMHF_TESTS:-packaging}" == all ]]; then
  lane "pi-armhf: ctest under qemu-arm"
  ctest --preset pi-armhf -j 2
else
  lane "pi-armhf: packaging tests and the micro comparisons"
  ctest --preset pi-armhf -j 2 -R '^packaging|^micro\.'
fi
lane "done"
