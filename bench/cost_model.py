#!/usr/bin/python3
"""bench/cost_model.py — a cost model of tnace's per-atom evaluation (energy + forces), fitted to C timings.

Times tnace_atom_energy (with forces) for potentials of many shapes — one ν=2 or ν=3 MPS term with random
cores, varying χ, l_max, n_max, and the cutoff (hence the neighbour count N) — with bench/build/cost_model
(fcc Cu, 256 atoms, thread CPU time, median of --reps passes), then fits by least squares (relative errors)

    t ≈ a·N·K + b·N·L + c·N + d·F_chan + e·F_trie + f·F_nodes

    N        neighbours inside the cutoff
    K        A-basis entries used, Σ_l (2l+1)·n_max(l)  (= n_max (l_max+1)² for one term): the accumulation
             A += g_n Y_lm and the force pass ∂E/∂r = Σ ∂E/∂A (g' r̂ Y + g ∇Y) are N·K each
    L        (l_max+1)²: Y_lm and ∇Y_lm per neighbour
    F_chan   Σ_terms Σ_copies n_el·n_max·n_chan·χ_left·χ_right: channels c = U·A and ∂E/∂A = Uᵀ·g
    F_trie   Σ_terms Σ_{copies k≥1} n_nodes[k]·χ_left·χ_right: forward and backward matrix–vector products
             on the fusion-tree trie
    F_nodes  Σ_terms Σ_copies n_nodes[k]: per-trie-node overhead (dominates at small χ)

and prints the coefficients (ns per unit), predicted vs measured for every shape, and, as a held-out check,
the prediction for the shipped potentials (potentials/*.yaml: several terms at once).

    bench/cost_model.py [--reps 5] [--quick] [--out FILE]
About 1–2 minutes. Results in bench/results/<UTC date-time>-cost_model.json.
Run with /usr/bin/python3 (needs numpy; Debian's python3-numpy).
"""
import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(ROOT, "bench", "build", "cost_model")
CRYSTAL = ("fcc", 3.621, 4)  # 256 atoms of fcc Cu; the cutoff sets the neighbour count

# (cutoff Å, [nu:lmax:nmax:chi, ...]) — one-term shapes around the shipped potentials' ν=2 (6, 8, 8) and
# ν=3 (4, 6, 6) terms, varied one knob at a time, plus a few ν=4 and a few more cutoffs.
TRAIN = (
    [(5.0, [f"2:6:8:{c}"]) for c in (2, 4, 8, 16, 32)]
    + [(5.0, [f"2:{l}:8:8"]) for l in (2, 4, 8, 10)]
    + [(5.0, [f"2:6:{n}:8"]) for n in (4, 12, 16)]
    + [(rc, ["2:6:8:8"]) for rc in (4.0, 6.0)]
    + [(5.0, [f"3:4:6:{c}"]) for c in (2, 4, 10, 16)]
    + [(5.0, [f"3:{l}:6:6"]) for l in (2, 6)]
    + [(5.0, [f"3:4:{n}:6"]) for n in (4, 10)]
    + [(rc, ["3:4:6:6"]) for rc in (4.0, 6.0)]
    + [(5.0, ["4:2:4:4"]), (5.0, ["4:3:4:4"])]
)
QUICK = [(5.0, ["2:6:8:4"]), (5.0, ["2:6:8:16"]), (5.0, ["2:4:8:8"]), (5.0, ["2:8:8:8"]), (4.0, ["2:6:8:8"]),
         (6.0, ["2:6:8:8"]), (5.0, ["3:4:6:4"]), (5.0, ["3:4:6:10"]), (5.0, ["3:2:6:6"])]
FEATURES = ("N*K", "N*L", "N", "F_chan", "F_trie", "F_nodes")


def measure(rc, terms, reps, load=None):
    cmd = [EXE, CRYSTAL[0], str(CRYSTAL[1]), str(CRYSTAL[2]), str(rc), "--reps", str(reps)]
    cmd += ["--load", load] if load else terms
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def features(r):
    n = r["neigh"]
    return [n * r["basis_used"], n * r["nlm"], n, r["feat_chan"], r["feat_trie"], r["feat_nodes"]]


def fit(X, y):
    """Least squares on relative errors with non-negative coefficients (drop a negative one, refit)."""
    active = list(range(X.shape[1]))
    while True:
        W = X[:, active] / y[:, None]
        c, *_ = np.linalg.lstsq(W, np.ones_like(y), rcond=None)
        if (c >= 0).all() or len(active) == 1:
            break
        active.pop(int(np.argmin(c)))
    coef = np.zeros(X.shape[1])
    coef[active] = c
    return coef


def label(r):
    return "+".join("nu%d l%d n%d chi%d" % tuple(t) for t in r["terms"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer shapes, 3 repetitions")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.quick:
        args.reps = 3
    r = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "bench")], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0 or not os.path.exists(EXE):
        sys.exit("bench: make failed")
    t0 = time.time()
    shapes = QUICK if args.quick else TRAIN
    rows = []
    for rc, terms in shapes:
        rows.append(measure(rc, terms, args.reps))
        print(f"#  {label(rows[-1]):28s} rc {rc:.1f}  N {rows[-1]['neigh']:5.1f}  {rows[-1]['total_us']:9.2f} us/atom",
              flush=True)
    held = []
    seen = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "potentials", "*.yaml"))):
        try:
            h = measure(0, None, args.reps, load=path)
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            continue
        # potentials of the same shape (terms, elements, cutoff) cost the same: time each shape once
        key = json.dumps([h["terms"], h["feat_chan"], h["rcut"]])
        if key in seen:
            seen[key]["same_shape"].append(os.path.relpath(path, ROOT))
            continue
        h["file"] = os.path.relpath(path, ROOT)
        h["same_shape"] = []
        seen[key] = h
        held.append(h)
    X = np.array([features(r) for r in rows], float)
    y = np.array([r["total_us"] for r in rows], float)
    coef = fit(X, y)
    pred = X @ coef

    print()
    print("cost model  t [us/atom] = " + " + ".join(f"{c * 1e3:.3g}e-3*{f}" for c, f in zip(coef, FEATURES)))
    print("            (coefficients in ns per unit: " + ", ".join(f"{f} {c * 1e3:.3g}" for c, f in
                                                                   zip(coef, FEATURES)) + ")")
    print()
    hdr = (f"{'shape':30s} {'rc':>4s} {'N':>5s} {'K':>5s} {'F_chan':>8s} {'F_trie':>8s} {'nodes':>6s}  "
           f"{'measured':>9s} {'model':>9s} {'err':>6s}   {'basis':>7s} {'chan+gA':>8s} {'fwd+bwd':>8s} {'force':>7s}")
    print(hdr)
    print("-" * len(hdr))
    errs = []

    def line(r, p, name):
        ph = r["phases_us"]
        e = p / r["total_us"] - 1
        print(f"{name:30s} {r['rcut']:4.1f} {r['neigh']:5.1f} {r['basis_used']:5d} {r['feat_chan']:8.0f} "
              f"{r['feat_trie']:8.0f} {r['feat_nodes']:6.0f}  {r['total_us']:9.2f} {p:9.2f} {100 * e:5.1f}%   "
              f"{ph['basis']:7.2f} {ph['channels'] + ph['grad_A']:8.2f} {ph['forward'] + ph['backward']:8.2f} "
              f"{ph['force_pass']:7.2f}")
        return e

    for r, p in zip(rows, pred):
        errs.append(line(r, p, label(r)))
    print("-" * len(hdr))
    print(f"fit: {len(rows)} shapes, rms relative error {100 * np.sqrt(np.mean(np.square(errs))):.1f}%, "
          f"max {100 * np.max(np.abs(errs)):.1f}%")
    herrs = []
    if held:
        print("held out (shipped potentials, all terms together):")
        for h in held:
            p = float(np.array(features(h)) @ coef)
            herrs.append(line(h, p, h["file"]))
            if h["same_shape"]:
                print(f"  (same shape: {', '.join(os.path.basename(f) for f in h['same_shape'])})")
    print("phases (us/atom, measured): basis = tnace_atom_basis; chan+gA = tn_channels + tn_grad_A; "
          "fwd+bwd = tn_forward + tn_backward; force = the dE/dr pass")
    # what each feature contributes for the shipped potentials
    for h in held:
        parts = np.array(features(h)) * coef
        tot = parts.sum()
        print(f"{h['file']}: model terms " + ", ".join(f"{f} {100 * p / tot:.0f}%" for f, p in zip(FEATURES, parts)))
    elapsed = time.time() - t0
    print(f"total benchmark time {elapsed:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    out = args.out
    if not out:
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
        out = os.path.join(ROOT, "bench", "results", f"{stamp}-cost_model.json")
    with open(out, "w") as f:
        json.dump({"kind": "cost_model", "date": datetime.datetime.utcnow().isoformat() + "Z",
                   "crystal": CRYSTAL, "reps": args.reps, "features": FEATURES,
                   "coef_us": list(coef), "rms_rel_err": float(np.sqrt(np.mean(np.square(errs)))),
                   "held_out_rel_err": [float(e) for e in herrs], "shapes": rows, "held_out": held,
                   "elapsed_s": elapsed}, f, indent=1)
    print(f"raw timings: {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
