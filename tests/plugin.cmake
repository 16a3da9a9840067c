# tests/plugin.cmake — LAMMPS tests of the tnace plugin (pair_style tnace). Included by tests/CMakeLists.txt.
#
# Registered only when lammps-plugin/plugin.cmake built the plugin (TNACE_PLUGIN_BUILT); the LAMMPS runs
# also need the lmp binary TNACE_LMP_EXECUTABLE (tools/setup installs it). Every LAMMPS test runs the
# real lmp through tools/lmp (which puts the plugin on LD_LIBRARY_PATH) in its own folder under
# <build>/tests/lammps/<test>/, via small drivers in tests/lammps/:
#   expect_output.sh REGEX CMD...  passes on exit status 0, no "ERROR" line, and a line matching REGEX
#   expect_error.sh  REGEX CMD...  passes on exit status 1..125 (an error, not a crash/signal) and REGEX
#   require_file.sh  FILE CMD...   exits 77 (ctest: Skipped) when FILE does not exist
#   mpi_compare.sh                 runs in.run0 on 1, 2, 4 ranks (and thread counts, -T) and compares energy,
#                                  pressure, forces, per-atom energies and virials
#   compare_dumps.sh A B           compares two dump files frame by frame, column by column
#   run_compare.sh -p "A B" -- CMD runs CMD, then compare_dumps.sh on each pair of dumps
#
# Compile checks (no LAMMPS run; registered whenever the plugin is built):
#   lammps_api_check               tools/check_lammps_api against the headers the plugin is built with
#   lammps_api_check_<i>           the same against each LAMMPS src/ folder listed in TNACE_LAMMPS_API_CHECK_DIRS
#                                  (e.g. a current LAMMPS checkout; FMT_INCLUDE from the environment if needed)
#
# Tests needing no potential file (always registered):
#   lammps_plugin_smoke            plugin load + plugin list shows "pair style plugin tnace", and
#                                  pair_style tnace is accepted (exit status 0, no ERROR)
#   lammps_error_{units,stylearg,nfile,nelem,allnull,notstar,nocoeff}   (in.errors -var case ...)
#   lammps_error_nograde           compute tnace/grade with a potential without a grade section
#   lammps_error_property          a property model (potential-file key property) refused by pair_coeff
#
# Tests needing a trained test potential (registered always, reported as Skipped while it is missing):
#   TNACE_LAMMPS_TEST_POTENTIAL   (default tests/lammps/test_potential.yaml), holding element
#   TNACE_LAMMPS_TEST_ELEMENT     (default Cu):
#     lammps_error_{element,newton,tooclose}  in.errors_pot
#     lammps_run0                  in.run0: run 0, prints TNACE_PE, dumps forces
#     lammps_fd                    in.fd: forces and virial vs finite differences, per-atom sums
#     lammps_mpi_compare           mpi_compare.sh: 1/2/4 ranks agree to 1e-10 (needs mpiexec)
#     lammps_nve                   in.nve: NVE drift < 1e-5 eV/atom over 2,000 steps, 256 atoms
#     lammps_hybrid_zbl            in.hybrid: hybrid/overlay tnace zbl == sum of the two
#     lammps_null                  in.null: NULL-mapped types are invisible to tnace
#     lammps_npt                   in.npt: fix npt runs, the volume changes, the pressure stays finite and near
#                                  the target, the conserved energy has no jumps, end energy == run 0
#     lammps_rerun                 in.rerun + compare_dumps.sh: rerun of a dump reproduces the per-atom energies
#                                  and forces of the original run (11 frames, relative 1e-10)
#     lammps_write_dump            in.write_dump + compare_dumps.sh: write_dump of per-atom energy, forces and
#                                  virial equals a regular dump; energies sum to pe, forces to zero
#     lammps_omp_compare           mpi_compare.sh -T: 1 vs 2 OpenMP threads agree to 1e-10 (energy, virial, forces,
#                                  per-atom energy and virial)       (plugin built with OpenMP, needs mpiexec)
#     lammps_rerun_omp             lammps_rerun with pair_style tnace threads 2 (OpenMP)
#   TNACE_LAMMPS_TEST_POTENTIAL2  (default tests/lammps/test_potential_CuNi.yaml), holding the two
#   TNACE_LAMMPS_TEST_ELEMENTS2   (default "Cu Ni"):
#     lammps_fd_2el, lammps_mpi_compare_2el   as above with two atom types; the latter also compares the
#                                  per-atom extrapolation grade (compute tnace/grade, -var grade 1)
#     lammps_swap                  in.swap: fix atom/swap Monte Carlo with two elements
#     lammps_minimize              in.minimize on a random alloy: CG minimisation lowers the energy, ends with
#                                  |F| < ftol at a point where finite differences of E vanish, and its final
#                                  energy equals a run 0 at the final positions
#     lammps_omp_mpi_compare       mpi_compare.sh: 2 MPI ranks x 2 OpenMP threads agree with 1 x 1 (OpenMP, mpiexec),
#                                  grade included
# The files are looked for when the tests run, so a test that generates them can run first: give that
# test the property FIXTURES_SETUP ${TNACE_LAMMPS_POTENTIAL_FIXTURE} (default "tnace_test_potential");
# all potential tests require that fixture. Point the variables at other files with -D...=PATH.

if(NOT TNACE_PLUGIN_BUILT)
  return()
endif()

# ---- compile checks of the adapter against LAMMPS headers (tools/check_lammps_api) ------------------------
set(TNACE_LAMMPS_API_CHECK_DIRS "" CACHE STRING
    "More LAMMPS src/ folders (;-separated) to compile-check the plugin against (tests lammps_api_check_<i>)")
add_test(NAME lammps_api_check COMMAND "${CMAKE_CURRENT_SOURCE_DIR}/lammps/expect_output.sh" "^CHECK_LAMMPS_API PASS"
         "${CMAKE_SOURCE_DIR}/tools/check_lammps_api" "${TNACE_LAMMPS_HEADERS}")
set_tests_properties(lammps_api_check PROPERTIES ENVIRONMENT "FMT_INCLUDE=${TNACE_LAMMPS_FMT_DIR}"
                     TIMEOUT 300 LABELS lammps)
set(_tl_api_i 0)
foreach(_d ${TNACE_LAMMPS_API_CHECK_DIRS})
  math(EXPR _tl_api_i "${_tl_api_i} + 1")
  add_test(NAME lammps_api_check_${_tl_api_i} COMMAND
           "${CMAKE_CURRENT_SOURCE_DIR}/lammps/expect_output.sh" "^CHECK_LAMMPS_API PASS"
           "${CMAKE_SOURCE_DIR}/tools/check_lammps_api" "${_d}")
  set_tests_properties(lammps_api_check_${_tl_api_i} PROPERTIES TIMEOUT 300 LABELS lammps)
endforeach()
if(NOT TNACE_LMP_EXECUTABLE OR NOT EXISTS "${TNACE_LMP_EXECUTABLE}")
  message(STATUS "tnace: no LAMMPS executable (TNACE_LMP_EXECUTABLE='${TNACE_LMP_EXECUTABLE}'): "
                 "LAMMPS plugin tests not registered (run tools/setup)")
  return()
endif()
if(TNACE_SANITIZE)
  message(STATUS "tnace: TNACE_SANITIZE=${TNACE_SANITIZE}: a sanitized plugin cannot be dlopen()ed by an "
                 "unsanitized lmp; LAMMPS plugin tests not registered")
  return()
endif()

# By default the test potentials are fitted by tnace-fit in the build tree (fixture tests below).
set(TNACE_LAMMPS_TEST_POTENTIAL "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials/test_Cu.yaml" CACHE FILEPATH
    "One-element potential file for the LAMMPS plugin tests")
set(TNACE_LAMMPS_TEST_ELEMENT "Cu" CACHE STRING "Element of TNACE_LAMMPS_TEST_POTENTIAL used by the tests")
set(TNACE_LAMMPS_TEST_POTENTIAL2 "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials/test_CuNi.yaml" CACHE FILEPATH
    "Two-element potential file for the LAMMPS plugin tests")
set(TNACE_LAMMPS_TEST_ELEMENTS2 "Cu Ni" CACHE STRING "The two elements of TNACE_LAMMPS_TEST_POTENTIAL2")
set(TNACE_LAMMPS_POTENTIAL_FIXTURE "tnace_test_potential" CACHE STRING
    "ctest fixture that creates the test potentials (FIXTURES_SETUP of the generating test)")

set(_tl_dir "${CMAKE_CURRENT_SOURCE_DIR}/lammps")

# Fixtures: fit the two test potentials (seconds) unless the user pointed the variables elsewhere.
file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials")
add_test(NAME lammps_fit_Cu COMMAND $<TARGET_FILE:tnace-fit> "${_tl_dir}/fit_Cu.yaml" --quiet
         --output "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials/test_Cu.yaml"
         WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials")
add_test(NAME lammps_fit_CuNi COMMAND $<TARGET_FILE:tnace-fit> "${_tl_dir}/fit_CuNi.yaml" --quiet
         --output "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials/test_CuNi.yaml"
         WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/lammps/potentials")
set_tests_properties(lammps_fit_Cu lammps_fit_CuNi PROPERTIES
                     FIXTURES_SETUP "${TNACE_LAMMPS_POTENTIAL_FIXTURE}" TIMEOUT 300 LABELS lammps)
set(_tl_lmp "${CMAKE_SOURCE_DIR}/tools/lmp")
set(_tl_env
    "TNACE_LMP=${TNACE_LMP_EXECUTABLE}"
    "TNACE_BUILD_DIR=${CMAKE_BINARY_DIR}"
    "TNACE_PLUGIN_DIR=${TNACE_PLUGIN_DIR}"
    "OMP_NUM_THREADS=1")

# tnace_lammps_test(NAME <name> [POTENTIAL <file>] [TIMEOUT <s>] [PROCESSORS <n>] COMMAND <args...>)
function(tnace_lammps_test)
  cmake_parse_arguments(T "" "NAME;POTENTIAL;TIMEOUT;PROCESSORS" "COMMAND" ${ARGN})
  set(wd "${CMAKE_CURRENT_BINARY_DIR}/lammps/${T_NAME}")
  file(MAKE_DIRECTORY "${wd}")
  set(cmd ${T_COMMAND})
  if(T_POTENTIAL)
    set(cmd "${_tl_dir}/require_file.sh" "${T_POTENTIAL}" ${cmd})
  endif()
  add_test(NAME ${T_NAME} COMMAND ${cmd} WORKING_DIRECTORY "${wd}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${_tl_env}" TIMEOUT ${T_TIMEOUT} LABELS lammps)
  if(T_POTENTIAL)
    set_tests_properties(${T_NAME} PROPERTIES SKIP_RETURN_CODE 77
                         FIXTURES_REQUIRED "${TNACE_LAMMPS_POTENTIAL_FIXTURE}")
  endif()
  if(T_PROCESSORS)
    set_tests_properties(${T_NAME} PROPERTIES PROCESSORS ${T_PROCESSORS})
  endif()
endfunction()

# ---- no potential needed ---------------------------------------------------------------------
tnace_lammps_test(NAME lammps_plugin_smoke COMMAND
  "${_tl_dir}/expect_output.sh" "pair style plugin tnace"
  "${_tl_lmp}" -in "${_tl_dir}/in.smoke" -log none)

set(_tl_errors
  "units|ERROR.*requires 'units metal'"
  "stylearg|ERROR.*Illegal pair_style tnace command"
  "nfile|ERROR.*cannot load potential file"
  "nelem|ERROR.*Incorrect args for pair coefficients.*needs 1 element"
  "allnull|ERROR.*Incorrect args for pair coefficients.*at least one element"
  "notstar|ERROR.*(Incorrect args for pair coefficients|Pair_coeff must start with . . for pair style tnace)"
  "nocoeff|ERROR.*(All pair coeffs are not set|pair_coeff.*is not set)"
  "dim2|ERROR.*Pair style tnace requires dimension 3, not dimension 2")
foreach(e ${_tl_errors})
  string(FIND "${e}" "|" bar)
  string(SUBSTRING "${e}" 0 ${bar} case)
  math(EXPR bar "${bar} + 1")
  string(SUBSTRING "${e}" ${bar} -1 regex)
  tnace_lammps_test(NAME lammps_error_${case} TIMEOUT 60 COMMAND
    "${_tl_dir}/expect_error.sh" "${regex}"
    "${_tl_lmp}" -in "${_tl_dir}/in.errors" -var case ${case} -log none)
endforeach()

# a property model (potential-file key property, issue #16) is not an interatomic potential: refused by name
tnace_lammps_test(NAME lammps_error_property TIMEOUT 60 COMMAND
  "${_tl_dir}/expect_error.sh" "ERROR.*pair tnace: '.*property.yaml' is a property model .it predicts formation_energy"
  "${_tl_lmp}" -in "${_tl_dir}/in.run0" -var pot "${CMAKE_CURRENT_SOURCE_DIR}/data/yaml/property.yaml" -var elem Cu
  -log none)

# compute tnace/grade with a potential file that has no grade section: an error naming the file
tnace_lammps_test(NAME lammps_error_nograde TIMEOUT 60 COMMAND
  "${_tl_dir}/expect_error.sh" "ERROR.*compute tnace/grade: potential file .*valid.yaml' has no extrapolation grade"
  "${_tl_lmp}" -in "${_tl_dir}/in.run0" -var pot "${CMAKE_CURRENT_SOURCE_DIR}/data/yaml/valid.yaml" -var elem Cu
  -var grade 1 -log none)

# ---- need TNACE_LAMMPS_TEST_POTENTIAL (one element) --------------------------------------------
set(_p1 "${TNACE_LAMMPS_TEST_POTENTIAL}")
set(_e1 "${TNACE_LAMMPS_TEST_ELEMENT}")
set(_tl_errors_pot
  "element|ERROR.*element 'Xx'.*is not in potential file"
  "newton|ERROR.*requires newton pair on"
  "tooclose|ERROR on proc 0: pair tnace: atom")
foreach(e ${_tl_errors_pot})
  string(FIND "${e}" "|" bar)
  string(SUBSTRING "${e}" 0 ${bar} case)
  math(EXPR bar "${bar} + 1")
  string(SUBSTRING "${e}" ${bar} -1 regex)
  tnace_lammps_test(NAME lammps_error_${case} POTENTIAL "${_p1}" TIMEOUT 60 COMMAND
    "${_tl_dir}/expect_error.sh" "${regex}"
    "${_tl_lmp}" -in "${_tl_dir}/in.errors_pot" -var case ${case} -var pot "${_p1}" -var elem "${_e1}" -log none)
endforeach()

# a pair_coeff path that does not exist, whose file name is found in LAMMPS_POTENTIALS: used, with a WARNING
# naming both paths (issue #17 item 5: the fallback was silent)
get_filename_component(_p1_dir "${_p1}" DIRECTORY)
get_filename_component(_p1_name "${_p1}" NAME)
tnace_lammps_test(NAME lammps_potential_fallback POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^WARNING: pair tnace: potential file 'no_such_dir/${_p1_name}' not found as given. using '${_p1_dir}/${_p1_name}'"
  env "LAMMPS_POTENTIALS=${_p1_dir}" "${_tl_lmp}" -in "${_tl_dir}/in.run0" -var pot "no_such_dir/${_p1_name}" -var elem "${_e1}")
tnace_lammps_test(NAME lammps_run0 POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^TNACE_PE -?[0-9]"
  "${_tl_lmp}" -in "${_tl_dir}/in.run0" -var pot "${_p1}" -var elem "${_e1}")
tnace_lammps_test(NAME lammps_fd POTENTIAL "${_p1}" TIMEOUT 300 COMMAND
  "${_tl_dir}/expect_output.sh" "^FD_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.fd" -var pot "${_p1}" -var elem "${_e1}")
# 2,000 steps of 256 atoms (windows of 200): a drift of 1e-5 eV/atom is still 100x the measured one, and
# the test takes seconds, not minutes, on a busy CI machine. The long check (10,000 steps, 500 atoms) is the
# script's default: tools/lmp -in tests/lammps/in.nve -var pot FILE -var elem Cu.
tnace_lammps_test(NAME lammps_nve POTENTIAL "${_p1}" TIMEOUT 600 COMMAND
  "${_tl_dir}/expect_output.sh" "^NVE_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.nve" -var pot "${_p1}" -var elem "${_e1}" -var n 4 -var nsteps 2000 -var win 200)
tnace_lammps_test(NAME lammps_hybrid_zbl POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^HYBRID_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.hybrid" -var pot "${_p1}" -var elem "${_e1}")
tnace_lammps_test(NAME lammps_null POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^NULL_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.null" -var pot "${_p1}" -var elem "${_e1}")

tnace_lammps_test(NAME lammps_npt POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^NPT_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.npt" -var pot "${_p1}" -var elem "${_e1}")
tnace_lammps_test(NAME lammps_rerun POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^RUN_COMPARE PASS"
  "${_tl_dir}/run_compare.sh" -r 1e-10 -n 11 -m 1e-3 -p "dump.md dump.rerun" --
  "${_tl_lmp}" -in "${_tl_dir}/in.rerun" -var pot "${_p1}" -var elem "${_e1}")
tnace_lammps_test(NAME lammps_write_dump POTENTIAL "${_p1}" COMMAND
  "${_tl_dir}/expect_output.sh" "^RUN_COMPARE PASS"
  "${_tl_dir}/run_compare.sh" -r 1e-12 -p "dump.ref dump.write" --
  "${_tl_lmp}" -in "${_tl_dir}/in.write_dump" -var pot "${_p1}" -var elem "${_e1}")
if(TNACE_PLUGIN_OPENMP)
  tnace_lammps_test(NAME lammps_rerun_omp POTENTIAL "${_p1}" PROCESSORS 2 COMMAND
    "${_tl_dir}/expect_output.sh" "^RUN_COMPARE PASS"
    "${_tl_dir}/run_compare.sh" -r 1e-10 -n 11 -m 1e-3 -p "dump.md dump.rerun" --
    "${_tl_lmp}" -in "${_tl_dir}/in.rerun" -var pot "${_p1}" -var elem "${_e1}" -var threads 2)
endif()

# ---- need TNACE_LAMMPS_TEST_POTENTIAL2 (two elements) ------------------------------------------
set(_p2 "${TNACE_LAMMPS_TEST_POTENTIAL2}")
set(_e2 "${TNACE_LAMMPS_TEST_ELEMENTS2}")
tnace_lammps_test(NAME lammps_fd_2el POTENTIAL "${_p2}" TIMEOUT 300 COMMAND
  "${_tl_dir}/expect_output.sh" "^FD_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.fd" -var pot "${_p2}" -var ntypes 2 -var elem "${_e2}")
# a random alloy, so that the minimum has low symmetry (see in.minimize)
tnace_lammps_test(NAME lammps_minimize POTENTIAL "${_p2}" COMMAND
  "${_tl_dir}/expect_output.sh" "^MIN_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.minimize" -var pot "${_p2}" -var ntypes 2 -var elem "${_e2}" -var a 3.58)
tnace_lammps_test(NAME lammps_swap POTENTIAL "${_p2}" TIMEOUT 600 COMMAND
  "${_tl_dir}/expect_output.sh" "^SWAP_CHECK PASS"
  "${_tl_lmp}" -in "${_tl_dir}/in.swap" -var pot "${_p2}" -var elem "${_e2}")

# ---- MPI: 1, 2 and 4 ranks must agree -----------------------------------------------------------
if(MPIEXEC_EXECUTABLE)
  tnace_lammps_test(NAME lammps_mpi_compare POTENTIAL "${_p1}" TIMEOUT 600 PROCESSORS 4 COMMAND
    "${_tl_dir}/mpi_compare.sh" -n "1 2 4" -r 1e-10 -w . -l "${_tl_lmp}" --
    -var pot "${_p1}" -var elem "${_e1}")
  # with the extrapolation grade (compute tnace/grade) as one more compared column
  tnace_lammps_test(NAME lammps_mpi_compare_2el POTENTIAL "${_p2}" TIMEOUT 600 PROCESSORS 4 COMMAND
    "${_tl_dir}/mpi_compare.sh" -n "1 2 4" -r 1e-10 -w . -l "${_tl_lmp}" --
    -var pot "${_p2}" -var ntypes 2 -var elem "${_e2}" -var grade 1)
  set(_tl_mpi_tests lammps_mpi_compare lammps_mpi_compare_2el)
  # OpenMP atom loop: 1 vs 2 threads, and 2 ranks x 2 threads vs 1 x 1 (pair_style tnace threads N)
  if(TNACE_PLUGIN_OPENMP)
    tnace_lammps_test(NAME lammps_omp_compare POTENTIAL "${_p1}" TIMEOUT 300 PROCESSORS 2 COMMAND
      "${_tl_dir}/mpi_compare.sh" -n "1 1" -T "1 2" -r 1e-10 -w . -l "${_tl_lmp}" --
      -var pot "${_p1}" -var elem "${_e1}")
    tnace_lammps_test(NAME lammps_omp_mpi_compare POTENTIAL "${_p2}" TIMEOUT 300 PROCESSORS 4 COMMAND
      "${_tl_dir}/mpi_compare.sh" -n "1 2" -T "1 2" -r 1e-10 -w . -l "${_tl_lmp}" --
      -var pot "${_p2}" -var ntypes 2 -var elem "${_e2}" -var grade 1)
    list(APPEND _tl_mpi_tests lammps_omp_compare lammps_omp_mpi_compare)
  else()
    message(STATUS "tnace: plugin built without OpenMP: lammps_omp_* tests not registered")
  endif()
  foreach(t ${_tl_mpi_tests})
    set_tests_properties(${t} PROPERTIES ENVIRONMENT "${_tl_env};MPIEXEC=${MPIEXEC_EXECUTABLE}")
  endforeach()
else()
  message(STATUS "tnace: no mpiexec found: lammps_mpi_compare tests not registered")
endif()

# ---- LAMMPS against the library on real frames (examples/validate): energy, forces and stress of held-out
# Cu frames (a triclinic slab, small strained cells, a vacancy, a hot AIMD snapshot) computed by pair_style
# tnace agree with tnace-eval to relative 1e-10. Needs Debian's python3 with ASE for the frame conversion.
execute_process(COMMAND /usr/bin/python3 -c "import ase, numpy" RESULT_VARIABLE _tl_ase OUTPUT_QUIET ERROR_QUIET)
if(_tl_ase EQUAL 0)
  file(MAKE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/lammps/validate")
  add_test(NAME lammps_vs_library COMMAND "${CMAKE_SOURCE_DIR}/examples/validate/run.sh")
  set_tests_properties(lammps_vs_library PROPERTIES
    ENVIRONMENT "${_tl_env};TNACE_VALIDATE_OUT=${CMAKE_CURRENT_BINARY_DIR}/lammps/validate"
    PASS_REGULAR_EXPRESSION "VALIDATE PASS" FAIL_REGULAR_EXPRESSION "VALIDATE FAIL" TIMEOUT 300 LABELS lammps)
else()
  message(STATUS "tnace: /usr/bin/python3 without ASE: test lammps_vs_library not registered")
endif()
