# cmake -DOUT=path/_config.py -DLIBDIR=folder -P write_config.cmake: the file tnace/_lib.py reads first.
get_filename_component(_libdir "${LIBDIR}" ABSOLUTE)
file(WRITE "${OUT}" "# Written by CMake (python/write_config.cmake): where libtnace_fit.so of this build or install lies.\nLIBDIR = \"${_libdir}\"\n")
