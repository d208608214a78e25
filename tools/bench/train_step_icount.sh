#!/usr/bin/env bash
# Guest instructions per training step (one batch of 128 images, mnist shape 784-400-20, Adam,
# 1 thread) of an aarch64 edgevae, counted under qemu-aarch64 with ../shared/tools/qemu-icount.
# `edgevae train` runs one epoch twice, on the first S*128 and the first 2S*128 MNIST training
# images (IDX files written to a temporary folder; the same 128-image test set for both), and
# the script prints (count(2S) - count(S)) / S: start-up, loading the libraries, creating the
# model and trainer, the test pass and the save cancel out. What does not cancel is what grows
# with the image count outside the steps: reading and shuffling 128 more images per step, a few
# thousand instructions against the step's tens of millions.
# The first layer's products run over the lit pixels only, so a step's work depends on its
# images: the figure is the mean over training images S*128 to 2S*128-1 (the epoch's total does
# not depend on the shuffle). Compare builds with the same S.
#
#   tools/bench/train_step_icount.sh EDGEVAE [S]
#   e.g. tools/bench/train_step_icount.sh build/pi-aarch64/tools/edgevae
#
# EDGEVAE is an aarch64 edgevae binary (the pi-aarch64 preset's, or a copy of one kept for a
# before/after comparison). S defaults to 10 steps (about a minute). The libraries come from the arm64 sysroot:
# EDGEVAE_SYSROOT, else the one in the CMakeCache of the build the binary is in, else
# build/sysroot-arm64 (bash tools/setup.sh --pi). QEMU_CPU (default cortex-a72, a Pi 4) names
# the CPU qemu models, ICOUNT_DIR where the plugin is built (default /tmp/icount), MNIST_DIR the
# data (default data/mnist). With REPEAT=1 the S run is counted twice and both counts printed
# (the count is deterministic with 1 thread: the two should match). With ICOUNT_PROFILE=1 both runs
# are counted again per translation block and the script then says where a step's instructions
# went, by function (icount_profile.py, as tools/bench/icount.sh does for inference).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
usage="usage: train_step_icount.sh EDGEVAE [S]"
edgevae=${1:?$usage}
steps=${2:-10}
fail() { echo "train_step_icount: error: $*" >&2; exit 1; }
[[ -f "$edgevae" ]] || fail "no binary at $edgevae"
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || fail "S ($steps) must be a positive number of steps"
edgevae=$(cd "$(dirname "$edgevae")" && pwd)/$(basename "$edgevae")
# ELF e_machine 183: AArch64.
machine=$(od -An -t u2 -j 18 -N 2 "$edgevae" | tr -d ' ')
[[ "$machine" == 183 ]] || fail "$edgevae is not an aarch64 program (ELF machine $machine)"

sysroot=${EDGEVAE_SYSROOT:-}
if [[ -z "$sysroot" ]]; then
  cache="$(dirname "$(dirname "$edgevae")")/CMakeCache.txt"  # BUILD/tools/edgevae
  [[ -f "$cache" ]] && sysroot=$(sed -n 's/^EDGEVAE_SYSROOT:[A-Z]*=//p' "$cache")
  [[ -n "$sysroot" ]] || sysroot="$root/build/sysroot-arm64"
fi
[[ -d "$sysroot/usr/lib/aarch64-linux-gnu" ]] ||
  fail "no arm64 sysroot at $sysroot (bash tools/setup.sh --pi, or set EDGEVAE_SYSROOT)"
command -v qemu-aarch64 >/dev/null || fail "qemu-aarch64 not found (bash tools/setup.sh --pi)"
cpu=${QEMU_CPU:-cortex-a72}
icount_dir=${ICOUNT_DIR:-/tmp/icount}
if [[ ! -f "$icount_dir/libicount.so" ]]; then
  bash "$root/../shared/tools/qemu-icount/build.sh" "$icount_dir" >/dev/null
fi
mnist=${MNIST_DIR:-$root/data/mnist}
[[ -f "$mnist/train-images-idx3-ubyte" && -f "$mnist/train-labels-idx1-ubyte" &&
   -f "$mnist/t10k-images-idx3-ubyte" && -f "$mnist/t10k-labels-idx1-ubyte" ]] ||
  fail "no MNIST IDX files in $mnist (tools/fetch-mnist.sh data/mnist, or set MNIST_DIR)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
# The first N items of an IDX file: its magic and dimensions with N as the count, then the data.
head_idx() {  # SRC DST N BYTES_PER_ITEM HEADER_BYTES
  { head -c 4 "$1"; be32 "$3"; head -c "$5" "$1" | tail -c +9; head -c "$(($5 + $3 * $4))" "$1" | tail -c +"$(($5 + 1))"; } >"$2"
}
subset() {  # DIR TRAIN_IMAGES
  mkdir -p "$1"
  head_idx "$mnist/train-images-idx3-ubyte" "$1/train-images-idx3-ubyte" "$2" 784 16
  head_idx "$mnist/train-labels-idx1-ubyte" "$1/train-labels-idx1-ubyte" "$2" 1 8
  head_idx "$mnist/t10k-images-idx3-ubyte" "$1/t10k-images-idx3-ubyte" 128 784 16
  head_idx "$mnist/t10k-labels-idx1-ubyte" "$1/t10k-labels-idx1-ubyte" 128 1 8
}
count() {  # DIR: guest instructions of one epoch on DIR's training images
  qemu-aarch64 -cpu "$cpu" -L /usr/aarch64-linux-gnu \
    -E "LD_LIBRARY_PATH=$sysroot/usr/lib/aarch64-linux-gnu:$sysroot/lib/aarch64-linux-gnu" \
    -plugin "$icount_dir/libicount.so" -d plugin \
    "$edgevae" train --shape mnist --data "$1" --epochs 1 --batch 128 --seed 1 --threads 1 \
    --out "$1/model.evae" 2>"$1/log" >/dev/null || fail "edgevae train failed: $(tail -n 3 "$1/log")"
  sed -n 's/^guest_instructions \([0-9]*\).*/\1/p' "$1/log"
}
subset "$tmp/s" $((steps * 128))
subset "$tmp/2s" $((2 * steps * 128))
a=$(count "$tmp/s")
b=$(count "$tmp/2s")
[[ -n "$a" && -n "$b" ]] || fail "no instruction count (does this qemu-aarch64 take -plugin?)"
if [[ "${REPEAT:-0}" == 1 ]]; then
  a2=$(count "$tmp/s")
  echo "S=$steps counted twice: $a and $a2"
fi
echo "aarch64 ($cpu) $(basename "$edgevae") mnist train batch=128 threads=1:" \
     "$(((b - a) / steps)) instructions per step (S=$steps: $a, 2S: $b)"

[[ "${ICOUNT_PROFILE:-0}" == 1 ]] || exit 0
if [[ ! -f "$icount_dir/libprofile.so" ]]; then
  cc -shared -fPIC -O2 "$root/tools/bench/icount_profile.c" -o "$icount_dir/libprofile.so"
fi
for dir in s 2s; do
  ICOUNT_PROFILE_OUT="$tmp/$dir.blocks" qemu-aarch64 -cpu "$cpu" -L /usr/aarch64-linux-gnu \
    -E "LD_LIBRARY_PATH=$sysroot/usr/lib/aarch64-linux-gnu:$sysroot/lib/aarch64-linux-gnu" \
    -plugin "$icount_dir/libprofile.so" -strace -d page \
    "$edgevae" train --shape mnist --data "$tmp/$dir" --epochs 1 --batch 128 --seed 1 --threads 1 \
    --out "$tmp/$dir/model.evae" 2>"$tmp/$dir.log" >/dev/null || fail "profiled edgevae train failed"
done
python3 "$root/tools/bench/icount_profile.py" "$tmp" s 2s "$edgevae" aarch64-linux-gnu "$steps"
