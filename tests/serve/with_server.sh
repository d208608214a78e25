#!/usr/bin/env bash
# Starts a server (`edgevae-digits serve ...`) on a free loopback port, runs a command against it, then stops the
# server with SIGTERM and checks that it exits 0 (a clean shutdown is part of the test).
#
#   with_server.sh SERVER [SERVER ARGS...] -- COMMAND [ARGS...]
#
# In COMMAND's arguments @URL@ becomes http://127.0.0.1:PORT and @PID@ the server's pid; both
# are also in the environment as SERVE_URL and SERVE_PID.
set -euo pipefail

server=()
while (($#)) && [[ "$1" != "--" ]]; do server+=("$1"); shift; done
[[ "${1:-}" == "--" ]] || { echo "with_server: usage: SERVER ARGS -- COMMAND ARGS" >&2; exit 2; }
shift

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"${server[@]}" --port 0 >"$log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 300); do  # up to 30 s
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)"
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "with_server: the server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "with_server: the server did not start:" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
export SERVE_URL="$url" SERVE_PID="$pid"

cmd=()
for arg in "$@"; do
  arg="${arg//@URL@/$url}"
  cmd+=("${arg//@PID@/$pid}")
done
rc=0
"${cmd[@]}" || rc=$?

kill -TERM "$pid"
server_rc=0
wait "$pid" || server_rc=$?
if ((server_rc != 0)); then
  echo "with_server: the server exited with $server_rc after SIGTERM:" >&2
  cat "$log" >&2
  ((rc != 0)) || rc=1
fi
exit "$rc"
