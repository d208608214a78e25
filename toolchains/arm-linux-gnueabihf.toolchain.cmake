# Cross-compiles edgevae for a Raspberry Pi 2/3/4/5 or Zero 2 running a 32-bit OS (armhf: armv7-a,
# NEON, hard float). Not for the armv6 boards (Pi 1, Zero / Zero W): they have no NEON.
# Compiler: Debian's arm-linux-gnueabihf-gcc/g++ 12 (package g++-arm-linux-gnueabihf), which brings libc,
# libstdc++ and libgcc under /usr/arm-linux-gnueabihf. Every other library comes from a sysroot of
# Debian armhf packages made by toolchains/make-sysroot.sh.
#
#   bash tools/setup.sh --pi      # cross compilers, qemu-user, build/sysroot-armhf
#   cmake --preset pi-armhf && cmake --build --preset pi-armhf && ctest --preset pi-armhf
#
# Cache variables: EDGEVAE_SYSROOT (the sysroot), EDGEVAE_QEMU_CPU (the CPU qemu-arm models).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

# The sysroot defaults to the source tree's build/sysroot-armhf, where tools/setup.sh --pi makes it,
# so that every build directory shares one. (This file is read before project() and again in each
# try_compile project: CMAKE_CURRENT_LIST_DIR is the one anchor that is the same everywhere.)
get_filename_component(_edgevae_default_sysroot "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-armhf"
                       ABSOLUTE)
set(EDGEVAE_SYSROOT "${_edgevae_default_sysroot}" CACHE PATH
    "Sysroot of Debian armhf packages (toolchains/make-sysroot.sh armhf DIR makes one)")
# qemu-arm has no 32-bit model of the Pi's armv8 cores; cortex-a15 is armv7-a with NEON and VFPv4,
# exactly what the flags below assume, so an instruction beyond them fails the tests.
set(EDGEVAE_QEMU_CPU "cortex-a15" CACHE STRING "CPU model for qemu-arm when running tests")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGEVAE_SYSROOT EDGEVAE_QEMU_CPU EDGEVAE_QEMU_TMPDIR)
if(NOT EXISTS "${EDGEVAE_SYSROOT}/usr/include/xnnpack.h")
  message(FATAL_ERROR "No armhf sysroot at ${EDGEVAE_SYSROOT}. Make it with\n"
          "  bash tools/setup.sh --pi\nor\n"
          "  toolchains/make-sysroot.sh armhf ${EDGEVAE_SYSROOT}\n"
          "or point -DEDGEVAE_SYSROOT=... at one.")
endif()

set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# armv7-a + NEON with VFPv4 (fused multiply-add; Highway 1.0.3 fails to compile with plain -mfpu=neon),
# hard-float ABI as in Raspberry Pi OS / Debian armhf. -mfp16-format=ieee: Highway's base.h uses
# __fp16, which 32-bit GCC only defines with it (Highway's own CMakeLists adds the same four flags).
# Highway is statically dispatched on ARM (lib/src/kernels/targets.h), so these flags choose its
# target: NEON. -Wno-psabi silences GCC's note that passing some structs changed in GCC 7.1 (pages of
# it from <algorithm>; everything here is built by GCC 12, so no mixed ABI can arise).
# The sysroot's multiarch headers (OpenSSL's opensslconf.h, which cpp-httplib's header needs),
# searched after every other directory so that they never shadow the toolchain's own.
set(_edgevae_multiarch_include "-idirafter ${EDGEVAE_SYSROOT}/usr/include/arm-linux-gnueabihf")
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -mfp16-format=ieee -Wno-psabi ${_edgevae_multiarch_include}")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -mfp16-format=ieee -Wno-psabi ${_edgevae_multiarch_include}")
# The sysroot's libraries need each other at link time (libXNNPACK -> libcpuinfo, libpng -> libz).
set(_edgevae_rpath_link
    "-Wl,-rpath-link,${EDGEVAE_SYSROOT}/usr/lib/arm-linux-gnueabihf:${EDGEVAE_SYSROOT}/lib/arm-linux-gnueabihf")
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
    "${EDGEVAE_SYSROOT}/usr/lib/arm-linux-gnueabihf/pkgconfig:${EDGEVAE_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Test programs (ctest, gtest_discover_tests) run under qemu-user: -L gives the toolchain's loader
# and libc, LD_LIBRARY_PATH (set for the guest only, with -E) the sysroot's libraries.
find_program(EDGEVAE_QEMU qemu-arm)
if(NOT EDGEVAE_QEMU)
  set(EDGEVAE_QEMU qemu-arm)  # not installed: the build works, running the tests does not
endif()
# TMPDIR=/dev/shm: the tests make their scratch directories under $TMPDIR. On ext4 the host kernel
# hands a qemu-arm guest 64-bit directory offsets (it sees a 64-bit process), which a 32-bit
# readdir() cannot represent, so listing a directory yields nothing (EOVERFLOW): WritePngTest found
# 0 files. A real 32-bit Pi gets 32-bit offsets; tmpfs gives small ones under qemu too.
set(EDGEVAE_QEMU_TMPDIR "/dev/shm" CACHE PATH "TMPDIR for programs run under qemu-arm (tmpfs)")
set(CMAKE_CROSSCOMPILING_EMULATOR
    "${EDGEVAE_QEMU};-cpu;${EDGEVAE_QEMU_CPU};-L;/usr/arm-linux-gnueabihf;-E;LD_LIBRARY_PATH=${EDGEVAE_SYSROOT}/usr/lib/arm-linux-gnueabihf:${EDGEVAE_SYSROOT}/lib/arm-linux-gnueabihf;-E;TMPDIR=${EDGEVAE_QEMU_TMPDIR}")
