# lammps-plugin/plugin.cmake — builds tnaceplugin.so, the LAMMPS plugin providing `pair_style tnace`.
#
# Included by the top-level CMakeLists.txt when TNACE_BUILD_PLUGIN is ON. Needs only the LAMMPS *headers*
# (a LAMMPS src/ directory with lammps.h, plus its fmt/ folder): the LAMMPS symbols are resolved from
# liblammps when `plugin load` dlopen()s the module, so the plugin is not linked to liblammps.
#
# Header search order:
#   1. -DLAMMPS_SOURCE_DIR=<dir>                       (a LAMMPS src/ folder with lammps.h)
#   2. $ENV{TNACE_CACHE}/lammps-7Jan2022/src            (what tools/setup installs)
#   3. $ENV{HOME}/.cache/tnace/lammps-7Jan2022/src
# If none is found a message is printed and the plugin is skipped (the library still builds).
#
# Sets, for tests/plugin.cmake and tools/lmp:
#   TNACE_PLUGIN_BUILT     ON when the tnaceplugin target exists
#   TNACE_PLUGIN_DIR       folder holding tnaceplugin.so (${CMAKE_BINARY_DIR}/lammps-plugin)
#   TNACE_LMP_EXECUTABLE   (cache) the lmp binary belonging to these headers, if one is found
#   TNACE_LAMMPS_VERSION   yyyymmdd of the LAMMPS headers (from version.h), 0 if unknown
#   TNACE_LAMMPS_ADD_REQUEST  1 if the headers have the neighbour-request API of 24Mar2022 (add_request)
#   TNACE_PLUGIN_OPENMP    ON when the plugin's atom loop is built with OpenMP
#   TNACE_LAMMPS_HEADERS   the LAMMPS src/ folder compiled against, TNACE_LAMMPS_FMT_DIR the folder with fmt/

set(TNACE_PLUGIN_BUILT OFF)

set(_tnace_lmp_candidates "")
if(LAMMPS_SOURCE_DIR)
  list(APPEND _tnace_lmp_candidates "${LAMMPS_SOURCE_DIR}")
else()
  if(DEFINED ENV{TNACE_CACHE} AND NOT "$ENV{TNACE_CACHE}" STREQUAL "")
    list(APPEND _tnace_lmp_candidates "$ENV{TNACE_CACHE}/lammps-7Jan2022/src")
  endif()
  list(APPEND _tnace_lmp_candidates "$ENV{HOME}/.cache/tnace/lammps-7Jan2022/src")
endif()

set(_tnace_lmp_src "")
foreach(_d ${_tnace_lmp_candidates})
  if(EXISTS "${_d}/lammps.h" AND EXISTS "${_d}/pair.h" AND EXISTS "${_d}/lammpsplugin.h")
    get_filename_component(_tnace_lmp_src "${_d}" ABSOLUTE)
    break()
  endif()
endforeach()

if(NOT _tnace_lmp_src)
  if(LAMMPS_SOURCE_DIR)
    message(WARNING "tnace: LAMMPS_SOURCE_DIR=${LAMMPS_SOURCE_DIR} has no lammps.h/pair.h/lammpsplugin.h: "
                    "the LAMMPS plugin is not built")
  else()
    message(STATUS "tnace: LAMMPS headers not found (run tools/setup or pass -DLAMMPS_SOURCE_DIR=<lammps>/src): "
                   "the LAMMPS plugin is not built")
  endif()
  return()
endif()

# fmt headers: LAMMPS includes "fmt/format.h"; the bundled copy must match the one compiled into liblammps.
# A header-only install (tools/setup copies src/*.h) may lack src/fmt/: then look in the source tree that
# tools/setup unpacked next to it ($CACHE/src/lammps-*/src/fmt).
set(_tnace_fmt_dir "")
if(EXISTS "${_tnace_lmp_src}/fmt/format.h")
  set(_tnace_fmt_dir "${_tnace_lmp_src}")
else()
  get_filename_component(_tnace_lmp_prefix "${_tnace_lmp_src}" DIRECTORY)   # .../lammps-7Jan2022
  get_filename_component(_tnace_cache_dir "${_tnace_lmp_prefix}" DIRECTORY) # .../tnace cache
  file(GLOB _tnace_fmt_candidates "${_tnace_cache_dir}/src/lammps-*/src/fmt/format.h"
                                  "${_tnace_lmp_prefix}/include/lammps/fmt/format.h")
  if(_tnace_fmt_candidates)
    list(GET _tnace_fmt_candidates 0 _f)
    get_filename_component(_f "${_f}" DIRECTORY)
    get_filename_component(_tnace_fmt_dir "${_f}" DIRECTORY)
  endif()
endif()
if(NOT _tnace_fmt_dir)
  message(WARNING "tnace: LAMMPS headers in ${_tnace_lmp_src} but no fmt/format.h (LAMMPS's bundled fmt) next to "
                  "them or in the LAMMPS source tree: the LAMMPS plugin is not built")
  return()
endif()

set(MPI_CXX_SKIP_MPICXX TRUE)
find_package(MPI COMPONENTS CXX QUIET)
if(NOT MPI_CXX_FOUND)
  message(WARNING "tnace: LAMMPS headers found but no MPI C++ (install libopenmpi-dev): the LAMMPS plugin is not built")
  return()
endif()

# LAMMPS version (yyyymmdd) from version.h, e.g. "29 Sep 2021" -> 20210929. The neighbour-request API
# changed in 24Mar2022; pair_tnace.cpp chooses the call by this number.
set(TNACE_LAMMPS_VERSION 0)
if(EXISTS "${_tnace_lmp_src}/version.h")
  file(STRINGS "${_tnace_lmp_src}/version.h" _tnace_vline REGEX "^#define LAMMPS_VERSION ")
  if(_tnace_vline MATCHES "\"([0-9]+) ([A-Za-z]+) ([0-9]+)\"")
    set(_day ${CMAKE_MATCH_1})
    set(_mon ${CMAKE_MATCH_2})
    set(_year ${CMAKE_MATCH_3})
    set(_months Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)
    list(FIND _months "${_mon}" _mi)
    if(_mi GREATER -1)
      math(EXPR _mi "${_mi} + 1")
      math(EXPR TNACE_LAMMPS_VERSION "${_year} * 10000 + ${_mi} * 100 + ${_day}")
    endif()
  endif()
endif()
if(TNACE_LAMMPS_VERSION EQUAL 0)
  message(WARNING "tnace: cannot read the LAMMPS version from ${_tnace_lmp_src}/version.h")
endif()

# Which neighbour-request API the headers have: Neighbor::add_request() (24Mar2022 on) or the old
# request() with public NeighRequest flags. Read from neighbor.h itself, not from the version: a development
# snapshot's version.h names the release before it. tools/check_lammps_api does the same.
set(TNACE_LAMMPS_ADD_REQUEST 1)
if(EXISTS "${_tnace_lmp_src}/neighbor.h")
  file(STRINGS "${_tnace_lmp_src}/neighbor.h" _tnace_addreq REGEX "add_request[ \t]*\\(")
  if(NOT _tnace_addreq)
    set(TNACE_LAMMPS_ADD_REQUEST 0)
  endif()
elseif(TNACE_LAMMPS_VERSION GREATER 0 AND TNACE_LAMMPS_VERSION LESS 20220324)
  set(TNACE_LAMMPS_ADD_REQUEST 0)
endif()

# Build-time macros of the LAMMPS build (liblammps.pc of an installed LAMMPS lists them). Integer sizes
# must match; LAMMPS_EXCEPTIONS only changes Error's members, matched for cleanliness.
get_filename_component(_tnace_lmp_prefix "${_tnace_lmp_src}" DIRECTORY)
set(_tnace_lmp_defs "")
set(_tnace_lmp_sizes LAMMPS_SMALLBIG)
foreach(_pc "${_tnace_lmp_prefix}/lib/pkgconfig/liblammps.pc" "${_tnace_lmp_prefix}/lib64/pkgconfig/liblammps.pc")
  if(EXISTS "${_pc}")
    file(STRINGS "${_pc}" _cflags REGEX "^Cflags:")
    if(_cflags MATCHES "-DLAMMPS_EXCEPTIONS")
      list(APPEND _tnace_lmp_defs LAMMPS_EXCEPTIONS)
    endif()
    if(_cflags MATCHES "-D(LAMMPS_SMALLSMALL|LAMMPS_SMALLBIG|LAMMPS_BIGBIG)")
      set(_tnace_lmp_sizes ${CMAKE_MATCH_1})
    endif()
    break()
  endif()
endforeach()
list(APPEND _tnace_lmp_defs ${_tnace_lmp_sizes})

set(TNACE_PLUGIN_DIR "${CMAKE_BINARY_DIR}/lammps-plugin")

# C++ standard: C++17 whenever the compiler supports it. LAMMPS headers after the 22Jul2025 stable release
# require it, and the 4Feb2025 stable release's lmptype.h stops a C++11 compile with '#error LAMMPS is
# planning to transition to requiring C++17' (unless -DLAMMPS_CXX11). Older headers (7Jan2022) compile as
# C++17 too (tested). C++11 only for a compiler without C++17, and then not against headers that need it.
if("cxx_std_17" IN_LIST CMAKE_CXX_COMPILE_FEATURES)
  set(_tnace_plugin_cxx_std 17)
else()
  set(_tnace_plugin_cxx_std 11)
  if(EXISTS "${_tnace_lmp_src}/lmptype.h")
    file(STRINGS "${_tnace_lmp_src}/lmptype.h" _tnace_cxx17 REGEX "requires a C\\+\\+17|requiring C\\+\\+17")
    if(_tnace_cxx17 OR TNACE_LAMMPS_VERSION GREATER_EQUAL 20250910)
      message(WARNING "tnace: the LAMMPS headers in ${_tnace_lmp_src} need C++17, which ${CMAKE_CXX_COMPILER} lacks: "
                      "the LAMMPS plugin is not built")
      return()
    endif()
  endif()
endif()

add_library(tnaceplugin MODULE
  ${CMAKE_SOURCE_DIR}/lammps-plugin/tnaceplugin.cpp
  ${CMAKE_SOURCE_DIR}/lammps-plugin/pair_tnace.cpp
  ${CMAKE_SOURCE_DIR}/lammps-plugin/compute_tnace_grade.cpp)
# LAMMPS headers as SYSTEM so that -Wall -Wextra reports only our own code.
target_include_directories(tnaceplugin SYSTEM PRIVATE "${_tnace_lmp_src}")
if(NOT _tnace_fmt_dir STREQUAL _tnace_lmp_src)
  target_include_directories(tnaceplugin SYSTEM PRIVATE "${_tnace_fmt_dir}")
endif()
# The adapter is a client of the public API only: it gets a private folder holding just tnace.h (copied
# at configure time) and links libtnace by file, so no internal libtnace header (src/tnace/*.h) can shadow a
# LAMMPS header of the same name (a target link would put -I src/ ahead of the LAMMPS headers).
set(_tnace_plugin_inc "${CMAKE_BINARY_DIR}/lammps-plugin/include")
configure_file(${CMAKE_SOURCE_DIR}/src/tnace/tnace.h ${_tnace_plugin_inc}/tnace.h COPYONLY)
target_include_directories(tnaceplugin PRIVATE ${CMAKE_SOURCE_DIR}/lammps-plugin ${_tnace_plugin_inc})
target_compile_definitions(tnaceplugin PRIVATE ${_tnace_lmp_defs}
                           TNACE_LAMMPS_VERSION=${TNACE_LAMMPS_VERSION}
                           TNACE_LAMMPS_ADD_REQUEST=${TNACE_LAMMPS_ADD_REQUEST})
target_link_libraries(tnaceplugin PRIVATE $<TARGET_FILE:tnace> MPI::MPI_CXX)
# OpenMP loop over atoms (pair_style tnace threads N). With GCC both LAMMPS and the plugin use libgomp,
# so `package omp` / OMP_NUM_THREADS set one thread count for both.
set(TNACE_PLUGIN_OPENMP OFF)
if(TNACE_OPENMP AND OpenMP_CXX_FOUND)
  target_link_libraries(tnaceplugin PRIVATE OpenMP::OpenMP_CXX)
  set(TNACE_PLUGIN_OPENMP ON)
endif()
add_dependencies(tnaceplugin tnace)
set_target_properties(tnaceplugin PROPERTIES
  PREFIX ""
  OUTPUT_NAME tnaceplugin
  SUFFIX ".so"
  CXX_STANDARD ${_tnace_plugin_cxx_std}
  CXX_STANDARD_REQUIRED ON
  CXX_EXTENSIONS OFF
  LIBRARY_OUTPUT_DIRECTORY "${TNACE_PLUGIN_DIR}"
  BUILD_RPATH "$<TARGET_FILE_DIR:tnace>"
  INSTALL_RPATH "$ORIGIN;$ORIGIN/..")
# Undefined LAMMPS symbols are resolved from liblammps at `plugin load` time. GNU ld allows undefined
# symbols in shared objects unless -z defs / --no-undefined is given (we never add those); macOS needs
# an explicit opt-in.
if(CMAKE_SYSTEM_NAME STREQUAL "Darwin")
  target_link_options(tnaceplugin PRIVATE "LINKER:-undefined,dynamic_lookup")
endif()

install(TARGETS tnaceplugin LIBRARY DESTINATION lib)

set(TNACE_PLUGIN_BUILT ON)
set(TNACE_LAMMPS_HEADERS "${_tnace_lmp_src}")
set(TNACE_LAMMPS_FMT_DIR "${_tnace_fmt_dir}")

# The lmp that goes with these headers (tools/setup installs <prefix>/bin/lmp next to <prefix>/src).
get_filename_component(_tnace_lmp_prefix "${_tnace_lmp_src}" DIRECTORY)
set(_tnace_lmp_guess "")
if(EXISTS "${_tnace_lmp_prefix}/bin/lmp")
  set(_tnace_lmp_guess "${_tnace_lmp_prefix}/bin/lmp")
endif()
if(NOT TNACE_LMP_EXECUTABLE AND _tnace_lmp_guess)
  set(TNACE_LMP_EXECUTABLE "${_tnace_lmp_guess}" CACHE FILEPATH "LAMMPS executable used by the plugin tests" FORCE)
elseif(NOT DEFINED TNACE_LMP_EXECUTABLE)
  set(TNACE_LMP_EXECUTABLE "" CACHE FILEPATH "LAMMPS executable used by the plugin tests")
endif()

message(STATUS "tnace: LAMMPS plugin enabled: headers ${_tnace_lmp_src} (version ${TNACE_LAMMPS_VERSION}, "
               "add_request ${TNACE_LAMMPS_ADD_REQUEST}, C++${_tnace_plugin_cxx_std}, OpenMP ${TNACE_PLUGIN_OPENMP}), "
               "module ${TNACE_PLUGIN_DIR}/tnaceplugin.so, lmp '${TNACE_LMP_EXECUTABLE}'")
