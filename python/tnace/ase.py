"""ASE calculator for tnace potentials.

    >>> from tnace.ase import TNACE
    >>> atoms.calc = TNACE("potentials/Cu.yaml")
    >>> atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

Properties: energy and free_energy (eV, equal: no electronic entropy), energies (per atom, eV), forces
(eV/Å), and, for cells periodic in all three directions, stress: ASE's convention, (1/V) ∂E/∂ε in eV/Å^3 as a
Voigt 6-vector (xx, yy, zz, yz, xz, xy), negative under compression. A cell periodic in fewer directions has
no stress (PropertyNotImplementedError), as with ASE's other calculators. Works with ASE's optimisers,
cell filters (ExpCellFilter, FrechetCellFilter where ASE has it), EquationOfState, Phonons, MD and NEB.
"""
import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from . import Potential, TNACEError


class TNACE(Calculator):
    """ASE calculator over a tnace potential (a path to its YAML file, or a loaded tnace.Potential,
    which several calculators may share as long as they are not used from threads at once)."""

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, potential, **kwargs):
        Calculator.__init__(self, **kwargs)
        self.potential = potential if isinstance(potential, Potential) else Potential(potential)
        if self.potential.property:
            raise TNACEError(-3, "%s is a property model (it predicts %s per structure), not an interatomic "
                             "potential: use tnace.Potential.compute" % (self.potential.path, self.potential.property))

    def __repr__(self):
        return "TNACE(%r)" % self.potential.path

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        a = self.atoms
        pbc = np.asarray(a.pbc, dtype=bool)
        if "stress" in properties and not pbc.all():
            raise PropertyNotImplementedError("tnace: stress needs a cell periodic in all three directions "
                                              "(pbc is %s)" % list(pbc))
        r = self.potential.compute(a.get_chemical_symbols(), a.positions, a.cell[:], pbc)
        self.results = {"energy": r.energy, "free_energy": r.energy, "energies": r.energies, "forces": r.forces}
        if r.stress is not None:
            s = 0.5 * (r.stress + r.stress.T)
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
