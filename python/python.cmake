# The Python package python/tnace/ (ctypes over libtnace_fit; ASE calculator; property tool).
#
# Build tree: the package is copied to ${CMAKE_BINARY_DIR}/python/tnace with a _config.py that names the build
#   folder's libraries, so `PYTHONPATH=build/python /usr/bin/python3 -c "import tnace"` works (the tests do this).
# Install:    `cmake --install build [--prefix P]` puts the libraries in P/lib and the package in the Python
#   site folder that belongs to P (P/lib/python3.X/dist-packages on Debian for /usr/local, the user site for
#   ~/.local), with a _config.py naming P/lib: then a plain `python3 -c "import tnace"` finds both.
set(TNACE_PYTHON /usr/bin/python3 CACHE FILEPATH "Python 3 used to pick the install folder of the tnace module")
file(GLOB TNACE_PY_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/tnace/*.py)
set(TNACE_PY_STAMP ${CMAKE_BINARY_DIR}/python/tnace/_config.py)
add_custom_command(
  OUTPUT ${TNACE_PY_STAMP}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/python/tnace
  COMMAND ${CMAKE_COMMAND} -E copy ${TNACE_PY_SOURCES} ${CMAKE_BINARY_DIR}/python/tnace/
  COMMAND ${CMAKE_COMMAND} -DOUT=${TNACE_PY_STAMP} -DLIBDIR=$<TARGET_FILE_DIR:tnace_fit>
          -P ${CMAKE_SOURCE_DIR}/python/write_config.cmake
  DEPENDS ${TNACE_PY_SOURCES} ${CMAKE_SOURCE_DIR}/python/write_config.cmake
  COMMENT "Python package tnace -> ${CMAKE_BINARY_DIR}/python/tnace")
add_custom_target(tnace_python ALL DEPENDS ${TNACE_PY_STAMP} tnace_fit)

install(CODE "
  set(_py \"${TNACE_PYTHON}\")
  if(NOT EXISTS \"\${_py}\")
    message(STATUS \"tnace Python module not installed: no \${_py} (set TNACE_PYTHON)\")
  else()
    execute_process(COMMAND \"\${_py}\" \"${CMAKE_SOURCE_DIR}/python/site_dir.py\" \"\${CMAKE_INSTALL_PREFIX}\"
                    OUTPUT_VARIABLE _site OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR \"cannot determine the Python site folder for \${CMAKE_INSTALL_PREFIX}\")
    endif()
    file(INSTALL ${TNACE_PY_SOURCES} DESTINATION \"\${_site}/tnace\")
    execute_process(COMMAND ${CMAKE_COMMAND} -DOUT=\${_site}/tnace/_config.py -DLIBDIR=\${CMAKE_INSTALL_PREFIX}/lib
                    -P ${CMAKE_SOURCE_DIR}/python/write_config.cmake)
    message(STATUS \"Installing: \${_site}/tnace/_config.py\")
  endif()
")
