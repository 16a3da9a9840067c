"""Material properties of a tnace potential, next to the DFT values of its training data where it has them.

    python3 -m tnace.properties POTENTIAL [--element X] [--lattice fcc|bcc|diamond] [--a0 GUESS]
                                [--data TRAIN.xyz] [--phonons PLOT.png] [--json OUT.json] [--skip WHAT,...]

The model's own properties, each at its own relaxed state (ASE optimisers on the calculator tnace.ase.TNACE):
  lattice    lattice constant a0 (E(a) minimised), energy per atom, bulk modulus B from a Birch–Murnaghan fit
             of E(V) within ±1 % of a0 (no cohesive energy: the training sets hold no isolated atom, so the
             potential's isolated-atom energy is an extrapolation)
  elastic    C_ij (6×6, GPa) by central differences of the stress under ±0.5 % strains of the conventional
             cell, with the atoms relaxed inside the strained cell (relaxed-ion; for diamond also the
             clamped-ion C44); cubic averages C11, C12, C44
  vacancy    vacancy formation energy E_v = E(N−1) − (N−1)/N E(N) in a supercell of about 100–220 atoms,
             positions relaxed at fixed cell
  surface    surface energies γ(100), γ(110), γ(111) in J/m² of slabs built by ase.build.surface (about 12 Å
             of material, 12 Å of vacuum; diamond (111) without its singly bonded atoms), positions relaxed,
             no reconstruction (no 2×1 dimers on diamond (100)); γ = (E_slab − N e_bulk) / 2A
  phonons    frequencies (THz) at the special points of the primitive cell's band path from finite
             displacements (ase.phonons; an n×n×n supercell of the primitive cell that holds force constants
             of range 2 r_cut), the lowest frequency on the path (negative =
             imaginary: a mechanical instability) and, with --phonons FILE, a plot of the dispersion

Against the DFT data (--data: the extxyz the potential was trained on, or any with config_type groups; only
structures of the chosen element alone), the model is evaluated at the DFT geometries themselves, so the two
numbers differ only by the model's error:
  Elastic    structures of config_type "Elastic" or "*_Elastic" (strained cells): C11, C12, C44 and a0 from a least-squares
             fit of the stress against the strain (strains up to 2 % from the group's median cell), once
             with the DFT stresses and once with the model's, at the same geometries (atoms as given:
             clamped-ion for cells whose atoms were not relaxed)
  Surface    config_type "Surface" or "*_Surface" slabs: γ = (E_slab − N e_bulk) / 2A with DFT and with model energies; e_bulk
             is the energy per atom of the least-strained "Elastic" cell, DFT and model respectively

Units: Å, eV, GPa, J/m², THz. Prints a table; --json writes every number.
"""
import argparse
import contextlib
import io
import json
import os
import sys
import tempfile

import numpy as np

from . import Potential, TNACEError

EV_A3_TO_GPA = 160.21766208
EV_A2_TO_J_M2 = 16.021766208
ATOMS_PER_CELL = {"fcc": 4, "bcc": 2, "diamond": 8}


def _ase():
    try:
        import ase  # noqa: F401
    except ImportError:
        sys.exit("tnace.properties needs ASE (Debian: apt install python3-ase)")


def reference_state(symbol):
    """(lattice, a guess) from ASE's table of elemental ground states, for cubic lattices."""
    from ase.data import atomic_numbers, reference_states
    st = reference_states[atomic_numbers[symbol]]
    if st and st.get("symmetry") in ATOMS_PER_CELL:
        return st["symmetry"], st["a"]
    return None, None


def conventional(symbol, lattice, a):
    from ase.build import bulk
    return bulk(symbol, lattice, a=a, cubic=True)


def relax_positions(atoms, fmax=1e-4, steps=500):
    from ase.optimize import BFGS
    ok = BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    return bool(ok)


def lattice_constant(calc, symbol, lattice, a_guess):
    """a0 (Å), energy per atom (eV), bulk modulus (GPa) of the ideal cubic crystal."""
    from ase.eos import EquationOfState
    from scipy.optimize import minimize_scalar

    def e_of(a):
        at = conventional(symbol, lattice, a)
        at.calc = calc
        return at.get_potential_energy() / len(at)

    res = minimize_scalar(e_of, bounds=(0.85 * a_guess, 1.15 * a_guess), method="bounded",
                          options={"xatol": 1e-7})
    a0 = float(res.x)
    vols, ens = [], []
    for x in np.linspace(0.99, 1.01, 9):
        at = conventional(symbol, lattice, a0 * x)
        at.calc = calc
        vols.append(at.get_volume() / len(at))
        ens.append(at.get_potential_energy() / len(at))
    v0, e0, B = EquationOfState(vols, ens, eos="birchmurnaghan").fit()
    return {"a0": a0, "energy_per_atom": e_of(a0), "B": B * EV_A3_TO_GPA, "v0_per_atom": v0}


def elastic_constants(calc, symbol, lattice, a0, delta=0.005, relax=True):
    """C_ij (GPa, 6×6, Voigt with engineering shear strains) by central differences of the stress."""
    base = conventional(symbol, lattice, a0)
    C = np.zeros((6, 6))
    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    for j, (a, b) in enumerate(voigt):
        s = []
        for sign in (1, -1):
            eps = np.zeros((3, 3))
            if a == b:
                eps[a, a] = sign * delta
            else:
                eps[a, b] = eps[b, a] = sign * delta / 2   # engineering shear strain γ = delta
            at = base.copy()
            at.set_cell(base.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
            at.calc = calc
            if relax:
                relax_positions(at, fmax=1e-5)
            s.append(at.get_stress())
        C[:, j] = (s[0] - s[1]) / (2 * delta) * EV_A3_TO_GPA
    C = 0.5 * (C + C.T)
    return C


def cubic_of(C):
    return {"C11": float(np.mean([C[0, 0], C[1, 1], C[2, 2]])),
            "C12": float(np.mean([C[0, 1], C[0, 2], C[1, 2]])),
            "C44": float(np.mean([C[3, 3], C[4, 4], C[5, 5]]))}


def vacancy_formation(calc, symbol, lattice, a0):
    reps = {"fcc": 3, "bcc": 4, "diamond": 3}[lattice]
    bulk = conventional(symbol, lattice, a0) * (reps, reps, reps)
    bulk.calc = calc
    e_bulk = bulk.get_potential_energy()
    n = len(bulk)
    vac = bulk.copy()
    del vac[0]
    vac.calc = calc
    converged = relax_positions(vac, fmax=1e-3)
    return {"E_vac": vac.get_potential_energy() - (n - 1) / n * e_bulk, "n_atoms": n, "converged": converged}


def _drop_singly_bonded(slab, rnn):
    """Remove surface atoms with one bond: ase.build.surface cuts diamond (111) through the bilayer (three
    dangling bonds per surface atom); without them the surface is the usual bulk-terminated one (one bond)."""
    from ase.neighborlist import neighbor_list
    i = neighbor_list("i", slab, rnn)
    cn = np.bincount(i, minlength=len(slab))
    keep = cn > 1
    return slab[keep] if not keep.all() else slab


def surface_energies(calc, symbol, lattice, a0, e_bulk):
    from ase.build import surface
    conv = conventional(symbol, lattice, a0)
    out = {}
    for miller in [(1, 0, 0), (1, 1, 0), (1, 1, 1)]:
        # thickness of one repeat of the surface cell: the growth of the slab from one repeat to two
        one, two = surface(conv, miller, 1, vacuum=5.0), surface(conv, miller, 2, vacuum=5.0)
        d = two.cell.volume / np.linalg.norm(np.cross(two.cell[0], two.cell[1])) - \
            one.cell.volume / np.linalg.norm(np.cross(one.cell[0], one.cell[1]))
        layers = max(2, int(np.ceil(12.0 / d)))
        slab = surface(conv, miller, layers, vacuum=6.0)
        slab.pbc = True   # the vacuum along c separates the slab from its images; the cell stays 3D periodic
        if lattice == "diamond":
            slab = _drop_singly_bonded(slab, 1.2 * a0 * np.sqrt(3) / 4)
        slab.calc = calc
        converged = relax_positions(slab, fmax=1e-3)
        area = np.linalg.norm(np.cross(slab.cell[0], slab.cell[1]))
        gamma = (slab.get_potential_energy() - len(slab) * e_bulk) / (2 * area)
        out["".join(map(str, miller))] = {"gamma": gamma * EV_A2_TO_J_M2, "n_atoms": len(slab),
                                          "converged": converged}
    return out


def phonon_dispersion(calc, symbol, lattice, a0, plot=None, supercell=None):
    """Phonon band structure along the primitive cell's special path. The supercell must hold the force
    constants without wrapping: they reach 2 r_cut (a displaced atom changes the energies of neighbours,
    whose energies see their own neighbours), so by default n ≥ 4 r_cut / |a_prim| (n×n×n)."""
    from ase.build import bulk
    from ase.phonons import Phonons
    prim = bulk(symbol, lattice, a=a0)
    if supercell is None:
        supercell = max(4, int(np.ceil(4 * calc.potential.cutoff / np.linalg.norm(prim.cell, axis=1).min())))
    with tempfile.TemporaryDirectory() as d:
        ph = Phonons(prim, calc, supercell=(supercell,) * 3, delta=0.01, name=os.path.join(d, "phonon"))
        ph.run()
        ph.read(acoustic=True)
        path = prim.cell.bandpath(npoints=120)
        with contextlib.redirect_stdout(io.StringIO()):   # ASE prints a warning per ~1e-7 THz mode at Γ
            bs = ph.get_band_structure(path)
    to_thz = 1.0 / 4.135667696e-3   # eV -> THz
    energies = bs.energies[0] * to_thz   # [k, band]
    special = {}
    xs, xspecial, kinds = path.get_linear_kpoint_axis()
    for label, x in zip(kinds, xspecial):
        k = int(np.argmin(np.abs(xs - x)))
        special[label] = sorted(float(v) for v in energies[k])
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(xs, energies, "k-", lw=1)
        ax.set_xticks(xspecial)
        ax.set_xticklabels([("Γ" if l == "G" else l) for l in kinds])
        ax.set_xlim(xs[0], xs[-1])
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_ylabel("frequency (THz)")
        ax.set_title("%s %s phonons, %s" % (symbol, lattice, os.path.basename(calc.potential.path)))
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
    return {"path": path.path, "supercell": supercell, "special": special, "min_frequency": float(energies.min()),
            "max_frequency": float(energies.max())}


# ---- against the DFT data ---------------------------------------------------------------------------------

def _is_group(atoms, name):
    """config_type `name` or `<anything>_name` (the Nb–Mo–Ta–W data's "Mo_Elastic")."""
    ct = str(atoms.info.get("config_type", ""))
    return ct == name or ct.endswith("_" + name)


def _strain(cell, ref):
    """Green–Lagrange strain of cell (rows = vectors) against ref, Voigt with engineering shears."""
    F = np.linalg.solve(ref, cell).T       # cell = ref @ F.T
    E = 0.5 * (F.T @ F - np.eye(3))
    return np.array([E[0, 0], E[1, 1], E[2, 2], 2 * E[1, 2], 2 * E[0, 2], 2 * E[0, 1]])


def _cubic_fit(strains, stresses, groups):
    """Least squares σ_i = σ0_i(group) + Σ_j C_ij ε_j with cubic C (C11, C12, C44): returns C11, C12, C44 and
    the intercepts (GPa)."""
    gl = sorted(set(groups))
    rows, rhs = [], []
    for e, s, g in zip(strains, stresses, groups):
        for i in range(6):
            r = np.zeros(3 + 6 * len(gl))
            if i < 3:
                r[0] = e[i]
                r[1] = sum(e[k] for k in range(3) if k != i)
            else:
                r[2] = e[i]
            r[3 + 6 * gl.index(g) + i] = 1.0
            rows.append(r)
            rhs.append(s[i])
    x = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return x[:3], {g: x[3 + 6 * k: 9 + 6 * k] for k, g in enumerate(gl)}


def _shear_consistency(strains, stresses, tol=1e-3):
    """Structures strained in one shear component only: for a cubic crystal the stress must answer in that same
    Voigt slot with the same sign (C44 > 0). Returns (list of mismatches, number checked); a mismatch says
    that the data's stress convention (component order, sign) differs from its cell's."""
    bad, n = [], 0
    for e, s in zip(strains, stresses):
        big = [k for k in range(6) if abs(e[k]) > tol]
        if len(big) != 1 or big[0] < 3:
            continue
        k = big[0]
        n += 1
        j = 3 + int(np.argmax(np.abs(s[3:])))
        if j != k or np.sign(s[j]) != np.sign(e[k]):
            bad.append({"strain_component": k, "strain": float(e[k]), "stress_shear": [float(x) for x in s[3:]]})
    return bad, n


def dft_elastic(frames, calc, lattice, max_strain=0.041):
    """C11, C12, C44, a0 from the Elastic group, with DFT and with model stresses at the same geometries."""
    el = [a for a in frames if _is_group(a, "Elastic") and a.pbc.all()]
    if not el:
        return None
    by_n = {}
    for a in el:
        by_n.setdefault(len(a), []).append(a)
    strains, s_dft, s_mod, groups, refs = [], [], [], [], {}
    for n, fr in by_n.items():
        ref = np.median(np.array([a.cell[:] for a in fr]), axis=0)
        refs[n] = ref
        for a in fr:
            e = _strain(a.cell[:], ref)
            if np.abs(e).max() > max_strain:
                continue
            try:
                sd = a.get_stress()   # from the file (ASE's SinglePointCalculator)
            except Exception:
                continue
            b = a.copy()
            b.calc = calc
            strains.append(e)
            s_dft.append(sd * EV_A3_TO_GPA)
            s_mod.append(b.get_stress() * EV_A3_TO_GPA)
            groups.append(n)
    if len(strains) < 4:
        return {"n_structures": len(strains), "note": "fewer than 4 Elastic structures within the strain limit"}
    out = {"n_structures": len(strains), "max_strain": max_strain}
    bad, n_shear = _shear_consistency(strains, s_dft)
    out["shear_checked"], out["shear_inconsistent"] = n_shear, bad
    m = ATOMS_PER_CELL.get(lattice)
    for name, st in (("dft", s_dft), ("model", s_mod)):
        (c11, c12, c44), icpt = _cubic_fit(strains, st, groups)
        r = {"C11": c11, "C12": c12, "C44": c44, "B": (c11 + 2 * c12) / 3}
        if name == "dft" and (bad or not n_shear):
            r["C44"] = None   # the data's shear stresses do not answer its shear strains: C44 is not determined
        if m:
            # equilibrium: the hydrostatic strain that cancels the intercept's mean normal stress
            a0s = []
            for n, s0 in icpt.items():
                eps = -np.mean(s0[:3]) / (c11 + 2 * c12)
                a_ref = (abs(np.linalg.det(refs[n])) * m / n) ** (1.0 / 3.0)
                a0s.append(a_ref * (1 + eps))
            r["a0"] = float(np.mean(a0s))
        out[name] = r
    return out


def _slab_area(a):
    """Area (Å^2) of the slab: the cell face normal to the direction with the largest vacuum gap."""
    frac = a.get_scaled_positions() % 1.0
    best, axis = -1.0, 2
    for k in range(3):
        f = np.sort(frac[:, k])
        gaps = np.diff(np.concatenate([f, [f[0] + 1]])) * np.linalg.norm(a.cell[k])
        if gaps.max() > best:
            best, axis = gaps.max(), k
    i, j = [k for k in range(3) if k != axis]
    return float(np.linalg.norm(np.cross(a.cell[i], a.cell[j]))), best


def dft_surfaces(frames, calc):
    el = [a for a in frames if _is_group(a, "Elastic") and a.pbc.all()]
    su = [a for a in frames if _is_group(a, "Surface")]
    if not el or not su:
        return None
    ref = min(el, key=lambda a: np.abs(a.get_stress()).max())
    b = ref.copy()
    b.calc = calc
    eb_dft = ref.get_potential_energy() / len(ref)
    eb_mod = b.get_potential_energy() / len(b)
    rows = []
    for a in su:
        area, gap = _slab_area(a)
        if gap < 5.0:
            continue
        m = a.copy()
        m.calc = calc
        g_d = (a.get_potential_energy() - len(a) * eb_dft) / (2 * area) * EV_A2_TO_J_M2
        g_m = (m.get_potential_energy() - len(a) * eb_mod) / (2 * area) * EV_A2_TO_J_M2
        rows.append({"n_atoms": len(a), "area": area, "dft": g_d, "model": g_m})
    return rows


# ---- driver ----------------------------------------------------------------------------------------------

def compute_all(potential, element=None, lattice=None, a_guess=None, data=None, phonon_plot=None, skip=()):
    from .ase import TNACE
    pot = potential if isinstance(potential, Potential) else Potential(potential)
    if element is None:
        if len(pot.elements) != 1:
            raise SystemExit("%s has elements %s: choose one with --element" % (pot.path, ", ".join(pot.elements)))
        element = pot.elements[0]
    if lattice is None or a_guess is None:
        lat0, a0g = reference_state(element)
        lattice = lattice or lat0
        a_guess = a_guess or a0g
    if lattice not in ATOMS_PER_CELL:
        raise SystemExit("lattice %r: give --lattice fcc, bcc or diamond" % (lattice,))
    calc = TNACE(pot)
    res = {"potential": pot.path, "element": element, "lattice": lattice}
    lat = lattice_constant(calc, element, lattice, a_guess)
    res["lattice_constant"] = lat
    a0 = lat["a0"]
    if "elastic" not in skip:
        C = elastic_constants(calc, element, lattice, a0)
        el = {"C": C.tolist(), **cubic_of(C)}
        if lattice == "diamond":
            el["C44_clamped_ion"] = cubic_of(elastic_constants(calc, element, lattice, a0, relax=False))["C44"]
        res["elastic"] = el
    if "vacancy" not in skip:
        res["vacancy"] = vacancy_formation(calc, element, lattice, a0)
    if "surface" not in skip:
        res["surface"] = surface_energies(calc, element, lattice, a0, lat["energy_per_atom"])
    if "phonons" not in skip:
        res["phonons"] = phonon_dispersion(calc, element, lattice, a0, plot=phonon_plot)
    if data:
        from ase.io import read
        frames = [a for a in read(data, ":") if set(a.get_chemical_symbols()) == {element}]
        res["dft_data"] = {"file": data, "elastic": dft_elastic(frames, calc, lattice),
                           "surface": dft_surfaces(frames, calc)}
    return res


def _f(x, fmt="%.3f"):
    return "-" if x is None else fmt % x


def print_report(res, out=sys.stdout):
    p = lambda *a: print(*a, file=out)   # noqa: E731
    lat = res["lattice_constant"]
    p("# %s: %s %s" % (res["potential"], res["element"], res["lattice"]))
    dd = (res.get("dft_data") or {})
    de = dd.get("elastic") or {}
    dft = de.get("dft", {})
    mod = de.get("model", {})
    p("%-38s %12s %12s %12s" % ("property", "model", "DFT data", "model@DFT"))
    p("%-38s %12.4f %12s %12s" % ("a0 (Å)", lat["a0"], _f(dft.get("a0"), "%.4f"), _f(mod.get("a0"), "%.4f")))
    p("%-38s %12.4f" % ("E per atom (eV)", lat["energy_per_atom"]))
    p("%-38s %12.1f %12s %12s" % ("B (GPa), EOS", lat["B"], _f(dft.get("B"), "%.1f"), _f(mod.get("B"), "%.1f")))
    if "elastic" in res:
        e = res["elastic"]
        for k in ("C11", "C12", "C44"):
            p("%-38s %12.1f %12s %12s" % (k + " (GPa), relaxed ions", e[k], _f(dft.get(k), "%.1f"),
                                          _f(mod.get(k), "%.1f")))
        if "C44_clamped_ion" in e:
            p("%-38s %12.1f %12s %12s" % ("C44 (GPa), clamped ions", e["C44_clamped_ion"], "", ""))
            p("  (diamond: the data's strained cells keep the atoms at their affine positions, so its C44 is the "
              "clamped-ion one)")
    if de.get("n_structures"):
        p("  (DFT data: %d Elastic structures within %s strain; model@DFT = the model's stresses at the same "
          "geometries, atoms as given)" % (de["n_structures"], _f(de.get("max_strain"), "%.2g")))
        if de.get("shear_inconsistent"):
            b = de["shear_inconsistent"]
            names = ["xx", "yy", "zz", "yz", "xz", "xy"]
            p("  WARNING: in %d of %d singly sheared Elastic structures the DFT shear stress does not answer the "
              "strain" % (len(b), de["shear_checked"]))
            p("  (cubic symmetry: same component, same sign), e.g. strain %s = %+.3f gives shear stress "
              "yz xz xy = %s GPa:" % (names[b[0]["strain_component"]], b[0]["strain"],
                                      " ".join("%+.2f" % x for x in b[0]["stress_shear"])))
            p("  the data's stress components or signs differ from its cells'; DFT C44 is not determined.")
    if "vacancy" in res:
        v = res["vacancy"]
        p("%-38s %12.3f   (%d-atom cell%s)" % ("E_vac (eV), relaxed", v["E_vac"], v["n_atoms"],
                                               "" if v["converged"] else ", NOT converged"))
    if "surface" in res:
        for k, s in res["surface"].items():
            p("%-38s %12.3f   (%d atoms%s)" % ("γ(%s) (J/m²), relaxed, unreconstr." % k, s["gamma"], s["n_atoms"],
                                             "" if s["converged"] else ", NOT converged"))
    ds = dd.get("surface")
    if ds:
        d = np.array([r["dft"] for r in ds])
        m = np.array([r["model"] for r in ds])
        p("%-38s %12s %12s %12s" % ("Surface slabs of the data (J/m²)", "", "DFT", "model@DFT"))
        for r in ds:
            p("%-38s %12s %12.3f %12.3f" % ("  %d atoms, A = %.1f Å²" % (r["n_atoms"], r["area"]), "", r["dft"],
                                             r["model"]))
        p("%-38s %12s %12.3f %12.3f" % ("  mean; MAE model−DFT", "", d.mean(), np.abs(m - d).mean()))
    if "phonons" in res:
        ph = res["phonons"]
        p("%-38s %12.3f" % ("lowest phonon frequency (THz)", ph["min_frequency"]))
        for k, v in ph["special"].items():
            p("%-38s %s" % ("  phonons at %s (THz)" % ("Γ" if k == "G" else k), " ".join("%.2f" % x for x in v)))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m tnace.properties", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("potential")
    ap.add_argument("--element", help="element (default: the potential's only one)")
    ap.add_argument("--lattice", choices=sorted(ATOMS_PER_CELL), help="default: ASE's reference state")
    ap.add_argument("--a0", type=float, help="starting guess of the lattice constant (Å)")
    ap.add_argument("--data", help="extxyz with the DFT data (config_type Elastic, Surface)")
    ap.add_argument("--phonons", metavar="PLOT.png", help="plot the phonon dispersion to this file")
    ap.add_argument("--json", metavar="OUT.json", help="write all numbers to this file")
    ap.add_argument("--skip", default="", help="comma-separated: elastic, vacancy, surface, phonons")
    args = ap.parse_args(argv)
    _ase()
    try:
        res = compute_all(args.potential, args.element, args.lattice, args.a0, args.data, args.phonons,
                          tuple(s for s in args.skip.split(",") if s))
    except TNACEError as e:
        sys.exit("tnace.properties: %s" % e)
    print_report(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
