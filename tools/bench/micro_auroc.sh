#!/usr/bin/env bash
# The microcontroller's anomaly verdicts against the Linux scorer's on the one-class protocol
# (docs/micro.md, "One-class AUROC"): trains a one-class int8 model (DIGIT, 30 epochs, seed 1,
# mse threshold at 1 % FPR), scores the 10,000 MNIST test images with `edgevae score` on this
# host, builds micro_anomaly for the Cortex-M33 with that model embedded (stored in the cortex-m
# layout, as the shipped scorer's: convert --layout cortex-m), feeds it the same images under
# qemu-system-arm, and compares every score, every verdict and the AUROC.
#
#   tools/bench/micro_auroc.sh [DIGIT]      # default 3; needs build/release, data/mnist
set -euo pipefail
cd "$(dirname "$0")/../.."
digit="${1:-3}"
E=build/release/tools/edgevae
out="${OUT:-/tmp/edgevae-micro-auroc}"
mkdir -p "$out"
"$E" train --data data/mnist --classes "$digit" --epochs 30 --seed 1 --threads 1 \
  --out "$out/oneclass.evae" >/dev/null
"$E" convert --in "$out/oneclass.evae" --dtype int8 --calib-data data/mnist --threads 1 \
  --out "$out/oneclass.q8.evae" >/dev/null
"$E" calibrate --model "$out/oneclass.q8.evae" --data data/mnist --fpr 0.01 --method mse \
  --out "$out/oneclass.q8.evae" >/dev/null
"$E" convert --in "$out/oneclass.q8.evae" --layout cortex-m --out "$out/oneclass.cortex-m.q8.evae" \
  >/dev/null
"$E" score --model "$out/oneclass.q8.evae" --input data/mnist/t10k-images-idx3-ubyte \
  --labels data/mnist/t10k-labels-idx1-ubyte --method mse --threads 1 --json >"$out/linux.jsonl"
tail -c +17 data/mnist/t10k-images-idx3-ubyte >"$out/frames.bin"  # the IDX header is 16 bytes
cmake -S . -B "$out/m33" -G Ninja --toolchain toolchains/arm-none-eabi.toolchain.cmake \
  -DEDGEVAE_MICRO_CPU=cortex-m33 -DCMAKE_BUILD_TYPE=Release \
  -DEDGEVAE_MICRO_MODEL="$out/oneclass.cortex-m.q8.evae" >/dev/null
cmake --build "$out/m33" --target micro_anomaly >/dev/null
toolchains/qemu-micro.sh --machine mps2-an505 --stdin "$out/frames.bin" \
  "$out/m33/firmware/micro/micro_anomaly.elf" >"$out/micro.txt"
python3 - "$out" "$digit" <<'PY'
import bisect, json, sys
out, digit = sys.argv[1], int(sys.argv[2])
labels = open("data/mnist/t10k-labels-idx1-ubyte", "rb").read()[8:]
micro = [line.split() for line in open(out + "/micro.txt")]
linux = [json.loads(line) for line in open(out + "/linux.jsonl")][:-1]
assert len(micro) == len(linux) == len(labels) == 10000
def auroc(scores):  # anomalies positive, ties count one half (edgevae's definition)
    neg = sorted(s for s, l in zip(scores, labels) if l == digit)
    pos = [s for s, l in zip(scores, labels) if l != digit]
    wins = sum(bisect.bisect_left(neg, s) + 0.5 * (bisect.bisect_right(neg, s) - bisect.bisect_left(neg, s)) for s in pos)
    return wins / (len(pos) * len(neg))
scores = [float(m[1]) for m in micro]
differ = sum(f"{r['score']:.6f}" != m[1] for m, r in zip(micro, linux))
verdicts = sum((m[2] == "anomaly") != r["anomaly"] for m, r in zip(micro, linux))
print(f"digit {digit}: {differ} of 10000 scores differ (6 decimals), {verdicts} verdicts differ")
print(f"AUROC: micro {auroc(scores):.10f}, edgevae score {auroc([r['score'] for r in linux]):.10f}")
sys.exit(1 if differ or verdicts else 0)
PY
