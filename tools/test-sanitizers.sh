#!/usr/bin/env bash
# The sanitizer lanes (CI runs them after tools/test.sh; docs/reliability-sanitizers.md):
#   asan: every host test under AddressSanitizer + LeakSanitizer + UBSan (preset asan, -O1)
#         except the packaging tests (the release lane runs those);
#   tsan: the tests of the threaded parts under ThreadSanitizer (preset tsan: training (fp32 and
#         bf16, the sparse first layer, the bf16 kernel's row splits) and eval
#         on 2 threads, the ParallelScorer, edgevae score --threads 2, edgevae-anomalyd
#         --threads 2, the web server's workers); only their targets are built.
# Any sanitizer report fails the test that triggered it (the test presets set *SAN_OPTIONS).
# SANITIZERS="asan" or "tsan" runs one lane.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/fetch-mnist.sh data/mnist
lane() { printf '\n== %s (%ds so far)\n' "$*" "$SECONDS"; }
for preset in ${SANITIZERS:-asan tsan}; do
  lane "$preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  lane "$preset: ctest"
  ctest --preset "$preset" -j 2
done
lane "done"
