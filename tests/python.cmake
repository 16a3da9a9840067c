# tests/python.cmake — the Python package (python/tnace) and its ASE calculator, run by Debian's python3
# (TNACE_ASE_PYTHON, tests/CMakeLists.txt) on the build tree's copy of the package (build/python). Label python.
#   python_api     energies/forces/stress equal tnace-eval's to 1e-10; finite-difference forces and stress;
#                  rotation/translation invariance; clusters and slabs; library errors become TNACEError
#   python_shipped every potentials/*.yaml (needs ASE's lattices): zero forces on each element's perfect crystal, that crystal below a
#                  rattled one, forces equal to finite differences (rattled crystal, random alloy)
#   python_ase     the ASE calculator: Voigt order and sign, per-atom energies, no stress without 3D pbc,
#                  a BFGS relaxation of positions and cell converges, ASE's EquationOfState
#   python_ase_dynamics  ASE velocity Verlet conserves the total energy; a climbing-image NEB of a Cu vacancy hop
#                  converges to a barrier between 0.2 and 2 eV
#   python_properties  tnace.properties: the EOS bulk modulus equals (C11+2C12)/3, a0 is stress-free, the
#                  stress-strain fit on cells labelled by the model returns its C_ij and a0, swapped shear
#                  stresses are flagged
#   python_lammps  equal to pair_style tnace (run 0) on a triclinic four-element cell: energy, per-atom
#                  energies, forces, pressure tensor (labels python and lammps; needs LAMMPS and the plugin)
if(EXISTS ${TNACE_ASE_PYTHON})
  execute_process(COMMAND ${TNACE_ASE_PYTHON} -c "import numpy" RESULT_VARIABLE _tnace_np_rc OUTPUT_QUIET ERROR_QUIET)
else()
  set(_tnace_np_rc 1)
endif()
if(NOT _tnace_np_rc EQUAL 0)
  message(STATUS "Python tests not registered: ${TNACE_ASE_PYTHON} cannot import numpy")
  return()
endif()
set(_tp_script ${CMAKE_CURRENT_SOURCE_DIR}/python/test_python.py)
set(_tp_env "PYTHONPATH=${CMAKE_BINARY_DIR}/python" "TNACE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
            "TNACE_EVAL=$<TARGET_FILE:tnace-eval>" "PYTHONDONTWRITEBYTECODE=1")
add_test(NAME python_api COMMAND ${TNACE_ASE_PYTHON} ${_tp_script} Api)
set_tests_properties(python_api PROPERTIES ENVIRONMENT "${_tp_env}" LABELS python TIMEOUT 300)
if(_tnace_ase_rc EQUAL 0)
  add_test(NAME python_shipped COMMAND ${TNACE_ASE_PYTHON} ${_tp_script} Shipped)
  set_tests_properties(python_shipped PROPERTIES ENVIRONMENT "${_tp_env}" LABELS python TIMEOUT 300)
  add_test(NAME python_ase COMMAND ${TNACE_ASE_PYTHON} ${_tp_script} Ase)
  set_tests_properties(python_ase PROPERTIES ENVIRONMENT "${_tp_env}" LABELS python TIMEOUT 300)
  add_test(NAME python_ase_dynamics COMMAND ${TNACE_ASE_PYTHON} ${_tp_script} AseDynamics)
  set_tests_properties(python_ase_dynamics PROPERTIES ENVIRONMENT "${_tp_env}" LABELS python TIMEOUT 300)
  add_test(NAME python_properties COMMAND ${TNACE_ASE_PYTHON} ${_tp_script} Properties)
  set_tests_properties(python_properties PROPERTIES ENVIRONMENT "${_tp_env}" LABELS python TIMEOUT 300)
endif()
if(TNACE_PLUGIN_BUILT AND TNACE_LMP_EXECUTABLE AND EXISTS "${TNACE_LMP_EXECUTABLE}")
  add_test(NAME python_lammps COMMAND ${TNACE_ASE_PYTHON} ${_tp_script} Lammps)
  set_tests_properties(python_lammps PROPERTIES LABELS "python;lammps" TIMEOUT 300 ENVIRONMENT
    "${_tp_env};TNACE_LMP_CMD=${CMAKE_SOURCE_DIR}/tools/lmp;TNACE_LMP_ENV=TNACE_LMP=${TNACE_LMP_EXECUTABLE}\\;TNACE_BUILD_DIR=${CMAKE_BINARY_DIR}")
endif()
# snap_refit: potentials/checks/snap_refit.py (the SNAP baseline refitted on tnace's folds) recovers a published
# linear SNAP exactly from structures that SNAP labelled in LAMMPS (labels python and lammps).
if(_tnace_ase_rc EQUAL 0 AND TNACE_PLUGIN_BUILT AND TNACE_LMP_EXECUTABLE AND EXISTS "${TNACE_LMP_EXECUTABLE}")
  get_filename_component(_tp_lmp_prefix "${TNACE_LMP_EXECUTABLE}" DIRECTORY)
  get_filename_component(_tp_lmp_prefix "${_tp_lmp_prefix}" DIRECTORY)
  add_test(NAME snap_refit COMMAND ${TNACE_ASE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/checks/test_snap_refit.py
           "${_tp_lmp_prefix}/share/potentials")
  set_tests_properties(snap_refit PROPERTIES LABELS "python;lammps" TIMEOUT 300 ENVIRONMENT
    "${_tp_env};TNACE_LMP=${TNACE_LMP_EXECUTABLE};TNACE_BUILD_DIR=${CMAKE_BINARY_DIR}")
endif()
# desc_cli: tnace-desc's power spectrum equals an independent numpy computation (ASE neighbours, the addition
# theorem instead of Y_lm), rotation invariance, pooling, labels, errors (tests/checks/test_desc.py).
if(_tnace_ase_rc EQUAL 0)
  add_test(NAME desc_cli COMMAND ${TNACE_ASE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/checks/test_desc.py $<TARGET_FILE:tnace-desc>)
  set_tests_properties(desc_cli PROPERTIES LABELS python TIMEOUT 120 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
# nmd18_driver: examples/nmd18/learning_curve.py and compress.py end to end on a small synthetic oxide set
# (tests/checks/test_nmd18.py): result format, agreement with tnace-eval, resume, lossless MPS-SVD.
if(_tnace_ase_rc EQUAL 0)
  execute_process(COMMAND ${TNACE_ASE_PYTHON} -c "import sklearn, yaml, matplotlib" RESULT_VARIABLE _tnace_skl_rc
                  OUTPUT_QUIET ERROR_QUIET)
  if(_tnace_skl_rc EQUAL 0)
    add_test(NAME nmd18_driver COMMAND ${TNACE_ASE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/checks/test_nmd18.py ${CMAKE_BINARY_DIR})
    set_tests_properties(nmd18_driver PROPERTIES LABELS python TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
  else()
    message(STATUS "nmd18_driver not registered: ${TNACE_ASE_PYTHON} lacks sklearn, yaml or matplotlib (tools/setup installs them)")
  endif()
endif()
