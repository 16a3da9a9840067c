#!/usr/bin/python3
"""snap_refit.py — the SNAP baseline, refitted to exactly tnace's training data and cross-validation folds.

    /usr/bin/python3 potentials/checks/snap_refit.py TNACE.cv.json --elements Si \\
        --like ~/.cache/tnace/lammps-7Jan2022/share/potentials/Si_Zuo_JPCA2020.quadratic \\
        --out potentials/checks/cv/Si_qSNAP

Published SNAP numbers are on other test sets; a fair baseline is fitted to the same structures and scored on
the same held-out folds as tnace. This script does that:

1. Folds. It reads the per-structure records of a `tnace-fit --cv K` result (X.cv.json: source "file:line" and
   fold of every training structure) and uses exactly those folds; the training file is the one the sources
   name (--data overrides its path).
2. Descriptors. For every structure it runs LAMMPS `compute snap` in the project's LAMMPS (tools/lmp) and
   reads the design rows: per atom type the bispectrum sums (energy), −∂B/∂r (forces) and the virial rows,
   linear or linear + quadratic (quadraticflag). Hyperparameters (rcutfac, twojmax, rfac0, rmin0, bzeroflag,
   quadraticflag, radius and weight per element) come from a published .snapparam/.snapcoeff (--like) or
   from the options. A constant column per element carries the reference energy β0.
3. Fit. Weighted linear least squares of energy per atom, force components and stress components (ASE sign,
   GPa, rotated into LAMMPS's frame), with a small ridge on the column-scaled normal equations. The weights
   (energy : force : stress) are chosen from a grid by the same k-fold CV: for each fold the model is
   fitted on the other folds and predicts the held-out one. The choice minimises E MAE/best E MAE + F MAE/best
   F MAE over the grid (both CV means).
4. Output. PREFIX.cv.json in the schema of tnace's (tools/cv.py table/groups/compare read it: every structure's
   held-out error, per-fold MAEs, mean ± s.e.); PREFIX.snapcoeff/.snapparam fitted on all structures with the
   chosen weights, checked against LAMMPS `pair_style snap` on a few structures (the script stops if LAMMPS
   and the least-squares model disagree beyond 1e-6 eV/atom, 1e-5 eV/Å).

Then `tools/cv.py compare PREFIX.cv.json TNACE.cv.json` gives the paired difference per held-out structure.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from ase.io import read

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples", "validate"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_frames import write_lammps_data  # noqa: E402  (the rotation used by examples/validate)

LMP = os.path.join(ROOT, "tools", "lmp")
EV_A3_TO_GPA = 160.21766208
CHUNK = 64   # structures per LAMMPS run


# ---- data and folds ---------------------------------------------------------------------------------------

def frame_lines(path):
    """1-based line numbers of the atom-count line of every frame of an extxyz file (tnace's "file:line")."""
    out, i = [], 0
    with open(path) as f:
        lines = f.readlines()
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n = int(lines[i].split()[0])
        out.append(i + 1)
        i += 2 + n
    return out


def load(cvfile, data):
    cv = json.load(open(cvfile))
    cv = cv.get("cross_validation", cv)
    recs = cv["structures"]
    paths = sorted({r["source"].rsplit(":", 1)[0] for r in recs})
    if len(paths) != 1:
        sys.exit("snap_refit: the CV file names %d data files; one is supported" % len(paths))
    path = data or paths[0]
    if not os.path.exists(path):
        sys.exit("snap_refit: %s does not exist: give the training file with --data" % path)
    frames = read(path, ":")
    lines = frame_lines(path)
    if len(lines) != len(frames):
        sys.exit("snap_refit: %s: %d frames by line count, %d read by ASE" % (path, len(lines), len(frames)))
    by_line = dict(zip(lines, frames))
    out = []
    for r in recs:
        line = int(r["source"].rsplit(":", 1)[1])
        if line not in by_line:
            sys.exit("snap_refit: %s: no frame starts at line %d" % (path, line))
        at = by_line[line]
        if len(at) != r["n_atoms"]:
            sys.exit("snap_refit: %s: %d atoms, the CV file says %d" % (r["source"], len(at), r["n_atoms"]))
        out.append((r, at))
    if any(r["fold"] < 0 for r, _ in out):
        sys.exit("snap_refit: the CV file has structures without a fold (merge the --fold runs first)")
    return cv, out


# ---- hyperparameters ----------------------------------------------------------------------------------------

def read_like(stem, elements):
    """SNAP hyperparameters from a published STEM.snapparam and STEM.snapcoeff."""
    par = {}
    for line in open(stem + ".snapparam"):
        w = line.split("#")[0].split()
        if len(w) >= 2:
            par[w[0]] = w[1]
    rad, wt = {}, {}
    with open(stem + ".snapcoeff") as f:
        words = [l.split("#")[0].split() for l in f]
    words = [w for w in words if w]
    nel, ncoef = int(words[0][0]), int(words[0][1])
    k = 1
    for _ in range(nel):
        el, r, w = words[k][0], float(words[k][1]), float(words[k][2])
        rad[el], wt[el] = r, w
        k += 1 + ncoef
    missing = [e for e in elements if e not in rad]
    if missing:
        sys.exit("snap_refit: %s.snapcoeff has no element %s" % (stem, ", ".join(missing)))
    return {"rcutfac": float(par["rcutfac"]), "twojmax": int(par["twojmax"]), "rfac0": float(par.get("rfac0", 0.99363)),
            "rmin0": float(par.get("rmin0", 0.0)), "bzeroflag": int(par.get("bzeroflag", 1)),
            "quadraticflag": int(par.get("quadraticflag", 0)), "radius": [rad[e] for e in elements],
            "weight": [wt[e] for e in elements]}


def n_bispectrum(twojmax):
    """Number of bispectrum components B_{j1 j2 j} of pair_style snap for 2J = twojmax."""
    n = 0
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                if j >= j1:
                    n += 1
    return n


# ---- descriptors through LAMMPS ------------------------------------------------------------------------------

def write_data(path, at, elements):
    """LAMMPS data file of a frame (make_frames.write_lammps_data); returns R with positions' = positions R."""
    return write_lammps_data(path, at, elements, "snap_refit")[0]


def snap_args(hp):
    return "%g %g %d %s %s rmin0 %g bzeroflag %d quadraticflag %d" % (
        hp["rcutfac"], hp["rfac0"], hp["twojmax"], " ".join("%g" % r for r in hp["radius"]),
        " ".join("%g" % w for w in hp["weight"]), hp["rmin0"], hp["bzeroflag"], hp["quadraticflag"])


# the start of every structure's LAMMPS input
HEADER = ["units metal", "boundary p p p", "atom_style atomic"]


def rcut_max(hp):
    return hp["rcutfac"] * 2 * max(hp["radius"])


def n_per_type(hp):
    K = n_bispectrum(hp["twojmax"])
    return K + (K * (K + 1) // 2 if hp["quadraticflag"] else 0)


def descriptors(frames, elements, hp, log=sys.stderr):
    """Yields, per structure in order, (E row [ncol], F rows [3N, ncol], W rows [6, ncol], R) in LAMMPS's frame.
    Columns: per element a constant (atom count, energy rows only) and the nperdim SNAP columns. LAMMPS runs
    CHUNK structures at a time, so memory holds one chunk's arrays."""
    nper = n_per_type(hp)
    nel = len(elements)
    for c0 in range(0, len(frames), CHUNK):
        chunk = frames[c0:c0 + CHUNK]
        with tempfile.TemporaryDirectory() as d:
            lines, Rs = [], []
            for i, at in enumerate(chunk):
                Rs.append(write_data(os.path.join(d, "s%d.data" % i), at, elements))
                lines += (["clear"] if i else []) + HEADER + ["read_data s%d.data" % i]
                lines += ["mass %d %g" % (t + 1, atomic_masses[atomic_numbers[e]]) for t, e in enumerate(elements)]
                lines += ["pair_style zero %.10g" % rcut_max(hp), "pair_coeff * *",
                          "compute snap all snap " + snap_args(hp),
                          'fix f all ave/time 1 1 1 c_snap[*] mode vector file s%d.snap format " %%.17g"' % i,
                          "run 0"]
            with open(os.path.join(d, "in.snap"), "w") as f:
                f.write("\n".join(lines) + "\n")
            r = subprocess.run([LMP, "-in", "in.snap", "-log", "none", "-screen", "none"], cwd=d,
                               capture_output=True, text=True)
            if r.returncode:
                sys.exit("snap_refit: LAMMPS failed:\n%s\n%s" % (r.stdout[-3000:], r.stderr[-3000:]))
            for i, at in enumerate(chunk):
                with open(os.path.join(d, "s%d.snap" % i)) as f:
                    txt = f.read().split("\n", 4)[4]   # 3 comment lines and "step nrows"
                n = len(at)
                shape = (1 + 3 * n + 6, nel * nper + 2)   # row index, the array, the reference column
                a = np.array(txt.split(), dtype=float)
                if a.size != shape[0] * shape[1]:
                    sys.exit("snap_refit: compute snap wrote %d numbers, expected %d x %d" % (a.size, *shape))
                a = a.reshape(shape)[:, 1:-1]
                E = np.zeros(nel * (nper + 1))
                F = np.zeros((3 * n, nel * (nper + 1)))
                W = np.zeros((6, nel * (nper + 1)))
                sym = at.get_chemical_symbols()
                for t, e in enumerate(elements):
                    o, s = t * (nper + 1), t * nper
                    E[o] = sum(1 for x in sym if x == e)
                    E[o + 1:o + 1 + nper] = a[0, s:s + nper]
                    F[:, o + 1:o + 1 + nper] = a[1:1 + 3 * n, s:s + nper]
                    W[:, o + 1:o + 1 + nper] = a[1 + 3 * n:, s:s + nper]
                yield E, F, W, Rs[i]
        print("snap_refit: descriptors of %d / %d structures" % (min(c0 + CHUNK, len(frames)), len(frames)),
              file=log)


def design(at, desc, force_fraction=1.0, rng=None):
    """Rows and targets of one structure in LAMMPS's frame: energy per atom (1), forces (3N, or a random
    force_fraction of them), stress (6, ASE
    sign −virial / V in GPa, order xx yy zz yz xz xy) — the stress rows only when the frame has a stress."""
    E, F, W, R = desc
    n = len(at)
    V = abs(np.linalg.det(at.cell.array))
    rows = {"e": (E[None, :] / n, np.array([at.get_potential_energy() / n]))}
    try:
        f = (at.get_forces() @ R).ravel()
        if force_fraction < 1.0:   # a random subset of the force components (training rows only)
            keep = np.sort(rng.choice(f.size, max(1, int(round(force_fraction * f.size))), replace=False))
            F, f = F[keep], f[keep]
        rows["f"] = (F, f)
    except Exception:
        pass
    try:
        s = at.get_stress(voigt=False)
        s = R.T @ s @ R
        # in GPa, so that a stress weight compares with the force weight (eV/Å) on the usual scales
        rows["s"] = (-W / V * EV_A3_TO_GPA,
                     EV_A3_TO_GPA * np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]]))
    except Exception:
        pass
    return rows


# ---- least squares on k folds -------------------------------------------------------------------------------

def fold_grams(items, k):
    """Per selection fold r["sel"] (≥ 0) and kind (e, f, s): Gram XᵀX and Xᵀy of the structures in that fold."""
    ncol = None
    G = {}
    for r, at, rows in items:
        if r["sel"] < 0:
            continue
        for kind, (X, y) in rows.items():
            ncol = X.shape[1]
            g = G.setdefault((r["sel"], kind), [np.zeros((ncol, ncol)), np.zeros(ncol), 0])
            g[0] += X.T @ X
            g[1] += X.T @ y
            g[2] += len(y)
    return G, ncol


def solve(G, ncol, folds, w, ridge):
    """β minimising Σ_kind w_kind² |X β − y|² / n_kind-normalised, over the structures of `folds`."""
    A = np.zeros((ncol, ncol))
    b = np.zeros(ncol)
    for (f, kind), (g, xy, n) in G.items():
        if f in folds and w.get(kind, 0) > 0:
            A += w[kind] ** 2 * g
            b += w[kind] ** 2 * xy
    d = np.sqrt(np.maximum(np.diag(A), 1e-300))
    As = A / d[:, None] / d[None, :]
    As[np.diag_indices_from(As)] += ridge
    used = np.diag(A) > 0   # columns no training row touches (an element absent from these folds) stay 0
    beta = np.zeros(ncol)
    beta[used] = np.linalg.solve(As[np.ix_(used, used)], (b / d)[used]) / d[used]
    return beta


def predict_errors(rows, beta):
    out = {}
    for kind, (X, y) in rows.items():
        out[kind] = X @ beta - y
    return out


def mean_se(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    m = sum(xs) / len(xs)
    se = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs)) if len(xs) > 1 else 0.0
    return m, se


def cv_run(items, k, G, ncol, w, ridge, final=None):
    """Held-out errors for weights w; returns (per-structure records, per-fold summaries). Without `final`
    every structure with a selection fold r["sel"] ≥ 0 is predicted by the model fitted on the other k − 1
    selection folds; with final = β, the structures with r["fold"] = 0 are predicted by β (a split)."""
    recs, folds = [], []
    if final is None:
        betas = {f: solve(G, ncol, [g for g in range(k) if g != f], w, ridge) for f in range(k)}
        todo = [(r, at, rows, r["sel"]) for r, at, rows in items if r["sel"] >= 0]
    else:
        k = 1
        betas = {0: final}
        todo = [(r, at, rows, 0) for r, at, rows in items if r["fold"] == 0]
    per_fold = {f: {"e": [], "f": [], "s": []} for f in range(k)}
    for r, at, rows, fo in todo:
        err = predict_errors(rows, betas[fo])
        n = len(at)
        e = float(err["e"][0]) * 1000.0 if "e" in err else None
        fm = float(np.abs(err["f"]).mean()) if "f" in err else None
        rec = {"source": r["source"], "config_type": r["config_type"], "n_atoms": n, "fold": fo,
               "e_err": e, "f_mae": fm, "n_f": int(err["f"].size) if "f" in err else 0}
        if "s" in err:
            rec["s_mae"] = float(np.abs(err["s"]).mean())
        recs.append(rec)
        pf = per_fold[fo]
        if e is not None:
            pf["e"].append(e)
        if "f" in err:
            pf["f"].append(err["f"])
        if "s" in err:
            pf["s"].append(err["s"])
    for f in range(k):
        pf = per_fold[f]
        e = np.abs(pf["e"]) if pf["e"] else None
        fo = np.abs(np.concatenate(pf["f"])) if pf["f"] else None
        so = np.abs(np.concatenate(pf["s"])) if pf["s"] else None
        blk = lambda v: None if v is None else {"mae": float(v.mean()), "rmse": float(np.sqrt((v ** 2).mean())),  # noqa
                                                "n": int(v.size)}
        folds.append({"fold": f, "n_test": sum(1 for t in todo if t[3] == f), "energy": blk(e),
                      "forces": blk(fo), "stress": blk(so)})
    return recs, folds


def summary(folds, key):
    m, se = mean_se([f[key]["mae"] if f[key] else None for f in folds])
    rm, rse = mean_se([f[key]["rmse"] if f[key] else None for f in folds])
    if m is None:
        return None
    return {"mae_mean": m, "mae_se": se, "rmse_mean": rm, "rmse_se": rse, "n_folds": len(folds)}


def overall(folds, recs):
    """Mean ± s.e. over folds and the pooled values over all held-out structures, as tnace's .cv.json."""
    out = {"n_structures": len(recs)}
    pooled = {"energy": [(abs(r["e_err"]), 1) for r in recs if r["e_err"] is not None],
              "forces": [(r["f_mae"], r["n_f"]) for r in recs if r["f_mae"] is not None],
              "stress": [(r["s_mae"], 6) for r in recs if r.get("s_mae") is not None]}
    for key in ("energy", "forces", "stress"):
        s = summary(folds, key)
        if s is not None and pooled[key]:
            n = sum(w for _, w in pooled[key])
            s["mae_pooled"] = sum(v * w for v, w in pooled[key]) / n
            s["n"] = n
        out[key] = s
    return out


def group_summary(recs, k):
    out = {}
    for g in sorted({r["config_type"] for r in recs}):
        e, f = [], []
        for fo in range(k):
            ss = [r for r in recs if r["fold"] == fo and r["config_type"] == g]
            ee = [abs(r["e_err"]) for r in ss if r["e_err"] is not None]
            nf = sum(r["n_f"] for r in ss if r["f_mae"] is not None)
            e.append(sum(ee) / len(ee) if ee else None)
            f.append(sum(r["f_mae"] * r["n_f"] for r in ss if r["f_mae"] is not None) / nf if nf else None)
        em, ese = mean_se(e)
        fm, fse = mean_se(f)
        out[g] = {"n_structures": sum(1 for r in recs if r["config_type"] == g),
                  "energy": None if em is None else {"mae_mean": em, "mae_se": ese},
                  "forces": None if fm is None else {"mae_mean": fm, "mae_se": fse}}
    return out


# ---- output -------------------------------------------------------------------------------------------------

def write_snap_files(prefix, elements, hp, beta, nper):
    with open(prefix + ".snapparam", "w") as f:
        f.write("# snap_refit.py: refitted to the tnace training data (see %s.cv.json)\n" % os.path.basename(prefix))
        f.write("rcutfac %.10g\ntwojmax %d\nrfac0 %.10g\nrmin0 %.10g\nquadraticflag %d\nbzeroflag %d\n" % (
            hp["rcutfac"], hp["twojmax"], hp["rfac0"], hp["rmin0"], hp["quadraticflag"], hp["bzeroflag"]))
    with open(prefix + ".snapcoeff", "w") as f:
        f.write("# snap_refit.py: beta0 then the SNAP coefficients of each element\n%d %d\n" % (len(elements), nper + 1))
        for t, e in enumerate(elements):
            f.write("%s %.10g %.10g\n" % (e, hp["radius"][t], hp["weight"][t]))
            for x in beta[t * (nper + 1):(t + 1) * (nper + 1)]:
                f.write("%.17g\n" % x)


def check_in_lammps(prefix, elements, items, beta, hp):
    """pair_style snap with the written files must reproduce the least-squares model's energies and forces."""
    pick = [t for t in items[:: max(1, len(items) // 4)] if "f" in t[2]][:4]
    with tempfile.TemporaryDirectory() as d:
        lines, Rs = [], []
        for i, (r, at, rows) in enumerate(pick):
            Rs.append(write_data(os.path.join(d, "s%d.data" % i), at, elements))
            lines += (["clear"] if i else []) + HEADER + ["read_data s%d.data" % i]
            lines += ["mass %d %g" % (t + 1, atomic_masses[atomic_numbers[e]]) for t, e in enumerate(elements)]
            lines += ["pair_style snap", "pair_coeff * * %s.snapcoeff %s.snapparam %s" % (
                os.path.abspath(prefix), os.path.abspath(prefix), " ".join(elements)),
                "thermo_style custom pe atoms", "run 0", 'print "CHK_E %d $(pe/atoms:%%.15g)"' % i,
                "write_dump all custom f%d.dump id fx fy fz modify sort id format float %%.15g" % i]
        with open(os.path.join(d, "in.chk"), "w") as f:
            f.write("\n".join(lines) + "\n")
        out = subprocess.run([LMP, "-in", "in.chk", "-log", "none"], cwd=d, capture_output=True, text=True)
        if out.returncode:
            sys.exit("snap_refit: pair_style snap failed:\n%s\n%s" % (out.stdout[-2000:], out.stderr[-2000:]))
        e_l = {int(l.split()[1]): float(l.split()[2]) for l in out.stdout.splitlines() if l.startswith("CHK_E")}
        worst_e = worst_f = 0.0
        for i, (r, at, rows) in enumerate(pick):
            X, y = rows["e"]
            worst_e = max(worst_e, abs(float(X @ beta) - e_l[i]))
            txt = open(os.path.join(d, "f%d.dump" % i)).read().split("ITEM: ATOMS")[1].splitlines()[1:]
            fl = np.array([[float(v) for v in l.split()[1:4]] for l in txt if l.strip()])
            worst_f = max(worst_f, float(np.abs(rows["f"][0] @ beta - fl.ravel()).max()))
    if worst_e > 1e-6 or worst_f > 1e-5:
        sys.exit("snap_refit: pair_style snap disagrees with the fitted model (%.3g eV/atom, %.3g eV/Å)" % (
            worst_e, worst_f))
    return worst_e, worst_f


def load_split(config, data):
    """The training file and validation split of a tnace fit config (data.train, validation_fraction, seed,
    stratify), reproduced bit for bit (zuo_snap_on_validation.split_indices): held-out structures get fold 0,
    the others fold −1."""
    import yaml  # python3-yaml, Debian
    from zuo_snap_on_validation import split_indices
    c = yaml.safe_load(open(config))
    d = c["data"]
    path = data or os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(config)), d["train"]))
    frames = read(path, ":")
    lines = frame_lines(path)
    stratify = bool(d.get("stratify", True))
    cts = [at.info.get("config_type", "") or "" for at in frames]
    held = set(split_indices(len(frames), float(d.get("validation_fraction", 0.1)), int(d.get("seed", 1)),
                             cts if stratify else None))
    pairs = [({"source": "%s:%d" % (path, l), "config_type": ct or "(none)", "n_atoms": len(at),
               "fold": 0 if i in held else -1}, at) for i, (l, at, ct) in enumerate(zip(lines, frames, cts))]
    return {"k": 1, "seed": int(d.get("seed", 1)), "split": {"config": config, "n_held_out": len(held)}}, pairs


def tnace_records(pot_path, pairs):
    """Errors of a tnace potential (the Python package) on the held-out structures, in the same schema."""
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import tnace
    pot = tnace.Potential(pot_path)
    recs = []
    for r, at in pairs:
        if r["fold"] != 0:
            continue
        res = pot.compute(at.get_chemical_symbols(), at.positions, at.cell.array, at.pbc)
        n = len(at)
        rec = {"source": r["source"], "config_type": r["config_type"], "n_atoms": n, "fold": 0,
               "e_err": (res.energy - at.get_potential_energy()) / n * 1000.0}
        df = np.abs(res.forces - at.get_forces())
        rec["f_mae"], rec["n_f"] = float(df.mean()), int(df.size)
        try:
            sd = at.get_stress(voigt=False)
            ds = (res.stress - sd) * EV_A3_TO_GPA
            rec["s_mae"] = float(np.abs([ds[0, 0], ds[1, 1], ds[2, 2], ds[1, 2], ds[0, 2], ds[0, 1]]).mean())
        except Exception:
            pass
        recs.append(rec)
    return recs


def group_rows(named, keep, total="overall"):
    """Per config_type, then `total`: (group, n, [(E MAE, F MAE or None) per model]) over the records for which
    keep(record) holds; a group some model has no such record of is left out."""
    groups = sorted({r["config_type"] for _, recs in named for r in recs if keep(r)})
    rows = []
    for g in groups + [None]:
        cells, n = [], 0
        for _, recs in named:
            ss = [r for r in recs if keep(r) and (g is None or r["config_type"] == g)]
            if not ss:
                break
            n = len(ss)
            nf = sum(r["n_f"] for r in ss)
            cells.append((float(np.mean([abs(r["e_err"]) for r in ss])),
                          sum(r["f_mae"] * r["n_f"] for r in ss if r["n_f"]) / nf if nf else None))
        if len(cells) == len(named):
            rows.append((g or total, n, cells))
    return rows


def table_by_group(named):
    """Per config_type E and F MAE of several record lists (held-out structures only)."""
    print("%-16s %5s" % ("config_type", "n") + "".join("  %20s" % name for name, _ in named))
    for g, n, cells in group_rows(named, lambda r: r["fold"] >= 0):
        print("%-16s %5d" % (g, n) + "".join("  %20s" % ("%9.3f / %8.4f" % (e, float("nan") if f is None else f))
                                             for e, f in cells))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cv", nargs="?", help="tnace-fit --cv result (X.cv.json): the folds")
    ap.add_argument("--split", metavar="CONFIG.yaml", help="instead of a CV file: the validation split of this "
                    "tnace fit config; weights are then chosen by a 5-fold CV inside the training part")
    ap.add_argument("--tnace", metavar="POT.yaml", help="with --split: also score this tnace potential on the "
                    "held-out structures (PREFIX_tnace.cv.json) and print both per config_type")
    ap.add_argument("--elements", nargs="+", required=True)
    ap.add_argument("--data", help="training extxyz (default: the file the CV sources or the config name)")
    ap.add_argument("--like", help="STEM of a published STEM.snapparam/.snapcoeff: its hyperparameters")
    ap.add_argument("--twojmax", type=int)
    ap.add_argument("--rcutfac", type=float)
    ap.add_argument("--radius", type=float, nargs="+", help="per element")
    ap.add_argument("--weight", type=float, nargs="+", help="per element")
    ap.add_argument("--quadratic", action="store_true")
    ap.add_argument("--grid", default=",".join("%g:1:%g" % (e, s) for s in (0, 0.1) for e in (10, 30, 100, 300, 1000)),
                    help="energy:force:stress weights per row (energy per atom in eV, forces in eV/Å, stress in "
                         "GPa) to choose from by CV, comma-separated")
    ap.add_argument("--force-fraction", type=float, default=1.0, help="fit on this random fraction of the force "
                    "components of each training structure (held-out structures are scored on all)")
    ap.add_argument("--ridge", type=float, default=1e-10, help="ridge on the column-scaled normal equations")
    ap.add_argument("--out", required=True, help="PREFIX of PREFIX.cv.json, .snapcoeff, .snapparam")
    a = ap.parse_args()
    if bool(a.cv) == bool(a.split):
        sys.exit("snap_refit: give a CV file or --split CONFIG.yaml")
    if a.split:
        cv, pairs = load_split(a.split, a.data)
        rng = np.random.default_rng(cv["seed"])
        k = 5
        for r, _ in pairs:   # selection folds inside the training part only
            r["sel"] = -1 if r["fold"] == 0 else int(rng.integers(k))
    else:
        cv, pairs = load(a.cv, a.data)
        k = cv["k"]
        for r, _ in pairs:
            r["sel"] = r["fold"]
    if a.like:
        hp = read_like(a.like, a.elements)
    else:
        if a.twojmax is None or a.rcutfac is None:
            sys.exit("snap_refit: give --like or --twojmax and --rcutfac")
        nel = len(a.elements)
        hp = {"rcutfac": a.rcutfac, "twojmax": a.twojmax, "rfac0": 0.99363, "rmin0": 0.0, "bzeroflag": 0,
              "quadraticflag": int(a.quadratic), "radius": a.radius or [0.5] * nel, "weight": a.weight or [1.0] * nel}
    if a.quadratic:
        hp["quadraticflag"] = 1
    nper = n_per_type(hp)
    rng = np.random.default_rng(12345)
    items = [(r, at, design(at, d, a.force_fraction if r["sel"] >= 0 else 1.0, rng))
             for (r, at), d in zip(pairs, descriptors([at for _, at in pairs], a.elements, hp))]
    G, ncol = fold_grams(items, k)
    grid = []
    for g in a.grid.split(","):
        we, wf, ws = (float(x) for x in (g.split(":") + ["0"])[:3])
        recs, folds = cv_run(items, k, G, ncol, {"e": we, "f": wf, "s": ws}, a.ridge)
        grid.append(({"energy": we, "forces": wf, "stress": ws}, recs, folds))
        e, f = summary(folds, "energy"), summary(folds, "forces")
        print("weights E:F:S %-14s  %s E MAE %.3f ± %.3f meV/atom   F MAE %.4f ± %.4f eV/Å" % (
            g, "CV" if not a.split else "inner CV", e["mae_mean"], e["mae_se"], f["mae_mean"], f["mae_se"]))
    be = min(summary(fo, "energy")["mae_mean"] for _, _, fo in grid)
    bf = min(summary(fo, "forces")["mae_mean"] for _, _, fo in grid)
    w, recs, folds = min(grid, key=lambda t: summary(t[2], "energy")["mae_mean"] / be +
                         summary(t[2], "forces")["mae_mean"] / bf)
    print("chosen weights E:F:S %g:%g:%g" % (w["energy"], w["forces"], w["stress"]))
    wd = {"e": w["energy"], "f": w["forces"], "s": w["stress"]}
    beta = solve(G, ncol, list(range(k)), wd, a.ridge)
    if a.split:   # the model of all training structures on the held-out split
        recs, folds = cv_run(items, k, G, ncol, wd, a.ridge, final=beta)
        recs += [{"source": r["source"], "config_type": r["config_type"], "n_atoms": r["n_atoms"], "fold": -1,
                  "e_err": None, "f_mae": None, "n_f": 0} for r, _, _ in items if r["fold"] != 0]
    write_snap_files(a.out, a.elements, hp, beta, nper)
    we, wf = check_in_lammps(a.out, a.elements, [t for t in items if t[0]["fold"] >= 0], beta, hp)
    kk = 1 if a.split else k
    res = {"generator": "potentials/checks/snap_refit.py", "model": "%sSNAP 2J=%d rcutfac %g" % (
        "quadratic " if hp["quadraticflag"] else "linear ", hp["twojmax"], hp["rcutfac"]),
        "hyperparameters": hp, "n_coefficients": int(ncol), "weights": w, "ridge": a.ridge,
        "force_fraction": a.force_fraction,
        "weight_grid": [{"weights": g, "energy": summary(fo, "energy"), "forces": summary(fo, "forces"),
                         "stress": summary(fo, "stress")} for g, _, fo in grid],
        "lammps_check": {"max_energy_diff_eV_per_atom": we, "max_force_diff_eV_per_A": wf},
        "cross_validation": {"k": kk, "seed": cv["seed"], "stratified_by": cv.get("stratified_by"),
                             "split": cv.get("split"), "folds_done": list(range(kk)), "units": cv.get("units"),
                             "overall": overall(folds, [r for r in recs if r["fold"] >= 0]),
                             "per_config_type": group_summary([r for r in recs if r["fold"] >= 0], kk),
                             "folds": folds, "structures": recs}}
    with open(a.out + ".cv.json", "w") as f:
        json.dump(res, f, indent=1)
    print("wrote %s.cv.json, %s.snapcoeff, %s.snapparam (LAMMPS check: %.2g eV/atom, %.2g eV/Å)" % (
        a.out, a.out, a.out, we, wf))
    if a.split and a.tnace:
        trec = tnace_records(a.tnace, pairs)
        tres = {"generator": "potentials/checks/snap_refit.py --tnace", "potential": a.tnace,
                "cross_validation": {"k": 1, "seed": cv["seed"], "split": cv.get("split"), "folds_done": [0],
                                     "structures": trec}}
        with open(a.out + "_tnace.cv.json", "w") as f:
            json.dump(tres, f, indent=1)
        table_by_group([(os.path.basename(a.out), recs), ("tnace", trec)])


if __name__ == "__main__":
    main()
