#!/usr/bin/python3
"""Select structures for DFT from a pool by the extrapolation grade of a tnace potential.

    tools/select_by_grade.py POTENTIAL.yaml POOL.xyz [POOL2.xyz ...] -n K [--threshold G] -o SELECTED.xyz

Grades every structure of the pool with tnace-eval --grade (the largest per-atom grade γ_max of each
structure; docs/extrapolation-grade.md), keeps those with γ_max above --threshold (default 1.1: outside the
span of the training environments), and writes the K with the largest γ_max, each frame copied verbatim from
its file, to SELECTED.xyz (extxyz). Prints one line per pool structure, sorted by γ_max, with its source
(file:line) and config_type. Structures the potential cannot evaluate (atoms closer than its r_min) are
selected first: they are as far from the training data as it gets.

The pool may be a DFT-labelled set (then the labels come along) or unlabelled frames from an MD dump
converted to extxyz (tools/extxyz_dump.py): the frames are copied as they are.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from extxyz_frames import frames  # noqa: E402  (the repository's one frame splitter)

HERE = os.path.dirname(os.path.abspath(__file__))


def grade_table(pot, pools, tnace_eval, threads):
    """{(file, line): (grade_max, config_type)} from tnace-eval --grade --predictions."""
    with tempfile.TemporaryDirectory() as d:
        pred = os.path.join(d, "pred.tsv")
        cmd = [tnace_eval, pot, *pools, "--grade", "--skip-bad", "--predictions", pred, "--threads", str(threads)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("select_by_grade: %s failed:\n%s" % (" ".join(cmd), r.stderr))
        out = {}
        for line in open(pred):
            if line.startswith("S\t"):
                x = line.rstrip("\n").split("\t")
                src = x[2]
                path, ln = src.rsplit(":", 1)
                out[(os.path.abspath(path), int(ln))] = (float(x[19]), x[3])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("potential")
    ap.add_argument("pool", nargs="+")
    ap.add_argument("-n", type=int, required=True, help="number of structures to select")
    ap.add_argument("--threshold", type=float, default=1.1, help="select only above this grade (default 1.1)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tnace-eval", default=os.environ.get("TNACE_EVAL", os.path.join(HERE, "..", "build",
                                                                                      "tnace-eval")))
    a = ap.parse_args()
    g = grade_table(a.potential, a.pool, a.tnace_eval, a.threads)
    rows = []
    for p in a.pool:
        for ln, text in frames(p):
            gm, ct = g.get((os.path.abspath(p), ln), (float("inf"), "?"))  # not evaluable: farthest out
            rows.append((gm, "%s:%d" % (p, ln), ct, text))
    rows.sort(key=lambda r: -r[0])
    chosen = [r for r in rows if r[0] > a.threshold][:a.n]
    with open(a.output, "w") as f:
        for r in chosen:
            f.write(r[3])
    for r in rows:
        print("%s %12.4g  %-12s %s" % ("*" if any(r is c for c in chosen) else " ", r[0], r[2], r[1]))
    print("selected %d of %d structures (grade above %g) into %s" % (len(chosen), len(rows), a.threshold, a.output))


if __name__ == "__main__":
    main()
