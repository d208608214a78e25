# The micro programs, built twice from the same sources:
#  - bare metal (presets micro-m33, micro-m4): micro_NAME.elf, tested under qemu-system-arm;
#  - hosted (every other build): edgevae-micro-NAME, the same code on the Linux int8 engine
#    (XNNPACK's kernels on x86 and aarch64), tested natively or under qemu-user.
# Both builds compare the programs' output bytes with the same files in tests/micro/expected, so
# a microcontroller, a PC and a Pi agree byte for byte (docs/micro.md). Included from
# firmware/micro/CMakeLists.txt (bare metal) and tests/micro/CMakeLists.txt (hosted).
include(EmbedModel)
# Each program embeds only what it runs: the anomaly scorer the whole model (it encodes), the
# digits program the decoder alone with the class statistics (edgevae convert --decoder-only
# cuts it from mnist.q8.evae: the same int8 layers, so the same bytes out; a third less flash).
set(EDGEVAE_MICRO_MODEL "${PROJECT_SOURCE_DIR}/models/mnist.cortex-m.q8.evae" CACHE FILEPATH
    "The int8 model file compiled into the micro anomaly scorer")
set(EDGEVAE_MICRO_DIGITS_MODEL "${PROJECT_SOURCE_DIR}/models/mnist-decoder.cortex-m.q8.evae" CACHE FILEPATH
    "The int8 model (a decoder alone is enough) compiled into the micro digits program")
set(_micro_dir "${CMAKE_CURRENT_LIST_DIR}")
set(_micro_model_src_anomaly "")
set(_micro_model_src_digits "")
# One symbol (micro_model.cc reads it), one generated file per program: each links its own.
edgevae_embed_model(_micro_model_src_anomaly "${EDGEVAE_MICRO_MODEL}" edgevae_micro_model
                    micro_anomaly_model)
edgevae_embed_model(_micro_model_src_digits "${EDGEVAE_MICRO_DIGITS_MODEL}" edgevae_micro_model
                    micro_digits_model)

add_library(edgevae_micro_common STATIC
  "${_micro_dir}/micro_model.cc" "${_micro_dir}/micro_options.cc")
target_include_directories(edgevae_micro_common PUBLIC "${_micro_dir}")
target_link_libraries(edgevae_micro_common PUBLIC edgevae::runtime)
if(EDGEVAE_BARE_METAL)
  target_link_libraries(edgevae_micro_common PUBLIC edgevae_micro_platform)
  # Start-up code: for size, as the runtime's loader (lib/src/runtime/CMakeLists.txt).
  target_compile_options(edgevae_micro_common PRIVATE -Os)
endif()

set(EDGEVAE_MICRO_PROGRAMS digits anomaly)
foreach(program ${EDGEVAE_MICRO_PROGRAMS})
  if(EDGEVAE_BARE_METAL)
    edgevae_micro_executable(micro_${program} "${_micro_dir}/micro_${program}.cc"
                             ${_micro_model_src_${program}})
    target_link_libraries(micro_${program} PRIVATE edgevae_micro_common)
  else()
    add_executable(micro_${program} "${_micro_dir}/micro_${program}.cc"
                   ${_micro_model_src_${program}})
    set_target_properties(micro_${program} PROPERTIES OUTPUT_NAME edgevae-micro-${program})
    target_link_libraries(micro_${program} PRIVATE edgevae_micro_common)
  endif()
endforeach()

# edgevae_micro_compare(<test> <program> <expected file> [STDIN file] ARGS...): the program's
# stdout, byte for byte. Under an emulator when the build has one (qemu-system-arm, qemu-user).
# Files are named relative to tests/micro.
set(_micro_tests "${PROJECT_SOURCE_DIR}/tests/micro")
set(_micro_expected "${_micro_tests}/expected")
function(edgevae_micro_compare name program expected)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "STDIN" "")
  if(DEFINED arg_STDIN)
    set(arg_STDIN "${_micro_tests}/${arg_STDIN}")
  endif()
  set(run ${CMAKE_CROSSCOMPILING_EMULATOR})
  if(EDGEVAE_BARE_METAL AND DEFINED arg_STDIN)
    list(APPEND run --stdin "${arg_STDIN}")
  endif()
  set(stdin_arg "")
  if(NOT EDGEVAE_BARE_METAL AND DEFINED arg_STDIN)
    set(stdin_arg "-DSTDIN=${arg_STDIN}")
  endif()
  # The command travels in one -D value, words joined by '|': cmake reads options such as
  # qemu-user's -L and -E even after `-P script --`.
  string(JOIN "|" command ${run} "$<TARGET_FILE:micro_${program}>" ${arg_UNPARSED_ARGUMENTS})
  add_test(NAME ${name}
           COMMAND "${CMAKE_COMMAND}" "-DEXPECTED=${_micro_expected}/${expected}"
                   "-DACTUAL=${CMAKE_CURRENT_BINARY_DIR}/${name}.out" ${stdin_arg}
                   "-DCOMMAND=${command}" -P "${_micro_dir}/compare_output.cmake")
  set_tests_properties(${name} PROPERTIES LABELS micro)
endfunction()

# The integer kernel on the microcontroller itself (its DSP path) against plain arithmetic; the
# hosted builds test the same function in tests/kernels.
if(EDGEVAE_BARE_METAL)
  edgevae_micro_executable(micro_int8_kernel_test "${PROJECT_SOURCE_DIR}/tests/micro/int8_kernel_test.cc")
  target_link_libraries(micro_int8_kernel_test PRIVATE edgevae_kernels)
  edgevae_micro_test(micro.int8_kernels micro_int8_kernel_test OUTPUT "int8 kernels ok")
  # The issue's flash budget for the digits program (the decoder and its class statistics):
  # 1 MiB, the unit flash chips come in (docs/micro.md, "Sizes").
  if(EDGEVAE_ARM_NONE_EABI_SIZE)
    add_test(NAME micro.digits.flash_budget
             COMMAND "${CMAKE_COMMAND}" "-DSIZE_TOOL=${EDGEVAE_ARM_NONE_EABI_SIZE}"
                     "-DELF=$<TARGET_FILE:micro_digits>" -DBUDGET=1048576
                     -P "${_micro_dir}/flash_budget.cmake")
    set_tests_properties(micro.digits.flash_budget PROPERTIES LABELS micro)
  endif()
  # Bad input on the device: one line naming what was wrong, and the exit status of the CLI
  # (2 bad usage, 1 bad data).
  edgevae_micro_test(micro.digits.bad_label micro_digits --label 12
    EXIT_CODE 2 OUTPUT "error: --label must be an integer in \\[0, 9\\]")
  edgevae_micro_test(micro.anomaly.bad_method micro_anomaly --method elbo
    EXIT_CODE 2 OUTPUT "error: --method must be bce, mse or mse3x3")
  set(_partial "${CMAKE_CURRENT_BINARY_DIR}/partial_frame.bin")
  file(WRITE "${_partial}" "abc")
  edgevae_micro_test(micro.anomaly.partial_frame micro_anomaly STDIN "${_partial}"
    EXIT_CODE 1 OUTPUT "error: frame 0: 3 bytes at the end of the input, expected 784")
endif()

if(EDGEVAE_BARE_METAL OR EDGEVAE_BUILD_TESTS)  # hosted: only tests/micro includes this file
  include("${PROJECT_SOURCE_DIR}/tests/micro/cases.cmake")
endif()
