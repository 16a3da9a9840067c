#!/usr/bin/python3
"""analyse_coexist.py — melting point from the solid–liquid coexistence runs of in.coexist.

    /usr/bin/python3 analyse_coexist.py DIR [DIR2 ...]

Each DIR is the -var dir of one in.coexist run, with coexist.log (the LAMMPS log, via -log), coexist.dat
(step, T, V/atom, P, pe/atom every 1000 steps of the coexistence stage) and profile.dat (atoms and mean pe per
slab along z over the last 2000 steps).

ens nph (constant enthalpy): T drifts towards Tm while both phases are present. Printed: T along the run, the
  mean T over the second half with a block-average error, and whether both phases survived.
ens npt (constant T = tguess): below Tm the crystal grows (pe/atom and V fall), above Tm it melts (they rise).
  Printed: the slope of pe/atom over the run after its first 2 ps (meV/atom per ps, with its standard error)
  and the verdict. Several runs at different tguess bracket Tm; the last line gives the bracket.
For both: the solid fraction at the end from profile.dat (slabs whose mean pe/atom lies below the mid-point
between the lowest and highest slab values count as solid).
"""
import os
import re
import sys

import numpy as np


def ens_of(log):
    ens, tguess = "nph", None
    for line in open(log, errors="replace"):
        m = re.match(r"\s*fix\s+int\s+all\s+(nph|npt)\s+(?:temp\s+(\S+))?", line)
        if m:
            ens = m.group(1)
            try:
                tguess = float(m.group(2))
            except (TypeError, ValueError):
                pass
    return ens, tguess


def solid_fraction(path):
    if not os.path.exists(path):
        return None
    rows = [l.split() for l in open(path) if not l.startswith("#")]
    rows = [r for r in rows if len(r) == 5]          # chunk coord count density pe
    if not rows:
        return None
    n = np.array([float(r[2]) for r in rows])
    pe = np.array([float(r[4]) for r in rows])
    keep = n > 0.75 * np.median(n)                   # drop part-filled slabs at the box edges
    n, pe = n[keep], pe[keep]
    mid = 0.5 * (pe.min() + pe.max())
    if pe.max() - pe.min() < 0.06:                   # no contrast: one phase only
        return None
    return n[pe < mid].sum() / n.sum()


def analyse(d):
    log = os.path.join(d, "coexist.log")
    dat = np.loadtxt(os.path.join(d, "coexist.dat"), ndmin=2)
    ens, tguess = ens_of(log)
    step, T, V = dat[:, 0], dat[:, 1], dat[:, 2]
    pe = dat[:, 4] if dat.shape[1] > 4 else np.full(len(T), np.nan)
    fs = solid_fraction(os.path.join(d, "profile.dat"))
    if not os.path.exists(os.path.join(d, "profile.dat")):
        fs_txt = "no profile.dat"
    elif fs is None:
        fs_txt = "no solid/liquid contrast at the end (one phase)"
    else:
        fs_txt = "solid fraction at the end %.2f" % fs
    if ens == "nph":
        h = len(T) // 2
        bm = np.array([b.mean() for b in np.array_split(T[h:], 5)])
        err = bm.std(ddof=1) / np.sqrt(len(bm))
        print("%s: NPH, T %s K; second half T = %.0f ± %.0f K; %s"
              % (d, " ".join("%.0f" % t for t in T), T[h:].mean(), err, fs_txt))
        return ("nph", T[h:].mean(), err, fs)
    m = step > min(2000, 0.2 * step.max())   # skip the first 2 ps (less in short test runs)
    t_ps = step[m] / 1000.0
    A = np.vstack([t_ps, np.ones_like(t_ps)]).T
    coef, res, *_ = np.linalg.lstsq(A, pe[m] * 1000.0, rcond=None)
    dof = max(1, len(t_ps) - 2)
    s2 = (res[0] / dof) if len(res) else 0.0
    se = np.sqrt(s2 / ((t_ps - t_ps.mean()) ** 2).sum())
    slope = coef[0]
    if slope < -2 * se:
        verdict = "freezing: T < Tm"
    elif slope > 2 * se:
        verdict = "melting: T > Tm"
    else:
        verdict = "no significant drift: T close to Tm"
    print("%s: NPT at %.0f K (mean T %.0f K): pe/atom slope %+.3f ± %.3f meV/atom/ps, V/atom %.3f -> %.3f Å^3; %s; %s"
          % (d, tguess or T.mean(), T[m].mean(), slope, se, V[m][0], V[m][-1], fs_txt, verdict))
    return ("npt", tguess or T.mean(), slope, se, fs)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    res = [analyse(d) for d in sys.argv[1:]]
    npt = sorted([r for r in res if r[0] == "npt"], key=lambda r: r[1])
    if npt:
        below = [r[1] for r in npt if r[2] < -2 * r[3]]
        above = [r[1] for r in npt if r[2] > 2 * r[3]]
        lo = max(below) if below else None
        hi = min(above) if above else None
        if lo is not None and hi is not None and lo < hi:
            print("COEXIST_TM_BRACKET %.0f %.0f K  (estimate %.0f ± %.0f K)" % (lo, hi, 0.5 * (lo + hi), 0.5 * (hi - lo)))
        else:
            print("COEXIST_TM_BRACKET not bracketed: freezing at %s K, melting at %s K" % (below, above))
    for r in res:
        if r[0] == "nph":
            print("COEXIST_TM_NPH %.0f %.0f" % (r[1], r[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
