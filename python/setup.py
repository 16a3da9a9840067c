"""Writes tnace/_config.py into the built package: the libraries of this source tree's build/ folder (or
$TNACE_LIBDIR), so that an installed `import tnace` finds them without paths set by hand."""
import os

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        libdir = os.environ.get("TNACE_LIBDIR") or os.path.normpath(os.path.join(here, "..", "build"))
        if not os.path.exists(os.path.join(libdir, "libtnace_fit.so")):
            raise SystemExit("tnace: no libtnace_fit.so in %s: build the project first (tools/test, or cmake -S . -B "
                             "build && cmake --build build), or set TNACE_LIBDIR" % libdir)
        with open(os.path.join(self.build_lib, "tnace", "_config.py"), "w") as f:
            f.write("# Written by python/setup.py: where libtnace_fit.so lies.\nLIBDIR = %r\n" % libdir)


setup(cmdclass={"build_py": BuildPy})
