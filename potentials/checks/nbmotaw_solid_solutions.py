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

  /usr/bin/python3 potentials/checks/nbmotaw_solid_solutions.py [--eval build/tnace-eval] [--pot potentials/NbMoTaW.yaml]
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


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--eval", default=os.path.join(root, "build", "tnace-eval"))
    ap.add_argument("--pot", default=os.path.join(root, "potentials", "NbMoTaW.yaml"))
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

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
    e = evaluate(args.eval, args.pot, atoms)
    owner = np.array(owner)
    emean = np.array([e[owner == ci].mean() for ci in range(len(all_comps))])
    estd = np.array([e[owner == ci].std() for ci in range(len(all_comps))])
    epure = {list(c)[0]: emean[i] for i, (_, c) in enumerate(comps) if len(c) == 1}

    def dmix(ci):
        c = all_comps[ci]
        return 1000 * (emean[ci] - sum(x * epure[k] for k, x in c.items()))

    print("Mixing energies of random bcc solid solutions (meV/atom; mean ± std over %d arrangements):" % args.reps)
    for i, (kind, c) in enumerate(comps):
        name = "".join(f"{k}{'' if x == 1 else '%.2g' % x}" for k, x in c.items())
        print(f"  {kind:22s} {name:28s} {dmix(i):8.1f} ± {1000 * estd[i]:.1f}")
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
