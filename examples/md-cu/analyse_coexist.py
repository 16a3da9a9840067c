#!/usr/bin/python3
"""analyse_coexist.py — melting point from the NPH solid–liquid coexistence run of in.coexist.

    /usr/bin/python3 analyse_coexist.py coexist.log [--natoms N]

Reads the thermo lines (step temp press pe v_vpa lx ly lz c_nfcc) of the last run in the LAMMPS log (the NPH
coexistence run), prints the temperature and the number of fcc atoms along the run, and the mean temperature and
its standard error (from block averages over 5 blocks) over the second half. The estimate is valid only if both
phases survived: the fcc count must stay well away from 0 (all liquid) and from the crystal value (all solid);
the script says so when they do not.
"""
import argparse
import sys

import numpy as np


def last_run(path):
    runs, cur, cols = [], None, None
    for line in open(path, errors="replace"):
        t = line.split()
        if t[:2] == ["Step", "Temp"]:
            cols, cur = t, []
            runs.append((cols, cur))
            continue
        if cur is not None:
            if line.startswith("Loop time"):
                cur = None
                continue
            try:
                cur.append([float(x) for x in t])
            except ValueError:
                pass
    if not runs:
        sys.exit("analyse_coexist: no thermo output in %s" % path)
    cols, rows = runs[-1]
    rows = [r for r in rows if len(r) == len(cols)]
    return cols, np.array(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    a = ap.parse_args()
    cols, d = last_run(a.log)
    if "c_nfcc" not in cols or len(d) < 10:
        sys.exit("analyse_coexist: the last run of %s is not the coexistence run (or too short)" % a.log)
    step, T, nf = d[:, 0], d[:, cols.index("Temp")], d[:, cols.index("c_nfcc")]
    print("%8s %8s %8s" % ("step", "T (K)", "fcc"))
    for k in range(0, len(d), max(1, len(d) // 20)):
        print("%8d %8.0f %8d" % (step[k], T[k], nf[k]))
    h = d[len(d) // 2:]
    Th = h[:, cols.index("Temp")]
    blocks = np.array_split(Th, 5)
    bm = np.array([b.mean() for b in blocks])
    err = bm.std(ddof=1) / np.sqrt(len(bm))
    nfh = h[:, cols.index("c_nfcc")]
    print("second half (steps %d-%d): T = %.0f ± %.0f K (block standard error), fcc atoms %.0f-%.0f (start of the run: %.0f)"
          % (h[0, 0], h[-1, 0], Th.mean(), err, nfh.min(), nfh.max(), nf[0]))
    frac = nfh.mean() / max(nf[0], 1)
    if nfh.min() < 0.1 * nf[0]:
        print("WARNING: the crystal (almost) melted: Tm is below this T; lower tguess and run again")
    elif nfh.max() > 1.6 * nf[0]:
        print("WARNING: the liquid (almost) froze: Tm is above this T; raise tguess and run again")
    else:
        print("both phases present (fcc count %.2f of its starting value)" % frac)
    print("COEXIST_TM %.0f %.0f" % (Th.mean(), err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
