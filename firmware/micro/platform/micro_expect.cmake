# Runs a command and passes only if it exits with EXIT_CODE and, when OUTPUT is given, its
# stdout and stderr together match the regular expression OUTPUT. edgevae_micro_test uses it:
# ctest's own PASS_REGULAR_EXPRESSION ignores the exit status, so a program that printed the
# expected line and then faulted would pass.
#
#   cmake -DEXIT_CODE=n [-DOUTPUT=regex] -P micro_expect.cmake -- command [args...]
set(command "")
set(seen_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(seen_separator)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(seen_separator TRUE)
  endif()
endforeach()
if(NOT command OR NOT DEFINED EXIT_CODE)
  message(FATAL_ERROR
          "usage: cmake -DEXIT_CODE=n [-DOUTPUT=regex] -P micro_expect.cmake -- command...")
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE output
                ERROR_VARIABLE output)
message("${output}")
if(NOT status STREQUAL "${EXIT_CODE}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXIT_CODE}")
endif()
if(DEFINED OUTPUT AND NOT output MATCHES "${OUTPUT}")
  message(FATAL_ERROR "the output does not match: ${OUTPUT}")
endif()
