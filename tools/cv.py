#!/usr/bin/python3
"""Read, check, merge and compare the cross-validation files written by `tnace-fit CONFIG --cv K`.

    tools/cv.py table A.cv.json [B.cv.json ...]     overall CV MAE (mean ± s.e. over folds) per file
    tools/cv.py groups A.cv.json                    the same per config_type
    tools/cv.py compare A.cv.json B.cv.json         paired comparison per structure (same folds needed)
    tools/cv.py merge OUT.cv.json PART.cv.json ...  join runs of disjoint --fold subsets into one file
    tools/cv.py check A.cv.json                     internal consistency (used by ctest)

Definitions (the same as src/fit/cv.h): a fold's MAE is over its held-out structures; "mean ± s.e." is the
mean of the fold MAEs and sd/sqrt(F). Energies in meV/atom, forces in eV/Å per component.
The paired comparison takes, per structure, d = |err_B| − |err_A| (energy per atom, and the structure's
force MAE); it reports mean(d) ± s.e. and how many structures B predicts better. Two candidates fitted
with the same data, k and data.seed share the folds, so the pairing removes the structure-to-structure
spread that dominates an unpaired comparison of two CV means.
Only the Python standard library is used.
"""
import json
import math
import os
import sys


def load(path):
    """The cross_validation block of a .cv.json file; exits with a message naming the file (and, for bad JSON,
    the line and column) if it cannot be read."""
    try:
        with open(path) as f:
            d = json.load(f)
    except OSError as e:
        sys.exit(f"tools/cv.py: {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"tools/cv.py: {path}:{e.lineno}:{e.colno}: not JSON ({e.msg})")
    if not isinstance(d, dict):
        sys.exit(f"tools/cv.py: {path}: not a cross-validation file (a JSON object is expected)")
    cv = d.get("cross_validation", d)
    if "structures" not in cv:
        sys.exit(f"{path}: no per-structure list (a metrics file holds only the table; use the .cv.json file)")
    return cv


def mean_se(values):
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan"), 0
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, float("nan"), len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)), len(v)


def fold_maes(cv, group=None):
    """Per fold: (energy MAE, force MAE) recomputed from the per-structure errors of one group (None: all)."""
    out = {}
    for f in sorted({s["fold"] for s in cv["structures"] if s["fold"] >= 0}):
        ss = [s for s in cv["structures"] if s["fold"] == f and (group is None or s["config_type"] == group)]
        e = [abs(s["e_err"]) for s in ss if s["e_err"] is not None]
        fa = sum(s["f_mae"] * s["n_f"] for s in ss if s["f_mae"] is not None)
        nf = sum(s["n_f"] for s in ss if s["f_mae"] is not None)
        out[f] = (sum(e) / len(e) if e else None, fa / nf if nf else None)
    return out


def fmt(m, se, digits):
    if not math.isfinite(m):
        return "-"
    return f"{m:.{digits}f} ± {se:.{digits}f}" if math.isfinite(se) else f"{m:.{digits}f}"


def cmd_table(paths):
    print(f"{'file':40s} {'folds':>5s}  {'E MAE (meV/atom)':>18s}  {'F MAE (eV/A)':>18s}")
    for p in paths:
        cv = load(p)
        fm = fold_maes(cv)
        e = mean_se([v[0] for v in fm.values()])
        f = mean_se([v[1] for v in fm.values()])
        print(f"{p:40s} {len(fm):>2d}/{cv['k']:<2d}  {fmt(e[0], e[1], 3):>18s}  {fmt(f[0], f[1], 4):>18s}")


def cmd_groups(path):
    cv = load(path)
    groups = sorted({s["config_type"] for s in cv["structures"]})
    print(f"{'config_type':24s} {'n':>5s}  {'E MAE (meV/atom)':>18s}  {'F MAE (eV/A)':>18s}")
    for g in [None] + groups:
        fm = fold_maes(cv, g)
        e = mean_se([v[0] for v in fm.values()])
        f = mean_se([v[1] for v in fm.values()])
        n = sum(1 for s in cv["structures"] if g is None or s["config_type"] == g)
        print(f"{g or 'overall':24s} {n:>5d}  {fmt(e[0], e[1], 3):>18s}  {fmt(f[0], f[1], 4):>18s}")


def structure_key(s):
    """(file name, line, fold): runs from different folders name the same file by different paths."""
    path, _, line = s["source"].rpartition(":")
    return (os.path.basename(path), line, s["fold"])


def cmd_compare(pa, pb):
    a, b = load(pa), load(pb)
    key = structure_key
    sa = {key(s): s for s in a["structures"] if s["fold"] >= 0}
    sb = {key(s): s for s in b["structures"] if s["fold"] >= 0}
    common = sorted(set(sa) & set(sb))
    if not common:
        sys.exit(f"{pa} and {pb} share no (structure, fold): different data, k or data.seed")
    if len(common) < max(len(sa), len(sb)):
        print(f"note: {len(common)} structures in both (A {len(sa)}, B {len(sb)})")
    for q, name, unit, digits in (("e_err", "energy", "meV/atom", 3), ("f_mae", "forces", "eV/A", 4)):
        d = [abs(sb[k][q]) - abs(sa[k][q]) for k in common if sa[k][q] is not None and sb[k][q] is not None]
        m, se, n = mean_se(d)
        wins = sum(1 for x in d if x < 0)
        print(f"{name:7s} |B| - |A| = {fmt(m, se, digits)} {unit} over {n} structures; B better on {wins} of {n}"
              + (f"  ({m / se:+.1f} s.e.)" if math.isfinite(se) and se > 0 else ""))


def cmd_merge(out, parts):
    cvs = [load(p) for p in parts]
    base = cvs[0]
    # (file name, line): parts run from different folders name the same data file by different paths
    srcs = [structure_key(s)[:2] for s in base["structures"]]
    for p, cv in zip(parts[1:], cvs[1:]):
        if cv["k"] != base["k"] or cv["seed"] != base["seed"] or [structure_key(s)[:2] for s in cv["structures"]] != srcs:
            sys.exit(f"{p}: another cross-validation (k, seed or structures differ from {parts[0]})")
    merged = dict(base)
    merged["structures"] = [dict(s) for s in base["structures"]]
    merged["folds"] = list(base["folds"])
    done = set(base["folds_done"])
    for p, cv in zip(parts[1:], cvs[1:]):
        clash = done & set(cv["folds_done"])
        if clash:
            sys.exit(f"{p}: fold(s) {sorted(clash)} already in another part")
        done |= set(cv["folds_done"])
        merged["folds"] += cv["folds"]
        for s, t in zip(merged["structures"], cv["structures"]):
            if t["fold"] >= 0:
                s.update(t)
    merged["folds_done"] = sorted(done)
    merged["folds"].sort(key=lambda f: f["fold"])
    for key in ("overall", "per_config_type"):   # recomputed from the structures by `table` and `groups`
        merged.pop(key, None)
    with open(out, "w") as f:
        json.dump({"generator": "tools/cv.py merge", "parts": parts, "cross_validation": merged}, f, indent=1)
    print(f"wrote {out}: folds {merged['folds_done']} of {merged['k']}")


def cmd_check(path):
    cv = load(path)
    bad = []
    st = cv["structures"]
    k = cv["k"]
    for f in cv["folds"]:
        n = sum(1 for s in st if s["fold"] == f["fold"])
        if n != f["n_test"]:
            bad.append(f"fold {f['fold']}: n_test {f['n_test']} but {n} structures carry it")
        e = [abs(s["e_err"]) for s in st if s["fold"] == f["fold"] and s["e_err"] is not None]
        if f["energy"] and abs(sum(e) / len(e) - f["energy"]["mae"]) > 1e-8 * max(1, f["energy"]["mae"]):
            bad.append(f"fold {f['fold']}: energy MAE {f['energy']['mae']} != mean |e_err| {sum(e) / len(e)}")
    if any(s["fold"] < -1 or s["fold"] >= k for s in st):
        bad.append("a fold index out of range")
    if len(cv["folds_done"]) == k and any(s["fold"] < 0 for s in st):
        bad.append("all folds done but a structure was never held out")
    ov = cv.get("overall")
    if ov and ov["energy"]:
        fm = fold_maes(cv)
        m, se, n = mean_se([v[0] for v in fm.values()])
        e = ov["energy"]
        if n != e["n_folds"] or abs(m - e["mae_mean"]) > 1e-8 * max(1, m) or (n > 1 and abs(se - e["mae_se"]) > 1e-8 * max(1, se)):
            bad.append(f"overall energy mean ± s.e. {e['mae_mean']} ± {e['mae_se']} != {m} ± {se} from the structures")
        pooled = [abs(s["e_err"]) for s in st if s["fold"] >= 0 and s["e_err"] is not None]
        if abs(sum(pooled) / len(pooled) - e["mae_pooled"]) > 1e-8 * max(1, e["mae_pooled"]):
            bad.append(f"pooled energy MAE {e['mae_pooled']} != {sum(pooled) / len(pooled)}")
    for b in bad:
        print(f"{path}: {b}")
    print(f"{path}: {'FAILED' if bad else 'ok'} ({len(st)} structures, folds {cv['folds_done']} of {k})")
    return 1 if bad else 0


def main(argv):
    if len(argv) < 3 or argv[1] not in ("table", "groups", "compare", "merge", "check"):
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "table":
        cmd_table(args)
    elif cmd == "groups":
        cmd_groups(args[0])
    elif cmd == "compare":
        if len(args) != 2:
            sys.exit("compare needs two files")
        cmd_compare(*args)
    elif cmd == "merge":
        if len(args) < 3:
            sys.exit("merge needs OUT and at least two parts")
        cmd_merge(args[0], args[1:])
    else:
        return cmd_check(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
