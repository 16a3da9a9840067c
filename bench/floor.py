#!/usr/bin/python3
"""bench/floor.py — the A-basis floor for every shipped potential, on the crystals of bench/run_lammps.py.

Builds bench/build/abasis_floor (make -C bench, against build/libtnace.so) and runs it per element:
A basis only (tnace_atom_basis), the A-basis floor (basis + force pass, measured on a χ=1 proxy of the same
basis), tnace's total (tnace_atom_energy with forces) and its phases, per atom, thread CPU time, median of
--reps passes over all atoms (see abasis_floor.c). Prints a table with total / floor and writes
bench/results/<UTC date-time>-floor.json.

    bench/floor.py [--elements Cu,Mo] [--reps 7]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_lammps as rl  # noqa: E402

EXE = os.path.join(rl.ROOT, "bench", "build", "abasis_floor")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--elements", default=None)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if subprocess.run(["make", "-s", "-C", os.path.join(rl.ROOT, "bench")]).returncode != 0:
        sys.exit("bench: make failed")
    els = args.elements.split(",") if args.elements else [e for e in rl.CRYSTALS if rl.tnace_file(e)]
    rows = []
    t0 = time.time()
    for el in els:
        lat, a, nc, _ = rl.CRYSTALS[el]
        out = subprocess.run([EXE, rl.tnace_file(el), lat, str(a), str(nc), "--reps", str(args.reps)],
                             stdout=subprocess.PIPE, check=True, text=True).stdout
        sys.stdout.write(out.split("JSON ")[0])
        r = json.loads(out.split("JSON ", 1)[1])
        r["element"] = el
        rows.append(r)
    print()
    print("per atom, energy + forces, 1 thread, thread CPU time (median of %d passes)" % args.reps)
    hdr = (f"{'el':2s} {'crystal':8s} {'atoms':>5s} {'neigh':>5s}  {'A basis':>8s} {'floor':>8s} {'tnace':>8s}  "
           f"{'tnace/floor':>11s} {'tnace/basis':>11s}   {'basis':>6s} {'chan':>6s} {'fwd':>6s} {'bwd':>6s} "
           f"{'gradA':>6s} {'force':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        p = r["phases_us"]
        if r["basis_us"] > 0:
            basis = f"{r['basis_us']:8.2f}"
            rest = (f"{r['total_us'] / r['basis_us']:11.2f}   {p['basis']:6.2f} {p['channels']:6.2f} {p['forward']:6.2f} "
                    f"{p['backward']:6.2f} {p['grad_A']:6.2f} {p['force_pass']:6.2f}")
        else:   # an MPO or embed term: abasis_floor measures no basis time and no phases (see its NOTE)
            basis, rest = f"{'-':>8s}", f"{'-':>11s}   " + " ".join(f"{'-':>6s}" for _ in range(6)) + "  *"
        print(f"{r['element']:2s} {r['crystal']:8s} {r['atoms']:5d} {r['neigh']:5.1f}  {basis} "
              f"{r['floor_us']:8.2f} {r['total_us']:8.2f}  {r['total_us'] / r['floor_us']:11.2f} " + rest)
    print("-" * len(hdr))
    print("* a potential with MPO or embed terms: no basis or phase split; its floor is the chi = 1 proxy's whole "
          "time, contraction included, so tnace/floor is a lower bound")
    print("us/atom. A basis: tnace_atom_basis (R_n, R_n', Y_lm, dY_lm, A += g Y); floor: A basis + the force pass "
          "dE/dr = sum dE/dA (g' r^ Y + g dY); target: tnace <= 2 x floor")
    out = args.out
    if not out:
        os.makedirs(os.path.join(rl.ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(rl.ROOT, "bench", "results",
                           datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S") + "-floor.json")
    with open(out, "w") as f:
        json.dump({"kind": "floor", "date": datetime.datetime.utcnow().isoformat() + "Z", "reps": args.reps,
                   "machine": rl.machine_info(), "elapsed_s": time.time() - t0, "rows": rows}, f, indent=1)
    print(f"raw timings: {os.path.relpath(out, rl.ROOT)}")


if __name__ == "__main__":
    main()
