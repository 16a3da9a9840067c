#!/usr/bin/python3
"""Generalisation check of potentials/NbMoTaW.yaml on chemistries absent from its training data.

The training set holds unary and binary structures only. This script builds random bcc solid solutions
(128 atoms, 4x4x4 conventional cells, Vegard lattice constant, 3 random arrangements each) for:
  - the unaries and the six equimolar binaries (seen chemistries),
  - the four equimolar ternaries and the equimolar quaternary (never seen),
  - paths from each binary to the quaternary, in 5 steps (unseen in between).
It evaluates them with tnace-eval and prints the mixing energy
  ΔE(x) = E(x)/N − Σ_i x_i E_i(bcc),
where E_i is the pure element at its own lattice constant. A potential that generalises gives mixing
energies of a few tens of meV/atom, varying smoothly along each path: no jumps and no sign flips caused by
noise. Along each path the script reports the largest deviation from the straight line through the
endpoints and the largest second difference.

  /usr/bin/python3 potentials/checks/nbmotaw_solid_solutions.py [--eval build/tnace-eval] [--pot potentials/NbMoTaW.yaml] \
      [--snap] [--model NAME=POT.yaml NAME=SNAPSTEM ...]
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase import Atoms
from ase.io import write

ELS = ["Nb", "Mo", "Ta", "W"]
A0 = {"Nb": 3.31, "Mo": 3.16, "Ta": 3.32, "W": 3.18}  # Å, PBE-like bcc lattice constants


def cell(comp, seed, n=4):
    """Random bcc solid solution with mole fractions comp (dict), n^3 conventional cells."""
    rng = np.random.default_rng(seed)
    a = sum(x * A0[e] for e, x in comp.items())
    base = np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
    pos = np.array([(np.array([i, j, k]) + b) * a for i in range(n) for j in range(n) for k in range(n) for b in base])
    N = len(pos)
    counts = {e: int(round(x * N)) for e, x in comp.items()}
    diff = N - sum(counts.values())
    counts[max(comp, key=comp.get)] += diff
    syms = [e for e, c in counts.items() for _ in range(c)]
    rng.shuffle(syms)
    return Atoms(symbols=syms, positions=pos, cell=np.eye(3) * a * n, pbc=True)


def evaluate(tnace_eval, pot, atoms_list):
    with tempfile.TemporaryDirectory() as d:
        xyz, pred = os.path.join(d, "ss.xyz"), os.path.join(d, "pred.tsv")
        for at in atoms_list:
            at.info["energy"] = 0.0  # placeholder reference: only the predictions are used
            write(xyz, at, format="extxyz", append=True)
        subprocess.run([tnace_eval, pot, xyz, "--predictions", pred], check=True, stdout=subprocess.DEVNULL)
        e = []
        for line in open(pred):
            f = line.rstrip("\n").split("\t")
            if f[0] == "S":
                e.append(float(f[6]))  # S, index, source, config_type, n_atoms, e_ref, e_pred (eV/atom)
        return np.array(e)


SNAP_ORDER = ["Ta", "W", "Nb", "Mo"]          # element order of the SNAP coefficient file
MASS = {"Nb": 92.906, "Mo": 95.95, "Ta": 180.948, "W": 183.84}


def comp_name(c):
    """Nb0.5Mo0.5 for {"Nb": 0.5, "Mo": 0.5}; a unary is its symbol."""
    return "".join(f"{k}{'' if x == 1 else '%.2g' % x}" for k, x in c.items())


def snap_elements(coeff):
    """Element order of a .snapcoeff file (the element lines after the "nelements ncoeff" line)."""
    words = [l.split("#")[0].split() for l in open(coeff)]
    words = [w for w in words if w]
    nel, ncoef = int(words[0][0]), int(words[0][1])
    return [words[1 + k * (ncoef + 1)][0] for k in range(nel)]


def lammps_snapparam(param, dst):
    """Copy the .snapparam file param to dst without `diagonalstyle`: LAMMPS dropped that keyword (style 3,
    the only one kept, is what it computes). Returns dst."""
    with open(param) as f, open(dst, "w") as g:
        g.writelines(l for l in f if not l.strip().startswith("diagonalstyle"))
    return dst


def evaluate_snap(lmp, stem, atoms_list):
    """Energies per atom (eV) of the structures with the SNAP potential STEM.snapcoeff / STEM.snapparam
    (pair_style snap in the project's LAMMPS): one LAMMPS run that reads each structure and does `run 0`."""
    from ase.io import write as awrite
    coeff, param = stem + ".snapcoeff", stem + ".snapparam"
    order = snap_elements(coeff)
    with tempfile.TemporaryDirectory() as d:
        param = lammps_snapparam(param, os.path.join(d, "snapparam"))
        lines = ["units metal", "boundary p p p", "atom_style atomic"]
        for i, at in enumerate(atoms_list):
            f = os.path.join(d, f"s{i}.data")
            awrite(f, at, format="lammps-data", specorder=order, atom_style="atomic")
            if i:
                lines.append("clear")
                lines += ["units metal", "boundary p p p", "atom_style atomic"]
            lines += [f"read_data {f}"]
            lines += [f"mass {k + 1} {MASS[e]}" for k, e in enumerate(order)]
            lines += ["pair_style snap", f"pair_coeff * * {os.path.abspath(coeff)} {param} {' '.join(order)}",
                      "thermo_style custom pe atoms", "run 0", f'print "SNAP_E {i} $(pe/atoms:%.12f)"']
        inp = os.path.join(d, "in.snap")
        open(inp, "w").write("\n".join(lines) + "\n")
        out = subprocess.run([lmp, "-in", inp, "-log", "none"], check=True,
                             capture_output=True, text=True, cwd=d).stdout
    e = {}
    for line in out.splitlines():
        if line.startswith("SNAP_E"):
            _, i, v = line.split()
            e[int(i)] = float(v)
    return np.array([e[i] for i in range(len(atoms_list))])


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--eval", default=os.path.join(root, "build", "tnace-eval"))
    ap.add_argument("--pot", default=os.path.join(root, "potentials", "NbMoTaW.yaml"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--snap", nargs="?", const=os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference",
                                                             "snap_Li2020"), default=None,
                    help="also evaluate the published SNAP of Li et al. 2020 (trained with 4-element data) as a "
                         "reference (default directory: checks/reference/snap_Li2020)")
    ap.add_argument("--lmp", default=os.path.join(root, "tools", "lmp"))
    ap.add_argument("--model", nargs="+", default=[], metavar="NAME=PATH",
                    help="further models on the same cells, each compared with the published SNAP: a tnace "
                         "potential (PATH.yaml) or a SNAP (PATH.snapcoeff and PATH.snapparam), e.g. the refits of "
                         "snap_refit.py or the leave-one-chemistry-out fits of loco.py")
    args = ap.parse_args()
    extra = [tuple(m.split("=", 1)) for m in args.model]
    if any(len(m) != 2 for m in extra):
        sys.exit("nbmotaw_solid_solutions: --model takes NAME=PATH")

    comps = []
    for e in ELS:
        comps.append(("unary", {e: 1.0}))
    for p in itertools.combinations(ELS, 2):
        comps.append(("binary", {p[0]: 0.5, p[1]: 0.5}))
    for t in itertools.combinations(ELS, 3):
        comps.append(("ternary (unseen)", {x: 1 / 3 for x in t}))
    comps.append(("quaternary (unseen)", {x: 0.25 for x in ELS}))
    paths = []
    for p in itertools.combinations(ELS, 2):
        path = []
        for s in np.linspace(0, 1, 5):
            c = {x: (1 - s) * (0.5 if x in p else 0.0) + s * 0.25 for x in ELS}
            path.append({k: v for k, v in c.items() if v > 1e-12})
        paths.append((p, path))
    all_comps = [c for _, c in comps] + [c for _, pa in paths for c in pa]
    atoms, owner = [], []
    for ci, c in enumerate(all_comps):
        for r in range(args.reps if len(c) > 1 else 1):
            atoms.append(cell(c, 1000 * ci + r))
            owner.append(ci)
    owner = np.array(owner)

    def mixing(e):
        emean = np.array([e[owner == ci].mean() for ci in range(len(all_comps))])
        estd = np.array([e[owner == ci].std() for ci in range(len(all_comps))])
        epure = {list(c)[0]: emean[i] for i, (_, c) in enumerate(comps) if len(c) == 1}
        d = np.array([1000 * (emean[ci] - sum(x * epure[k] for k, x in all_comps[ci].items()))
                      for ci in range(len(all_comps))])
        return d, 1000 * estd

    dm, dstd = mixing(evaluate(args.eval, args.pot, atoms))
    ds = mixing(evaluate_snap(args.lmp, os.path.join(args.snap, "Ta-W-Nb-Mo"), atoms))[0] if args.snap else None
    dx = [(name, mixing(evaluate(args.eval, path, atoms) if path.endswith((".yaml", ".yml"))
                        else evaluate_snap(args.lmp, path, atoms))[0]) for name, path in extra]

    def dmix(ci):
        return dm[ci]

    # regular-solution (pair-additive) estimate from the potential's own equimolar binaries:
    # ΔE(x) = Σ_{i<j} x_i x_j Ω_ij with Ω_ij = 4 ΔE(binary ij)
    omega = {frozenset(c): 4 * dm[i] for i, (kind, c) in enumerate(comps) if len(c) == 2}

    def regular(c):
        return sum(c[a] * c[b] * omega[frozenset((a, b))] for a, b in itertools.combinations(c, 2))

    print("Mixing energies of random bcc solid solutions (meV/atom; mean ± std over %d arrangements; 'pair' is the "
          "regular-solution estimate from the binaries%s):" % (args.reps, "; 'SNAP' the published SNAP of Li et al. "
                                                                "2020, trained with 4-element data" if args.snap else ""))
    err = []
    for i, (kind, c) in enumerate(comps):
        name = comp_name(c)
        extra = f"   pair {regular(c):7.1f}" if len(c) > 2 else ""
        if ds is not None:
            extra += f"   SNAP {ds[i]:7.1f}   tnace - SNAP {dm[i] - ds[i]:7.1f}"
            if len(c) > 1:
                err.append((kind, abs(dm[i] - ds[i])))
        print(f"  {kind:22s} {name:28s} {dmix(i):8.1f} ± {dstd[i]:.1f}{extra}")
    if ds is not None:
        for kind in ("binary", "ternary (unseen)", "quaternary (unseen)"):
            v = [x for k, x in err if k == kind]
            print(f"  mean |tnace - SNAP| over the {kind} solid solutions: {np.mean(v):.1f} meV/atom")
    if dx:
        print("Further models (mixing energies, meV/atom; last columns: mean |model - published SNAP| per kind):")
        print("  %-28s %9s" % ("composition", "tnace") + "".join(" %14s" % n for n, _ in dx) +
              (" %9s" % "SNAP" if ds is not None else ""))
        for i, (kind, c) in enumerate(comps):
            name = comp_name(c)
            print("  %-28s %9.1f" % (name, dm[i]) + "".join(" %14.1f" % d[i] for _, d in dx) +
                  (" %9.1f" % ds[i] if ds is not None else ""))
        if ds is not None:
            for kind in ("binary", "ternary (unseen)", "quaternary (unseen)"):
                idx = [i for i, (k, _) in enumerate(comps) if k == kind]
                print("  mean |model - SNAP|, %-19s %9.1f" % (kind, np.mean([abs(dm[i] - ds[i]) for i in idx])) +
                      "".join(" %14.1f" % np.mean([abs(d[i] - ds[i]) for i in idx]) for _, d in dx))
    print("Paths from each equimolar binary to the equimolar quaternary (5 steps):")
    off = len(comps)
    worst_curv, worst_lin = 0.0, 0.0
    for j, (p, path) in enumerate(paths):
        d = np.array([dmix(off + 5 * j + k) for k in range(5)])
        lin = d[0] + (d[-1] - d[0]) * np.linspace(0, 1, 5)
        curv = np.abs(np.diff(d, 2)).max()
        worst_curv, worst_lin = max(worst_curv, curv), max(worst_lin, np.abs(d - lin).max())
        print(f"  {p[0]}{p[1]} -> NbMoTaW: " + "  ".join(f"{x:7.1f}" for x in d) +
              f"   | max |second difference| {curv:.1f}, max deviation from the chord {np.abs(d - lin).max():.1f}")
    print(f"largest second difference along the paths: {worst_curv:.1f} meV/atom; largest deviation from the chord: "
          f"{worst_lin:.1f} meV/atom")


if __name__ == "__main__":
    sys.exit(main())
