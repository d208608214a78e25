# Cross-compiles edgevae for a bare-metal Cortex-M (no OS): newlib as the C library, semihosting
# for stdio, files, arguments and the exit status, and tests run under qemu-system-arm on an MPS2
# board model. The platform layer (startup, linker scripts, syscalls) is firmware/micro/platform.
#
#   bash tools/setup.sh --micro    # gcc-arm-none-eabi, newlib, libstdc++, qemu-system-arm
#   cmake --preset micro-m33 && cmake --build --preset micro-m33 && ctest --preset micro-m33
#
# Cache variables: EDGEVAE_MICRO_CPU (cortex-m33 | cortex-m4) chooses the code generation,
# EDGEVAE_QEMU_MACHINE (mps2-an505 | mps2-an386; by default the board with that core) the board
# the tests run on and the linker script the programs are linked with.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(EDGEVAE_MICRO_CPU "cortex-m33" CACHE STRING
    "Cortex-M core to compile for (cortex-m33 | cortex-m4)")
set_property(CACHE EDGEVAE_MICRO_CPU PROPERTY STRINGS cortex-m33 cortex-m4)
# Both cores have a single-precision FPU only: a double is computed in software on either.
if(EDGEVAE_MICRO_CPU STREQUAL "cortex-m33")
  set(_edgevae_micro_fpu fpv5-sp-d16)
  set(_edgevae_micro_machine mps2-an505)
elseif(EDGEVAE_MICRO_CPU STREQUAL "cortex-m4")
  set(_edgevae_micro_fpu fpv4-sp-d16)
  set(_edgevae_micro_machine mps2-an386)
else()
  message(FATAL_ERROR
          "EDGEVAE_MICRO_CPU is '${EDGEVAE_MICRO_CPU}'; expected cortex-m33 or cortex-m4")
endif()
set(EDGEVAE_QEMU_MACHINE "${_edgevae_micro_machine}" CACHE STRING
    "qemu-system-arm board that runs the tests (mps2-an505: Cortex-M33, mps2-an386: Cortex-M4)")
set_property(CACHE EDGEVAE_QEMU_MACHINE PROPERTY STRINGS mps2-an505 mps2-an386)
if(NOT EDGEVAE_QEMU_MACHINE MATCHES "^mps2-an(505|386)$")
  message(FATAL_ERROR "EDGEVAE_QEMU_MACHINE is '${EDGEVAE_QEMU_MACHINE}'; expected mps2-an505 or "
                      "mps2-an386 (firmware/micro/platform has a linker script for those two)")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGEVAE_MICRO_CPU EDGEVAE_QEMU_MACHINE)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# A test program cannot link without the platform's startup code and linker script, so CMake's
# compiler checks build a static library instead of an executable.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Hard-float ABI: newlib and libstdc++ have a multilib for each of these -mcpu/-mfpu pairs
# (thumb/v8-m.main+fp/hard, thumb/v7e-m+fp/hard), which the driver picks from the flags.
# Sections per function and object let --gc-sections drop what a program does not reach.
set(_edgevae_micro_flags
    "-mcpu=${EDGEVAE_MICRO_CPU} -mthumb -mfloat-abi=hard -mfpu=${_edgevae_micro_fpu}")
string(APPEND _edgevae_micro_flags " -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_edgevae_micro_flags}")
set(CMAKE_ASM_FLAGS_INIT "${_edgevae_micro_flags}")
# No exceptions or RTTI: unwinding tables and type_info cost flash and RAM that a microcontroller
# program would rather spend on weights; the runtime reports errors by status values.
set(CMAKE_CXX_FLAGS_INIT "${_edgevae_micro_flags} -fno-exceptions -fno-rtti")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")

# newlib's headers and libraries are found by the compiler driver itself; find_* look only under
# the toolchain's own prefix (never the host's /usr/include or /usr/lib), programs on the host.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libc.a
                OUTPUT_VARIABLE _edgevae_micro_libc OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _edgevae_micro_libc_result)
if(_edgevae_micro_libc_result EQUAL 0 AND IS_ABSOLUTE "${_edgevae_micro_libc}")
  get_filename_component(_edgevae_micro_prefix "${_edgevae_micro_libc}/../.." ABSOLUTE)
  set(CMAKE_FIND_ROOT_PATH "${_edgevae_micro_prefix}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs a program as `qemu-micro.sh --machine M prog.elf args...`: the script turns the
# arguments into semihosting's command line (qemu's -append would put them after -kernel, which
# CMake's emulator prefix cannot do, and collapses runs of spaces) and returns the program's exit
# status as its own.
find_program(EDGEVAE_QEMU_SYSTEM_ARM qemu-system-arm)
if(NOT EDGEVAE_QEMU_SYSTEM_ARM)
  set(EDGEVAE_QEMU_SYSTEM_ARM qemu-system-arm)  # not installed: the build works, the tests do not
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/qemu-micro.sh"
    --qemu "${EDGEVAE_QEMU_SYSTEM_ARM}" --machine "${EDGEVAE_QEMU_MACHINE}")
