#!/usr/bin/python3
"""bench/alloy_cost.py — LAMMPS cost per atom-step of multi-element potentials on a random solid solution,
next to a unary potential on its own crystal, in the project's LAMMPS (tools/lmp), interleaved.

    /usr/bin/python3 bench/alloy_cost.py --elements Nb Mo Ta W \\
        --tnace shipped=potentials/NbMoTaW.yaml --tnace new=/tmp/NbMoTaW_new.yaml \\
        --snap qSNAP=potentials/checks/nbmotaw_refit/NbMoTaW_qSNAP \\
        --unary same-basis=/tmp/Mo_shape.yaml:Mo --reps 3

Issue #13's cost target compares a multi-element potential with a unary of the same radial/angular basis:
--unary NAME=FILE:EL times a one-element tnace file on the bcc crystal of EL (a unary fitted with the same
terms, e.g. to the EL structures of the training data, has the multi-element file's shape). The alloy is the
equimolar random bcc solid solution of --elements (n×n×n conventional cells, types assigned at random with a
fixed seed, exactly equal counts), at the Vegard lattice constant of --a. Every run:
velocities at 300 K, `fix nve`, 1 fs, `neighbor 1.0 bin`, one MPI rank, OMP_NUM_THREADS=1, a warm-up run and
a timed run; µs/atom-step = LAMMPS' "Pair" time / steps / atoms × 1e6 (bench/run_lammps.parse_log). Runs are
interleaved (for rep: for model) and the table shows medians and the ratio to the first --tnace model.
SNAP files (--snap NAME=STEM: STEM.snapcoeff, STEM.snapparam) are run with pair_style snap on the same cell.

Results: the table on stdout and the raw timings in bench/results/<UTC date-time>-alloy-cost.json.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

from ase.data import atomic_masses, atomic_numbers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_lammps import LMP, ROOT, SEED, SKIN, lmp_env, machine_info, parse_log  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "potentials", "checks"))
from nbmotaw_solid_solutions import lammps_snapparam, snap_elements  # noqa: E402

A_BCC = {"Nb": 3.308, "Mo": 3.164, "Ta": 3.319, "W": 3.185, "Li": 3.427}   # PBE-like bcc lattice constants, Å


def named(arg):
    name, _, path = arg.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError("expected NAME=PATH, got %r" % arg)
    return name, path


def cell_lines(elements, a, n):
    """An n×n×n bcc box of len(elements) types, equal counts assigned at random (fixed seed)."""
    nat = 2 * n ** 3
    if nat % len(elements):
        raise SystemExit(f"bench/alloy_cost.py: {nat} atoms cannot be split equally over {len(elements)} elements")
    types = [1 + (i % len(elements)) for i in range(nat)]
    random.Random(SEED).shuffle(types)
    lines = ["units metal", "atom_style atomic", "boundary p p p", f"lattice bcc {a}",
             f"region box block 0 {n} 0 {n} 0 {n}", f"create_box {len(elements)} box", "create_atoms 1 box"]
    lines += [f"set atom {i + 1} type {t}" for i, t in enumerate(types)]
    lines += [f"mass {k + 1} {atomic_masses[atomic_numbers[e]]}" for k, e in enumerate(elements)]
    return lines


def run_tail(steps, warmup):
    return [f"neighbor {SKIN} bin", f"velocity all create 300.0 {SEED} loop geom", "fix 1 all nve",
            "thermo_style custom step temp pe etotal press", f"thermo {max(steps, warmup, 1)}",
            f"run {warmup}", f"run {steps}"]


def model_input(kind, path, elements, a, n, steps, warmup, run_dir):
    """The LAMMPS input of one timed run: kind 'tnace' (path a potential file), 'snap' (path a STEM) or
    'unary' (path FILE:EL, the bcc crystal of EL)."""
    if kind == "unary":
        pot, _, el = path.rpartition(":")
        lines = cell_lines([el], A_BCC[el], n)
        lines += ["plugin load tnaceplugin.so", "pair_style tnace", f"pair_coeff * * {os.path.abspath(pot)} {el}"]
    elif kind == "tnace":
        lines = cell_lines(elements, a, n)
        lines += ["plugin load tnaceplugin.so", "pair_style tnace",
                  f"pair_coeff * * {os.path.abspath(path)} {' '.join(elements)}"]
    else:
        coeff = path + ".snapcoeff"
        param = lammps_snapparam(path + ".snapparam", os.path.join(run_dir, "snapparam"))
        order = snap_elements(coeff)
        missing = [e for e in elements if e not in order]
        if missing:
            raise SystemExit(f"bench/alloy_cost.py: {coeff} has no element {' '.join(missing)}")
        lines = cell_lines(elements, a, n)
        lines += ["pair_style snap", f"pair_coeff * * {os.path.abspath(coeff)} {param} {' '.join(elements)}"]
    return "\n".join(lines + run_tail(steps, warmup)) + "\n"


def time_one(kind, path, args):
    run_dir = tempfile.mkdtemp(prefix=f"tnace-alloy-cost-{kind}-")
    with open(os.path.join(run_dir, "in.bench"), "w") as f:
        f.write(model_input(kind, path, args.elements, args.a, args.cells, args.steps, args.warmup, run_dir))
    p = subprocess.run([LMP, "-in", "in.bench", "-log", "none", "-nocite"], cwd=run_dir, env=lmp_env(1),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:])
        # the run directory is kept for the user to rerun the input
        raise SystemExit(f"bench/alloy_cost.py: LAMMPS failed ({kind} {path}, exit {p.returncode}); input in {run_dir}")
    r = parse_log(p.stdout)
    r["us_per_atom_step"] = r["sections"]["Pair"]["avg"] / r["steps"] / r["atoms"] * 1e6
    shutil.rmtree(run_dir, ignore_errors=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elements", nargs="+", required=True, help="the alloy's elements, in LAMMPS type order")
    ap.add_argument("--a", type=float, help="lattice constant of the alloy, Å (default: Vegard's law)")
    ap.add_argument("--cells", type=int, default=10, help="conventional bcc cells per side (default 10: 2,000 atoms)")
    ap.add_argument("--tnace", type=named, action="append", default=[], help="NAME=POT.yaml on the alloy")
    ap.add_argument("--snap", type=named, action="append", default=[], help="NAME=STEM (.snapcoeff/.snapparam)")
    ap.add_argument("--unary", type=named, action="append", default=[], help="NAME=POT.yaml:EL on bcc EL")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", help="JSON file (default bench/results/<date>-alloy-cost.json)")
    args = ap.parse_args()
    if not args.tnace:
        ap.error("at least one --tnace model is needed (the ratios are to the first)")
    models = ([("tnace", n, p) for n, p in args.tnace] + [("snap", n, p) for n, p in args.snap]
              + [("unary", n, p) for n, p in args.unary])
    for kind, name, path in models:
        files = ([path + ".snapcoeff", path + ".snapparam"] if kind == "snap"
                 else [path.rpartition(":")[0]] if kind == "unary" else [path])
        for f in files:
            if not os.path.isfile(f):    # before timing anything: a typo should not cost the runs before it
                raise SystemExit(f"bench/alloy_cost.py: {name}: no file {f}")
        if kind == "unary" and path.rpartition(":")[2] not in A_BCC:
            raise SystemExit(f"bench/alloy_cost.py: {name}: no bcc lattice constant for "
                             f"'{path.rpartition(':')[2]}' (write --unary NAME=FILE:EL with EL one of {' '.join(A_BCC)})")
    if args.a is None:
        unknown = [e for e in args.elements if e not in A_BCC]
        if unknown:
            raise SystemExit(f"bench/alloy_cost.py: no bcc lattice constant for {' '.join(unknown)}: give --a")
        args.a = statistics.fmean(A_BCC[e] for e in args.elements)
    times = {n: [] for _, n, _ in models}
    raw = []
    for rep in range(args.reps):
        for kind, name, path in models:
            r = time_one(kind, path, args)
            r.update(model=name, kind=kind, path=path, rep=rep)
            raw.append(r)
            times[name].append(r["us_per_atom_step"])
            print(f"# rep {rep + 1}/{args.reps} {name:24s} {r['us_per_atom_step']:8.2f} µs/atom-step", flush=True)
    ref = statistics.median(times[models[0][1]])
    print(f"\n| model | kind | cell | µs/atom-step (median of {args.reps}) | ratio to {models[0][1]} |")
    print("|---|---|---|---|---|")
    for kind, name, path in models:
        m = statistics.median(times[name])
        where = (f"bcc {path.rpartition(':')[2]}" if kind == "unary"
                 else f"random bcc {''.join(args.elements)}")
        print(f"| {name} | {'tnace' if kind != 'snap' else 'snap'} | {where}, {2 * args.cells ** 3} atoms | "
              f"{m:.2f} | {m / ref:.2f} |")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out or os.path.join(ROOT, "bench", "results", f"{stamp}-alloy-cost.json")
    with open(out, "w") as f:
        json.dump({"generator": "bench/alloy_cost.py", "date": stamp, "machine": machine_info(),
                   "args": {k: v for k, v in vars(args).items() if k != "out"}, "runs": raw}, f, indent=1)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
