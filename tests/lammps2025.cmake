# tests/lammps2025.cmake — the plugin built and tested against a second LAMMPS, the 4Feb2025 stable release
# (Debian 13 "trixie"; built by `tools/setup --lammps 2025` into ${TNACE_CACHE:-~/.cache/tnace}/lammps-4Feb2025).
#
# One ctest test, `lammps2025` (label lammps2025): tests/lammps2025.sh configures a second build tree
# (<build>/lammps2025) against those headers and that lmp, builds it, and runs its `lammps` tests —
# energies, finite-difference forces, NVE, MPI ranks 1/2/4, OpenMP threads, fix atom/swap, rerun, hybrid,
# error messages — so the README's "7Jan2022 on" is checked at both ends that users have.
# Registered only when that LAMMPS is installed and this tree is not itself built against it.
if(NOT TNACE_PLUGIN_BUILT OR TNACE_LAMMPS_VERSION GREATER_EQUAL 20250204)
  return()
endif()
set(_l25_prefix "")
foreach(_d "$ENV{TNACE_CACHE}/lammps-4Feb2025" "$ENV{HOME}/.cache/tnace/lammps-4Feb2025")
  if(EXISTS "${_d}/bin/lmp" AND EXISTS "${_d}/src/pair.h")
    set(_l25_prefix "${_d}")
    break()
  endif()
endforeach()
if(NOT _l25_prefix)
  message(STATUS "tnace: no LAMMPS 4Feb2025 (tools/setup --lammps 2025): the lammps2025 test is not registered")
  return()
endif()
add_test(NAME lammps2025
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/lammps2025.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/lammps2025
                 ${_l25_prefix})
set_tests_properties(lammps2025 PROPERTIES LABELS lammps2025 TIMEOUT 1800 RUN_SERIAL ON)
