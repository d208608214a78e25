#!/usr/bin/env bash
# Guest instructions per batch-1 inference call of a cross-built edgevae, counted under qemu with
# ../shared/tools/qemu-icount: `edgevae bench` runs twice with different run counts and the
# difference is divided by the difference in calls, so start-up, loading and warm-up cancel out.
#
#   tools/bench/icount.sh BUILD_DIR MODEL [OP] [THREADS] [BATCH]
#   e.g. tools/bench/icount.sh build/pi-aarch64 models/mnist.q8.evae reconstruct
#
# BUILD_DIR is a pi-aarch64 or pi-armhf build (its CMakeCache names the emulator and sysroot).
# Prints one line: arch, CPU model, model file, op, threads, batch and instructions per call (of
# BATCH images, default 1).
# With ICOUNT_PROFILE=1 it then says where they went: instructions per call by function (the
# difference of the two runs again), from a plugin of our own (icount_profile.c) that counts per
# translation block; qemu's -strace and -d page give where the program and each library were
# loaded, nm the symbols. Debian's libraries keep only their exported symbols, so a library's
# internal function is counted under the exported one before it (XNNPACK's armv7 GEMM loop shows
# as a qc8 igemm kernel; objdump -d around the address tells). Needs python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build=${1:?usage: icount.sh BUILD_DIR MODEL [OP] [THREADS] [BATCH]}
model=${2:?usage: icount.sh BUILD_DIR MODEL [OP] [THREADS] [BATCH]}
op=${3:-reconstruct}
threads=${4:-1}
batch=${5:-1}
icount_dir=${ICOUNT_DIR:-/tmp/edgevae-icount}
if [[ ! -f "$icount_dir/libicount.so" ]]; then
  bash "$root/../shared/tools/qemu-icount/build.sh" "$icount_dir" >/dev/null
fi
cache="$build/CMakeCache.txt"
[[ -f "$cache" ]] || { echo "icount: error: $cache not found (configure a pi-* preset first)" >&2; exit 2; }
# The toolchain files set the emulator as a normal variable; rebuild the same command from the
# cache (the sysroot and the CPU qemu models).
sysroot=$(sed -n 's/^EDGEVAE_SYSROOT:[A-Z]*=//p' "$cache")
cpu=$(sed -n 's/^EDGEVAE_QEMU_CPU:[A-Z]*=//p' "$cache")
case "$(sed -n 's/^CMAKE_CXX_COMPILER_AR:[A-Z]*=//p' "$cache")" in
  *aarch64-linux-gnu*) arch=aarch64 qemu=qemu-aarch64 triple=aarch64-linux-gnu ;;
  *arm-linux-gnueabihf*) arch=armv7 qemu=qemu-arm triple=arm-linux-gnueabihf ;;
  *) echo "icount: error: $build is not a pi-aarch64 or pi-armhf build" >&2; exit 2 ;;
esac
emulator="$qemu;-cpu;$cpu;-L;/usr/$triple;-E;LD_LIBRARY_PATH=$sysroot/usr/lib/$triple:$sysroot/lib/$triple"
IFS=';' read -r -a emu <<<"$emulator"
# Real digits when MNIST is there (the int8 engine's batch-1 fc1 work depends on the lit pixels).
data=()
[[ -f "$root/data/mnist/t10k-images-idx3-ubyte" ]] && data=(--data "$root/data/mnist")
bench=("$build/tools/edgevae" bench --model "$model" --op "$op" --threads "$threads" --batch "$batch" --warmup 5
       "${data[@]}")
count() {
  "${emu[@]}" -plugin "$icount_dir/libicount.so" -d plugin "${bench[@]}" --runs "$1" 2>&1 >/dev/null |
    sed -n 's/^guest_instructions \([0-9]*\).*/\1/p'
}
few=100 many=1100  # the 1,000 calls in between cycle through 1,000 test images
((batch == 1)) || { few=10 many=60; }  # a batch of B takes B times as long
a=$(count $few)
b=$(count $many)
[[ -n "$a" && -n "$b" ]] || { echo "icount: error: no instruction count (is qemu-user installed?)" >&2; exit 1; }
echo "$arch ($cpu) $(basename "$model") $op threads=$threads batch=$batch: $(( (b - a) / (many - few) )) instructions per call"

[[ "${ICOUNT_PROFILE:-0}" == 1 ]] || exit 0
if [[ ! -f "$icount_dir/libprofile.so" ]]; then
  mkdir -p "$icount_dir"
  cc -shared -fPIC -O2 "$root/tools/bench/icount_profile.c" -o "$icount_dir/libprofile.so"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for runs in $few $many; do
  ICOUNT_PROFILE_OUT="$tmp/$runs.blocks" "${emu[@]}" -plugin "$icount_dir/libprofile.so" \
    -strace -d page "${bench[@]}" --runs "$runs" 2>"$tmp/$runs.log" >/dev/null
done
python3 "$root/tools/bench/icount_profile.py" "$tmp" $few $many "$build/tools/edgevae" "$triple" $((many - few))
