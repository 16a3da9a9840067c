#!/usr/bin/python3
"""bench/report.py — Markdown tables (as in BENCHMARKS.md) from the newest bench/results/*.json files.

    bench/report.py                 # newest lammps, floor, scaling and cost_model results
    bench/report.py FILE.json ...   # these files instead
"""
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISSUE = {  # the issue's numbers (µs/atom-step, their 2-core development machines)
    ("Cu", "qsnap"): 61, ("Cu", "snap"): 104, ("Mo", "snap"): 52, ("Si", "snap"): 131,
}
NAMES = {"tnace": "tnace", "snap": "snap, linear", "qsnap": "snap, quadratic"}


def newest(kind):
    files = sorted(glob.glob(os.path.join(ROOT, "bench", "results", f"*-{kind}.json")))
    return files[-1] if files else None


def lammps(d):
    s = d["settings"]
    print(f"Measured {d['date'][:16].replace('T', ' ')} UTC, `{d['command']}`: {s['steps']} timed NVE steps after "
          f"{s['warmup']} warm-up steps, median of {s['reps']} interleaved runs, 1 rank, 1 thread, "
          f"neighbor {s['skin']} bin; load average at start {d['machine']['loadavg'][0]:.1f}.")
    print()
    print("| style (potential) | crystal, atoms | neighbours (r_c) | µs/atom-step (min–max) | CPU µs/atom-step "
          "| tnace ÷ this | issue's number |")
    print("|---|---|---|---|---|---|---|")
    rows = d["summary"]
    by = {(r["element"], r["style"]): r for r in rows}
    for r in rows:
        t = by.get((r["element"], "tnace"))
        name = NAMES[r["style"]] + (f", 2J={r['twojmax']}" if "twojmax" in r else "")
        ratio = "—" if r["style"] == "tnace" or not t else f"{t['us'] / r['us']:.2f}"
        issue = ISSUE.get((r["element"], r["style"]))
        bold = "**" if r["style"] == "tnace" else ""
        print(f"| {bold}{name}{bold} (`{r['file']}`) | {r['crystal']}, {r['atoms']:,} | {r['neigh_geom']} "
              f"({r['cutoff']:.2f} Å) | {bold}{r['us']:.1f}{bold} ({r['us_min']:.1f}–{r['us_max']:.1f}) | "
              f"{r['us_cpu']:.1f} | {ratio} | {issue if issue else '—'} |")
    print()


def floor(d):
    print(f"Measured {d['date'][:16].replace('T', ' ')} UTC, thread CPU time, median of {d['reps']} passes over all "
          f"atoms.")
    print()
    print("| element | terms (ν, l_max, n_max, χ), r_c | crystal, atoms | neighbours | A basis | A-basis floor | "
          "tnace total | tnace ÷ floor | basis | channels | forward | backward | grad_A | force pass |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in d["rows"]:
        p = r["phases_us"]
        shape = " ".join("(%d,%d,%d,%d)" % tuple(t[:4]) for t in r.get("terms", [])) + f", {r['rcut']:g} Å"
        print(f"| {r['element']} | {shape} | {r['crystal']}, {r['atoms']:,} | {r['neigh']:.1f} | {r['basis_us']:.1f} | "
              f"{r['floor_us']:.1f} | {r['total_us']:.1f} | **{r['total_us'] / r['floor_us']:.2f}** | "
              f"{p['basis']:.1f} | {p['channels']:.1f} | {p['forward']:.1f} | {p['backward']:.1f} | "
              f"{p['grad_A']:.1f} | {p['force_pass']:.1f} |")
    print()


def scaling(d):
    s = d["summary"]
    print(f"Measured {d['date'][:16].replace('T', ' ')} UTC, `{d['command']}`; load average at start "
          f"{d['machine']['loadavg'][0]:.1f}.")
    print()
    print("| atoms | MPI ranks | OpenMP threads | timed steps | Pair µs/atom-step | loop µs/atom-step | "
          "CPU µs/atom-step | % CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for r in s["rows"]:
        print(f"| {r['atoms']:,} | {r['ranks']} | {r.get('threads', 1)} | {r['steps']} | {r['pair_us']:.1f} | "
              f"{r['loop_us']:.1f} | {r['cpu_adj_us']:.1f} | {r['cpu_pct']:.0f} |")
    print()
    if "parallel_efficiency_loop" in s:
        print(f"Parallel efficiency t1/(2 t2) at 32,000 atoms: {s['parallel_efficiency_loop']:.2f} (loop wall time), "
              f"{s['parallel_efficiency_pair']:.2f} (Pair, slowest rank)"
              + (f"; CPU-time (work) efficiency {s['parallel_efficiency_cpu']:.2f}" if "parallel_efficiency_cpu" in s
                 else "") + ".")
        print()


def cost(d):
    """Table 4. The per-row features are those of bench/cost_model.py (features()), which wrote the file;
    files written before its current feature set (feat_nodes) use the old list."""
    names = d["features"]
    if "feat_nodes" in d["shapes"][0]:
        def feats(r):
            return [r["neigh"] * r["basis_used"], r["neigh"] * r["nlm"], r["neigh"], r["feat_chan"], r["feat_trie"],
                    r["feat_nodes"]]
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from cost_model import features as feats
    print(f"Measured {d['date'][:16].replace('T', ' ')} UTC; fcc Cu, {d['crystal'][2] ** 3 * 4} atoms, thread CPU "
          f"time, {d.get('timing', 'median of %d passes' % d['reps'])}.")
    print()
    print("Coefficients (ns per unit): " + ", ".join(f"{n}: {c * 1e3:.3g}" for n, c in zip(names, d["coef_us"])))
    print()
    print("| shape (ν, l_max, n_max, χ) | r_c | N | " + " | ".join(names) + " | measured µs | model µs | error |")
    print("|---|---|---|" + "---|" * len(names) + "---|---|---|")

    def row(r, name):
        x = feats(r)
        t = r.get("t_us", r["total_us"])
        p = sum(a * b for a, b in zip(x, d["coef_us"]))
        print(f"| {name} | {r['rcut']:.1f} | {r['neigh']:.1f} | " + " | ".join(f"{v:.0f}" for v in x) +
              f" | {t:.1f} | {p:.1f} | {100 * (p / t - 1):+.1f}% |")

    for r in d["shapes"]:
        row(r, " + ".join("(%d, %d, %d, %d)" % tuple(t) for t in r["terms"]))
    for r in d["held_out"]:
        same = ", ".join(os.path.basename(f) for f in r.get("same_shape", []))
        row(r, f"**held out: `{r['file']}`**" + (f" (same shape: {same})" if same else ""))
    print()
    print(f"RMS relative error of the fit: {100 * d['rms_rel_err']:.1f}%.")
    print()


def main():
    files = sys.argv[1:] or [f for f in (newest(k) for k in ("lammps", "floor", "scaling", "cost_model")) if f]
    for f in files:
        with open(f) as fh:
            d = json.load(fh)
        print(f"<!-- {os.path.relpath(f, ROOT)} -->")
        {"lammps": lammps, "floor": floor, "scaling": scaling, "cost_model": cost}[d["kind"]](d)


if __name__ == "__main__":
    main()
