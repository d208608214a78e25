# Install/export and Debian packages. Included once from the top CMakeLists, after every target.
#
# What `cmake --install` (and so every package) holds, under the prefix:
#   bin/edgevae (+ the device programs of firmware/, through their own install rules)
#   lib/libedgevae_runtime.a, lib/libedgevae_tools.a, lib/libedgevae_kernels.a, include/edgevae/*.h
#   lib/cmake/edgevae/  edgevaeConfig.cmake, edgevaeConfigVersion.cmake, edgevaeTargets*.cmake and
#                       our FindXNNPACK.cmake: find_package(edgevae) -> targets edgevae::runtime
#                       (what a board program links) and edgevae::tools (training, quantization,
#                       writers, IDX, safetensors, PNG/PGM; it links the runtime)
#   lib/pkgconfig/edgevae-runtime.pc, lib/pkgconfig/edgevae.pc (runtime and tools)
#   share/edgevae/models/*.evae (the shipped models, when models/ holds any)
#
# The libraries are static: device programs and the CLI then carry no .so of ours to version, and
# nothing of ours has to be found at run time. Its dependencies stay shared Debian libraries, so a
# consumer links them too; edgevaeConfig.cmake finds them (find_dependency) and edgevae.pc lists them.
#
# `cpack -G DEB` (or `cpack --preset <preset>`) in a build directory gives
# edgevae_<version>_<arch>.deb, arch = the Debian architecture of the *target* (arm64, armhf,
# amd64), never the host's dpkg --print-architecture.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(EDGEVAE_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/edgevae")

install(EXPORT edgevaeTargets NAMESPACE edgevae:: DESTINATION "${EDGEVAE_CMAKE_INSTALL_DIR}")
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/edgevaeConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/edgevaeConfig.cmake"
  INSTALL_DESTINATION "${EDGEVAE_CMAKE_INSTALL_DIR}")
# 0.x: a minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/edgevaeConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/edgevaeConfig.cmake"
              "${PROJECT_BINARY_DIR}/edgevaeConfigVersion.cmake"
              "${CMAKE_CURRENT_LIST_DIR}/FindXNNPACK.cmake"
        DESTINATION "${EDGEVAE_CMAKE_INSTALL_DIR}")

# edgevae.pc finds its prefix from its own location (${pcfiledir}), so the same file is right in
# a .deb (/usr), in `cmake --install --prefix DIR`, and wherever a package is unpacked.
file(RELATIVE_PATH EDGEVAE_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" EDGEVAE_PC_TO_PREFIX "${EDGEVAE_PC_TO_PREFIX}")
foreach(pc edgevae edgevae-runtime)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in" "${PROJECT_BINARY_DIR}/${pc}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${pc}.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endforeach()

# The shipped models arrive in models/ (with the commands that made them in their metadata). A
# missing or empty folder installs nothing.
if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/models")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/models/"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/edgevae/models"
          FILES_MATCHING PATTERN "*.evae")
endif()

# The Debian architecture of what the compiler builds. CMAKE_LIBRARY_ARCHITECTURE (the multiarch
# triple: set by the toolchain files, detected from the compiler natively) comes first because a Pi
# running a 32-bit Raspberry Pi OS boots a 64-bit kernel: there CMAKE_SYSTEM_PROCESSOR (uname -m)
# says aarch64 while the compiler makes armhf code. The pointer size settles the rest.
function(edgevae_debian_architecture out)
  set(triple "${CMAKE_LIBRARY_ARCHITECTURE}")
  set(cpu "${CMAKE_SYSTEM_PROCESSOR}")
  if(triple MATCHES "^aarch64-" OR (NOT triple AND cpu MATCHES "^(aarch64|arm64|ARM64)$"
                                    AND CMAKE_SIZEOF_VOID_P EQUAL 8))
    set(arch arm64)
  elseif(triple MATCHES "^arm-linux-gnueabihf$" OR (NOT triple AND cpu MATCHES "^(arm|aarch64)"))
    set(arch armhf)
  elseif(triple MATCHES "^x86_64-" OR (NOT triple AND cpu MATCHES "^(x86_64|AMD64|amd64)$"
                                       AND CMAKE_SIZEOF_VOID_P EQUAL 8))
    set(arch amd64)
  elseif(triple MATCHES "^i[3-6]86-" OR (NOT triple AND cpu MATCHES "^(i[3-6]86|x86)$"))
    set(arch i386)
  else()
    set(arch "")
  endif()
  set(${out} "${arch}" PARENT_SCOPE)
endfunction()

edgevae_debian_architecture(_edgevae_deb_arch)
set(EDGEVAE_DEB_ARCH "${_edgevae_deb_arch}" CACHE STRING
    "Debian architecture of the packages (empty: from the target, e.g. arm64, armhf, amd64)")
if(NOT EDGEVAE_DEB_ARCH)
  set(EDGEVAE_DEB_ARCH "${_edgevae_deb_arch}" CACHE STRING "" FORCE)
endif()
if(NOT EDGEVAE_DEB_ARCH)
  message(WARNING "No Debian architecture for ${CMAKE_LIBRARY_ARCHITECTURE} / "
          "${CMAKE_SYSTEM_PROCESSOR}: set -DEDGEVAE_DEB_ARCH=... to build .deb packages")
endif()

# Debian bookworm runtime packages of what the programs link (readelf -d bin/edgevae): the -dev
# packages are only Suggested, for building against the library. (Not a cache variable: a list
# that changes here must reach existing build directories.)
set(EDGEVAE_DEB_DEPENDS
    "libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, libxnnpack0 (>= 0.0~git20220216), libpthreadpool0, libcpuinfo0, libhwy1 (>= 1.0.3), libpng16-16 (>= 1.6.39), zlib1g, libxxhash0 (>= 0.8)")
get_property(_edgevae_serve_http GLOBAL PROPERTY EDGEVAE_SERVE_HTTP)
if(_edgevae_serve_http)
  # edgevae-digits serve links Debian's libmicrohttpd (which brings GnuTLS).
  string(APPEND EDGEVAE_DEB_DEPENDS ", libmicrohttpd12 (>= 0.9.75)")
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "edgevae")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "edgevae")
set(CPACK_PACKAGE_CONTACT "edgevae maintainers <maintainers@users.noreply.b-seed-7015d223.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Variational autoencoder engine for CPU-only boards (Raspberry Pi): train, quantize, run")
set(CPACK_PACKAGE_DESCRIPTION
    "edgevae trains a small VAE on MNIST on a host or on the board itself, converts it to an int8 or
f16 model file, and runs encode / decode / sample / anomaly scoring with XNNPACK and Google
Highway. This package holds the edgevae command-line tool, the device programs, the static
libraries with their headers, pkg-config files (edgevae-runtime, edgevae), a CMake package
(find_package(edgevae) gives edgevae::runtime and edgevae::tools) and the shipped models under
/usr/share/edgevae/models.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${EDGEVAE_DEB_ARCH}")
set(CPACK_DEBIAN_FILE_NAME "${CPACK_PACKAGE_NAME}_${CPACK_PACKAGE_VERSION}_${EDGEVAE_DEB_ARCH}.deb")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${EDGEVAE_DEB_DEPENDS}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libxnnpack-dev, libpthreadpool-dev, libcpuinfo-dev, libhwy-dev, libpng-dev, zlib1g-dev, libxxhash-dev, pkg-config, cmake, g++")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
include(CPack)
