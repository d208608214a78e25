#!/usr/bin/env bash
# ctest packaging.deb: builds the .deb of this build directory with cpack and checks it with
# tools/check-deb.sh. The expected architecture comes from the compiler's own target triple
# (CXX -dumpmachine), not from the CMake logic that set the package's, nor from the host.
#
#   deb_test.sh CPACK BUILD_DIR SOURCE_DIR CXX WORK_DIR [--expect usr/bin/PROG]...
set -euo pipefail
cpack="$1" build="$2" source="$3" cxx="$4" work="$5"
shift 5

triple="$("$cxx" -dumpmachine)"
case "$triple" in
  aarch64-*linux-gnu) arch=arm64 ;;
  arm-*linux-gnueabihf) arch=armhf ;;
  x86_64-*linux-gnu) arch=amd64 ;;
  i?86-*linux-gnu) arch=i386 ;;
  *) echo "deb_test: no Debian architecture known for compiler target $triple" >&2; exit 1 ;;
esac
echo "deb_test: compiler target $triple -> expecting Architecture $arch"

models=0
if [[ -d "$source/models" ]]; then
  models="$(find "$source/models" -maxdepth 1 -name '*.evae' | wc -l)"
fi

rm -rf "$work"
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$work"
mapfile -t debs < <(find "$work" -maxdepth 1 -name '*.deb')
((${#debs[@]} == 1)) || { echo "deb_test: cpack made ${#debs[@]} .deb files: ${debs[*]}" >&2; exit 1; }
bash "$source/tools/check-deb.sh" "${debs[0]}" --arch "$arch" --models "$models" \
  --no-path "$source" --no-path "$build" "$@"
