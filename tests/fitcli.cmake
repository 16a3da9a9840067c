# tests/fitcli.cmake — tests of the tnace-fit command (src/cli/tnace-fit.c). Included by tests/CMakeLists.txt.
#
# Every test runs the built binary in <build>/tests/fitcli/ through tests/fitcli_expect.sh
#   fitcli_expect.sh STATUS REGEX CMD...   passes when CMD exits with exactly STATUS (never a signal) and
#                                          a line of its output (stdout + stderr) matches REGEX
# on configs and data in tests/data/fitconfig/:
#   fitcli_help, fitcli_version               exit 0 and the usage text / version
#   fitcli_no_args, fitcli_bad_option,        usage errors: exit 2
#   fitcli_bad_sweeps
#   fitcli_missing_config                     exit 1, "<config>: cannot open: ..."
#   fitcli_config_error, fitcli_missing_train config errors with file:line: key
#   fitcli_no_output                          neither output.potential nor --output
#   fitcli_unknown_element, fitcli_empty_xyz, data errors naming the extxyz file and line
#   fitcli_truncated_xyz, fitcli_nan_xyz,
#   fitcli_bad_frame
#   fitcli_skip_bad                           the same data with --skip-bad (--dry-run): exit 0
#   fitcli_units_refused, _declared, _bad     stresses in bar with the pressure sign: refused as implausible
#                                             without data.units, read and counted with it; an unknown unit
#   fitcli_dry_run_estimates                  --dry-run prints the rows of the least squares and the evaluator cost
#   fitcli_unseen_pair                        a pair of elements absent from the training data is named (zero weight)
#   fitcli_per_atom_note                      an energy key named like a per-atom quantity gets a note (eV/atom)
#   fitcli_dry_run_sweep                      ... and the time per sweep, measured by one sweep on a sample
#   fitcli_resume                             fitcli_resume.sh: --stop-after 2 then --resume ends with exactly the
#                                             uninterrupted fit's potential; the checkpoint is removed; --init
#   fitcli_property                           fitcli_property.sh: a property model (config property:) is fitted,
#                                             marked in the file and evaluated per atom; misuse refused
#   fitcli_grade                              fitcli_grade.sh: the fit writes a grade; --grade-only on the stripped
#                                             file restores it byte for byte; tnace-eval --grade reads it and
#                                             refuses the stripped file; grade: false; --grade-only --cv refused
#   fitcli_resume_missing, _init_mismatch,    --resume without a checkpoint, --init from another model,
#   fitcli_init_resume                        both options at once
#   fitcli_nu4_too_big                        a nu = 4, lmax 11 term refused at once with the estimated size (#17 item 0)
#   fitcli_weight_absent                      loss.stress written but no stress in the data: error with its line
#   fitcli_isolated, fitcli_isolated_missing  e0: isolated with and without an isolated-atom frame
#   fitcli_unwritable, fitcli_unwritable_option   output in a missing directory, found before any fitting
#   fitcli_tiny_fit                           a real fit (tiny.yaml: 20 Cu frames, nu 1 + 2, 2 sweeps, ~1 s)
#   fitcli_tiny_check                         test_fitconfig --check-fit: the written potential loads, has
#                                             the provenance metadata, and its validation errors recomputed
#                                             from the same split equal the recorded ones; metrics JSON
#   fitcli_overrides                          --output/--sweeps/--threads on minimal.yaml; derived metrics name
#   fitcli_cv, fitcli_cv_check                --cv 4 on tiny.yaml: 4 fold fits then the final fit; the CV file
#                                             checked by tools/cv.py check (folds, fold MAEs, mean ± s.e.,
#                                             pooled MAE recomputed from the per-structure errors)
#   fitcli_cv_fold_without_cv, fitcli_cv_bad_fold, fitcli_cv_too_many   --fold without --cv, a fold ≥ K, K > n
# With valgrind (and no TNACE_SANITIZE): fitcli_valgrind_{config_error,data_error,fit} run an error path of
# each kind and a whole fit under memcheck (no errors, no definite/indirect leaks).

if(NOT TARGET tnace-fit)
  return()
endif()

set(_fc_data ${CMAKE_CURRENT_SOURCE_DIR}/data/fitconfig)
set(_fc_dir ${CMAKE_CURRENT_BINARY_DIR}/fitcli)
file(MAKE_DIRECTORY ${_fc_dir})
set(_fc_expect sh ${CMAKE_CURRENT_SOURCE_DIR}/fitcli_expect.sh)

# tnace_fitcli(NAME STATUS REGEX ARGS...): tnace-fit ARGS must exit with STATUS and print a line matching REGEX.
function(tnace_fitcli name status regex)
  add_test(NAME fitcli_${name} COMMAND ${_fc_expect} ${status} "${regex}" $<TARGET_FILE:tnace-fit> ${ARGN}
           WORKING_DIRECTORY ${_fc_dir})
  set_tests_properties(fitcli_${name} PROPERTIES TIMEOUT 120)
endfunction()

tnace_fitcli(help 0 "^usage: tnace-fit CONFIG.yaml" --help)
tnace_fitcli(version 0 "^tnace-fit \\(libtnace\\) [0-9]+\\.[0-9]+" --version)
tnace_fitcli(no_args 2 "^tnace-fit: no config file given")
tnace_fitcli(bad_option 2 "^tnace-fit: unknown option '--bogus'" ${_fc_data}/tiny.yaml --bogus)
tnace_fitcli(bad_sweeps 2 "^tnace-fit: --sweeps: expected an integer" ${_fc_data}/tiny.yaml --sweeps ten)
tnace_fitcli(missing_config 1 "^tnace-fit: .*/no_such_config.yaml: cannot open: No such file or directory"
             ${_fc_data}/no_such_config.yaml)
tnace_fitcli(config_error 1 "^tnace-fit: .*/unknown_key.yaml:10: fit.sweps: unknown key" ${_fc_data}/unknown_key.yaml)
tnace_fitcli(missing_train 1
             "^tnace-fit: .*/missing_train.yaml:8: data.train: cannot read 'no_such_file.xyz' .*No such file"
             ${_fc_data}/missing_train.yaml)
tnace_fitcli(no_output 1 "^tnace-fit: .*/minimal.yaml:[0-9]+: output.potential: no potential file to write"
             ${_fc_data}/minimal.yaml)
tnace_fitcli(unknown_element 1
             "^tnace-fit: .*/mixed_elements.xyz:11: atom 3: element 'Ag' is not one of the potential's elements"
             ${_fc_data}/cli_unknown_element.yaml)
tnace_fitcli(empty_xyz 1 "^tnace-fit: .*/empty.xyz: .*empty" ${_fc_data}/cli_empty_xyz.yaml)
tnace_fitcli(truncated_xyz 1 "^tnace-fit: .*/truncated.xyz:7: truncated frame" ${_fc_data}/cli_truncated_xyz.yaml)
tnace_fitcli(nan_xyz 1 "^tnace-fit: .*/nan.xyz:5: column 'forces'.*non-finite" ${_fc_data}/cli_nan_xyz.yaml)
tnace_fitcli(bad_frame 1 "^tnace-fit: .*/one_bad_frame.xyz:11: column 'forces'" ${_fc_data}/cli_bad_frame.yaml)
tnace_fitcli(skip_bad 0 "one_bad_frame.xyz: 3 structures, 9 atoms \\(skipped 1 bad frame"
             ${_fc_data}/cli_bad_frame.yaml --skip-bad --dry-run)
tnace_fitcli(units_refused 1
             "^tnace-fit: .*/stress_bar.xyz:2: key 'stress': a stress component of 3.20435e\\+06 GPa .*implausible"
             ${_fc_data}/cli_units_refused.yaml --dry-run)
tnace_fitcli(units_declared 0 "^  total .* 3 / 963 / 3$" ${_fc_data}/cli_units_declared.yaml --dry-run)
tnace_fitcli(units_bad 1 "^tnace-fit: .*/cli_units_bad.yaml:11: data.units.stress: unknown unit 'psi'"
             ${_fc_data}/cli_units_bad.yaml --dry-run)
tnace_fitcli(nu4_too_big 1 "^tnace-fit: .*/nu4_too_big.yaml:7: terms\\[1\\].lmax: the coupling tree of nu = 4, lmax = 11 would take about 1.6 GB"
             ${_fc_data}/nu4_too_big.yaml --dry-run)
tnace_fitcli(weight_absent 1
             "^tnace-fit: .*/cli_weight_absent.yaml:11: loss.stress: weight 0.01, but no structure of the data has a stress"
             ${_fc_data}/cli_weight_absent.yaml --dry-run)
tnace_fitcli(dry_run_estimates 0 "^  least squares: 805 rows \\(16 energies, 789 force components of 0.25 of the atoms"
             ${_fc_data}/tiny.yaml --dry-run)
tnace_fitcli(unseen_pair 0 "^  warning: no training structure has Cu and Ag within 4.5 Å of each other: the potential gives that pair zero weight"
             ${_fc_data}/unseen_pair.yaml --dry-run)
tnace_fitcli(dry_run_cost 0 "^  evaluation: [0-9.]+ µs per atom for energy, forces and virial" ${_fc_data}/tiny.yaml --dry-run)
tnace_fitcli(per_atom_note 0 "note: data.keys.energy 'formation_energy' sounds like a per-atom quantity.*data.units: .energy: eV/atom."
             ${_fc_data}/formation.yaml --dry-run)
tnace_fitcli(dry_run_sweep 0 "^  fit: about [0-9.e+-]+ s per sweep, 2 sweeps at most: about [0-9.]+ min \\(one sweep on [0-9]+ of 16 structures"
             ${_fc_data}/tiny.yaml --dry-run)
add_test(NAME fitcli_resume COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fitcli_resume.sh $<TARGET_FILE:tnace-fit> ${_fc_data})
set_tests_properties(fitcli_resume PROPERTIES TIMEOUT 120)
if(TARGET tnace-eval)
  add_test(NAME fitcli_property COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fitcli_property.sh $<TARGET_FILE:tnace-fit>
           $<TARGET_FILE:tnace-eval> ${_fc_data})
  set_tests_properties(fitcli_property PROPERTIES TIMEOUT 120)
  add_test(NAME fitcli_grade COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fitcli_grade.sh $<TARGET_FILE:tnace-fit>
           $<TARGET_FILE:tnace-eval> ${_fc_data})
  set_tests_properties(fitcli_grade PROPERTIES TIMEOUT 120)
endif()
tnace_fitcli(resume_missing 1 "^tnace-fit: .*nothing.checkpoint.yaml: cannot open.*--resume needs the checkpoint"
             ${_fc_data}/tiny.yaml --output nothing.yaml --resume)
tnace_fitcli(init_mismatch 1 "^tnace-fit: .*valid.yaml: .*starting from a potential needs the config's model"
             ${_fc_data}/tiny.yaml --output mismatch.yaml --init ${CMAKE_CURRENT_SOURCE_DIR}/data/yaml/valid.yaml)
tnace_fitcli(init_resume 2 "--init and --resume exclude each other" ${_fc_data}/tiny.yaml --init x.yaml --resume)
tnace_fitcli(isolated 0 "E0: isolated atoms Cu -0.250000 eV" ${_fc_data}/cli_isolated.yaml --skip-bad --dry-run)
tnace_fitcli(isolated_missing 1 "^tnace-fit: .*/cli_isolated_missing.yaml:3: e0: no isolated-atom frame for Cu"
             ${_fc_data}/cli_isolated_missing.yaml)
tnace_fitcli(unwritable 1
             "^tnace-fit: .*/cli_unwritable.yaml:10: output.potential: cannot write '/nonexistent-dir/x.yaml'"
             ${_fc_data}/cli_unwritable.yaml)
tnace_fitcli(unwritable_option 1 "^tnace-fit: --output: cannot write '/nonexistent-dir/y.yaml'"
             ${_fc_data}/tiny.yaml --output /nonexistent-dir/y.yaml)

# A real fit, then checks of what it wrote.
tnace_fitcli(tiny_fit 0 "^wrote potential tiny_Cu.yaml" ${_fc_data}/tiny.yaml)
set_tests_properties(fitcli_tiny_fit PROPERTIES FIXTURES_SETUP fitcli_tiny)
if(TARGET test_fitconfig)
  add_test(NAME fitcli_tiny_check
           COMMAND test_fitconfig --check-fit ${_fc_data}/tiny.yaml tiny_Cu.yaml tiny_Cu.metrics.json
           WORKING_DIRECTORY ${_fc_dir})
  set_tests_properties(fitcli_tiny_check PROPERTIES FIXTURES_REQUIRED fitcli_tiny TIMEOUT 120)
endif()
tnace_fitcli(overrides 0 "^wrote metrics min_out.metrics.json"
             ${_fc_data}/minimal.yaml --output min_out.yaml --sweeps=1 --threads 1)

# tnace-inspect on the tiny fit's potential (entanglement table), and on a file that does not load.
add_test(NAME inspect_tiny COMMAND ${_fc_expect} 0 "^Cu +1 +ket +3 copies" $<TARGET_FILE:tnace-inspect> tiny_Cu.yaml
         WORKING_DIRECTORY ${_fc_dir})
set_tests_properties(inspect_tiny PROPERTIES FIXTURES_REQUIRED fitcli_tiny TIMEOUT 60)
add_test(NAME inspect_bad COMMAND ${_fc_expect} 1 "^tnace-inspect: .*absurd_core.yaml:23: cores" $<TARGET_FILE:tnace-inspect>
         ${CMAKE_CURRENT_SOURCE_DIR}/data/yaml/absurd_core.yaml WORKING_DIRECTORY ${_fc_dir})

# Cross-validation.
tnace_fitcli(cv 0 "^wrote cross-validation tiny_cv.cv.json" ${_fc_data}/tiny.yaml --cv 4 --output tiny_cv.yaml)
set_tests_properties(fitcli_cv PROPERTIES FIXTURES_SETUP fitcli_cv)
if(EXISTS /usr/bin/python3)
  add_test(NAME fitcli_cv_check COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/cv.py check tiny_cv.cv.json
           WORKING_DIRECTORY ${_fc_dir})
  set_tests_properties(fitcli_cv_check PROPERTIES FIXTURES_REQUIRED fitcli_cv TIMEOUT 60)
  # tools/cv.py merge rejoins parts of it run from different folders, and still refuses another CV's parts
  add_test(NAME cv_py_merge COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/checks/test_cv_merge.py tiny_cv.cv.json
           WORKING_DIRECTORY ${_fc_dir})
  set_tests_properties(cv_py_merge PROPERTIES FIXTURES_REQUIRED fitcli_cv TIMEOUT 60)
  # unreadable inputs: one line naming the file (and line:column for bad JSON), no traceback
  add_test(NAME cv_py_missing COMMAND ${_fc_expect} 1 "^tools/cv.py: missing.cv.json: No such file"
           /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/cv.py compare missing.cv.json missing.cv.json WORKING_DIRECTORY ${_fc_dir})
  add_test(NAME cv_py_not_json COMMAND ${_fc_expect} 1 "^tools/cv.py: .*tiny.yaml:1:1: not JSON"
           /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/cv.py table ${_fc_data}/tiny.yaml WORKING_DIRECTORY ${_fc_dir})
  # bench/pareto.py refuses a candidate whose config or CV file is missing before fitting or timing anything
  add_test(NAME pareto_py_missing COMMAND ${_fc_expect} 1 "^bench/pareto.py: X: no file missing.yaml"
           /usr/bin/python3 ${CMAKE_SOURCE_DIR}/bench/pareto.py Ni X=missing.yaml WORKING_DIRECTORY ${_fc_dir})
  add_test(NAME alloy_cost_py_missing COMMAND ${_fc_expect} 1 "^bench/alloy_cost.py: new: no file missing.yaml"
           /usr/bin/python3 ${CMAKE_SOURCE_DIR}/bench/alloy_cost.py --elements Nb Mo --tnace new=missing.yaml
           WORKING_DIRECTORY ${_fc_dir})
endif()
tnace_fitcli(cv_fold_without_cv 2 "^tnace-fit: --fold needs --cv K" ${_fc_data}/tiny.yaml --fold 1)
tnace_fitcli(cv_bad_fold 2 "^tnace-fit: --fold: fold 4 does not exist" ${_fc_data}/tiny.yaml --cv 4 --fold 1,4)
tnace_fitcli(cv_too_many 1 "--cv: cannot make 21 folds of 20 structures" ${_fc_data}/tiny.yaml --cv 21 --cv-only
             --cv-out none.cv.json)

# Memory checks of the error paths and of a whole fit.
find_program(TNACE_VALGRIND valgrind)
if(TNACE_VALGRIND AND NOT TNACE_SANITIZE)
  set(_fc_vg ${TNACE_VALGRIND} -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
  foreach(case "config_error;1;fit.sweps: unknown key;${_fc_data}/unknown_key.yaml"
               "data_error;1;element 'Ag' is not one of;${_fc_data}/cli_unknown_element.yaml"
               "fit;0;^wrote potential vg_min.yaml;${_fc_data}/minimal.yaml;--output;vg_min.yaml;--sweeps;1;--threads;1")
    list(GET case 0 name)
    list(GET case 1 status)
    list(GET case 2 regex)
    list(SUBLIST case 3 -1 rest)
    add_test(NAME fitcli_valgrind_${name}
             COMMAND ${_fc_expect} ${status} "${regex}" ${_fc_vg} $<TARGET_FILE:tnace-fit> ${rest}
             WORKING_DIRECTORY ${_fc_dir})
    set_tests_properties(fitcli_valgrind_${name} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
