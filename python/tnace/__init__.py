"""tnace — tensor-network atomic cluster expansion potentials, from Python.

A thin layer over the C library (libtnace_fit / libtnace, ``src/fit/calc.h`` and ``src/tnace/tnace.h``):
the neighbour lists, energies, analytic forces and virials are computed in C, by the same code that
``tnace-eval``, the trainer and ``pair_style tnace`` use. Units are LAMMPS ``units metal``: Å, eV, eV/Å.

    >>> import tnace
    >>> pot = tnace.Potential("potentials/Cu.yaml")
    >>> r = pot.compute(["Cu"] * 4, positions, cell, pbc=True)
    >>> r.energy, r.forces, r.stress          # eV, eV/Å [n, 3], eV/Å^3 [3, 3] (ASE sign)

The ASE calculator is ``tnace.ase.TNACE``; the property tool is ``python3 -m tnace.properties``.
"""
import ctypes

import numpy as np

from . import _lib

__version__ = "0.1.0"
__all__ = ["Potential", "Result", "TNACEError", "__version__"]

_ERRLEN = 2048


class TNACEError(RuntimeError):
    """An error reported by the tnace library. ``code`` is the library's TNACE_ERR_* code (negative),
    ``kind`` its name ("PARSE", "ELEMENT", "TOO_CLOSE", ...); the message is the library's, unchanged."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.kind = _lib.ERRORS.get(code, "UNKNOWN")


class Result:
    """Energy and derivatives of one structure.

    energy    total energy (eV)
    energies  [n] per-atom energies (eV), summing to energy
    forces    [n, 3] forces (eV/Å)
    dEde      [3, 3] strain derivative ∂E/∂ε (eV), symmetric; the LAMMPS virial is −dEde
    volume    cell volume (Å^3), or None unless periodic in all three directions
    stress    [3, 3] stress dEde / volume (eV/Å^3) in ASE's sign (compressed cell: negative), or None
    """
    __slots__ = ("energy", "energies", "forces", "dEde", "volume", "stress")

    def __init__(self, energy, energies, forces, dEde, volume):
        self.energy = energy
        self.energies = energies
        self.forces = forces
        self.dEde = dEde
        self.volume = volume
        self.stress = dEde / volume if volume else None


class Potential:
    """A tnace potential loaded from its YAML file (format: docs/potential-format.md).

    Raises TNACEError with the loader's message (file, line, key) when the file is missing or malformed.
    One Potential is not to be used from several threads at once (it holds one workspace)."""

    def __init__(self, path):
        self.path = str(path)
        self._h = ctypes.c_void_p()
        err = ctypes.create_string_buffer(_ERRLEN)
        rc = _lib.lib.tnace_calc_open(self.path.encode(), ctypes.byref(self._h), err, _ERRLEN)
        if rc:
            self._h = None
            raise TNACEError(rc, err.value.decode(errors="replace"))
        pot = _lib.lib.tnace_calc_potential(self._h)
        n = _lib.lib.tnace_potential_n_elements(pot)
        self.elements = tuple(_lib.lib.tnace_potential_element(pot, s).decode() for s in range(n))
        self._index = {e: s for s, e in enumerate(self.elements)}
        self.cutoff = _lib.lib.tnace_potential_cutoff_max(pot)
        self.n_params = _lib.lib.tnace_potential_n_params(pot)
        prop = _lib.lib.tnace_potential_property(pot)
        # a property model (potential-file key `property`): compute() returns the property as "energy"
        self.property = prop.decode() if prop else None
        self._pot = pot

    def __del__(self):
        self.close()

    def close(self):
        """Free the C potential (also done when the object is collected)."""
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            try:
                _lib.lib.tnace_calc_free(h)
            except (AttributeError, TypeError):   # interpreter shutdown: the library may already be gone
                pass

    def __repr__(self):
        return "tnace.Potential(%r: %s, cutoff %.3g Å, %d parameters)" % (
            self.path, "-".join(self.elements), self.cutoff, self.n_params)

    def cutoff_between(self, a, b):
        """Cutoff radius (Å) between a centre of element a and a neighbour of element b."""
        return _lib.lib.tnace_potential_cutoff(self._pot, self.species_index(a), self.species_index(b))

    def e0(self, element):
        """Reference energy E0 (eV) of an element, included in every atom's energy."""
        return _lib.lib.tnace_potential_e0(self._pot, self.species_index(element))

    def species_index(self, element):
        try:
            return self._index[element]
        except KeyError:
            raise TNACEError(-4, "%s: element '%s' is not one of the potential's elements (%s)" % (
                self.path, element, ", ".join(self.elements))) from None

    def _species(self, symbols):
        sp = np.empty(len(symbols), dtype=np.intc)
        for i, sym in enumerate(symbols):
            s = self._index.get(sym)
            if s is None:
                raise TNACEError(-4, "atom %d: element '%s' is not one of the potential's elements (%s) in %s" % (
                    i, sym, ", ".join(self.elements), self.path))
            sp[i] = s
        return sp

    def _arrays(self, symbols, positions, cell, pbc):
        if not self._h:
            raise TNACEError(-9, "%s: the potential was closed" % self.path)
        sp = self._species(symbols)
        n = len(sp)
        pos = np.ascontiguousarray(positions, dtype=np.float64)
        if pos.shape != (n, 3):
            raise TNACEError(-9, "positions have shape %s, expected (%d, 3)" % (pos.shape, n))
        c = np.zeros((3, 3)) if cell is None else np.ascontiguousarray(cell, dtype=np.float64)
        if c.shape != (3, 3):
            raise TNACEError(-9, "cell has shape %s, expected (3, 3)" % (c.shape,))
        p = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).astype(np.intc)
        return sp, pos, c, p

    def grade(self, symbols, positions, cell=None, pbc=False):
        """Per-atom extrapolation grades γ_i (docs/extrapolation-grade.md) of a structure, same arguments as
        compute(): ≤ 1 inside the training data's span, growing as an environment leaves it. Raises TNACEError
        (kind VALUE) when the potential file has no grade section."""
        sp, pos, c, p = self._arrays(symbols, positions, cell, pbc)
        gamma = np.empty(len(sp))
        err = ctypes.create_string_buffer(_ERRLEN)
        dp = ctypes.POINTER(ctypes.c_double)
        ip = ctypes.POINTER(ctypes.c_int)
        rc = _lib.lib.tnace_calc_grade(self._h, len(sp), sp.ctypes.data_as(ip), pos.ctypes.data_as(dp),
                                       c.ctypes.data_as(dp), p.ctypes.data_as(ip), gamma.ctypes.data_as(dp), err,
                                       _ERRLEN)
        if rc:
            raise TNACEError(rc, "%s: %s" % (self.path, err.value.decode(errors="replace")))
        return gamma

    @property
    def has_grade(self):
        """True when the potential file carries an extrapolation grade."""
        return bool(_lib.lib.tnace_potential_has_grade(self._pot))

    def compute(self, symbols, positions, cell=None, pbc=False):
        """Energy, per-atom energies, forces and strain derivative of a structure.

        symbols    [n] chemical symbols
        positions  [n, 3] Cartesian positions (Å)
        cell       [3, 3] rows = lattice vectors (Å); may be None (or zero) when pbc is all False
        pbc        bool or [3] bools: periodicity along the cell vectors
        Returns a Result. Raises TNACEError with the library's message (e.g. TOO_CLOSE naming the atom,
        VALUE for a degenerate cell or a non-finite position, ELEMENT for an unknown symbol)."""
        sp, pos, c, p = self._arrays(symbols, positions, cell, pbc)
        n = len(sp)
        energy = ctypes.c_double()
        energies = np.empty(n)
        forces = np.empty((n, 3))
        dEde = np.empty((3, 3))
        err = ctypes.create_string_buffer(_ERRLEN)
        dp = ctypes.POINTER(ctypes.c_double)
        ip = ctypes.POINTER(ctypes.c_int)
        rc = _lib.lib.tnace_calc_compute(
            self._h, n, sp.ctypes.data_as(ip), pos.ctypes.data_as(dp), c.ctypes.data_as(dp), p.ctypes.data_as(ip),
            ctypes.byref(energy), energies.ctypes.data_as(dp), forces.ctypes.data_as(dp), dEde.ctypes.data_as(dp),
            err, _ERRLEN)
        if rc:
            raise TNACEError(rc, "%s: %s" % (self.path, err.value.decode(errors="replace")))
        volume = abs(float(np.linalg.det(c))) if p.all() else None
        return Result(energy.value, energies, forces, dEde, volume)
