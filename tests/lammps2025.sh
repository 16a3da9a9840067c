#!/bin/sh
# lammps2025.sh SOURCE BUILD PREFIX — configure and build tnace in BUILD against the LAMMPS installed in
# PREFIX (headers PREFIX/src, binary PREFIX/bin/lmp), then run that tree's plugin tests (ctest -L lammps).
# Passes when the plugin builds and every LAMMPS test passes. Used by tests/lammps2025.cmake.
set -eu
src="$1"; build="$2"; prefix="$3"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLAMMPS_SOURCE_DIR="$prefix/src" \
      -DTNACE_LMP_EXECUTABLE="$prefix/bin/lmp" >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
grep "tnace: LAMMPS plugin enabled" "$build.configure.log" || { echo "lammps2025.sh: the plugin was not enabled"; cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }
cd "$build"
ctest -L '^lammps$' --output-on-failure -j "$jobs"
