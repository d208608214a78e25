#!/usr/bin/env bash
# ctest packaging.consumer: installs this build into a fresh prefix (cmake --install --prefix),
# then builds and runs tests/packaging/consumer against it the way a user would: with
# find_package(edgevae) (CMAKE_PREFIX_PATH, or edgevae_DIR in a cross build, whose find paths are
# re-rooted in the sysroot) and, on a native build, with plain `c++ $(pkg-config edgevae)`.
# In a cross build the consumer is configured with the same toolchain file and sysroot and runs
# under the toolchain's emulator (its ctest).
#
#   consumer_test.sh CMAKE CTEST BUILD_DIR SOURCE_DIR WORK_DIR VERSION CXX TOOLCHAIN_FILE SYSROOT
#                    GENERATOR
#   (TOOLCHAIN_FILE and SYSROOT empty for a native build; GENERATOR that of the build, e.g. Ninja)
set -euo pipefail
cmake="$1" ctest="$2" build="$3" source="$4" work="$5" version="$6" cxx="$7" toolchain="$8"
sysroot="$9" generator="${10}"

rm -rf "$work"
prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix"

config="$(find "$prefix" -path '*/cmake/edgevae/edgevaeConfig.cmake' | head -n 1)"
pcfile="$(find "$prefix" -path '*/pkgconfig/edgevae-runtime.pc' | head -n 1)"
[[ -n "$config" && -n "$pcfile" ]] || { echo "consumer_test: no edgevaeConfig.cmake / edgevae.pc under $prefix" >&2; exit 1; }
models=()
if [[ -d "$prefix/share/edgevae/models" ]]; then
  mapfile -t models < <(find "$prefix/share/edgevae/models" -name '*.evae' | sort)
fi
model_list="$(IFS=';'; echo "${models[*]+"${models[*]}"}")"

args=(-S "$source/tests/packaging/consumer" -B "$work/build" -G "$generator"
      -DCMAKE_BUILD_TYPE=Release "-DEXPECTED_VERSION=$version" "-DMODELS=$model_list")
if [[ -n "$toolchain" ]]; then
  args+=("-DCMAKE_TOOLCHAIN_FILE=$toolchain" "-DEDGEVAE_SYSROOT=$sysroot"
         "-Dedgevae_DIR=$(dirname "$config")")
else
  args+=("-DCMAKE_PREFIX_PATH=$prefix" "-DCMAKE_CXX_COMPILER=$cxx")
fi
echo "consumer_test: find_package(edgevae) against $prefix"
"$cmake" "${args[@]}"
"$cmake" --build "$work/build"
"$ctest" --test-dir "$work/build" --output-on-failure -V

# A board program that links only the runtime carries no host tooling: no libpng (nor CLI11, which
# is header-only and so cannot show in NEEDED; the programs of firmware/ are what use it).
needed="$(readelf -d "$work/build/consumer" | grep NEEDED || true)"
echo "consumer_test: the runtime consumer needs: $(echo "$needed" | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ')"
if grep -qi 'libpng' <<<"$needed"; then
  echo "consumer_test: a program linking edgevae::runtime needs libpng" >&2
  exit 1
fi

if [[ -z "$toolchain" ]]; then
  pc() { PKG_CONFIG_PATH="$(dirname "$pcfile")" pkg-config --cflags --libs "$1"; }
  echo "consumer_test: $cxx -std=c++20 main.cc \$(pkg-config --cflags --libs edgevae-runtime)"
  # shellcheck disable=SC2046  # pkg-config's output is a list of words
  "$cxx" -std=c++20 -O2 -Wall -Werror=format "-DEDGEVAE_EXPECTED_VERSION=\"$version\"" \
    "$source/tests/packaging/consumer/main.cc" -o "$work/consumer-pkgconfig" $(pc edgevae-runtime)
  "$work/consumer-pkgconfig" "${models[@]+"${models[@]}"}"
  echo "consumer_test: $cxx -std=c++20 tools_main.cc \$(pkg-config --cflags --libs edgevae)"
  # shellcheck disable=SC2046
  "$cxx" -std=c++20 -O2 -Wall -Werror=format "$source/tests/packaging/consumer/tools_main.cc" \
    -o "$work/consumer-tools-pkgconfig" $(pc edgevae)
  "$work/consumer-tools-pkgconfig" "$work/pkgconfig-trained.evae"
fi
