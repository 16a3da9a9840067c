#!/usr/bin/python3
"""analyse_heat.py — the apparent melting range of an NPT heating run (heat.dat of in.heat).

    /usr/bin/python3 analyse_heat.py heat.dat [--plot heat.png] [--tm-exp 1358]

heat.dat (fix ave/time): step, T (K), volume per atom (Å^3), enthalpy per atom (eV) [, pressure (bar)].
Melting shows as a jump of V and H over a narrow range of T. The script
  1. finds the jump: the largest rise of V between samples, smoothed over a few samples;
  2. fits straight lines V_s(T), H_s(T) to the crystal before it and V_l(T), H_l(T) to the liquid after it
     (samples more than 100 K away from the jump on either side);
  3. follows the molten fraction f = (V - V_s(T)) / (V_l(T) - V_s(T)), smoothed over 5 samples: melting starts
     where f exceeds 0.1 for good and ends where it first reaches 0.9 after that; the same for H;
  4. prints the range, the volume of melting ΔV/V_s and the latent heat ΔH (at the middle of the range), and the
     range relative to a reference melting point (--tm-exp, default Cu 1358 K), and ΔV/V_s and ΔH from the
     two lines extrapolated to that temperature (rough: the lines are fitted far from it).
Without a liquid branch (no jump, or fewer than 3 samples after it) it says that no melting was seen.
"""
import argparse
import sys

import numpy as np


def load(path):
    rows = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        rows.append([float(x) for x in line.split()])
    if len(rows) < 10:
        sys.exit("analyse_heat: %s: only %d samples" % (path, len(rows)))
    return np.array(rows)


def smooth(y, w=5):
    """running mean over w samples (shorter windows at the ends)"""
    h = w // 2
    return np.array([y[max(0, i - h):i + h + 1].mean() for i in range(len(y))])


def interp(T, f, i, level):
    t = (level - f[i - 1]) / (f[i] - f[i - 1])
    return T[i - 1] + t * (T[i] - T[i - 1])


def melt_range(T, f):
    """(T10, T90): f (smoothed) rises through 0.1 for the last time, then first reaches 0.9"""
    fs = smooth(f)
    below = np.nonzero(fs <= 0.1)[0]
    i1 = below[-1] + 1 if len(below) else 0
    if i1 >= len(fs):
        return None, None
    t1 = interp(T, fs, i1, 0.1) if i1 > 0 else T[0]
    above = np.nonzero((fs >= 0.9) & (np.arange(len(fs)) >= i1))[0]
    if not len(above):
        return t1, None
    i9 = above[0]
    t9 = interp(T, fs, i9, 0.9) if i9 > i1 else T[i9]
    return t1, t9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("heat")
    ap.add_argument("--plot", help="write a figure of V(T) and H(T) (needs matplotlib)")
    ap.add_argument("--tm-exp", type=float, default=1358.0, help="reference melting point (K)")
    ap.add_argument("--margin", type=float, default=100.0, help="K kept away from the jump by the line fits")
    a = ap.parse_args()
    d = load(a.heat)
    step, T, V, H = d[:, 0], d[:, 1], d[:, 2], d[:, 3]

    w = 3
    dV = np.convolve(np.diff(V), np.ones(w) / w, mode="same")
    j = int(np.argmax(dV)) + 1                  # first sample after the steepest rise
    Tj = T[j]
    sol = (np.arange(len(T)) < j) & (T < Tj - a.margin) & (T > T[0] + 20)
    liq = (np.arange(len(T)) >= j) & (T > Tj + a.margin)
    print("# %s: %d samples, T %.0f..%.0f K, steps %d..%d" % (a.heat, len(T), T.min(), T.max(), step[0], step[-1]))
    if sol.sum() < 3 or liq.sum() < 3:
        print("no melting seen: no liquid branch after the largest volume rise (at T = %.0f K);"
              " heat further (thot) or longer (nsteps)" % Tj)
        return 2
    res = {}
    for name, Y in (("V", V), ("H", H)):
        ps = np.polyfit(T[sol], Y[sol], 1)
        pl = np.polyfit(T[liq], Y[liq], 1)
        f = (Y - np.polyval(ps, T)) / (np.polyval(pl, T) - np.polyval(ps, T))
        t1, t9 = melt_range(T, f)
        if t1 is None or t9 is None:
            print("no complete melting seen (the %s does not reach the liquid line); heat further" % name)
            return 2
        tm = 0.5 * (t1 + t9)
        res[name] = (ps, pl, t1, t9, tm)
    (psv, plv, t1v, t9v, tmv), (psh, plh, t1h, t9h, tmh) = res["V"], res["H"]
    dv = (np.polyval(plv, tmv) - np.polyval(psv, tmv)) / np.polyval(psv, tmv)
    dh = np.polyval(plh, tmh) - np.polyval(psh, tmh)
    lo, hi = min(t1v, t1h), max(t9v, t9h)
    print("crystal at %.0f K: V = %.4f Å^3/atom (a = %.4f Å for fcc)"
          % (T[sol][0], V[sol][0], (4 * V[sol][0]) ** (1 / 3)))
    print("thermal expansion of the crystal: %.3g 1/K (linear: %.3g 1/K), liquid: %.3g 1/K"
          % (psv[0] / np.polyval(psv, 300.0), psv[0] / np.polyval(psv, 300.0) / 3, plv[0] / np.polyval(plv, tmv)))
    print("melting range from the volume:   %.0f - %.0f K (10%% - 90%% molten)" % (t1v, t9v))
    print("melting range from the enthalpy: %.0f - %.0f K" % (t1h, t9h))
    print("volume of melting dV/V_s = %.1f %%, latent heat dH = %.3f eV/atom (%.1f kJ/mol) at %.0f K"
          % (100 * dv, dh, dh * 96.485, tmh))
    t = a.tm_exp
    dvr = (np.polyval(plv, t) - np.polyval(psv, t)) / np.polyval(psv, t)
    dhr = np.polyval(plh, t) - np.polyval(psh, t)
    print("the same from the lines extrapolated to %.0f K: dV/V_s = %.1f %%, dH = %.3f eV/atom (%.1f kJ/mol)"
          % (t, 100 * dvr, dhr, dhr * 96.485))
    print("APPARENT_MELTING %.0f %.0f K  (%.2f - %.2f x Tm_ref = %.0f K)" % (lo, hi, lo / a.tm_exp, hi / a.tm_exp, a.tm_exp))

    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        for k, (Y, (ps, pl, t1, t9, tm), lab) in enumerate(((V, res["V"], "volume (Å$^3$/atom)"),
                                                            (H, res["H"], "enthalpy (eV/atom)"))):
            ax[k].plot(T, Y, ".", ms=3)
            tt = np.linspace(T.min(), T.max(), 2)
            ax[k].plot(tt, np.polyval(ps, tt), "b--", lw=0.8, label="crystal fit")
            ax[k].plot(tt, np.polyval(pl, tt), "r--", lw=0.8, label="liquid fit")
            ax[k].axvspan(t1, t9, color="orange", alpha=0.3, label="apparent melting %.0f-%.0f K" % (t1, t9))
            ax[k].axvline(a.tm_exp, color="k", lw=0.8, label="experiment %.0f K" % a.tm_exp)
            ax[k].set_xlabel("T (K)")
            ax[k].set_ylabel(lab)
            ax[k].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120)
        print("figure: %s" % a.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
