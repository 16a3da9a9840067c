# run_expect.cmake — test driver for tnace-eval (tests/evalcli.cmake):
#
#   cmake -DEXE=<program> -DARGS="a|b|c" -DRC=<exit status> [-DSTDERR_REGEX=<re>] [-DSTDOUT_REGEX=<re>]
#         -P run_expect.cmake
#
# Runs EXE with the '|'-separated ARGS and passes when the exit status is exactly RC (a crash gives a
# signal name, never a number, so it always fails), stderr matches STDERR_REGEX and stdout matches
# STDOUT_REGEX. When RC is not 0, stderr must also start with "tnace-eval: " and stdout must be empty
# (an error never leaves half a JSON object or table behind).
if(NOT DEFINED EXE OR NOT DEFINED RC)
  message(FATAL_ERROR "run_expect.cmake: EXE and RC are required")
endif()
string(REPLACE "|" ";" _args "${ARGS}")
execute_process(COMMAND "${EXE}" ${_args} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
                TIMEOUT 120)
set(_what "command: ${EXE} ${_args}\nexit status: ${_rc}\n--- stdout ---\n${_out}\n--- stderr ---\n${_err}")
if(NOT "${_rc}" STREQUAL "${RC}")
  message(FATAL_ERROR "expected exit status ${RC}\n${_what}")
endif()
if(DEFINED STDERR_REGEX AND NOT _err MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "stderr does not match '${STDERR_REGEX}'\n${_what}")
endif()
if(DEFINED STDOUT_REGEX AND NOT _out MATCHES "${STDOUT_REGEX}")
  message(FATAL_ERROR "stdout does not match '${STDOUT_REGEX}'\n${_what}")
endif()
if(NOT RC EQUAL 0)
  if(NOT _err MATCHES "^tnace-eval: ")
    message(FATAL_ERROR "an error message must start with 'tnace-eval: '\n${_what}")
  endif()
  if(NOT _out STREQUAL "")
    message(FATAL_ERROR "stdout must be empty on an error\n${_what}")
  endif()
endif()
message(STATUS "ok: exit status ${_rc}")
