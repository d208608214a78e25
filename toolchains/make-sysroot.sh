#!/usr/bin/env bash
# Builds a cross sysroot for a Raspberry Pi target from Debian's own arm64 / armhf packages.
#
#   toolchains/make-sysroot.sh arm64 build/sysroot-arm64     # Pi 3/4/5, Zero 2 with a 64-bit OS
#   toolchains/make-sysroot.sh armhf build/sysroot-armhf     # the same boards with a 32-bit OS
#
# Why a sysroot: Debian's arm64/armhf -dev packages of XNNPACK, pthreadpool and cpuinfo cannot be
# installed beside the amd64 ones (file conflicts), so the .debs are fetched with `apt-get download`
# and unpacked with `dpkg -x` into DIR. libc, libstdc++ and libgcc are not in the list: the cross
# toolchain (g++-aarch64-linux-gnu / g++-arm-linux-gnueabihf) brings them under /usr/<triple>.
#
# Idempotent: DIR/.edgevae-sysroot records the architecture and the package list it was made from;
# when it matches, the script does nothing (no apt-get update, no download). The foreign
# architecture is added to dpkg (and the package lists updated) only when it is missing.
# Runs as root, or through sudo when that exists.
set -euo pipefail

# Every library the project links or includes, and their runtime dependencies beyond libc/libstdc++.
readonly PACKAGES=(
  libxnnpack-dev libxnnpack0
  libpthreadpool-dev libpthreadpool0
  libcpuinfo-dev libcpuinfo0
  libhwy-dev libhwy1
  libgtest-dev libgmock-dev
  libbenchmark-dev libbenchmark1debian
  libpng-dev libpng16-16
  zlib1g zlib1g-dev
  libxxhash-dev libxxhash0
  nlohmann-json3-dev libcli11-dev
  # tests/serve's load client (serve_load): cpp-httplib and what its pkg-config file requires
  libcpp-httplib-dev libcpp-httplib0.11 libssl-dev libssl3 libbrotli-dev libbrotli1
  # edgevae-digits serve: libmicrohttpd and the shared libraries the link needs behind it
  # (GnuTLS's chain; its -dev packages are not needed: the build finds libmicrohttpd without
  # pkg-config)
  libmicrohttpd-dev libmicrohttpd12 libgnutls30 libp11-kit0 libffi8 libidn2-0 libunistring2
  libtasn1-6 libnettle8 libhogweed6 libgmp10
)
# Bump when the way the sysroot is laid out changes, so that old sysroots are rebuilt.
readonly LAYOUT_VERSION=1

log() { printf 'make-sysroot: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

(($# == 2)) || die "usage: $0 arm64|armhf DIR"
arch="$1"
case "$arch" in
  arm64) triple=aarch64-linux-gnu ;;
  armhf) triple=arm-linux-gnueabihf ;;
  *) die "ARCH must be arm64 or armhf, not '$arch'" ;;
esac
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
stamp="$dir/.edgevae-sysroot"
want_stamp="layout=$LAYOUT_VERSION arch=$arch packages=${PACKAGES[*]}"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
  log "$dir is up to date ($arch, ${#PACKAGES[@]} packages); nothing to do"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; this script needs Debian or Ubuntu"
command -v dpkg >/dev/null 2>&1 || die "dpkg not found; this script needs Debian or Ubuntu"

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; run as root"
  sudo_cmd=(sudo)
fi

# Have apt-get download find the foreign packages: add the architecture once, update the lists
# when it was just added or when apt does not know the packages yet.
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  log "dpkg --add-architecture $arch"
  "${sudo_cmd[@]}" dpkg --add-architecture "$arch"
  need_update=1
fi
if ((need_update == 0)) && ! apt-cache show "libxnnpack-dev:$arch" >/dev/null 2>&1; then
  need_update=1
fi
if ((need_update)); then
  # A mirror in mid-sync fails one index now and then; retry, and go on with what apt has (the
  # download below fails clearly if a package is really missing).
  for attempt in 1 2 3; do
    log "apt-get update (attempt $attempt)"
    if "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2; then
      break
    fi
    ((attempt == 3)) && log "warning: apt-get update failed; using the package lists apt has"
    sleep 5
  done
fi

# Architecture: all packages (nlohmann-json3-dev, libcli11-dev) have no :arm64 candidate and are
# asked for without the suffix. One apt-cache call for all of them (each call reads every list).
declare -A all_arch=()
while read -r name value; do
  if [[ "$value" == all ]]; then all_arch["$name"]=1; fi
done < <(apt-cache show --no-all-versions "${PACKAGES[@]}" 2>/dev/null \
           | awk '/^Package: /{p=$2} /^Architecture: /{print p, $2}')
specs=()
for pkg in "${PACKAGES[@]}"; do
  if [[ -n "${all_arch[$pkg]:-}" ]]; then specs+=("$pkg"); else specs+=("$pkg:$arch"); fi
done

debs="$(mktemp -d)"
trap 'rm -rf "$debs"' EXIT
# apt-get download writes into the current directory; as root it drops privileges to _apt, which
# must be able to write there.
chmod 0777 "$debs"
log "apt-get download ${#specs[@]} packages for $arch"
(cd "$debs" && apt-get download -q "${specs[@]}") >&2

rm -rf "$dir"
mkdir -p "$dir"
for deb in "$debs"/*.deb; do
  dpkg -x "$deb" "$dir"
done

# Absolute symlinks (e.g. libfoo.so -> /lib/<triple>/libfoo.so.1) would point at the host's files:
# make them relative to their place inside the sysroot.
while IFS= read -r -d '' link; do
  target="$(readlink "$link")"
  [[ "$target" == /* ]] || continue
  rel="$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")"
  ln -sfn "$rel" "$link"
done < <(find "$dir" -type l -print0)

# Debian's bookworm layout is merged-/usr on the board; a few packages still put libraries in /lib.
if [[ -d "$dir/lib/$triple" ]]; then
  mkdir -p "$dir/usr/lib/$triple"
  for f in "$dir/lib/$triple"/*; do
    base="$(basename "$f")"
    [[ -e "$dir/usr/lib/$triple/$base" || -L "$dir/usr/lib/$triple/$base" ]] && continue
    ln -s "../../../lib/$triple/$base" "$dir/usr/lib/$triple/$base"
  done
fi

# Every library the project links must be there; a missing one would otherwise be found on the host.
for lib in libXNNPACK.so libpthreadpool.so libcpuinfo.so libhwy.so libgtest.a libgmock.a \
           libbenchmark.so libpng.so libz.so libxxhash.so; do
  [[ -e "$dir/usr/lib/$triple/$lib" ]] || die "$lib is missing from $dir/usr/lib/$triple"
done
for header in xnnpack.h pthreadpool.h cpuinfo.h hwy/highway.h gtest/gtest.h png.h zlib.h xxhash.h \
              nlohmann/json.hpp CLI/CLI.hpp; do
  [[ -e "$dir/usr/include/$header" ]] || die "$header is missing from $dir/usr/include"
done

printf '%s\n' "$want_stamp" >"$stamp"
log "sysroot for $arch ready in $dir"
