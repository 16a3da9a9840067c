#!/usr/bin/python3
"""analyse_quench.py — summary of in.quench: crystal, liquid and quenched solid (volume, energy, coordination,
g(r)).

    /usr/bin/python3 analyse_quench.py OUTDIR [--plot quench.png]

Reads OUTDIR/quench.dat (step, T, V/atom, pe/atom, coordination, P), OUTDIR/rdf_liquid.dat and
OUTDIR/rdf_final.dat. Prints, for the first 1000 steps (crystal at tcold), the hottest 20 % of the samples (the liquid)
and the last 1000 steps (the quenched solid): mean T, V/atom, density, pe/atom and coordination; the relative
volume change crystal -> liquid; the temperature at which the crystal collapsed on heating (largest rise of the
coordination over the heating ramp); the liquid's volume along the cooling ramp and its densest state; for both g(r)
the first peak, the first minimum and the coordination number up to that minimum (the cumulative column of compute
rdf), which for the liquid counts the whole first shell (out to ~3.2 Å) unlike the thermo column (r < rc = 2.85 Å).
"""
import argparse
import os
import sys

import numpy as np

AMU_G = 1.66053906660     # g/mol per amu -> g/cm^3 with Å^3: m[amu] * 1.66054 / V[Å^3]


def rdf(path):
    if not os.path.exists(path):
        return None
    rows = []
    for line in open(path):
        if line.startswith("#"):
            continue
        t = line.split()
        if len(t) >= 3:
            rows.append([float(x) for x in t[:4]])      # row, r, g(r), cumulative coordination
    d = np.array(rows)
    return d[:, 1], d[:, 2], d[:, 3]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--mass", type=float, default=28.0855)
    ap.add_argument("--nout", type=int, default=200, help="steps per line of quench.dat")
    ap.add_argument("--plot")
    a = ap.parse_args()
    d = np.loadtxt(os.path.join(a.outdir, "quench.dat"))
    step, T, V, E, Z = d[:, 0], d[:, 1], d[:, 2], d[:, 3], d[:, 4]
    k = max(1, 1000 // a.nout)
    hot = T >= np.quantile(T, 0.8)
    parts = [("crystal (start)", slice(0, k)), ("liquid (hottest 20 %)", hot), ("quenched (end)", slice(len(T) - k, len(T)))]
    print("%-22s %8s %10s %10s %11s %8s" % ("", "T (K)", "V (Å^3)", "rho g/cm3", "pe (eV)", "coord"))
    res = {}
    for name, s in parts:
        res[name] = (T[s].mean(), V[s].mean(), E[s].mean(), Z[s].mean())
        print("%-22s %8.0f %10.3f %10.3f %11.4f %8.2f" % (name, T[s].mean(), V[s].mean(), a.mass * AMU_G / V[s].mean(),
                                                        E[s].mean(), Z[s].mean()))
    vc, vl = res["crystal (start)"][1], res["liquid (hottest 20 %)"][1]
    print("volume change crystal -> liquid: %+.1f %%" % (100 * (vl - vc) / vc))
    # the melting of the crystal on heating: the largest change of the coordination between samples before the peak T
    ipk = int(np.argmax(T))
    dz = np.diff(Z[:ipk + 1])
    if len(dz):
        j = int(np.argmax(dz))
        print("crystal collapsed on heating at T = %.0f K (coordination %.2f -> %.2f, V %.3f -> %.3f Å^3)"
              % (T[j + 1], Z[j], Z[j + 1], V[j], V[j + 1]))
    # the liquid on cooling: volume at a few temperatures, and its density maximum (liquid Si is densest near Tm)
    ic = np.arange(len(T)) > ipk
    for tt in (2400, 2000, 1700, 1400):
        sel = ic & (np.abs(T - tt) < 100)
        if sel.any():
            print("cooling: T = %4d ± 100 K: V = %.3f Å^3/atom (%.3f g/cm^3), coordination %.2f"
                  % (tt, V[sel].mean(), a.mass * AMU_G / V[sel].mean(), Z[sel].mean()))
    if ic.any():
        j = np.nonzero(ic)[0][np.argmin(V[ic])]
        print("densest state on cooling: V = %.3f Å^3/atom (%.3f g/cm^3) at T = %.0f K, coordination %.2f"
              % (V[j], a.mass * AMU_G / V[j], T[j], Z[j]))
    for name in ("liquid", "final"):
        g = rdf(os.path.join(a.outdir, "rdf_%s.dat" % name))
        if g is None:
            continue
        r, gr, nc = g
        i1 = int(np.argmax(gr))
        m = (r > r[i1]) & (r < r[i1] + 1.2)
        imin = np.nonzero(m)[0][np.argmin(gr[m])]
        print("g(r) %-6s: first peak at %.2f Å (height %.2f), first minimum at %.2f Å, coordination up to it %.2f"
              % (name, r[i1], gr[i1], r[imin], nc[imin]))
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 3, figsize=(14, 4))
        ax[0].plot(step / 1000, T)
        ax[0].set_xlabel("time (ps)")
        ax[0].set_ylabel("T (K)")
        ax0 = ax[0].twinx()
        ax0.plot(step / 1000, Z, "r")
        ax0.set_ylabel("coordination (r < 2.85 Å)", color="r")
        ax[1].plot(T, V, ".", ms=3)
        ax[1].set_xlabel("T (K)")
        ax[1].set_ylabel("V (Å$^3$/atom)")
        for name, c in (("liquid", "r"), ("final", "b")):
            g = rdf(os.path.join(a.outdir, "rdf_%s.dat" % name))
            if g is not None:
                ax[2].plot(g[0], g[1], c, label=name)
        ax[2].set_xlabel("r (Å)")
        ax[2].set_ylabel("g(r)")
        ax[2].legend()
        fig.tight_layout()
        fig.savefig(a.plot, dpi=110)
        print("figure: %s" % a.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
