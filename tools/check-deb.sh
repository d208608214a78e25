#!/usr/bin/env bash
# Checks an edgevae .deb with dpkg-deb --info / --contents (any architecture; runs on the host).
#
#   tools/check-deb.sh FILE.deb [--arch ARCH] [--models N] [--expect PATH]... [--no-path TEXT]...
#
#   --arch ARCH     the Debian architecture it must carry (arm64, armhf, amd64)
#   --models N      it must hold N models under usr/share/edgevae/models/*.evae (default: any number)
#   --expect PATH   another path it must hold, e.g. usr/bin/edgevae-digits
#   --no-path TEXT  a string (a build or source directory) that no installed text file may contain
#
# What is checked: the file name edgevae_<version>_<arch>.deb agrees with the control fields;
# Maintainer, Description and Depends are set; the CLI, the library, the headers, edgevae.pc and the
# CMake package are inside, everything under /usr; every program in usr/bin is an ELF file for
# the package's architecture (readelf -h). Prints what it checked; exit 1 on the first failure,
# 2 on bad usage.
set -euo pipefail

die() { printf 'check-deb: error: %s\n' "$*" >&2; exit 1; }
usage() { printf 'check-deb: error: %s (try --help)\n' "$*" >&2; exit 2; }
ok() { printf 'check-deb: ok   %s\n' "$*"; }

deb=""
want_arch=""
want_models=""
expects=()
no_paths=()
while (($#)); do
  case "$1" in
    -h|--help) sed -n '2,15p' "$0" | sed -e 's/^#//' -e 's/^ //'; exit 0 ;;
    --arch) (($# >= 2)) || usage "--arch needs a value"; want_arch="$2"; shift 2 ;;
    --models) (($# >= 2)) || usage "--models needs a value"; want_models="$2"; shift 2 ;;
    --expect) (($# >= 2)) || usage "--expect needs a value"; expects+=("$2"); shift 2 ;;
    --no-path) (($# >= 2)) || usage "--no-path needs a value"; no_paths+=("$2"); shift 2 ;;
    -*) usage "unknown option $1" ;;
    *) [[ -z "$deb" ]] || usage "more than one package given"; deb="$1"; shift ;;
  esac
done
[[ -n "$deb" ]] || usage "no package given"
[[ -z "$want_models" || "$want_models" =~ ^[0-9]+$ ]] || usage "--models wants a count, got $want_models"
[[ -f "$deb" ]] || die "$deb: no such file"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (package dpkg)"
command -v readelf >/dev/null || die "readelf not found (package binutils)"

# The name: edgevae_<version>_<arch>.deb.
name="$(basename "$deb")"
[[ "$name" =~ ^edgevae_([0-9][^_]*)_([a-z0-9]+)\.deb$ ]] ||
  die "$name: expected a file name edgevae_<version>_<arch>.deb"
name_version="${BASH_REMATCH[1]}"
name_arch="${BASH_REMATCH[2]}"

# Control fields.
field() { dpkg-deb --field "$deb" "$1"; }
[[ "$(field Package)" == edgevae ]] || die "$name: Package is '$(field Package)', expected edgevae"
[[ "$(field Version)" == "$name_version" ]] ||
  die "$name: Version is '$(field Version)', the file name says $name_version"
arch="$(field Architecture)"
[[ "$arch" == "$name_arch" ]] || die "$name: Architecture is '$arch', the file name says $name_arch"
[[ -z "$want_arch" || "$arch" == "$want_arch" ]] ||
  die "$name: Architecture is '$arch', expected $want_arch"
for f in Maintainer Description Depends; do
  [[ -n "$(field "$f")" ]] || die "$name: control field $f is empty"
done
depends="$(field Depends)"
for pkg in libxnnpack0 libhwy1 libpng16-16; do
  [[ "$depends" == *"$pkg"* ]] || die "$name: Depends ($depends) lacks $pkg"
done
ok "$name: Package edgevae, Version $name_version, Architecture $arch, Depends $depends"

# Contents, as paths without the leading "./".
mapfile -t paths < <(dpkg-deb --contents "$deb" | awk '{print $NF}' | sed -e 's|^\./||' -e 's|/$||')
((${#paths[@]} > 0)) || die "$name: empty package"
for p in "${paths[@]}"; do
  [[ "$p" == usr || "$p" == usr/* || -z "$p" ]] || die "$name: holds $p, outside /usr"
  [[ "$p" != usr/local* ]] || die "$name: holds $p: a package installs under /usr, not /usr/local"
done
# grep reads a here-string, not a pipe: with pipefail, `printf | grep -q` fails whenever grep
# stops at an early match while printf is still writing (SIGPIPE), a random "no file matching".
has() { grep -Eq "^$1\$" <<<"$(printf '%s\n' "${paths[@]}")"; }
required=(
  'usr/bin/edgevae'
  'usr/lib(/[a-z0-9_-]+)?/libedgevae_runtime\.a'
  'usr/lib(/[a-z0-9_-]+)?/libedgevae_tools\.a'
  'usr/lib(/[a-z0-9_-]+)?/libedgevae_kernels\.a'
  'usr/include/edgevae/engine\.h' 'usr/include/edgevae/model\.h' 'usr/include/edgevae/status\.h'
  'usr/include/edgevae/runtime\.h' 'usr/include/edgevae/shape\.h'
  'usr/lib(/[a-z0-9_-]+)?/pkgconfig/edgevae\.pc'
  'usr/lib(/[a-z0-9_-]+)?/pkgconfig/edgevae-runtime\.pc'
  'usr/lib(/[a-z0-9_-]+)?/cmake/edgevae/edgevaeConfig\.cmake'
  'usr/lib(/[a-z0-9_-]+)?/cmake/edgevae/edgevaeConfigVersion\.cmake'
  'usr/lib(/[a-z0-9_-]+)?/cmake/edgevae/edgevaeTargets\.cmake'
  'usr/lib(/[a-z0-9_-]+)?/cmake/edgevae/FindXNNPACK\.cmake'
)
for e in "${expects[@]+"${expects[@]}"}"; do
  required+=("$(printf '%s' "${e#/}" | sed 's/[.[\*^$+?(){}|]/\\&/g')")
done
for r in "${required[@]}"; do
  has "$r" || die "$name: no file matching $r"
done
ok "$name: ${#required[@]} required files present (CLI, library, headers, edgevae.pc, CMake package)"

models="$(printf '%s\n' "${paths[@]}" | grep -Ec '^usr/share/edgevae/models/[^/]+\.evae$' || true)"
if [[ -n "$want_models" ]]; then
  [[ "$models" == "$want_models" ]] ||
    die "$name: $models models under usr/share/edgevae/models, expected $want_models"
fi
ok "$name: $models model(s) under usr/share/edgevae/models"

# Unpack: every program must be built for the package's architecture.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
case "$arch" in
  arm64) machine='AArch64' ;;
  armhf) machine='ARM' ;;
  amd64) machine='Advanced Micro Devices X86-64' ;;
  i386) machine='Intel 80386' ;;
  *) die "$name: no ELF machine known for architecture $arch" ;;
esac
nprog=0
for prog in "$tmp"/usr/bin/*; do
  [[ -f "$prog" ]] || continue
  header="$(readelf -h "$prog" 2>/dev/null)" || die "$name: usr/bin/${prog##*/} is not an ELF file"
  got="$(sed -n 's/^ *Machine: *//p' <<<"$header")"
  [[ "$got" == "$machine" ]] ||
    die "$name: usr/bin/${prog##*/} is built for '$got', but the package says $arch ($machine)"
  if [[ "$arch" == armhf ]]; then
    grep -q 'hard-float ABI' <<<"$header" || die "$name: usr/bin/${prog##*/} is not hard-float"
  fi
  nprog=$((nprog + 1))
done
ok "$name: $nprog program(s) in usr/bin built for $machine"

# Installed text files (the CMake package, edgevae.pc) must not point back at the build machine.
for text in "${no_paths[@]+"${no_paths[@]}"}"; do
  if hits="$(grep -rlIF -- "$text" "$tmp/usr/lib" "$tmp/usr/include" "$tmp/usr/share" 2>/dev/null)"; then
    die "$name: ${hits//$tmp\//} mention(s) $text"
  fi
done
((${#no_paths[@]} == 0)) || ok "$name: no installed file mentions the build or source directory"
