# extxyz_ase: our extended-XYZ reader against ASE (Debian's python3-ase under /usr/bin/python3) on the first 3
# frames of every public dataset in ../shared/data (energy, cell, pbc, config_type, stress 3x3, symbols,
# positions, forces; numbers to 1e-12). Registered only when /usr/bin/python3 can import ase; skipped (exit 77)
# when the data directory is missing.
set(TNACE_ASE_PYTHON /usr/bin/python3 CACHE FILEPATH "Python interpreter with ASE for the extxyz_ase test")
set(TNACE_DATA_DIR ${CMAKE_SOURCE_DIR}/../shared/data CACHE PATH "Directory of the public DFT datasets")
if(EXISTS ${TNACE_ASE_PYTHON})
  execute_process(COMMAND ${TNACE_ASE_PYTHON} -c "import ase.io.extxyz"
                  RESULT_VARIABLE _tnace_ase_rc OUTPUT_QUIET ERROR_QUIET)
else()
  set(_tnace_ase_rc 1)
endif()
if(_tnace_ase_rc EQUAL 0 AND TARGET test_extxyz)
  add_test(NAME extxyz_ase
           COMMAND ${TNACE_ASE_PYTHON} ${CMAKE_SOURCE_DIR}/tools/extxyz_dump.py --check $<TARGET_FILE:test_extxyz>
                   ${TNACE_DATA_DIR} 3)
  set_tests_properties(extxyz_ase PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
else()
  message(STATUS "extxyz_ase test not registered: ${TNACE_ASE_PYTHON} cannot import ase")
endif()
