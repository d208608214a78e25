# The bare-metal build's dependencies. Highway, nlohmann/json and xxHash are header-only (xxHash
# with XXH_INLINE_ALL), so the Debian packages' headers serve a Cortex-M build too; but the host's
# /usr/include also holds glibc's headers, which must not shadow newlib's. So the three are linked
# into a folder of the build tree and only that folder is added to the include path.
set(EDGEVAE_BARE_METAL ON)
# newlib hides aligned_alloc (C11) and strnlen (POSIX) from strict -std=c++20, which the project
# keeps so that GCC fuses no multiply-add that the hosted builds do not (bit-identical results).
add_compile_definitions(EDGEVAE_BARE_METAL=1 _DEFAULT_SOURCE)
# GCC 12 notes an ABI change of GCC 7.1 at every std::map of a json object: nothing to act on.
add_compile_options(-Wno-psabi)

set(EDGEVAE_HOST_HEADERS "/usr/include" CACHE PATH
    "Where the host's Highway (hwy/), nlohmann/json (nlohmann/) and xxhash.h are")
set(_edgevae_headers "${CMAKE_BINARY_DIR}/host-headers")
file(MAKE_DIRECTORY "${_edgevae_headers}")
foreach(entry hwy nlohmann xxhash.h)
  if(NOT EXISTS "${EDGEVAE_HOST_HEADERS}/${entry}")
    message(FATAL_ERROR "${EDGEVAE_HOST_HEADERS}/${entry} not found: install libhwy-dev, "
                        "nlohmann-json3-dev and libxxhash-dev (tools/setup.sh)")
  endif()
  file(CREATE_LINK "${EDGEVAE_HOST_HEADERS}/${entry}" "${_edgevae_headers}/${entry}" SYMBOLIC)
endforeach()

add_library(hwy::hwy INTERFACE IMPORTED)
target_include_directories(hwy::hwy SYSTEM INTERFACE "${_edgevae_headers}")
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE "${_edgevae_headers}")
# Without exceptions a json error would abort; the readers parse with allow_exceptions = false and
# check every type before reading a value, so no throwing path is taken.
target_compile_definitions(nlohmann_json::nlohmann_json INTERFACE JSON_NOEXCEPTION)
add_library(PkgConfig::XXHASH INTERFACE IMPORTED)
target_include_directories(PkgConfig::XXHASH SYSTEM INTERFACE "${_edgevae_headers}")
target_compile_definitions(PkgConfig::XXHASH INTERFACE XXH_INLINE_ALL)
