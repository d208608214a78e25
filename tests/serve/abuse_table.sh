#!/usr/bin/env bash
# The figures of docs/reliability-server.md: each abuse of serve_abuse against a fresh
# `edgevae-digits serve` (so that no abuse inherits another's memory), one markdown row each.
#
#   tests/serve/abuse_table.sh EDGEVAE_DIGITS SERVE_ABUSE [ABUSES] [-- EXTRA SERVE_ABUSE ARGS]
#
# ABUSES: comma-separated (default: range,headers,url,methods,slowloris,idle,connections).
# Example, the old and the new server one after the other:
#   tests/serve/abuse_table.sh old/edgevae-digits build/release/tests/serve/serve_abuse
#   tests/serve/abuse_table.sh build/release/firmware/digits/edgevae-digits \
#       build/release/tests/serve/serve_abuse
set -euo pipefail

(($# >= 2)) || { sed -n '2,12p' "$0" >&2; exit 2; }
server="$1"
abuse="$2"
shift 2
abuses="range,headers,url,methods,slowloris,idle,connections"
if (($#)) && [[ "$1" != "--" ]]; then abuses="$1"; shift; fi
[[ "${1:-}" == "--" ]] && shift
here="$(cd "$(dirname "$0")" && pwd)"

echo "| abuse | what the abuser got | peak RSS | RSS after | normal requests during | after (median) |"
echo "|---|---|---|---|---|---|"
IFS=',' read -r -a list <<<"$abuses"
for a in "${list[@]}"; do
  # serve_abuse exits 1 when a bound is broken; no bounds are given here, but the fixed
  # expectations (405s, a refused flood) still count: the old server breaks them, which is the
  # point of the table, so the row is kept either way.
  bash "$here/with_server.sh" "$server" serve --threads 1 -- \
    "$abuse" --url @URL@ --pid @PID@ --only "$a" --markdown "$@" 2>/dev/null | grep '^|' || true
done
