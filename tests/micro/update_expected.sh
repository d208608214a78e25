#!/usr/bin/env bash
# Rewrites tests/micro/expected from the host programs of an x86 build (default build/release):
# each edgevae_micro_compare(NAME PROGRAM FILE [STDIN IN] ARGS...) case of tests/micro/cases.cmake
# runs BUILD/firmware/edgevae-micro-PROGRAM ARGS < IN > expected/FILE. Run it after a change to the
# embedded model or to the int8 arithmetic, then check that the micro-m33, micro-m4 and Pi builds
# still agree (their ctests compare against these files).
#
#   tests/micro/update_expected.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build/release}"
# One case per line: the calls with their continuation lines joined, comments dropped.
sed -e 's/#.*//' "$here/cases.cmake" | tr '\n' ' ' | tr ')' '\n' |
  sed -n 's/.*edgevae_micro_compare(//p' |
  while read -r name program file args; do
    prog="$build/tests/micro/edgevae-micro-$program"
    [[ -x "$prog" ]] || { echo "update_expected: $prog not built" >&2; exit 1; }
    stdin=/dev/null
    if [[ "$args" == STDIN\ * ]]; then  # STDIN FILE ARGS...: FILE relative to tests/micro
      read -r _ stdin args <<<"$args"
      stdin="$here/$stdin"
    fi
    # shellcheck disable=SC2086  # the arguments are words
    "$prog" $args <"$stdin" >"$here/expected/$file"
    echo "$name: expected/$file ($(stat -c %s "$here/expected/$file") bytes)"
  done
