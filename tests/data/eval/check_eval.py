#!/usr/bin/python3
"""End-to-end checks of tnace-eval (registered by tests/evalcli.cmake).

  check_eval.py EXE POTENTIAL DATA.xyz WORKDIR
      --json output is exactly one JSON object with the documented shape; counts are right; per-config_type
      counts add up to the overall ones; every MAE/RMSE agrees with the numbers recomputed from the
      --predictions file; output is independent of --threads; the table agrees; and the potential's own
      predictions written back as reference data give zero errors.
  check_eval.py --plot PLOT_SCRIPT EXE POTENTIAL DATA.xyz WORKDIR
      tools/plot_parity.py on a --predictions file writes non-empty PNG files for energy, forces, stress.

Only the standard library is used (json, subprocess). Exit status 0 = pass.
"""
import json
import math
import os
import re
import subprocess
import sys

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def close(a, b, rel=2e-5, abs_=1e-9):
    return a is not None and b is not None and abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def read_predictions(path):
    structs, forces = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            t = line.rstrip("\n").split("\t")
            if t[0] == "S":
                assert len(t) == 19, line
                v = [float(x) for x in t[5:]]
                structs[int(t[1])] = dict(source=t[2], ct=t[3], n=int(t[4]), e_ref=v[0], e_pred=v[1], s_ref=v[2:8],
                                          s_pred=v[8:14])
            elif t[0] == "F":
                assert len(t) == 10, line
                v = [float(x) for x in t[4:]]
                forces.append((int(t[1]), int(t[2]), t[3], v[0:3], v[3:6]))
            else:
                raise AssertionError("unknown record " + line)
    return structs, forces


def stats(d):
    if not d:
        return None
    return dict(mae=sum(abs(x) for x in d) / len(d), rmse=math.sqrt(sum(x * x for x in d) / len(d)), n=len(d))


def recompute(structs, forces, want_ct=None):
    de, df, ds = [], [], []
    for s in structs.values():
        if want_ct is not None and s["ct"] != want_ct:
            continue
        if math.isfinite(s["e_ref"]):
            de.append((s["e_pred"] - s["e_ref"]) * 1000.0)
        for r, p in zip(s["s_ref"], s["s_pred"]):
            if math.isfinite(r):
                ds.append(p - r)
    for idx, _a, _el, ref, pred in forces:
        if want_ct is not None and structs[idx]["ct"] != want_ct:
            continue
        for r, p in zip(ref, pred):
            if math.isfinite(r):
                df.append(p - r)
    return stats(de), stats(df), stats(ds)


def compare_block(got, want, what, rel=2e-5, abs_=1e-9):
    if want is None:
        check(got is None, f"{what}: expected null, got {got}")
        return
    check(isinstance(got, dict), f"{what}: expected an object, got {got}")
    if not isinstance(got, dict):
        return
    check(got.get("n") == want["n"], f"{what}: n {got.get('n')} != {want['n']}")
    for k in ("mae", "rmse"):
        check(close(got.get(k), want[k], rel, abs_), f"{what}: {k} {got.get(k)} != recomputed {want[k]}")


def parse_xyz(path):
    """Frames of a simple extxyz file as (count line, comment line, atom lines)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    frames, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n = int(lines[i])
        frames.append((n, lines[i + 1], lines[i + 2:i + 2 + n]))
        i += 2 + n
    return frames


def main_json(exe, pot, data, work):
    pred = os.path.join(work, "pred.tsv")
    rc, out, err = run([exe, pot, data, "--json", "--predictions", pred, "--threads", "2"])
    check(rc == 0 and err == "", f"--json: exit status {rc}, stderr {err!r}")
    try:
        j = json.loads(out)   # the whole stdout: exactly one JSON value
    except ValueError as e:
        check(False, f"stdout is not one JSON object: {e}: {out!r}")
        return
    check(isinstance(j, dict) and out.endswith("}\n") and out.count("\n") == 1, "one object on one line")
    for k in ("potential", "data", "n_structures", "n_atoms", "n_skipped", "energy", "forces", "stress",
              "per_config_type"):
        check(k in j, f"key {k} missing")
    check(j.get("potential") == pot and j.get("data") == [data], "potential / data paths")
    check(j.get("n_structures") == 7 and j.get("n_atoms") == 38 and j.get("n_skipped") == 0,
          f"counts {j.get('n_structures')} {j.get('n_atoms')} {j.get('n_skipped')}")
    groups = j.get("per_config_type", {})
    check(sorted(groups) == ["(none)", "Bulk", "Surface", "Vacancy", 'odd "name" x'], f"groups {sorted(groups)}")
    check(list(groups) == sorted(groups), "groups in name order")
    for key in ("n_structures", "n_atoms"):
        check(sum(g[key] for g in groups.values()) == j[key], f"per_config_type {key} sums to overall")
    for key in ("energy", "forces", "stress"):
        check(sum((g[key] or {}).get("n", 0) for g in groups.values()) == (j[key] or {}).get("n", 0),
              f"per_config_type {key} counts sum to overall")
    check(groups.get("Surface", {}).get("stress", 1) is None, "Surface (pbc T T F): stress null")
    check(groups.get("(none)", {}).get("forces", 1) is None, "(none) has no forces: null")
    check(groups.get("Vacancy", {}).get("stress", {}).get("n") == 6, "one Vacancy structure with stress: 6 components")

    structs, forces = read_predictions(pred)
    check(sorted(structs) == list(range(7)), f"structure indices {sorted(structs)}")
    check(len(forces) == 38, f"{len(forces)} force lines")
    check(all(s["source"].endswith(".xyz:%d" % ln) for s, ln in zip([structs[i] for i in range(7)],
                                                                      [1, 7, 13, 22, 31, 41, 47])),
          "source file:line of each structure")
    check(sum(s["n"] for s in structs.values()) == 38, "n_atoms in S lines")
    e, f, s = recompute(structs, forces)
    compare_block(j.get("energy"), e, "energy")
    compare_block(j.get("forces"), f, "forces")
    compare_block(j.get("stress"), s, "stress")
    for name, g in groups.items():
        e, f, s = recompute(structs, forces, name)
        compare_block(g.get("energy"), e, name + " energy")
        compare_block(g.get("forces"), f, name + " forces")
        compare_block(g.get("stress"), s, name + " stress")

    rc1, out1, _ = run([exe, pot, data, "--json", "--threads", "1"])
    check(rc1 == 0 and out1 == out, "--threads 1 gives the same JSON as --threads 2")
    rc, tab, err = run([exe, "--threads=3", pot, data])
    check(rc == 0, f"table: exit status {rc}")
    m = re.search(r"^overall +(\d+) +(\d+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+)$", tab, re.M)
    check(m is not None, "table has an overall row:\n" + tab)
    if m:
        v = [float(x) for x in m.groups()[2:]]
        w = [j["energy"]["mae"], j["energy"]["rmse"], j["forces"]["mae"], j["forces"]["rmse"], j["stress"]["mae"],
             j["stress"]["rmse"]]
        check(int(m.group(1)) == 7 and int(m.group(2)) == 38 and v == w, f"table overall {m.groups()} vs JSON {w}")

    # The potential's predictions as reference values: zero errors everywhere.
    frames = parse_xyz(data)
    check(len(frames) == 7, f"{len(frames)} frames in {data}")
    selfref = os.path.join(work, "self_reference.xyz")
    voigt = {(0, 0): 0, (1, 1): 1, (2, 2): 2, (1, 2): 3, (2, 1): 3, (0, 2): 4, (2, 0): 4, (0, 1): 5, (1, 0): 5}
    by_struct = {}
    for idx, atom, _el, _ref, p in forces:
        by_struct.setdefault(idx, {})[atom] = p
    with open(selfref, "w", encoding="utf-8") as fo:
        for i, (n, comment, atoms) in enumerate(frames):
            st = structs[i]
            c = re.sub(r'\s(energy=\S+|stress="[^"]*")', "", " " + comment).strip()
            c = re.sub(r"Properties=\S+", "Properties=species:S:1:pos:R:3:forces:R:3", c)
            c += " energy=%.17g" % (st["e_pred"] * n)
            if all(math.isfinite(x) for x in st["s_pred"]):
                c += ' stress="%s"' % " ".join("%.17g" % (st["s_pred"][voigt[a, b]] / 160.21766208)
                                               for a in range(3) for b in range(3))
            fo.write("%d\n%s\n" % (n, c))
            for a, line in enumerate(atoms):
                t = line.split()
                fo.write("%s %s %s %s %.17g %.17g %.17g\n" % (t[0], t[1], t[2], t[3], *by_struct[i][a]))
    rc, out, err = run([exe, pot, selfref, "--json"])
    check(rc == 0, f"self reference: exit status {rc}: {err}")
    if rc == 0:
        z = json.loads(out)
        check(z["n_structures"] == 7 and z["energy"]["n"] == 7 and z["forces"]["n"] == 114 and z["stress"]["n"] == 36,
              f"self reference counts {z}")
        # predictions are written with 12 significant digits: errors are rounding only
        check(z["energy"]["rmse"] < 1e-6 and z["forces"]["rmse"] < 1e-9 and z["stress"]["rmse"] < 1e-6,
              f"self reference errors not zero: {z['energy']} {z['forces']} {z['stress']}")
        for name, g in z["per_config_type"].items():
            for k, tol in (("energy", 1e-6), ("forces", 1e-9), ("stress", 1e-6)):
                check(g[k] is None or g[k]["mae"] < tol, f"self reference {name} {k}: {g[k]}")


def main_plot(script, exe, pot, data, work):
    pred = os.path.join(work, "plot_pred.tsv")
    rc, _out, err = run([exe, pot, data, "--predictions", pred])
    check(rc == 0, f"tnace-eval --predictions: {rc} {err}")
    prefix = os.path.join(work, "parity")
    names = [prefix + x for x in ("_energy.png", "_forces.png", "_stress.png")]
    for n in names:
        if os.path.exists(n):
            os.remove(n)
    rc, out, err = run([sys.executable, script, pred, "--out-prefix", prefix, "--title", "test"])
    check(rc == 0, f"plot_parity.py: exit status {rc}: {err}")
    for n in names:
        ok = os.path.exists(n) and os.path.getsize(n) > 1000
        if ok:
            with open(n, "rb") as f:
                ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
        check(ok, f"{n} is a PNG file")
    bad = os.path.join(work, "bad_pred.tsv")
    with open(bad, "w") as f:
        f.write("S\t0\tx\n")
    rc, out, err = run([sys.executable, script, bad, "--out-prefix", prefix + "_bad"])
    check(rc == 1 and "bad_pred.tsv:1:" in err, f"malformed predictions file: {rc} {err!r}")


def main(argv):
    if len(argv) == 6 and argv[0] == "--plot":
        main_plot(*argv[1:])
    elif len(argv) == 4:
        main_json(*argv)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print("check_eval: %d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
