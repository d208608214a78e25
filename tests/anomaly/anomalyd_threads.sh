#!/usr/bin/env bash
# edgevae-anomalyd with two scoring threads: the first 2,000 MNIST test images, as raw frames on
# stdin, scored with the shipped int8 model by the daemon's ParallelScorer (the tsan preset runs
# this under ThreadSanitizer). Every frame must get a score, and the daemon must exit 0.
#
#   anomalyd_threads.sh ANOMALYD MODEL T10K_IMAGES_IDX
set -euo pipefail
anomalyd="$1" model="$2" images="$3"
frames=2000
out="$(dd if="$images" bs=16 skip=1 count=$((frames * 784 / 16)) status=none |
       "$anomalyd" --model "$model" --threads 2 --batch 64)"
scored="$(grep -c '"score"' <<<"$out" || true)"
if [[ "$scored" != "$frames" ]]; then
  echo "anomalyd_threads: $scored of $frames frames scored" >&2
  exit 1
fi
echo "anomalyd_threads: $frames frames scored on 2 threads"
