#!/usr/bin/env bash
# Installs every build and run dependency of edgevae with apt-get (Debian 12 / Ubuntu 24.04).
# Idempotent: when every package is already installed it neither updates nor installs, so a
# second run takes well under a second. Runs as root, or through sudo when that exists.
#
#   tools/setup.sh
#   tools/setup.sh --pi     # also (or EDGEVAE_PI=1): the Raspberry Pi cross toolchains, qemu-user
#                           # and the arm64/armhf sysroots in build/sysroot-arm64, build/sysroot-armhf
#                           # (toolchains/make-sysroot.sh; the pi-* presets look there)
#   tools/setup.sh --fuzz   # also (or EDGEVAE_FUZZ_SETUP=1): clang 14, libFuzzer and the
#                           # sanitizer runtimes, llvm-profdata/llvm-cov (tools/fuzz.sh)
#   tools/setup.sh --micro  # also (or EDGEVAE_MICRO_SETUP=1): the bare-metal Cortex-M toolchain
#                           # (arm-none-eabi GCC, newlib, libstdc++) and qemu-system-arm, for the
#                           # micro-m33 and micro-m4 presets
set -euo pipefail

pi="${EDGEVAE_PI:-0}"
fuzz="${EDGEVAE_FUZZ_SETUP:-0}"
micro="${EDGEVAE_MICRO_SETUP:-0}"
for arg in "$@"; do
  case "$arg" in
    --pi) pi=1 ;;
    --fuzz) fuzz=1 ;;
    --micro) micro=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) printf 'setup: error: unknown argument %s (try --help)\n' "$arg" >&2; exit 2 ;;
  esac
done
case "$pi" in 1 | true | yes) pi=1 ;; *) pi=0 ;; esac
case "$fuzz" in 1 | true | yes) fuzz=1 ;; *) fuzz=0 ;; esac
case "$micro" in 1 | true | yes) micro=1 ;; *) micro=0 ;; esac

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libhwy-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpng-dev libcli11-dev nlohmann-json3-dev libxxhash-dev zlib1g-dev
  libmicrohttpd-dev libcpp-httplib-dev dataset-fashion-mnist
)
# The web demo's browser test (tests/serve) drives Debian's chromium headless; it is large, so
# only x86-64 hosts (CI, development) get it, not a Pi setting up the demo.
if [[ "$(dpkg --print-architecture 2>/dev/null || true)" == amd64 ]]; then
  PACKAGES+=(chromium)
fi
if ((pi)); then
  PACKAGES+=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)
fi
if ((fuzz)); then
  # The fuzz and fuzz-coverage presets name clang-14; libclang-rt-14-dev has libFuzzer and the
  # sanitizer runtimes, llvm-14 llvm-profdata-14 and llvm-cov-14; python3 runs the coverage table.
  PACKAGES+=(clang-14 libclang-rt-14-dev llvm-14 python3)
fi
if ((micro)); then
  # toolchains/arm-none-eabi.toolchain.cmake; the tests run on qemu-system-arm's MPS2 boards.
  PACKAGES+=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm)
fi
readonly PACKAGES

# The sysroots of Debian arm64/armhf libraries that the pi-* presets' toolchain files use by default.
# make-sysroot.sh is itself idempotent (a stamp file), so this costs nothing once they are made.
make_sysroots() {
  ((pi)) || return 0
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for arch in arm64 armhf; do
    bash "$root/toolchains/make-sysroot.sh" "$arch" "$root/build/sysroot-$arch"
  done
}

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True when dpkg reports the package as fully installed ("install ok installed").
installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found; this script needs Debian or Ubuntu"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found; this script needs Debian or Ubuntu"

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

# The base image may carry nodejs from nodesource with npm bundled; installing Debian's npm over
# it would conflict, so Debian's nodejs and npm are added only when no npm is on PATH.
if ! command -v npm >/dev/null 2>&1; then
  installed nodejs || missing+=(nodejs)
  installed npm || missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  log "all ${#PACKAGES[@]} packages and npm already installed; nothing to do"
  make_sysroots
  exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; run as root to install: ${missing[*]}"
  sudo_cmd=(sudo)
fi

log "missing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A mirror in mid-sync fails an index now and then: retry, then go on with the lists apt has
# (the install below still fails if a package is really unavailable). EDGEVAE_APT_UPDATED=1
# says the caller has just updated them (.ci/run, whose lanes each call this script).
for attempt in 1 2 3; do
  if [[ "${EDGEVAE_APT_UPDATED:-0}" == 1 ]]; then
    log "apt-get update: skipped, the caller has just run it (EDGEVAE_APT_UPDATED=1)"
    break
  fi
  log "apt-get update (attempt $attempt)"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q && break
  ((attempt == 3)) && log "warning: apt-get update failed; using the package lists apt has"
  ((attempt == 3)) || sleep 10
done
log "apt-get install ${#missing[@]} package(s)"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

still_missing=()
for pkg in "${missing[@]}"; do
  installed "$pkg" || still_missing+=("$pkg")
done
((${#still_missing[@]} == 0)) || die "apt-get finished but these are still not installed: ${still_missing[*]}"
command -v npm >/dev/null 2>&1 || die "npm still not on PATH after installing nodejs and npm"
make_sysroots
log "done"
