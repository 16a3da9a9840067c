#!/usr/bin/python3
"""bench/run_lammps.py — pair_style tnace against pair_style snap (Zuo et al. 2020 linear SNAP and quadratic
qSNAP) in the project's LAMMPS (tools/lmp), on the same crystals with the same MD settings.

    bench/run_lammps.py                      # every element with potentials/<El>.yaml and a Zuo SNAP file
    bench/run_lammps.py --quick              # smoke test: 1 repetition, 5 steps
    bench/run_lammps.py --issue --elements Cu   # the issue's protocol (100 NVE steps) for Cu only

Per element: the crystal (fcc Cu/Ni 8x8x8 = 2,048 atoms, bcc Mo/Li 10x10x10 = 2,000, diamond Si/Ge
8x8x8 = 4,096) at a PBE-like lattice constant, velocities at 300 K (fixed seed), `fix nve`, default
timestep (1 fs), `neighbor 1.0 bin` for every style, one MPI rank, OMP_NUM_THREADS=1. Each run does a
warm-up `run` (2 steps) and then the timed `run` (10 steps by default, to stay within a few minutes for six
elements on a 2-core machine; the per-step cost is stationary — the neighbour list is not rebuilt during a
run at 300 K with a 1 Å skin (recorded as neigh_builds) — so only the noise depends on the step count;
--issue runs 100 steps).
The "Pair" row of LAMMPS' MPI task timing breakdown of the timed run gives
    µs/atom-step = Pair time / steps / atoms x 1e6.
Runs are interleaved (for rep: for element: tnace, snap, qsnap) and the table shows medians over the
repetitions.

Builds nothing: it needs tools/setup's LAMMPS and the project build (build/lammps-plugin/tnaceplugin.so).
Results: a table on stdout and the raw timings in bench/results/<UTC date-time>-lammps.json.

Run with /usr/bin/python3 (Debian's; the standard library is enough).
"""
import argparse
import datetime
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LMP = os.path.join(ROOT, "tools", "lmp")
CACHE = os.environ.get("TNACE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "tnace"))
SNAP_DIR = os.environ.get("TNACE_SNAP_DIR", os.path.join(CACHE, "lammps-7Jan2022", "share", "potentials"))

# element: (lattice, a in Å (PBE-like, Zuo et al. 2020 DFT), conventional cells per side, mass)
CRYSTALS = {
    "Cu": ("fcc", 3.621, 8, 63.546),
    "Ni": ("fcc", 3.508, 8, 58.6934),
    "Li": ("bcc", 3.427, 10, 6.94),
    "Mo": ("bcc", 3.164, 10, 95.95),
    "Si": ("diamond", 5.469, 8, 28.085),
    "Ge": ("diamond", 5.763, 8, 72.63),
}
BASIS = {
    "fcc": [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0)],
    "bcc": [(0, 0, 0), (.5, .5, .5)],
    "diamond": [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
                (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)],
    "sc": [(0, 0, 0)],
}
STYLES = ("tnace", "snap", "qsnap")
SKIN = 1.0
SEED = 4928459


def snap_file(el, style):
    """The LAMMPS include file of a Zuo et al. SNAP ('snap') or qSNAP ('qsnap') potential, or None."""
    name = f"{el}_Zuo_JPCA2020.snap" if style == "snap" else f"{el}_Zuo_JPCA2020.quadratic.snap"
    p = os.path.join(SNAP_DIR, name)
    return p if os.path.isfile(p) else None


def tnace_file(el):
    p = os.path.join(ROOT, "potentials", f"{el}.yaml")
    return p if os.path.isfile(p) else None


def potential_file(el, style):
    return tnace_file(el) if style == "tnace" else snap_file(el, style)


def cutoff(el, style):
    """Largest pair cutoff (Å) of a potential: tnace `cutoff:`; SNAP rcutfac x (R_i + R_j)."""
    path = potential_file(el, style)
    if style == "tnace":
        with open(path) as f:
            for line in f:
                m = re.match(r"^cutoff:\s*([0-9.eE+-]+)\s*$", line)
                if m:
                    return float(m.group(1))
        raise RuntimeError(f"{path}: no scalar top-level cutoff")
    with open(path) as f:
        words = [l.split() for l in f if l.strip() and not l.lstrip().startswith("#")]
    coeff, param = [w for w in words if w[0] == "pair_coeff"][0][3:5]
    d = os.path.dirname(path)
    rcutfac = None
    with open(os.path.join(d, param)) as f:
        for l in f:
            w = l.split()
            if len(w) >= 2 and w[0] == "rcutfac":
                rcutfac = float(w[1])
    radius = None
    with open(os.path.join(d, coeff)) as f:
        for l in f:
            w = l.split()
            if len(w) >= 3 and w[0] == el:
                radius = float(w[1])
    return rcutfac * 2.0 * radius


def snap_params(el, style):
    path = snap_file(el, style)
    with open(path) as f:
        words = [l.split() for l in f if l.strip() and not l.lstrip().startswith("#")]
    param = [w for w in words if w[0] == "pair_coeff"][0][4]
    out = {}
    with open(os.path.join(os.path.dirname(path), param)) as f:
        for l in f:
            w = l.split()
            if len(w) >= 2 and not w[0].startswith("#"):
                out[w[0]] = w[1]
    return out


def geometric_neighbours(lattice, a, rc):
    """Neighbours strictly inside rc of a site of the perfect crystal (all sites are equivalent here)."""
    basis = BASIS[lattice]
    n = int(math.ceil(rc / a)) + 1
    o = basis[0]
    count = 0
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            for k in range(-n, n + 1):
                for b in basis:
                    d2 = sum(((c + x - y) * a) ** 2 for c, x, y in zip((i, j, k), b, o))
                    if 1e-12 < d2 < rc * rc:
                        count += 1
    return count


def lammps_input(el, style, natoms_cells, steps, warmup, run_dir, lattice=None, a=None, mass=None, pot=None):
    """The LAMMPS input of one timed run; pot: the tnace potential file (default potentials/<el>.yaml)."""
    lat, a0, _, m0 = CRYSTALS[el]
    lattice, a, mass = lattice or lat, a or a0, mass or m0
    nc = natoms_cells
    lines = [
        "# generated by bench/run_lammps.py",
        "units metal",
        "atom_style atomic",
        "boundary p p p",
        f"lattice {lattice} {a}",
        f"region box block 0 {nc} 0 {nc} 0 {nc}",
        "create_box 1 box",
        "create_atoms 1 box",
        f"mass 1 {mass}",
    ]
    if style == "tnace":
        lines += ["plugin load tnaceplugin.so", "pair_style tnace", f"pair_coeff * * {pot or tnace_file(el)} {el}"]
    else:
        src = snap_file(el, style)
        d = os.path.dirname(src)
        # the include file names its .snapcoeff/.snapparam by bare name: make them findable in the run dir
        with open(src) as f:
            words = [l.split() for l in f if l.strip() and not l.lstrip().startswith("#")]
        for w in words:
            if w[0] == "pair_coeff":
                for fn in w[3:5]:
                    dst = os.path.join(run_dir, fn)
                    if not os.path.exists(dst):
                        os.symlink(os.path.join(d, fn), dst)
        lines += [f"include {src}"]
    lines += [
        f"neighbor {SKIN} bin",
        f"velocity all create 300.0 {SEED} loop geom",
        "fix 1 all nve",
        "thermo_style custom step temp pe etotal press",
        f"thermo {max(steps, warmup, 1)}",
        f"run {warmup}",
        f"run {steps}",
    ]
    return "\n".join(lines) + "\n"


RE_LOOP = re.compile(r"^Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")
RE_CPU = re.compile(r"^([0-9.]+)% CPU use with (\d+) MPI tasks x (\d+) OpenMP threads")
RE_SECTION = re.compile(r"^(Pair|Neigh|Comm|Output|Modify|Other)\s*\|(.*)$")
RE_NEIGH = re.compile(r"^Ave neighs/atom = ([0-9.eE+-]+)")
RE_BUILDS = re.compile(r"^Neighbor list builds = (\d+)")


def parse_log(text):
    """Timing of the last run in a LAMMPS screen log."""
    runs = []
    cur = None
    for line in text.splitlines():
        m = RE_LOOP.match(line)
        if m:
            cur = {"loop_s": float(m.group(1)), "procs": int(m.group(2)), "steps": int(m.group(3)),
                   "atoms": int(m.group(4)), "sections": {}}
            runs.append(cur)
            continue
        if cur is None:
            continue
        m = RE_CPU.match(line)
        if m:
            cur["cpu_pct"] = float(m.group(1))
            cur["threads"] = int(m.group(3))
            continue
        m = RE_SECTION.match(line)
        if m:
            vals = [v.strip() for v in m.group(2).split("|")]
            nums = []
            for v in vals[:3]:
                try:
                    nums.append(float(v))
                except ValueError:
                    nums.append(None)
            mn, avg, mx = nums
            cur["sections"][m.group(1)] = {"min": mn if mn is not None else avg, "avg": avg,
                                           "max": mx if mx is not None else avg}
            continue
        m = RE_NEIGH.match(line)
        if m:
            cur["ave_neighs_list"] = float(m.group(1))
        m = RE_BUILDS.match(line)
        if m:
            cur["neigh_builds"] = int(m.group(1))
    if not runs or "Pair" not in runs[-1]["sections"]:
        raise RuntimeError("no timing breakdown in the LAMMPS output")
    return runs[-1]


def lmp_env(threads=1):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    return env


def run_one(el, style, cells, steps, warmup, ranks=1, lattice=None, a=None, mass=None, keep_dir=None, threads=1,
            pot=None):
    run_dir = tempfile.mkdtemp(prefix=f"tnace-bench-{el}-{style}-")
    try:
        inp = lammps_input(el, style, cells, steps, warmup, run_dir, lattice, a, mass, pot)
        with open(os.path.join(run_dir, "in.bench"), "w") as f:
            f.write(inp)
        cmd = [LMP, "-in", "in.bench", "-log", "none", "-nocite"]
        if ranks > 1:
            cmd = ["mpirun", "-np", str(ranks)] + cmd
        load0 = os.getloadavg()[0]
        t0 = time.time()
        p = subprocess.run(cmd, cwd=run_dir, env=lmp_env(threads), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        wall = time.time() - t0
        if p.returncode != 0:
            sys.stderr.write(p.stdout[-4000:])
            raise RuntimeError(f"LAMMPS failed ({el} {style}, exit {p.returncode}); input in {run_dir}")
        r = parse_log(p.stdout)
        # total energy at the start and end of the timed run (thermo prints both): a sanity check
        thermo = re.findall(r"^\s*(\d+)\s+([-0-9.eE+]+)\s+([-0-9.eE+]+)\s+([-0-9.eE+]+)\s+([-0-9.eE+]+)\s*$",
                            p.stdout, re.M)
        if len(thermo) >= 2:
            r["etotal_first"], r["etotal_last"] = float(thermo[-2][3]), float(thermo[-1][3])
        pair = r["sections"]["Pair"]
        n, s = r["atoms"], r["steps"]
        r.update(element=el, style=style, ranks=ranks, omp_threads=threads, wall_s=wall, loadavg_before=load0,
                 loadavg_after=os.getloadavg()[0],
                 us_per_atom_step=pair["avg"] / s / n * 1e6,
                 us_per_atom_step_max=pair["max"] / s / n * 1e6,
                 # wall time scaled by the process' CPU share: what an idle machine would roughly show
                 us_per_atom_step_cpu=pair["avg"] / s / n * 1e6 * min(1.0, r.get("cpu_pct", 100.0) / 100.0),
                 loop_us_per_atom_step=r["loop_s"] / s / n * 1e6)
        if keep_dir:
            shutil.copytree(run_dir, os.path.join(keep_dir, os.path.basename(run_dir)))
        return r
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def machine_info():
    info = {}
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache", "Hypervisor vendor"):
            m = re.search(rf"^{re.escape(key)}:\s*(.*)$", out, re.M)
            if m:
                info[key] = m.group(1).strip()
    except OSError:
        pass
    try:
        info["cc"] = subprocess.run(["cc", "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        pass
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "lammps-plugin"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        info["git"] = rev + (" (src/ or lammps-plugin/ modified)" if dirty else "")
    except OSError:
        pass
    lib = os.path.join(ROOT, "build", "libtnace.so")
    if os.path.exists(lib):
        info["libtnace_mtime"] = datetime.datetime.utcfromtimestamp(os.path.getmtime(lib)).isoformat() + "Z"
    info["loadavg"] = os.getloadavg()
    return info


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elements", default=None, help="comma-separated (default: all with a tnace and a SNAP file)")
    ap.add_argument("--styles", default=",".join(STYLES), help="comma-separated subset of tnace,snap,qsnap")
    ap.add_argument("--steps", type=int, default=10, help="timed NVE steps per run (default 10; issue protocol: 100)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before the timed run (default 2)")
    ap.add_argument("--issue", action="store_true", help="the issue's protocol: --steps 100 --warmup 10 (slow)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions; the table shows medians")
    ap.add_argument("--quick", action="store_true", help="smoke test: --reps 1 --steps 10 --warmup 2")
    ap.add_argument("--out", default=None, help="JSON results file (default bench/results/<date>-lammps.json)")
    ap.add_argument("--no-save", action="store_true", help="do not write the JSON file")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.steps, args.warmup = 1, 5, 1
    if args.issue:
        args.steps, args.warmup = 100, 10
    styles = [s for s in args.styles.split(",") if s]
    for s in styles:
        if s not in STYLES:
            ap.error(f"unknown style {s}")
    if args.elements:
        elements = args.elements.split(",")
    else:
        elements = [el for el in CRYSTALS if tnace_file(el) and (snap_file(el, "snap") or snap_file(el, "qsnap"))]
    if not os.path.exists(os.path.join(ROOT, "build", "lammps-plugin", "tnaceplugin.so")) and "tnace" in styles:
        sys.exit("no build/lammps-plugin/tnaceplugin.so: build the project first (tools/test or cmake)")

    jobs = []
    for el in elements:
        if el not in CRYSTALS:
            sys.exit(f"no crystal defined for {el}")
        for st in styles:
            if potential_file(el, st):
                jobs.append((el, st))
            else:
                print(f"# skip {el} {st}: no potential file", file=sys.stderr)
    if not jobs:
        sys.exit("nothing to run")

    info = machine_info()
    print(f"# {info.get('Model name', '?')}, {info.get('CPU(s)', '?')} CPUs; load average {info['loadavg'][0]:.2f} "
          f"{info['loadavg'][1]:.2f} {info['loadavg'][2]:.2f}; tnace {info.get('git', '?')}")
    print(f"# {len(jobs)} runs x {args.reps} reps, {args.warmup} warm-up + {args.steps} timed NVE steps, "
          f"1 MPI rank, OMP_NUM_THREADS=1, neighbor {SKIN} bin", flush=True)
    results = []
    t_start = time.time()
    for rep in range(args.reps):
        for el, st in jobs:
            cells = CRYSTALS[el][2]
            r = run_one(el, st, cells, args.steps, args.warmup)
            r["rep"] = rep
            results.append(r)
            print(f"#   rep {rep + 1}/{args.reps} {el:2s} {st:5s} {r['us_per_atom_step']:8.2f} us/atom-step "
                  f"(CPU {r.get('cpu_pct', float('nan')):.0f}%, load {r['loadavg_before']:.2f})", flush=True)
    elapsed = time.time() - t_start

    # summary
    rows = []
    for el, st in jobs:
        rs = [r for r in results if r["element"] == el and r["style"] == st]
        lat, a, nc, _ = CRYSTALS[el]
        rc = cutoff(el, st)
        row = {
            "element": el, "style": st, "file": os.path.basename(potential_file(el, st)),
            "crystal": f"{lat} {el}", "a": a, "atoms": rs[0]["atoms"], "cutoff": rc,
            "neigh_geom": geometric_neighbours(lat, a, rc),
            "neigh_list": rs[0].get("ave_neighs_list"),
            "us": med([r["us_per_atom_step"] for r in rs]),
            "us_min": min(r["us_per_atom_step"] for r in rs),
            "us_max": max(r["us_per_atom_step"] for r in rs),
            "us_cpu": med([r["us_per_atom_step_cpu"] for r in rs]),
            "cpu_pct": med([r.get("cpu_pct", float("nan")) for r in rs]),
            "n": len(rs),
        }
        if st != "tnace":
            p = snap_params(el, st)
            row["twojmax"] = int(p.get("twojmax", 0))
        rows.append(row)
    by = {(r["element"], r["style"]): r for r in rows}
    for r in rows:
        q = by.get((r["element"], "qsnap"))
        s = by.get((r["element"], "snap"))
        r["ratio_qsnap"] = r["us"] / q["us"] if q else None
        r["ratio_snap"] = r["us"] / s["us"] if s else None

    print()
    print(f"pair_style timings, median of {args.reps} interleaved runs ({args.steps} NVE steps each), "
          f"1 rank, 1 thread")
    hdr = (f"{'el':2s}  {'style':5s}  {'potential':34s} {'crystal':12s} {'atoms':>5s}  {'rc/A':>5s} "
           f"{'neigh':>5s} {'list':>5s}  {'us/atom-step':>12s} {'(min-max)':>15s} {'CPU-adj':>8s} {'CPU%':>5s}  "
           f"{'/qSNAP':>6s} {'/SNAP':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        rq = f"{r['ratio_qsnap']:6.2f}" if r["ratio_qsnap"] is not None else "     -"
        rs_ = f"{r['ratio_snap']:6.2f}" if r["ratio_snap"] is not None else "     -"
        style = r["style"] + (f"{r['twojmax']}" if "twojmax" in r else "")
        print(f"{r['element']:2s}  {r['style']:5s}  {r['file']:34s} {r['crystal']:12s} {r['atoms']:5d}  "
              f"{r['cutoff']:5.2f} {r['neigh_geom']:5d} {r['neigh_list'] or 0:5.1f}  {r['us']:12.2f} "
              f"{'(' + format(r['us_min'], '.1f') + '-' + format(r['us_max'], '.1f') + ')':>15s} "
              f"{r['us_cpu']:8.2f} {r['cpu_pct']:5.0f}  {rq} {rs_}")
    print("-" * len(hdr))
    print("neigh: neighbours inside the potential's cutoff in the perfect crystal; list: LAMMPS 'Ave neighs/atom'"
          " (full lists within cutoff + 1 A skin, for both styles)")
    print("CPU-adj: us/atom-step x LAMMPS '% CPU use' (corrects for other processes on the machine)")
    for el in dict.fromkeys(r["element"] for r in rows):
        t, q, s = by.get((el, "tnace")), by.get((el, "qsnap")), by.get((el, "snap"))
        if t and q:
            msg = f"{el}: tnace / qSNAP = {t['us'] / q['us']:.2f}"
            if s:
                msg += f", tnace / SNAP = {t['us'] / s['us']:.2f}"
            msg += " (target <= 0.5 x qSNAP: " + ("met" if t["us"] <= 0.5 * q["us"] else "NOT met") + ")"
            print(msg)
    builds = sorted({r.get("neigh_builds", -1) for r in results})
    print(f"neighbour-list rebuilds during the timed runs: {builds}")
    print(f"total benchmark time {elapsed:.0f} s; load average now {os.getloadavg()[0]:.2f}")

    if not args.no_save:
        out = args.out
        if not out:
            os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
            stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
            out = os.path.join(ROOT, "bench", "results", f"{stamp}-lammps.json")
        with open(out, "w") as f:
            json.dump({"kind": "lammps", "date": datetime.datetime.utcnow().isoformat() + "Z",
                       "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
                       "settings": {"steps": args.steps, "warmup": args.warmup, "reps": args.reps, "skin": SKIN,
                                    "seed": SEED, "temperature_K": 300, "ranks": 1, "omp_threads": 1},
                       "machine": info, "elapsed_s": elapsed, "summary": rows, "runs": results}, f, indent=1)
        print(f"raw timings: {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
