# Cross-compiles edgevae for a Raspberry Pi 3/4/5 or Zero 2 running a 64-bit OS (aarch64).
# Compiler: Debian's aarch64-linux-gnu-gcc/g++ 12 (package g++-aarch64-linux-gnu), which brings libc,
# libstdc++ and libgcc under /usr/aarch64-linux-gnu. Every other library comes from a sysroot of
# Debian arm64 packages made by toolchains/make-sysroot.sh.
#
#   bash tools/setup.sh --pi      # cross compilers, qemu-user, build/sysroot-arm64
#   cmake --preset pi-aarch64 && cmake --build --preset pi-aarch64 && ctest --preset pi-aarch64
#
# Cache variables: EDGEVAE_SYSROOT (the sysroot), EDGEVAE_QEMU_CPU (the CPU qemu-aarch64 models).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# The sysroot defaults to the source tree's build/sysroot-arm64, where tools/setup.sh --pi makes it,
# so that every build directory shares one. (This file is read before project() and again in each
# try_compile project: CMAKE_CURRENT_LIST_DIR is the one anchor that is the same everywhere.)
get_filename_component(_edgevae_default_sysroot "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-arm64"
                       ABSOLUTE)
set(EDGEVAE_SYSROOT "${_edgevae_default_sysroot}" CACHE PATH
    "Sysroot of Debian arm64 packages (toolchains/make-sysroot.sh arm64 DIR makes one)")
# Cortex-A72 = Pi 4. A Pi 3 / Zero 2 is cortex-a53, a Pi 5 cortex-a76 (which adds fp16 and dotprod:
# XNNPACK would then pick kernels a Pi 4 cannot run).
set(EDGEVAE_QEMU_CPU "cortex-a72" CACHE STRING "CPU model for qemu-aarch64 when running tests")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGEVAE_SYSROOT EDGEVAE_QEMU_CPU)
if(NOT EXISTS "${EDGEVAE_SYSROOT}/usr/include/xnnpack.h")
  message(FATAL_ERROR "No arm64 sysroot at ${EDGEVAE_SYSROOT}. Make it with\n"
          "  bash tools/setup.sh --pi\nor\n"
          "  toolchains/make-sysroot.sh arm64 ${EDGEVAE_SYSROOT}\n"
          "or point -DEDGEVAE_SYSROOT=... at one.")
endif()

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Plain armv8-a, no +crypto: the Pi 3/4 and Zero 2 cores lack AES/SHA. Highway is statically
# dispatched on ARM (lib/src/kernels/targets.h), so this flag alone chooses its target: NEON.
# The sysroot's multiarch headers (OpenSSL's opensslconf.h, which cpp-httplib's header needs),
# searched after every other directory so that they never shadow the toolchain's own.
set(_edgevae_multiarch_include "-idirafter ${EDGEVAE_SYSROOT}/usr/include/aarch64-linux-gnu")
set(CMAKE_C_FLAGS_INIT "-march=armv8-a ${_edgevae_multiarch_include}")
set(CMAKE_CXX_FLAGS_INIT "-march=armv8-a ${_edgevae_multiarch_include}")
# The sysroot's libraries need each other at link time (libXNNPACK -> libcpuinfo, libpng -> libz).
set(_edgevae_rpath_link
    "-Wl,-rpath-link,${EDGEVAE_SYSROOT}/usr/lib/aarch64-linux-gnu:${EDGEVAE_SYSROOT}/lib/aarch64-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_edgevae_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_edgevae_rpath_link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_edgevae_rpath_link}")

# Libraries, headers and CMake packages only from the sysroot; programs (pkg-config) from the host.
set(CMAKE_FIND_ROOT_PATH "${EDGEVAE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's pkg-config reads only the sysroot's .pc files and prefixes their paths with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${EDGEVAE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${EDGEVAE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${EDGEVAE_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Test programs (ctest, gtest_discover_tests) run under qemu-user: -L gives the toolchain's loader
# and libc, LD_LIBRARY_PATH (set for the guest only, with -E) the sysroot's libraries.
find_program(EDGEVAE_QEMU qemu-aarch64)
if(NOT EDGEVAE_QEMU)
  set(EDGEVAE_QEMU qemu-aarch64)  # not installed: the build works, running the tests does not
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
    "${EDGEVAE_QEMU};-cpu;${EDGEVAE_QEMU_CPU};-L;/usr/aarch64-linux-gnu;-E;LD_LIBRARY_PATH=${EDGEVAE_SYSROOT}/usr/lib/aarch64-linux-gnu:${EDGEVAE_SYSROOT}/lib/aarch64-linux-gnu")
