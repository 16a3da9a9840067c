#!/usr/bin/python3
"""ctest desc_cli: tnace-desc writes the power spectrum the docs define, computed here independently.

A rattled two-element periodic cell (ASE), its neighbours from ASE's neighbour list (not tnace's), the radial
basis from the formula of src/tnace/radial.h and the angular part by the addition theorem
sum_m Y_lm(a) Y_lm(b) = (2l+1)/(4 pi) P_l(a.b) (no spherical harmonics code shared with the library):

    B_pql = w_pq (2l+1)^-1/2 sum_{j in a1, k in a2} g_n1(r_j) g_n2(r_k) (2l+1)/(4 pi) P_l(rhat_j . rhat_k)

must equal every per-atom row of `tnace-desc --pool none` to 1e-10 (relative); the rows are invariant under a
rotation of the cell (to 1e-7: extxyz keeps 8 decimals of the rotated positions); `--pool mean` is the mean of the atoms' rows and the `--pool species` blocks sum to it;
nu = 1 is A_an00 = sum_j g_n / sqrt(4 pi); the .json names rows and columns; .txt holds the .npy's numbers; an
element outside the basis is an error naming the file and line. Fails if the contraction, the pair weights,
the (2l+1) normalisation, the pooling or the layout are wrong.

    test_desc.py TNACE_DESC
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase.build import bulk
from ase.io import read, write
from ase.neighborlist import neighbor_list
from scipy.special import eval_chebyt, eval_legendre

RC, NMAX, LMAX, LAM = 4.2, 4, 3, 5.0
ELEMENTS = ["Ga", "O"]


def radial(r):
    """g_n(r), n < NMAX (radial.h): ChebExpCos."""
    x = 1 - 2 * (np.exp(-LAM * (r / RC - 1)) - 1) / (np.exp(LAM) - 1)
    fc = 0.5 * (1 + np.cos(np.pi * r / RC))
    return np.array([fc] + [0.5 * (1 - eval_chebyt(n, x)) * fc for n in range(1, NMAX)])


def reference(atoms):
    """Per-atom B^(2) rows (layout of tnace.h tnace_atom_descriptor) and B^(1) rows."""
    ii, jj, D = neighbor_list("ijD", atoms, RC)
    sp = np.array([ELEMENTS.index(s) for s in atoms.get_chemical_symbols()])
    P = len(ELEMENTS) * NMAX
    rows2, rows1 = [], []
    for i in range(len(atoms)):
        sel = ii == i
        d = D[sel]
        r = np.linalg.norm(d, axis=1)
        u = d / r[:, None]
        g = radial(r)                                  # [NMAX][neigh]
        G = np.zeros((P, len(r)))                      # G[a n][j] = g_n(r_j) for neighbours of species a
        for a in range(len(ELEMENTS)):
            m = sp[jj[sel]] == a
            G[a * NMAX:(a + 1) * NMAX, m] = g[:, m]
        cos = np.clip(u @ u.T, -1, 1)
        row = []
        for p in range(P):
            for q in range(p, P):
                for l in range(LMAX + 1):
                    s = G[p] @ (eval_legendre(l, cos) * (2 * l + 1) / (4 * np.pi)) @ G[q]
                    row.append(s * (1.0 if p == q else np.sqrt(2)) / np.sqrt(2 * l + 1))
        rows2.append(row)
        rows1.append(G.sum(axis=1) / np.sqrt(4 * np.pi))
    return np.array(rows2), np.array(rows1)


def run(exe, args, d):
    return subprocess.run([exe] + args, cwd=d, capture_output=True, text=True)


def desc(exe, d, xyz, out, *extra):
    basis = ["--elements", ",".join(ELEMENTS), "--cutoff", str(RC), "--nmax", str(NMAX), "--lmax", str(LMAX)]
    p = run(exe, basis + list(extra) + ["--output", out, xyz], d)
    if p.returncode:
        sys.exit("FAIL: tnace-desc %s: %s" % (" ".join(extra), p.stderr))
    X = np.load(os.path.join(d, out)) if out.endswith(".npy") else np.loadtxt(os.path.join(d, out), ndmin=2)
    return X, json.load(open(os.path.join(d, out[:-4] + ".json")))


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what)


def main():
    exe = os.path.abspath(sys.argv[1])
    rng = np.random.default_rng(7)
    at = bulk("Ga", "fcc", a=4.0, cubic=True) * (2, 1, 1)
    at.set_chemical_symbols(["Ga", "O"] * 4)
    at.cell[0, 1] = 0.4                                # triclinic
    at.positions += rng.normal(scale=0.15, size=at.positions.shape)
    R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    rot = at.copy()
    rot.set_cell(at.cell @ R.T, scale_atoms=False)
    rot.positions = at.positions @ R.T
    with tempfile.TemporaryDirectory() as d:
        write(os.path.join(d, "a.xyz"), [at, rot], format="extxyz")
        at = read(os.path.join(d, "a.xyz"), 0)       # the positions as written (8 decimals)
        X, meta = desc(exe, d, "a.xyz", "x.npy")
        ref2, ref1 = reference(at)
        n = len(at)
        check(X.shape == (2 * n, ref2.shape[1]), "per-atom shape %s = (2 x %d atoms, %d)" % (X.shape, n, ref2.shape[1]))
        err = np.abs(X[:n] - ref2).max() / np.abs(ref2).max()
        check(err < 1e-10, "power spectrum equals the addition-theorem reference (rel %.1e)" % err)
        err = np.abs(X[n:] - X[:n]).max() / np.abs(X[:n]).max()
        check(err < 1e-7, "rotation invariance (rel %.1e; the file keeps 8 decimals of the rotated positions)" % err)
        check(meta["row_frame"] == [0] * n + [1] * n and meta["row_atom"][:n] == list(range(n))
              and meta["row_species"][:n] == [ELEMENTS.index(s) for s in at.get_chemical_symbols()],
              "json names every row (frame, atom, species)")
        lab = meta["columns"][1 + 2 * (LMAX + 1)]     # p = 0, q = 2, l = 1 under the documented walk
        check(lab[:5] == [0, 0, 0, 2, 1] and meta["shape"] == list(X.shape), "json column labels and shape")
        M, _ = desc(exe, d, "a.xyz", "m.npy", "--pool", "mean")
        check(np.allclose(M[0], X[:n].mean(axis=0), rtol=1e-12, atol=1e-14), "pool mean is the mean of the rows")
        S, smeta = desc(exe, d, "a.xyz", "s.npy", "--pool", "species")
        D = X.shape[1]
        check(S.shape == (2, 2 * D) and np.allclose(S[0, :D] + S[0, D:], M[0], rtol=1e-12, atol=1e-14)
              and np.allclose(S[0, :D], X[:n][np.array(meta["row_species"][:n]) == 0].sum(axis=0) / n),
              "pool species: per-centre blocks of (1/N) sum, summing to the mean")
        check(smeta["columns"][D][5] == 1, "json names the centre element of a species block")
        X1, _ = desc(exe, d, "a.xyz", "one.npy", "--nu", "1")
        err = np.abs(X1[:n] - ref1).max() / np.abs(ref1).max()
        check(err < 1e-10, "nu = 1 is A_an00 (rel %.1e)" % err)
        T, _ = desc(exe, d, "a.xyz", "x.txt")
        check(np.array_equal(T, X), "text output holds the same numbers")
        bad = at.copy()
        bad[3].symbol = "In"
        write(os.path.join(d, "b.xyz"), [at, bad], format="extxyz")
        p = run(exe, ["--elements", "Ga,O", "--cutoff", "4", "--nmax", "2", "--lmax", "1", "--output", "b.npy",
                      "b.xyz"], d)
        line = (n + 2) + 2 + 4                          # second frame: after the first, count line, comment, atom 4
        check(p.returncode == 1 and "b.xyz:%d" % line in p.stderr and "In" in p.stderr
              and not os.path.exists(os.path.join(d, "b.npy")),
              "unknown element: error naming file and line (%s), no output left" % p.stderr.strip())
        p = run(exe, ["--elements", "Ga,O", "--cutoff", "4", "--output", "c.npy", "a.xyz"], d)
        check(p.returncode == 2 and "--nmax" in p.stderr, "incomplete basis is a usage error")
    print("PASS")


if __name__ == "__main__":
    main()
