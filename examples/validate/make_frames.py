#!/usr/bin/python3
"""make_frames.py — turn chosen frames of an extended-XYZ file into LAMMPS data files for in.validate.

    /usr/bin/python3 make_frames.py DATA.xyz OUTDIR --elements "Cu" [--frames 9,39,69,169,259]

Writes, in OUTDIR:
  frames.xyz        the chosen frames, copied as text (the input of tnace-eval, so both codes see the same data)
  frame_K.data      LAMMPS data file of the K-th chosen frame (K = 1, 2, ...), atom ids = atom order + 1,
                    atom type = 1 + index of the element in --elements (the potential's element order)
  frames.json       per frame: source index, natoms, the rotation R (3x3) and the reduced cell

LAMMPS needs a "restricted triclinic" cell: a along +x, b in the xy plane, c with positive z, i.e. the cell
rows form a lower-triangular matrix L. For a cell with rows A (right-handed), L = A R with the orthogonal
matrix R = A^-1 L, and every position row vector is rotated the same way, r' = r R. Vectors computed by
LAMMPS in its frame (forces) go back by F = F' R^T; tensors (stress) by s = R s' R^T. Tilts are then reduced
by adding lattice vectors (b -= k a, c -= m b + n a), which leaves the periodic crystal unchanged, so that
|xy| <= lx/2 etc. as read_data requires, and the atoms are wrapped into the cell.

ASE's own lammps-data writer does the same rotation internally but does not hand back R, which is needed
to compare forces component by component; hence this small writer.
"""
import argparse
import json
import os
import sys

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from ase.io import read

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from extxyz_frames import frames  # noqa: E402  (the repository's one frame splitter)


def lammps_cell(A):
    """lower-triangular L (rows a', b', c') with the same lengths and angles as the rows of A"""
    a, b, c = A
    la = np.linalg.norm(a)
    ahat = a / la
    bx = b @ ahat
    by = np.linalg.norm(np.cross(ahat, b))
    cx = c @ ahat
    cy = (b @ c - bx * cx) / by
    cz = np.sqrt(max(c @ c - cx * cx - cy * cy, 0.0))
    return np.array([[la, 0, 0], [bx, by, 0], [cx, cy, cz]])


def reduce_tilts(L):
    a, b, c = L.copy()
    c = c - np.round(c[1] / b[1]) * b          # |yz| <= ly/2
    c = c - np.round(c[0] / a[0]) * a          # |xz| <= lx/2
    b = b - np.round(b[0] / a[0]) * a          # |xy| <= lx/2
    return np.array([a, b, c])


def write_lammps_data(path, at, elements, comment, masses=False):
    """Write a periodic, right-handed frame as a LAMMPS data file in the restricted-triclinic frame (atom ids =
    atom order + 1, type = 1 + index of the element in `elements`, tilts reduced, atoms wrapped into the cell;
    a Masses section when masses=True). Returns (R, Lr): positions' = positions R, Lr the cell written.
    Exits with a message for a frame that is not periodic in all directions or has a left-handed cell."""
    A = at.cell.array
    if not all(at.pbc):
        sys.exit("%s: the frame is not periodic in all directions" % comment)
    if np.linalg.det(A) <= 0:
        sys.exit("%s: the frame has a left-handed cell (would need a reflection)" % comment)
    L = lammps_cell(A)
    R = np.linalg.solve(A, L)                      # A R = L
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12)
    Lr = reduce_tilts(L)
    frac = np.linalg.solve(Lr.T, (at.positions @ R).T).T   # pos = frac Lr
    frac -= np.floor(frac)
    frac[frac >= 1.0] = 0.0
    pos = frac @ Lr
    syms = at.get_chemical_symbols()
    for s in set(syms):
        if s not in elements:
            sys.exit("%s: element %s is not one of %s" % (comment, s, elements))
    with open(path, "w") as f:
        f.write("# %s\n\n%d atoms\n%d atom types\n\n" % (comment, len(at), len(elements)))
        f.write("0.0 %.17g xlo xhi\n0.0 %.17g ylo yhi\n0.0 %.17g zlo zhi\n" % (Lr[0, 0], Lr[1, 1], Lr[2, 2]))
        f.write("%.17g %.17g %.17g xy xz yz\n\n" % (Lr[1, 0], Lr[2, 0], Lr[2, 1]))
        if masses:
            f.write("Masses\n\n")
            for t, s in enumerate(elements, start=1):
                f.write("%d %.10g  # %s\n" % (t, atomic_masses[atomic_numbers[s]], s))
            f.write("\n")
        f.write("Atoms # atomic\n\n")
        for j, (s, p) in enumerate(zip(syms, pos), start=1):
            f.write("%d %d %.17g %.17g %.17g\n" % (j, elements.index(s) + 1, p[0], p[1], p[2]))
    return R, Lr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("outdir")
    ap.add_argument("--elements", required=True, help="the potential's elements in order, e.g. 'Nb Mo Ta W'")
    ap.add_argument("--frames", default="9,39,69,169,259", help="0-based frame indices (comma-separated)")
    a = ap.parse_args()
    elements = a.elements.replace(",", " ").split()
    idx = [int(t) for t in a.frames.split(",") if t.strip()]
    os.makedirs(a.outdir, exist_ok=True)

    text = [t for _, t in frames(a.data)]
    for i in idx:
        if not 0 <= i < len(text):
            sys.exit("make_frames: frame %d out of range (the file has %d)" % (i, len(text)))
    with open(os.path.join(a.outdir, "frames.xyz"), "w") as f:
        for i in idx:
            f.write(text[i])

    meta = []
    for k, i in enumerate(idx, start=1):
        at = read(a.data, index=i, format="extxyz")
        fn = os.path.join(a.outdir, "frame_%d.data" % k)
        R, Lr = write_lammps_data(fn, at, elements, "frame %d of %s (rotated to the LAMMPS frame by make_frames.py)"
                                  % (i, a.data), masses=True)
        meta.append({"k": k, "frame": i, "natoms": len(at), "R": R.tolist(), "cell_lammps": Lr.tolist()})
    with open(os.path.join(a.outdir, "frames.json"), "w") as f:
        json.dump({"data": a.data, "elements": elements, "frames": meta}, f, indent=1)
    print("make_frames: %d frames of %s -> %s/frame_{1..%d}.data, frames.xyz"
          % (len(idx), a.data, a.outdir, len(idx)))


if __name__ == "__main__":
    main()
