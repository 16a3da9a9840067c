# tests/evalcli.cmake — command-line tests of tnace-eval (docs/tnace-eval.md). Included by
# tests/CMakeLists.txt. Inputs are in tests/data/eval/ (small Cu extxyz files) and tests/data/yaml/ (the
# valid one-element Cu potential valid.yaml and its malformed edits).
#
# Every test runs the real executable through tests/data/eval/run_expect.cmake, which checks the exact exit
# status (so a crash never passes), the message on stderr and, on errors, an empty stdout:
#   eval_cli_help, eval_cli_version                 --help / --version: exit 0
#   eval_cli_usage_{noargs,nodata,option,threads}    usage errors: exit 2
#   eval_cli_missing_{potential,data}                cannot open: exit 1, naming the file
#   eval_cli_bad_potential_{syntax,nan}              malformed YAML: "<file>:<line>: <key>: ..."
#   eval_cli_{empty,empty_skipbad,truncated,nan_pos,unknown_element,too_close}   bad data: exit 1, "<file>:<line>"
#   eval_cli_skip_bad                                --skip-bad skips the bad frame and the unevaluable structure
#   eval_cli_predictions_unwritable                  --predictions into a missing folder: exit 1
#   eval_cli_table                                   the table on tests/data/eval/cu_mixed.xyz
# With valgrind (and no TNACE_SANITIZE): eval_valgrind_{usage,bad_potential,data_error,eval_error,run} run the
# error paths and a whole run (--skip-bad --json --predictions, 2 threads) under memcheck.
# With Python 3 (TNACE_EVAL_PYTHON, default /usr/bin/python3):
#   eval_cli_json        tests/data/eval/check_eval.py: the --json object parses and is consistent (counts,
#                        per-config_type sums, numbers recomputed from --predictions, thread independence),
#                        and the potential's own predictions written back as reference data give zero errors
# With numpy and matplotlib in that Python:
#   eval_plot_parity     tools/plot_parity.py on a --predictions file writes the three PNG files
if(NOT TARGET tnace-eval)
  return()
endif()

set(_ev_data "${CMAKE_CURRENT_SOURCE_DIR}/data/eval")
set(_ev_yaml "${CMAKE_CURRENT_SOURCE_DIR}/data/yaml")
set(_ev_pot "${_ev_yaml}/valid.yaml")
set(_ev_driver "${_ev_data}/run_expect.cmake")

# tnace_eval_cli_test(<name> <exit status> <stderr regex> <stdout regex> <args...>)   ("" = no check)
function(tnace_eval_cli_test name rc err_re out_re)
  string(REPLACE ";" "|" _args "${ARGN}")
  set(_defs "-DEXE=$<TARGET_FILE:tnace-eval>" "-DARGS=${_args}" "-DRC=${rc}")
  if(NOT err_re STREQUAL "")
    list(APPEND _defs "-DSTDERR_REGEX=${err_re}")
  endif()
  if(NOT out_re STREQUAL "")
    list(APPEND _defs "-DSTDOUT_REGEX=${out_re}")
  endif()
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} ${_defs} -P "${_ev_driver}")
  set_tests_properties(${name} PROPERTIES TIMEOUT 150 LABELS eval ENVIRONMENT "OMP_NUM_THREADS=2")
endfunction()

tnace_eval_cli_test(eval_cli_help 0 "" "Usage: tnace-eval POTENTIAL.yaml DATA.xyz.*--predictions FILE.*--skip-bad" --help)
tnace_eval_cli_test(eval_cli_version 0 "" "^tnace-eval \\(tnace\\) [0-9]+\\.[0-9]+" --version)
tnace_eval_cli_test(eval_cli_usage_noargs 2 "missing POTENTIAL.yaml" "")
tnace_eval_cli_test(eval_cli_usage_nodata 2 "missing DATA.xyz" "" ${_ev_pot})
tnace_eval_cli_test(eval_cli_usage_option 2 "unknown option '--frobnicate'" "" ${_ev_pot} ${_ev_data}/cu_mixed.xyz
                    --frobnicate)
tnace_eval_cli_test(eval_cli_usage_threads 2 "--threads needs an integer" "" ${_ev_pot} ${_ev_data}/cu_mixed.xyz
                    --threads 0)
# units of the data (extxyz.h): bar with the pressure sign refused without --units, read with it
set(_ev_bar "${CMAKE_CURRENT_SOURCE_DIR}/data/fitconfig/stress_bar.xyz")
tnace_eval_cli_test(eval_cli_units_refused 1 "stress_bar\\.xyz:2: key 'stress': .*implausible.*--units" "" ${_ev_pot}
                    ${_ev_bar})
tnace_eval_cli_test(eval_cli_units_declared 0 "" "overall" ${_ev_pot} ${_ev_bar} --units stress=bar,stress_sign=pressure)
tnace_eval_cli_test(eval_cli_units_bad 2 "--units stress=psi: unknown unit" "" ${_ev_pot} ${_ev_bar} --units stress=psi)
tnace_eval_cli_test(eval_cli_keys_bad 2 "--keys needs QUANTITY=NAMES" "" ${_ev_pot} ${_ev_bar} --keys mass=m)
tnace_eval_cli_test(eval_cli_keys 0 "" "overall +3 +321 +- " ${_ev_pot} ${_ev_bar} --keys energy=no_such_key
                    --units stress=bar,stress_sign=pressure)
tnace_eval_cli_test(eval_cli_missing_potential 1 "no_such_potential\\.yaml: cannot open" ""
                    ${_ev_data}/no_such_potential.yaml ${_ev_data}/cu_mixed.xyz)
tnace_eval_cli_test(eval_cli_missing_data 1 "no_such_data\\.xyz: cannot open" "" ${_ev_pot} ${_ev_data}/no_such_data.xyz)
tnace_eval_cli_test(eval_cli_bad_potential_syntax 1 "syntax_error\\.yaml:[0-9]+: [a-z]" "" ${_ev_yaml}/syntax_error.yaml
                    ${_ev_data}/cu_mixed.xyz --json)
tnace_eval_cli_test(eval_cli_bad_potential_nan 1 "nan_data\\.yaml:[0-9]+: cores\\[0\\]" "" ${_ev_yaml}/nan_data.yaml
                    ${_ev_data}/cu_mixed.xyz)
tnace_eval_cli_test(eval_cli_empty 1 "empty\\.xyz: no frames" "" ${_ev_pot} ${_ev_data}/empty.xyz --json)
tnace_eval_cli_test(eval_cli_empty_skipbad 1 "empty\\.xyz: no frames" "" ${_ev_pot} ${_ev_data}/empty.xyz --skip-bad)
tnace_eval_cli_test(eval_cli_truncated 1 "truncated\\.xyz:7: truncated frame" "" ${_ev_pot} ${_ev_data}/truncated.xyz
                    --json)
tnace_eval_cli_test(eval_cli_nan_pos 1 "nan_pos\\.xyz:10: .*non-finite" "" ${_ev_pot} ${_ev_data}/nan_pos.xyz --json)
tnace_eval_cli_test(eval_cli_unknown_element 1 "unknown_element\\.xyz:10: atom 2: .*'Ni'" "" ${_ev_pot} ${_ev_data}/cu_mixed.xyz
                    ${_ev_data}/unknown_element.xyz --json)
tnace_eval_cli_test(eval_cli_too_close 1 "too_close\\.xyz:7: .*r_min" "" ${_ev_pot} ${_ev_data}/too_close.xyz --json)
tnace_eval_cli_test(eval_cli_skip_bad 0 "warning: .*nan_pos\\.xyz: skipped 1 bad frame.*warning: skipping .*too_close\\.xyz:7"
                    "\"n_structures\": 4, \"n_atoms\": 16, .*\"n_skipped\": 2" ${_ev_pot} ${_ev_data}/nan_pos.xyz
                    ${_ev_data}/too_close.xyz --skip-bad --json --threads 2)
tnace_eval_cli_test(eval_cli_predictions_unwritable 1 "no_such_dir/p\\.tsv: cannot open for writing" "" ${_ev_pot}
                    ${_ev_data}/cu_mixed.xyz --predictions ${CMAKE_CURRENT_BINARY_DIR}/no_such_dir/p.tsv)
tnace_eval_cli_test(eval_cli_table 0 "^$"
                    "config_type +n_struct +n_atoms +E_MAE.*\noverall +7 +38 .*\n\\(none\\) +1 +4 +[0-9.e+-]+ +[0-9.e+-]+ +- +- +- +-\nBulk +2 +8 "
                    ${_ev_pot} ${_ev_data}/cu_mixed.xyz)

# Under valgrind memcheck (when found and TNACE_SANITIZE is off): no memory errors and no definite/indirect
# leaks on the error paths (potential, data, evaluation, usage) and on a whole run with every output.
find_program(TNACE_VALGRIND valgrind)
if(TNACE_VALGRIND AND NOT TNACE_SANITIZE)
  set(_ev_vg "-q;--error-exitcode=99;--leak-check=full;--show-leak-kinds=definite,indirect;--errors-for-leak-kinds=definite,indirect")
  function(tnace_eval_valgrind_test name rc err_re)
    string(REPLACE ";" "|" _args "${_ev_vg};$<TARGET_FILE:tnace-eval>;${ARGN}")
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} "-DEXE=${TNACE_VALGRIND}" "-DARGS=${_args}" "-DRC=${rc}"
                                  "-DSTDERR_REGEX=${err_re}" -P "${_ev_driver}")
    set_tests_properties(${name} PROPERTIES TIMEOUT 300 LABELS eval ENVIRONMENT "OMP_NUM_THREADS=2")
  endfunction()
  tnace_eval_valgrind_test(eval_valgrind_usage 2 "unknown option" ${_ev_pot} --bogus)
  tnace_eval_valgrind_test(eval_valgrind_bad_potential 1 "syntax_error\\.yaml:[0-9]+: " ${_ev_yaml}/syntax_error.yaml
                           ${_ev_data}/cu_mixed.xyz)
  tnace_eval_valgrind_test(eval_valgrind_data_error 1 "unknown_element\\.xyz:10: " ${_ev_pot} ${_ev_data}/cu_mixed.xyz
                           ${_ev_data}/unknown_element.xyz)
  tnace_eval_valgrind_test(eval_valgrind_eval_error 1 "too_close\\.xyz:7: " ${_ev_pot} ${_ev_data}/cu_mixed.xyz
                           ${_ev_data}/too_close.xyz --threads 2)
  tnace_eval_valgrind_test(eval_valgrind_run 0 "warning: skipping .*too_close" ${_ev_pot} ${_ev_data}/cu_mixed.xyz
                           ${_ev_data}/too_close.xyz --skip-bad --json --threads 2
                           --predictions ${CMAKE_CURRENT_BINARY_DIR}/eval_valgrind_pred.tsv)
endif()

set(TNACE_EVAL_PYTHON /usr/bin/python3 CACHE FILEPATH "Python 3 for the tnace-eval JSON and parity-plot tests")
if(EXISTS "${TNACE_EVAL_PYTHON}")
  execute_process(COMMAND "${TNACE_EVAL_PYTHON}" -c "import json, subprocess"
                  RESULT_VARIABLE _ev_py_rc OUTPUT_QUIET ERROR_QUIET)
  execute_process(COMMAND "${TNACE_EVAL_PYTHON}" -c "import numpy, matplotlib"
                  RESULT_VARIABLE _ev_mpl_rc OUTPUT_QUIET ERROR_QUIET)
else()
  set(_ev_py_rc 1)
  set(_ev_mpl_rc 1)
endif()
if(_ev_py_rc EQUAL 0)
  set(_ev_work "${CMAKE_CURRENT_BINARY_DIR}/eval_cli")
  file(MAKE_DIRECTORY "${_ev_work}")
  add_test(NAME eval_cli_json
           COMMAND "${TNACE_EVAL_PYTHON}" "${_ev_data}/check_eval.py" $<TARGET_FILE:tnace-eval> "${_ev_pot}"
                   "${_ev_data}/cu_mixed.xyz" "${_ev_work}")
  set_tests_properties(eval_cli_json PROPERTIES TIMEOUT 300 LABELS eval)
  if(_ev_mpl_rc EQUAL 0)
    add_test(NAME eval_plot_parity
             COMMAND "${TNACE_EVAL_PYTHON}" "${_ev_data}/check_eval.py" --plot "${CMAKE_SOURCE_DIR}/tools/plot_parity.py"
                     $<TARGET_FILE:tnace-eval> "${_ev_pot}" "${_ev_data}/cu_mixed.xyz" "${_ev_work}")
    set_tests_properties(eval_plot_parity PROPERTIES TIMEOUT 300 LABELS eval)
  else()
    message(STATUS "eval_plot_parity test not registered: ${TNACE_EVAL_PYTHON} cannot import numpy and matplotlib")
  endif()
else()
  message(STATUS "eval_cli_json test not registered: no Python 3 at ${TNACE_EVAL_PYTHON}")
endif()
