#!/usr/bin/env bash
# GETs a URL of the loopback server with bash alone (no curl on a bare CI machine) and checks the
# answer's status line and content type.
#
#   expect_status.sh http://127.0.0.1:PORT/PATH STATUS CONTENT_TYPE
set -euo pipefail
url=$1 want_status=$2 want_type=$3
rest=${url#http://}
hostport=${rest%%/*}
path=/${rest#*/}
exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}"
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
head=$(LC_ALL=C sed -n '1,/^\r$/p' <&3 | tr -d '\r')
status=$(head -n 1 <<<"$head" | cut -d' ' -f2)
type=$(grep -i '^content-type:' <<<"$head" | cut -d' ' -f2- || true)
if [[ "$status" != "$want_status" || "$type" != "$want_type"* ]]; then
  echo "expect_status: $path answered '$status' '$type', expected '$want_status' '$want_type'" >&2
  exit 1
fi
echo "$path: $status $type"
