#!/usr/bin/python3
"""bench/pareto.py — accuracy against cost for several model sizes of one element (issue #12's Pareto table):
each candidate's cross-validation error (its .cv.json, tnace-fit --cv) next to its LAMMPS cost per atom-step,
measured in the same LAMMPS binary, interleaved with the Zuo et al. quadratic SNAP (and linear SNAP) of that
element, by bench/run_lammps.py's crystals and protocol.

    bench/pareto.py Ni A=potentials/configs/cv/Ni_A.yaml GWCF=potentials/configs/cv/Ni_GWCF.yaml ...
    bench/pareto.py Ni --from-table          # the candidates listed for Ni in CANDIDATES below

A candidate is LABEL=CONFIG; its CV file is potentials/checks/cv/<stem of CONFIG>.cv.json (or
LABEL=CONFIG:CVFILE). The cost of a tensor-network potential depends on its shape (terms, bonds, cutoff),
not on the values of its cores, so each candidate is timed on a file of its config's shape fitted for one
sweep (`tnace-fit --sweeps 1`, a few seconds to a minute) — never on the shipped file unless the candidate
is the shipped config. Output: a table on stdout (µs/atom-step medians of --reps interleaved runs, the ratio
to qSNAP, CV E/F MAE mean ± s.e. over folds, parameters) and bench/results/<UTC date-time>-pareto-<El>.json.

Builds nothing: it needs tools/setup's LAMMPS and the project build (build/tnace-fit, the plugin).
Run with /usr/bin/python3.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import run_lammps  # noqa: E402
import cv as cvtool  # noqa: E402

FIT = os.path.join(ROOT, "build", "tnace-fit")
CV_DIR = os.path.join(ROOT, "potentials", "checks", "cv")
CFG_DIR = os.path.join(ROOT, "potentials", "configs", "cv")

# The candidates of the table in potentials/README.md ("Accuracy against cost"): label, config stem (its CV
# file has the same stem). Sizes differ in n_max/χ, body order, an MPO term, or the cutoff.
CANDIDATES = {
    "Ni": [("A", "Ni_A"), ("GW", "Ni_GW"), ("GWCF", "Ni_GWCF")],
    "Li": [("A", "Li_A"), ("G", "Li_G"), ("GCF", "Li_GCF"), ("GCFR", "Li_GCFR")],
    "Cu": [("A", "Cu_A"), ("ASM (+MPO, no split)", "Cu_ASM")],
    "Si": [("A", "Si_A"), ("B (+ν=4)", "Si_B"), ("F", "Si_F"), ("H (+MPO)", "Si_H")],
    "Ge": [("B (+ν=4)", "Ge_B"), ("H (+MPO)", "Ge_H")],
    "Mo": [("A", "Mo_A"), ("G (+MPO)", "Mo_G_2folds:Mo_G")],
}


def cv_summary(path):
    """(E MAE mean, s.e., F MAE mean, s.e., folds done, k) from a .cv.json file, over its folds."""
    cv = cvtool.load(path)
    fm = cvtool.fold_maes(cv)
    e = cvtool.mean_se([v[0] for v in fm.values()])
    f = cvtool.mean_se([v[1] for v in fm.values()])
    return e[0], e[1], f[0], f[1], len(fm), cv["k"]


def shape_file(config, out_dir, label):
    """A potential of the config's shape, fitted for one sweep (its cost is that of the fully fitted one)."""
    out = os.path.join(out_dir, re.sub(r"[^A-Za-z0-9_.-]", "_", label) + ".yaml")
    p = subprocess.run([FIT, "--sweeps", "1", "--threads", "0", "--quiet", "--output", out, config],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0 or not os.path.isfile(out):
        sys.exit(f"bench/pareto.py: {config}: tnace-fit --sweeps 1 failed:\n{p.stdout[-2000:]}")
    n_params = None
    with open(out) as f:
        for line in f:
            m = re.match(r"^\s*n_params:\s*(\d+)", line)
            if m:
                n_params = int(m.group(1))
                break
    return out, n_params


def parse_candidate(spec):
    if "=" not in spec:
        sys.exit(f"bench/pareto.py: '{spec}': expected LABEL=CONFIG[:CVFILE]")
    label, rest = spec.split("=", 1)
    config, _, cvf = rest.partition(":")
    if not cvf:
        cvf = os.path.join(CV_DIR, os.path.splitext(os.path.basename(config))[0] + ".cv.json")
    return label, config, cvf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("element")
    ap.add_argument("candidates", nargs="*", help="LABEL=CONFIG[:CVFILE]")
    ap.add_argument("--from-table", action="store_true", help="the candidates listed for the element in CANDIDATES")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions (medians shown)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    el = args.element
    if el not in run_lammps.CRYSTALS:
        sys.exit(f"bench/pareto.py: no crystal defined for {el}")
    cands = [parse_candidate(c) for c in args.candidates]
    if args.from_table:
        for label, stem in CANDIDATES.get(el, []):
            cvstem, _, cfgstem = stem.partition(":")
            cands.append((label, os.path.join(CFG_DIR, (cfgstem or cvstem) + ".yaml"),
                          os.path.join(CV_DIR, cvstem + ".cv.json")))
    if not cands:
        sys.exit("bench/pareto.py: no candidates (give LABEL=CONFIG or --from-table)")
    for label, config, cvf in cands:
        for p in (config, cvf):
            if not os.path.isfile(p):
                sys.exit(f"bench/pareto.py: {label}: no file {p}")

    work = tempfile.mkdtemp(prefix=f"tnace-pareto-{el}-")
    rows = []
    for label, config, cvf in cands:
        path, n_params = shape_file(config, work, label)
        rows.append({"label": label, "config": os.path.relpath(config, ROOT), "cv": os.path.relpath(cvf, ROOT),
                     "file": path, "n_params": n_params, "us": []})
        print(f"# {label}: {n_params} parameters (shape file {path})", flush=True)
    base = [s for s in ("qsnap", "snap") if run_lammps.snap_file(el, s)]
    times = {s: [] for s in base}
    info = run_lammps.machine_info()
    cells = run_lammps.CRYSTALS[el][2]
    for rep in range(args.reps):
        for r in rows:
            res = run_lammps.run_one(el, "tnace", cells, args.steps, args.warmup, pot=r["file"])
            r["us"].append(res["us_per_atom_step"])
            print(f"#   rep {rep + 1} {r['label']:12s} {res['us_per_atom_step']:8.2f} us/atom-step", flush=True)
        for s in base:
            res = run_lammps.run_one(el, s, cells, args.steps, args.warmup)
            times[s].append(res["us_per_atom_step"])
            print(f"#   rep {rep + 1} {s:12s} {res['us_per_atom_step']:8.2f} us/atom-step", flush=True)
    q = run_lammps.med(times.get("qsnap", []))
    print(f"\n{el}: CV MAE (mean ± s.e. over folds) against LAMMPS cost, median of {args.reps} interleaved runs "
          f"(load {info['loadavg'][0]:.1f} at start)")
    print(f"{'model':14s} {'params':>6s} {'folds':>5s} {'E MAE meV/atom':>16s} {'F MAE eV/A':>17s} "
          f"{'us/atom-step':>12s} {'/qSNAP':>7s}")
    for r in rows:
        e, es, f, fs, nf, k = cv_summary(os.path.join(ROOT, r["cv"]))
        r.update(e_mae=e, e_se=es, f_mae=f, f_se=fs, folds=nf, k=k, us_median=run_lammps.med(r["us"]))
        r["ratio_qsnap"] = r["us_median"] / q if q == q else None
        ratio = f"{r['ratio_qsnap']:7.2f}" if r["ratio_qsnap"] else "      -"
        print(f"{r['label']:14s} {r['n_params'] or 0:6d} {nf:>2d}/{k:<2d} {cvtool.fmt(e, es, 3):>16s} "
              f"{cvtool.fmt(f, fs, 4):>17s} {r['us_median']:12.2f} {ratio}")
    for s in base:
        print(f"{s + ' (Zuo)':14s} {'':6s} {'':5s} {'':>16s} {'':>17s} {run_lammps.med(times[s]):12.2f} "
              f"{run_lammps.med(times[s]) / q if q == q else float('nan'):7.2f}")
    out = args.out or os.path.join(ROOT, "bench", "results",
                                   datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + f"-pareto-{el}.json")
    for r in rows:
        r.pop("file")
    with open(out, "w") as f:
        json.dump({"element": el, "machine": info, "reps": args.reps, "steps": args.steps, "candidates": rows,
                   "baselines": {s: times[s] for s in base}}, f, indent=1)
    print(f"# wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
