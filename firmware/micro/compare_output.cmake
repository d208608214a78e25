# Runs a command and passes only if it exits with 0 and its stdout is byte for byte the file
# EXPECTED; the output is kept in ACTUAL, and a mismatch names the first differing byte.
#
#   cmake -DEXPECTED=file -DACTUAL=file [-DSTDIN=file] -DCOMMAND='word|word|...' -P compare_output.cmake
if(NOT DEFINED COMMAND OR NOT DEFINED EXPECTED OR NOT DEFINED ACTUAL)
  message(FATAL_ERROR "usage: cmake -DEXPECTED=f -DACTUAL=f [-DSTDIN=f] -DCOMMAND='w|w|...' -P compare_output.cmake")
endif()
string(REPLACE "|" ";" command "${COMMAND}")
set(input "")
if(DEFINED STDIN)
  set(input INPUT_FILE "${STDIN}")
endif()
execute_process(COMMAND ${command} ${input} RESULT_VARIABLE status OUTPUT_FILE "${ACTUAL}"
                ERROR_VARIABLE errors)
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "exit status ${status}: ${errors}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${EXPECTED}" "${ACTUAL}"
                RESULT_VARIABLE differ)
if(differ)
  file(READ "${EXPECTED}" want HEX)
  file(READ "${ACTUAL}" got HEX)
  string(LENGTH "${want}" nw)
  string(LENGTH "${got}" ng)
  set(at 0)
  while(at LESS nw AND at LESS ng)
    string(SUBSTRING "${want}" ${at} 2 a)
    string(SUBSTRING "${got}" ${at} 2 b)
    if(NOT a STREQUAL b)
      break()
    endif()
    math(EXPR at "${at} + 2")
  endwhile()
  math(EXPR offset "${at} / 2")
  math(EXPR want_bytes "${nw} / 2")
  math(EXPR got_bytes "${ng} / 2")
  message(FATAL_ERROR "${ACTUAL} (${got_bytes} bytes) differs from ${EXPECTED} (${want_bytes} "
                      "bytes) first at byte ${offset}")
endif()
