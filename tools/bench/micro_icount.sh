#!/usr/bin/env bash
# Guest instructions per operation of a micro program under qemu-system-arm, counted with
# ../shared/tools/qemu-icount: the program runs twice, with more operations the second time, and
# the difference is divided by the difference in operations, so start-up and loading cancel out
# (docs/micro.md, "Instructions").
#
#   tools/bench/micro_icount.sh [m33|m4] [digits|anomaly]     (default: m33 digits)
#
# digits: one prior draw (--prior, --count 1 against 8): draw z, decode, bytes, ASCII art.
# anomaly: one score (--method mse), the first frame of tests/micro/frames.bin against all 16.
# Needs the micro-m33 or micro-m4 build. With MICRO_PROFILE=1 it then says where they went, per
# function (nm of the image), from the per-block plugin tools/bench/icount_profile.c, and sums the
# engine's share: the int8 decode (Engine::Decode and what it calls) or the score.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
core=${1:-m33}
program=${2:-digits}
case "$core" in
  m33) machine=mps2-an505 ;;
  m4) machine=mps2-an386 ;;
  *) echo "micro_icount: error: core '$core', expected m33 or m4" >&2; exit 2 ;;
esac
elf="$root/build/micro-$core/firmware/micro/micro_$program.elf"
[[ -f "$elf" ]] || { echo "micro_icount: error: $elf not found (cmake --build --preset micro-$core)" >&2; exit 2; }
icount_dir=${ICOUNT_DIR:-/tmp/edgevae-icount}
[[ -f "$icount_dir/libicount.so" ]] || bash "$root/../shared/tools/qemu-icount/build.sh" "$icount_dir" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 784 "$root/tests/micro/frames.bin" >"$tmp/one.bin"
# run PLUGIN FEW|MANY: the program with its fewer or more operations, stdout discarded.
run() {
  local plugin=$1 which=$2 args=()
  case "$program" in
    digits) args=("$elf" --prior --count "$([[ $which == few ]] && echo 1 || echo 8)") ;;
    anomaly) args=(--stdin "$([[ $which == few ]] && echo "$tmp/one.bin" || echo "$root/tests/micro/frames.bin")"
                   "$elf" --method mse) ;;
    *) echo "micro_icount: error: program '$program', expected digits or anomaly" >&2; exit 2 ;;
  esac
  "$root/toolchains/qemu-micro.sh" --machine "$machine" --qemu-arg -plugin --qemu-arg "$plugin" \
    --qemu-arg -d --qemu-arg plugin "${args[@]}" 2>&1 >/dev/null
}
ops=$([[ $program == digits ]] && echo 7 || echo 15)
a=$(run "$icount_dir/libicount.so" few | sed -n 's/^guest_instructions \([0-9]*\).*/\1/p')
b=$(run "$icount_dir/libicount.so" many | sed -n 's/^guest_instructions \([0-9]*\).*/\1/p')
[[ -n "$a" && -n "$b" ]] || { echo "micro_icount: error: no instruction count (qemu-system-arm?)" >&2; exit 1; }
echo "cortex-$core micro_$program: $(( (b - a) / ops )) instructions per $([[ $program == digits ]] && echo digit || echo score), $(( a - (b - a) / ops )) at start-up"

[[ "${MICRO_PROFILE:-0}" == 1 ]] || exit 0
[[ -f "$icount_dir/libprofile.so" ]] ||
  cc -shared -fPIC -O2 "$root/tools/bench/icount_profile.c" -o "$icount_dir/libprofile.so"
ICOUNT_PROFILE_OUT="$tmp/few.blocks" run "$icount_dir/libprofile.so" few >/dev/null
ICOUNT_PROFILE_OUT="$tmp/many.blocks" run "$icount_dir/libprofile.so" many >/dev/null
python3 - "$tmp" "$elf" "$ops" "$program" <<'PY'
import bisect, collections, re, subprocess, sys
tmp, elf, ops, program = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
table = []
for l in subprocess.run(["arm-none-eabi-nm", "-C", "--defined-only", elf],
                        capture_output=True, text=True).stdout.splitlines():
    p = l.split(" ", 2)
    if len(p) == 3 and p[1] in "tTwW":
        table.append((int(p[0], 16) & ~1, re.sub(r"\(.*", "", p[2].replace("(anonymous namespace)", "{anon}"))))
table.sort()
addrs = [t[0] for t in table]
def load(which):
    c = collections.Counter()
    for l in open(f"{tmp}/{which}.blocks"):
        a, n = l.split()
        j = bisect.bisect_right(addrs, int(a, 16)) - 1
        c[table[j][1] if j >= 0 else "?"] += int(n)
    return c
a, b = load("few"), load("many")
per = {k: (b[k] - a[k]) / ops for k in set(a) | set(b)}
total = sum(per.values())
for name, n in sorted(per.items(), key=lambda x: -x[1]):
    if n < 100:
        break
    print(f"{n:10.0f}  {100 * n / total:5.1f} %  {name}")
# The engine's own share: the int8 layers, the output and the input quantization; not the
# program's drawing of z, its rounding to bytes and printing, or (anomaly) its reading of frames.
engine = re.compile(r"packed_i16|PackedI16|GemvI8|Requantize|Int8Op|Int8Backend|Engine::|"
                    r"QuantizeI8|DequantizeI8|U8ToI8|SparsePixel|Score|Reconstruct")
share = sum(n for name, n in per.items() if engine.search(name))
what = "decode (Engine::Decode and what it calls)" if program == "digits" else "the engine's score"
print(f"{share:10.0f}  {100 * share / total:5.1f} %  {what}")
PY
