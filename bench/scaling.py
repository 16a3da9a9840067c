#!/usr/bin/python3
"""bench/scaling.py — how pair_style tnace scales in LAMMPS (tools/lmp), fcc Cu with potentials/Cu.yaml:

  * with the number of atoms: N = 500, 4,000, 32,000 (5^3, 10^3, 20^3 fcc cells), one rank: µs/atom-step
    must stay constant (linear scaling);
  * with MPI ranks: 1 vs 2 ranks at 32,000 atoms: parallel efficiency t1 / (2 t2), from the loop wall time
    per step (and from the slowest rank's Pair time);
  * with OpenMP threads: 1 vs 2 threads at 32,000 atoms (automatically when lammps-plugin/pair_tnace.cpp
    has its OpenMP loop, `pair_style tnace threads N`; --threads forces the run).

Same settings as bench/run_lammps.py (300 K, NVE, neighbor 1.0 bin, OMP_NUM_THREADS=1), fewer steps for
the large systems; runs interleaved, medians of --reps. About 40 s on an idle 2-core machine.

    bench/scaling.py [--reps 3] [--quick] [--element Cu]
Results: table on stdout, raw timings in bench/results/<UTC date-time>-scaling.json.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_lammps as rl  # noqa: E402


def plugin_threaded():
    try:
        with open(os.path.join(rl.ROOT, "lammps-plugin", "pair_tnace.cpp")) as f:
            return "#pragma omp" in f.read()
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--element", default="Cu")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 repetition, fewer steps")
    ap.add_argument("--no-mpi", action="store_true", help="skip the 2-rank runs")
    ap.add_argument("--threads", action="store_true", help="also 2 OpenMP threads (default: if the plugin is threaded)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    el = args.element
    if not rl.tnace_file(el):
        sys.exit(f"no potentials/{el}.yaml")
    lat = rl.CRYSTALS[el][0]
    per_cell = len(rl.BASIS[lat])
    # (cells per side, timed steps, warm-up steps, ranks, threads)
    cases = [(5, 20, 2, 1, 1), (10, 10, 2, 1, 1), (20, 4, 1, 1, 1)]
    if not args.no_mpi:
        cases.append((20, 4, 1, 2, 1))
    if args.threads or plugin_threaded():
        cases.append((20, 4, 1, 1, 2))
    if args.quick:
        args.reps = 1
        cases = [(c, max(2, s // 2), 1, r, th) for c, s, _, r, th in cases]
    info = rl.machine_info()
    print(f"# {info.get('Model name', '?')}, {info.get('CPU(s)', '?')} CPUs; load average "
          f"{info['loadavg'][0]:.2f}; tnace {info.get('git', '?')}", flush=True)
    results = []
    t0 = time.time()
    for rep in range(args.reps):
        for cells, steps, warm, ranks, threads in cases:
            r = rl.run_one(el, "tnace", cells, steps, warm, ranks=ranks, threads=threads)
            r.update(rep=rep, cells=cells)
            results.append(r)
            print(f"#   rep {rep + 1}/{args.reps} N={r['atoms']:6d} ranks={ranks} threads={threads} "
                  f"{r['us_per_atom_step']:8.2f} us/atom-step (Pair avg), loop {r['loop_us_per_atom_step']:8.2f} "
                  f"(CPU {r.get('cpu_pct', float('nan')):.0f}%, load {r['loadavg_before']:.2f})", flush=True)
    elapsed = time.time() - t0

    def sel(cells, ranks, threads):
        return [r for r in results if r["cells"] == cells and r["ranks"] == ranks and r["omp_threads"] == threads]

    rows = []
    print()
    print(f"pair_style tnace ({el}.yaml), {lat} {el}, median of {args.reps}")
    print(f"{'atoms':>6s} {'ranks':>5s} {'thr':>3s} {'steps':>5s}  {'Pair us/atom-step':>17s} {'Pair max':>9s} "
          f"{'loop us/atom-step':>17s} {'CPU-adj':>8s} {'CPU%':>5s}")
    for cells, steps, warm, ranks, threads in cases:
        rs = sel(cells, ranks, threads)
        row = {"atoms": rs[0]["atoms"], "ranks": ranks, "threads": threads, "steps": steps,
               "pair_us": statistics.median(r["us_per_atom_step"] for r in rs),
               "pair_max_us": statistics.median(r["us_per_atom_step_max"] for r in rs),
               "loop_us": statistics.median(r["loop_us_per_atom_step"] for r in rs),
               "cpu_adj_us": statistics.median(r["us_per_atom_step_cpu"] for r in rs),
               "cpu_pct": statistics.median(r.get("cpu_pct", float("nan")) for r in rs)}
        rows.append(row)
        print(f"{row['atoms']:6d} {ranks:5d} {threads:3d} {steps:5d}  {row['pair_us']:17.2f} {row['pair_max_us']:9.2f} "
              f"{row['loop_us']:17.2f} {row['cpu_adj_us']:8.2f} {row['cpu_pct']:5.0f}")
    serial = [r for r in rows if r["ranks"] == 1 and r["threads"] == 1]
    base = serial[0]["pair_us"]
    print("linearity (us/atom-step relative to N=%d): %s" % (
        serial[0]["atoms"], ", ".join(f"N={r['atoms']}: {r['pair_us'] / base:.2f}" for r in serial)))
    summary = {"rows": rows}
    two = [r for r in rows if r["ranks"] == 2]
    one = None
    if two:
        one = [r for r in serial if r["atoms"] == two[0]["atoms"]][0]
        # per atom-step times are per *total* atom: the 2-rank wall time per step is loop_us x N
        eff_loop = one["loop_us"] / (2 * two[0]["loop_us"])
        eff_pair = one["pair_us"] / (2 * two[0]["pair_max_us"])
        # CPU time: LAMMPS' "% CPU use" is the ranks' mean CPU time over the loop wall time, so the total CPU
        # time per atom-step is cpu_adj x ranks; equal totals mean no parallel overhead in the work itself
        eff_cpu = one["cpu_adj_us"] / (2 * two[0]["cpu_adj_us"])
        summary.update(parallel_efficiency_loop=eff_loop, parallel_efficiency_pair=eff_pair,
                       parallel_efficiency_cpu=eff_cpu)
        print(f"2 ranks at N={one['atoms']}: speed-up {one['loop_us'] / two[0]['loop_us']:.2f}, parallel efficiency "
              f"t1/(2 t2) = {eff_loop:.2f} (loop wall time), {eff_pair:.2f} (Pair, slowest rank)")
        print(f"  CPU time per atom-step summed over ranks: {one['cpu_adj_us']:.1f} (1 rank) vs "
              f"{2 * two[0]['cpu_adj_us']:.1f} (2 ranks): work efficiency {eff_cpu:.2f}")
        print("  (2 ranks on a 2-core machine share the cores with everything else running: see the load average;"
              " wall-time efficiency is only meaningful on an idle machine)")
    thr = [r for r in rows if r["threads"] == 2]
    if thr:
        one = [r for r in serial if r["atoms"] == thr[0]["atoms"]][0]
        summary["thread_efficiency_loop"] = one["loop_us"] / (2 * thr[0]["loop_us"])
        print(f"2 OpenMP threads at N={one['atoms']}: speed-up {one['loop_us'] / thr[0]['loop_us']:.2f}, "
              f"efficiency {summary['thread_efficiency_loop']:.2f}")
    else:
        print("OpenMP threads: not measured (the plugin was built without its OpenMP loop; --threads forces the run)")
    print(f"total benchmark time {elapsed:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    out = args.out
    if not out:
        os.makedirs(os.path.join(rl.ROOT, "bench", "results"), exist_ok=True)
        stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
        out = os.path.join(rl.ROOT, "bench", "results", f"{stamp}-scaling.json")
    with open(out, "w") as f:
        json.dump({"kind": "scaling", "date": datetime.datetime.utcnow().isoformat() + "Z",
                   "command": " ".join([os.path.relpath(sys.argv[0], rl.ROOT)] + sys.argv[1:]),
                   "machine": info, "elapsed_s": elapsed, "summary": summary, "runs": results}, f, indent=1)
    print(f"raw timings: {os.path.relpath(out, rl.ROOT)}")


if __name__ == "__main__":
    main()
