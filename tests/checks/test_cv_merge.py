#!/usr/bin/python3
"""tools/cv.py merge: parts of one cross-validation rejoin to the whole, whichever folder each part ran from.

    test_cv_merge.py CV.cv.json      (a tnace-fit --cv file with every fold done; ctest passes tiny_cv.cv.json)

Splits CV.cv.json into two parts of disjoint folds as `tnace-fit --fold` writes them (the other folds' structures
with fold -1 and no errors), names the data file in one part by a relative path and in the other by an absolute
one (runs started in different folders), merges them and checks that the merged file has every fold and the same
per-structure errors as CV.cv.json and passes `tools/cv.py check`. Then checks that merge still refuses a part of
another cross-validation (other line numbers, and another k). Fails with a message on stdout and exit status 1.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

CV_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "cv.py")


def part(whole, folds, prefix):
    """The file `tnace-fit --fold FOLDS` would have written, its sources starting with prefix."""
    d = copy.deepcopy(whole)
    cv = d["cross_validation"]
    cv["folds_done"] = sorted(folds)
    cv["folds"] = [f for f in cv["folds"] if f["fold"] in folds]
    for s in cv["structures"]:
        path, _, line = s["source"].rpartition(":")
        s["source"] = f"{prefix}{os.path.basename(path)}:{line}"
        if s["fold"] not in folds:
            s.update(fold=-1, e_err=None, f_mae=None, n_f=0)
    return d


def merge(tmp, parts):
    names = []
    for i, p in enumerate(parts):
        names.append(os.path.join(tmp, f"part{i}.cv.json"))
        with open(names[-1], "w") as f:
            json.dump(p, f)
    out = os.path.join(tmp, "merged.cv.json")
    r = subprocess.run([sys.executable, CV_PY, "merge", out] + names, capture_output=True, text=True)
    return r, out


def main():
    with open(sys.argv[1]) as f:
        whole = json.load(f)
    folds = sorted(whole["cross_validation"]["folds_done"])
    if len(folds) < 2:
        print(f"{sys.argv[1]}: needs at least 2 folds done, has {folds}")
        return 1
    a, b = set(folds[: len(folds) // 2]), set(folds[len(folds) // 2:])
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        r, out = merge(tmp, [part(whole, a, "configs/cv/../../data/"), part(whole, b, "/abs/elsewhere/data/")])
        if r.returncode != 0:
            bad.append(f"merge of parts named by relative and absolute paths failed: {r.stderr.strip()}")
        else:
            with open(out) as f:
                merged = json.load(f)["cross_validation"]
            if merged["folds_done"] != folds:
                bad.append(f"merged folds {merged['folds_done']}, expected {folds}")
            for s, t in zip(merged["structures"], whole["cross_validation"]["structures"]):
                if (s["fold"], s["e_err"], s["f_mae"], s["n_f"]) != (t["fold"], t["e_err"], t["f_mae"], t["n_f"]):
                    bad.append(f"structure {t['source']}: merged {s}, expected {t}")
                    break
            chk = subprocess.run([sys.executable, CV_PY, "check", out], capture_output=True, text=True)
            if chk.returncode != 0:
                bad.append(f"tools/cv.py check of the merged file failed: {chk.stdout.strip()} {chk.stderr.strip()}")
        other = part(whole, b, "")
        for s in other["cross_validation"]["structures"]:
            path, _, line = s["source"].rpartition(":")
            s["source"] = f"{path}:{int(line) + 1}"
        r, _ = merge(tmp, [part(whole, a, ""), other])
        if r.returncode == 0 or "another cross-validation" not in r.stderr:
            bad.append(f"a part with other structures was not refused (rc {r.returncode}: {r.stderr.strip()})")
        other = part(whole, b, "")
        other["cross_validation"]["k"] += 1
        r, _ = merge(tmp, [part(whole, a, ""), other])
        if r.returncode == 0 or "another cross-validation" not in r.stderr:
            bad.append(f"a part with another k was not refused (rc {r.returncode}: {r.stderr.strip()})")
    for m in bad:
        print(m)
    print("ok" if not bad else f"{len(bad)} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
