#!/usr/bin/env bash
# The microcontroller lane (CI runs it after tools/test-pi.sh; docs/micro.md): the bare-metal
# toolchain and qemu-system-arm, then for micro-m33 (Cortex-M33, mps2-an505) and micro-m4
# (Cortex-M4, mps2-an386): build, and every test under qemu-system-arm (the platform's checks and
# the programs' output, byte for byte against tests/micro/expected).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --micro
lane() { printf '\n== %s (%ds so far)\n' "$*" "$SECONDS"; }
for preset in micro-m33 micro-m4; do
  lane "$preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  lane "$preset: ctest under qemu-system-arm"
  ctest --preset "$preset" -j 2
done
lane "done"
