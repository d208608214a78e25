#!/usr/bin/env bash
# One epoch of training (mnist shape, 784-400-20, batch 128, seed 1), edgevae against the PyTorch
# example (tools/bench/pytorch_vae.py), on this machine, for 1 and 2 threads: the two run in
# turn, ROUNDS times each per thread count, and the script prints the medians, the ranges and
# the ratio PyTorch / edgevae (above 1: edgevae is faster), with the CPU name and the date.
#
#   tools/bench/train_vs_pytorch.sh [--rounds N] [--edgevae PATH] [--data DIR] [--threads "1 2"]
#
# Defaults: 3 rounds, build/release/tools/edgevae (cmake --preset release && cmake --build
# --preset release), data/mnist (tools/fetch-mnist.sh data/mnist). PyTorch comes from Debian:
#   apt-get install python3-torch libopenblas0-pthread
# Only the epoch's training loop is timed, on both sides: edgevae's `train --json` reports
# "seconds" of TrainEpoch alone (the data is loaded before, the test pass and the save come
# after), and pytorch_vae.py --json reports time.perf_counter() around its batch loop alone
# (after torch's import and the IDX reading, before the test pass). Process start-up, loading and
# testing are outside both figures.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds=3
edgevae="$root/build/release/tools/edgevae"
data="$root/data/mnist"
threads_list="1 2"
python=${PYTHON:-/usr/bin/python3}  # PYTHON=...: another interpreter with torch
usage() {
  sed -n 's/^#   \(tools\/bench.*\)/usage: \1/p' "$0" >&2
  exit 2
}
while (($#)); do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --edgevae) edgevae=${2:?--edgevae needs a path}; shift 2 ;;
    --data) data=${2:?--data needs a directory}; shift 2 ;;
    --threads) threads_list=${2:?--threads needs a list such as "1 2"}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "train_vs_pytorch: error: unknown argument $1" >&2; usage ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "train_vs_pytorch: error: --rounds $rounds is not a positive number" >&2; exit 2; }
fail() { echo "train_vs_pytorch: error: $*" >&2; exit 1; }
[[ -x "$edgevae" ]] || fail "no edgevae at $edgevae (build the release preset, or give --edgevae PATH)"
[[ -f "$data/train-images-idx3-ubyte" ]] || fail "no MNIST in $data (run tools/fetch-mnist.sh $data, or give --data DIR)"
[[ -x "$python" ]] || fail "$python not found; PyTorch is needed: apt-get install python3-torch libopenblas0-pthread"
if ! torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  fail "PyTorch is missing ($python cannot import torch): apt-get install python3-torch libopenblas0-pthread"
fi
# Debian's torch calls the BLAS that libblas.so.3 points at; the reference BLAS is ~15x slower.
blas=$(readlink -f "/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/libblas.so.3" 2>/dev/null || true)
case "$blas" in
  *openblas*|*blis*|*mkl*) ;;
  *) echo "train_vs_pytorch: warning: libblas.so.3 is ${blas:-not found}, not OpenBLAS: PyTorch will be slow" \
          "(apt-get install libopenblas0-pthread)" >&2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Seconds of the one trained epoch, from each program's JSON on stdout.
epoch_seconds() { "$python" -c 'import json, sys; print(json.load(sys.stdin)["epochs"][0]["seconds"])'; }
run_edgevae() {
  "$edgevae" train --shape mnist --data "$data" --epochs 1 --seed 1 --threads "$1" --json \
    --out "$tmp/edgevae.evae" 2>"$tmp/err" | epoch_seconds ||
    fail "edgevae train failed: $(tail -n 3 "$tmp/err")"
  rm -f "$tmp/edgevae.evae"
}
run_pytorch() {
  "$python" "$root/tools/bench/pytorch_vae.py" --data "$data" --epochs 1 --seed 1 --threads "$1" \
    --json 2>"$tmp/err" | epoch_seconds || fail "pytorch_vae.py failed: $(tail -n 3 "$tmp/err")"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "train_vs_pytorch: one epoch of 60,000 MNIST images, mnist shape (784-400-20), batch 128, seed 1"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu:     ${cpu:-unknown} ($(nproc) CPUs online; load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "edgevae: $edgevae (checkout: $(git -C "$root" describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "pytorch: $torch_version, BLAS ${blas:-unknown}"
echo "rounds:  $rounds per program and thread count, the two programs in turn"
echo
printf '%-7s  %-8s  %8s  %-17s  %s\n' threads program median range "all rounds (s)"
for threads in $threads_list; do
  ev=() pt=()
  for ((r = 1; r <= rounds; r++)); do
    ev+=("$(run_edgevae "$threads")")
    pt+=("$(run_pytorch "$threads")")
  done
  "$python" - "$threads" "${ev[*]}" "${pt[*]}" <<'PY'
import statistics, sys
threads, ev, pt = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
for name, xs in (("edgevae", ev), ("pytorch", pt)):
    print(f"{threads:<7}  {name:<8}  {statistics.median(xs):7.2f}s  {min(xs):6.2f} - {max(xs):6.2f} s  "
          + " ".join(f"{x:.2f}" for x in xs))
print(f"{threads:<7}  ratio pytorch/edgevae (medians): {statistics.median(pt) / statistics.median(ev):.2f}")
PY
done
