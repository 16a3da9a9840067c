#!/usr/bin/python3
"""sro.py — Warren–Cowley chemical short-range order of the snapshots of a LAMMPS dump (in.swap), and the
energy drop of the hybrid MD/MC run.

    /usr/bin/python3 sro.py out/swap.dump --elements "Nb Mo Ta W" --latt bcc [--thermo out/thermo.dat]

For each snapshot: neighbours by shell from the ideal-lattice distances (bcc: 1st shell 8 at a√3/2, 2nd 6 at a;
fcc: 1st 12 at a/√2, 2nd 6 at a; the shell borders are half-way between shells, a from the box volume), then
the Warren–Cowley parameters of each shell

    α_ij = 1 − p(j | i) / c_j

with p(j | i) the fraction of the shell's neighbours of i-atoms that are j-atoms and c_j the concentration of j.
α_ij = 0 in a random alloy; α_ij < 0: i–j pairs favoured (more than random); α_ij > 0: avoided. (α_ij c_i =
α_ji c_j, so for an equimolar alloy the matrix is symmetric.) Bcc B2-type order shows as α_ij < 0 in the 1st
shell together with α_ij > 0 in the 2nd. The table of the first and the last snapshot is printed, with the
evolution of the strongest pairs; with --thermo, the energy per atom at the start and the end of the swaps
(averages over the first and the last 10 % of the lines) and their difference.
"""
import argparse
import sys

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list


def read_dump(path):
    snaps = []
    with open(path) as f:
        lines = f.readlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("ITEM: TIMESTEP"):
            i += 1
            continue
        step = int(lines[i + 1])
        n = int(lines[i + 3])
        hdr = lines[i + 4]
        b = np.array([[float(x) for x in lines[i + 5 + k].split()] for k in range(3)])
        if "xy" in hdr:      # triclinic bounds: not expected from in.swap (orthogonal box)
            sys.exit("sro: triclinic dumps are not supported")
        cell = np.diag(b[:, 1] - b[:, 0])
        cols = lines[i + 8].split()[2:]
        d = np.array([[float(x) for x in l.split()] for l in lines[i + 9:i + 9 + n]])
        order = np.argsort(d[:, cols.index("id")])
        d = d[order]
        types = d[:, cols.index("type")].astype(int)
        pos = d[:, [cols.index("x"), cols.index("y"), cols.index("z")]] - b[:, 0]
        snaps.append((step, cell, types, pos))
        i += 9 + n
    if not snaps:
        sys.exit("sro: no snapshots in %s" % path)
    return snaps


def shells(latt):
    """(inner, outer) borders of shells 1 and 2 in units of the lattice constant"""
    if latt == "bcc":
        d = [np.sqrt(3) / 2, 1.0, np.sqrt(2)]
    else:
        d = [1 / np.sqrt(2), 1.0, np.sqrt(1.5)]
    return [(0.5 * d[0], 0.5 * (d[0] + d[1])), (0.5 * (d[0] + d[1]), 0.5 * (d[1] + d[2]))]


def warren_cowley(cell, types, pos, latt, ntypes):
    nbasis = 2 if latt == "bcc" else 4
    a = (np.linalg.det(cell) / len(types) * nbasis) ** (1 / 3)
    at = Atoms(numbers=np.ones(len(types)), positions=pos, cell=cell, pbc=True)
    res = []
    conc = np.bincount(types, minlength=ntypes + 1)[1:] / len(types)
    for lo, hi in shells(latt):
        i, j, dist = neighbor_list("ijd", at, hi * a)
        m = dist > lo * a
        i, j = i[m], j[m]
        ti, tj = types[i] - 1, types[j] - 1
        counts = np.zeros((ntypes, ntypes))
        np.add.at(counts, (ti, tj), 1)
        p = counts / counts.sum(axis=1, keepdims=True)
        res.append((1 - p / conc[None, :], len(i) / len(types)))
    return a, conc, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump")
    ap.add_argument("--elements", default="Nb Mo Ta W")
    ap.add_argument("--latt", default="bcc", choices=["bcc", "fcc"])
    ap.add_argument("--thermo", help="thermo.dat of in.swap: print the energy drop")
    a = ap.parse_args()
    el = a.elements.replace(",", " ").split()
    nt = len(el)
    snaps = read_dump(a.dump)
    series = []
    for step, cell, types, pos in snaps:
        if types.max() > nt:
            sys.exit("sro: type %d in the dump but only %d --elements" % (types.max(), nt))
        series.append((step,) + warren_cowley(cell, types, pos, a.latt, nt))

    def table(k):
        step, alat, conc, res = series[k]
        print("step %d: a = %.4f Å, concentrations %s" % (step, alat, " ".join("%s %.3f" % (e, c) for e, c in zip(el, conc))))
        for s, (alpha, z) in enumerate(res, start=1):
            print("  shell %d (%.2f neighbours per atom): Warren-Cowley alpha_ij" % (s, z))
            print("        " + "".join("%8s" % e for e in el))
            for r in range(nt):
                print("  %5s " % el[r] + "".join("%8.3f" % alpha[r, c] for c in range(nt)))

    print("== first snapshot (before the swaps: the random solid solution)")
    table(0)
    print("== last snapshot")
    table(-1)
    pairs = [(r, c) for r in range(nt) for c in range(r + 1, nt)]
    print("== evolution of the 1st-shell alpha of the unlike pairs")
    print("%10s" % "step" + "".join("%8s" % ("%s-%s" % (el[r], el[c])) for r, c in pairs))
    for step, alat, conc, res in series:
        print("%10d" % step + "".join("%8.3f" % (0.5 * (res[0][0][r, c] + res[0][0][c, r])) for r, c in pairs))
    last = series[-1][3][0][0]
    sym = [(0.5 * (last[r, c] + last[c, r]), r, c) for r, c in pairs]
    sym.sort()
    v, r, c = sym[0]
    print("SRO_MOST_FAVOURED %s-%s alpha1 = %.3f" % (el[r], el[c], v))
    if len(sym) > 1:
        v, r, c = sym[-1]
        print("SRO_MOST_AVOIDED %s-%s alpha1 = %.3f" % (el[r], el[c], v))
    z1 = series[-1][3][0][1]
    zref = 8.0 if a.latt == "bcc" else 12.0
    if abs(z1 - zref) > 0.5:
        print("WARNING: %.2f 1st-shell neighbours per atom instead of %.0f: the crystal is no longer %s, the shells"
              " (and alpha) do not mean what they should" % (z1, zref, a.latt))

    if a.thermo:
        d = np.loadtxt(a.thermo)
        if d.ndim == 2 and len(d) >= 10:
            k = max(1, len(d) // 10)
            e0, e1 = d[:k, 2].mean(), d[-k:, 2].mean()
            print("energy per atom: first 10%% of the run %.5f eV, last 10%% %.5f eV (T %.0f -> %.0f K)"
                  % (e0, e1, d[:k, 1].mean(), d[-k:, 1].mean()))
            print("ENERGY_DROP %.1f meV/atom   (swaps: %d tried, %d accepted, %.1f %%)"
                  % (1000 * (e0 - e1), d[-1, 3], d[-1, 4], 100 * d[-1, 4] / max(d[-1, 3], 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
