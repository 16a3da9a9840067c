"""Find and load libtnace_fit (which brings libtnace) and declare the C functions the package calls.

The library is looked for, in this order:
  1. $TNACE_LIBRARY: the path of libtnace_fit.so (an override; nobody needs to set it normally);
  2. the folder recorded in ``_config.py`` when CMake built or installed this package
     (``build/python/tnace`` in a build tree, or where ``cmake --install`` put the module);
  3. the build folder of the source tree this file lies in (``<repo>/build``), for ``PYTHONPATH=python``;
  4. the system's library path (``ctypes.util.find_library``), e.g. after ``cmake --install --prefix /usr/local``.
"""
import ctypes
import ctypes.util
import os

_NAME = "libtnace_fit.so"


def _candidates():
    env = os.environ.get("TNACE_LIBRARY")
    if env:
        yield env
        return
    try:
        from . import _config  # written by CMake at build and install time
        yield os.path.join(_config.LIBDIR, _NAME)
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.normpath(os.path.join(here, "..", "..", "build", _NAME))
    found = ctypes.util.find_library("tnace_fit")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (no such file)")
            continue
        try:
            # libtnace first, global, so that libtnace_fit's dependency resolves to the file next to it
            # even where the loader's search path does not include that folder
            base = os.path.join(os.path.dirname(path), "libtnace.so")
            if os.path.exists(base):
                ctypes.CDLL(base, mode=ctypes.RTLD_GLOBAL)
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError(
        "tnace: cannot find libtnace_fit.so; build the project (tools/test, or cmake -S . -B build && cmake --build build), install "
        "it (cmake --install build), or set TNACE_LIBRARY to the library's path. Tried: " + "; ".join(tried))


lib, path = _load()

_c = ctypes
_p = _c.c_void_p
_dp = _c.POINTER(_c.c_double)
_ip = _c.POINTER(_c.c_int)

lib.tnace_calc_open.argtypes = [_c.c_char_p, _c.POINTER(_p), _c.c_char_p, _c.c_size_t]
lib.tnace_calc_open.restype = _c.c_int
lib.tnace_calc_free.argtypes = [_p]
lib.tnace_calc_free.restype = None
lib.tnace_calc_potential.argtypes = [_p]
lib.tnace_calc_potential.restype = _p
lib.tnace_calc_compute.argtypes = [_p, _c.c_int, _ip, _dp, _dp, _ip, _dp, _dp, _dp, _dp, _c.c_char_p, _c.c_size_t]
lib.tnace_calc_compute.restype = _c.c_int
lib.tnace_calc_grade.argtypes = [_p, _c.c_int, _ip, _dp, _dp, _ip, _dp, _c.c_char_p, _c.c_size_t]
lib.tnace_calc_grade.restype = _c.c_int

lib.tnace_potential_n_elements.argtypes = [_p]
lib.tnace_potential_n_elements.restype = _c.c_int
lib.tnace_potential_element.argtypes = [_p, _c.c_int]
lib.tnace_potential_element.restype = _c.c_char_p
lib.tnace_potential_cutoff.argtypes = [_p, _c.c_int, _c.c_int]
lib.tnace_potential_cutoff.restype = _c.c_double
lib.tnace_potential_cutoff_max.argtypes = [_p]
lib.tnace_potential_cutoff_max.restype = _c.c_double
lib.tnace_potential_e0.argtypes = [_p, _c.c_int]
lib.tnace_potential_e0.restype = _c.c_double
lib.tnace_potential_property.argtypes = [_p]
lib.tnace_potential_property.restype = _c.c_char_p
lib.tnace_potential_has_grade.argtypes = [_p]
lib.tnace_potential_has_grade.restype = _c.c_int
lib.tnace_potential_n_params.argtypes = [_p]
lib.tnace_potential_n_params.restype = _c.c_long

# error codes of tnace.h
ERRORS = {-1: "IO", -2: "PARSE", -3: "VALUE", -4: "ELEMENT", -5: "NOMEM", -6: "CAPACITY", -7: "TOO_CLOSE",
          -8: "NUMERIC", -9: "ARG"}
