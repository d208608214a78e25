#!/usr/bin/env bash
# Runs a bare-metal Cortex-M program of firmware/micro under qemu-system-arm, as if it were a host
# program: its arguments, stdin, stdout, stderr and exit status are the script's own. It is the
# CMAKE_CROSSCOMPILING_EMULATOR of toolchains/arm-none-eabi.toolchain.cmake, so ctest runs it too.
#
#   toolchains/qemu-micro.sh [--qemu PATH] [--machine mps2-an505|mps2-an386] [--stdin FILE] \
#       [--qemu-arg ARG]... prog.elf [ARGS...]
#
# --qemu-arg passes one more argument to qemu, e.g. an instruction counter (qemu-icount):
#   --qemu-arg -plugin --qemu-arg /tmp/icount/libicount.so --qemu-arg -d --qemu-arg plugin
#
# Everything reaches the program through semihosting (firmware/micro/platform/startup_common.cc):
# - arguments: `-semihosting-config arg=...`, one per argument; qemu joins them with spaces into
#   the command line that SYS_GET_CMDLINE returns, so an argument holding a space, a quote or a
#   backslash is sent in double quotes with \ escapes, which the startup code undoes. (qemu's
#   -append splits at spaces and rejoins with one, so "a  b" would arrive as "a b".)
# - stdin/stdout/stderr: newlib opens ":tt", which qemu maps to its own fds 0, 1 and 2. The board's
#   UART and qemu's monitor are switched off (-serial none -monitor none): with plain -nographic
#   they are multiplexed on stdio and read stdin too, and a guest reading 2000 bytes got 1968.
# - exit status: newlib's _exit() uses SYS_EXIT_EXTENDED, and qemu exits with that status.
set -euo pipefail

qemu=qemu-system-arm
machine=mps2-an505
stdin_file=
qemu_args=()
while (($# > 0)); do
  case "$1" in
    --qemu) qemu="$2"; shift 2 ;;
    --machine) machine="$2"; shift 2 ;;
    --stdin) stdin_file="$2"; shift 2 ;;
    --qemu-arg) qemu_args+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) printf 'qemu-micro: error: unknown option %s (try --help)\n' "$1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if (($# == 0)); then
  printf 'qemu-micro: error: no program given (try --help)\n' >&2
  exit 2
fi
prog="$1"
shift

# One argument as a value of qemu's arg= option: quoted for the startup code's parser when it
# needs to be, then every comma doubled (a single comma would end qemu's option value).
semihosting_arg() {
  local s="$1"
  if [[ -z "$s" || "$s" =~ [[:space:]\"\'\\] ]]; then
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    s="\"$s\""
  fi
  printf '%s' "${s//,/,,}"
}

config="enable=on,target=native,arg=$(semihosting_arg "$prog")"
for arg in "$@"; do
  config+=",arg=$(semihosting_arg "$arg")"
done

if [[ -n "$stdin_file" ]]; then
  exec <"$stdin_file"
fi
exec "$qemu" -M "$machine" -nographic -serial none -monitor none \
  -semihosting-config "$config" "${qemu_args[@]}" -kernel "$prog"
