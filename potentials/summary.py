#!/usr/bin/python3
"""potentials/summary.py — the table of shipped potentials for potentials/README.md.

Reads each potentials/<name>.yaml (terms, bond dimensions, parameters) and <name>.metrics.json and prints a
Markdown table with the published reference errors of the benchmark next to it. The held-out errors are the
k-fold cross-validation's (MAE and RMSE means over folds, "CV") when the metrics file has a
"cross_validation" block or the potential's metadata names a .cv.json file (metadata.cross_validation), else
those of the fit's own validation split ("split"). Run with Debian's python3 (needs python3-yaml):  /usr/bin/python3 potentials/summary.py
"""
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
# Published test-set MAE (energy meV/atom, force eV/Å): best of GAP/MTP and quadratic SNAP, Zuo et al. 2020;
# linear SNAP of Li et al. 2020 for Nb-Mo-Ta-W (overall).
REF = {
    "Ni": ((0.42, 0.01), (0.78, 0.031)), "Cu": ((0.41, 0.01), (0.56, 0.024)), "Li": ((0.49, 0.01), (0.73, 0.033)),
    "Mo": ((2.24, 0.09), (2.77, 0.184)), "Si": ((2.21, 0.06), (3.81, 0.116)), "Ge": ((1.79, 0.05), (6.45, 0.133)),
    "NbMoTaW": (None, (4.9, 0.125)),
}


def term_text(t):
    model = t.get("model", "mps")
    s = f"ν={t['nu']}"
    if t["nu"] > 1:
        s += f" l≤{t['lmax']}"
    s += f" n<{t['nmax']}"
    if model == "mpo":
        s += f" MPO(rank {t['rank']})"
    elif model == "embed":
        s += f" embed(rank {t['rank']})"
    if t.get("species_copies"):
        s += f" ({t['species_copies']} species cop{'y' if t['species_copies'] == 1 else 'ies'})"
    return s


def fold_means(cv):
    """The "overall" block (mean over folds of each fold's MAE and RMSE) of a CV file that lacks it: tools/cv.py
    merge leaves it out, since it is recomputed from the parts."""
    out = {}
    for q in ("energy", "forces", "stress"):
        fs = [f[q] for f in cv["folds"] if f.get(q)]
        out[q] = {k: sum(f[k[:-5]] for f in fs) / len(fs) for k in ("mae_mean", "rmse_mean")} if fs else None
    return out


def held_out(pot, m):
    """("CV k" or "split", E MAE, E RMSE, F MAE, F RMSE, σ MAE or None) of a potential."""
    cv = m.get("cross_validation")
    ref = (pot.get("metadata") or {}).get("cross_validation")
    if cv is None and isinstance(ref, str):
        cv = json.load(open(os.path.join(HERE, "..", ref.split()[0])))["cross_validation"]
    if cv:
        o = cv.get("overall") or fold_means(cv)
        s = o["stress"]["mae_mean"] if o.get("stress") else None
        return (f"CV {cv['k']}", o["energy"]["mae_mean"], o["energy"]["rmse_mean"], o["forces"]["mae_mean"],
                o["forces"]["rmse_mean"], s)
    v = m["validation"]
    return ("split", v["energy_mae_meV_per_atom"], v["energy_rmse_meV_per_atom"], v["force_mae_eV_per_A"],
            v["force_rmse_eV_per_A"], v.get("stress_mae_GPa"))


def main(names):
    print("| potential | terms (MPS unless noted) | bonds χ | parameters | held out | E MAE / RMSE (meV/atom) "
          "| F MAE / RMSE (eV/Å) | σ MAE (GPa) | published: GAP/MTP · qSNAP (E / F MAE) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in names:
        pf, mf = os.path.join(HERE, n + ".yaml"), os.path.join(HERE, n + ".metrics.json")
        if not (os.path.exists(pf) and os.path.exists(mf)):
            continue
        pot = yaml.safe_load(open(pf))
        m = json.load(open(mf))
        how, e_mae, e_rmse, f_mae, f_rmse, s = held_out(pot, m)
        terms = ", ".join(term_text(t) for t in pot["terms"])
        chis = "/".join(str(max(c["bonds"])) for c in pot["cores"] if c["element"] == pot["elements"][0])
        ref = REF.get(n)
        reft = ""
        if ref:
            a, b = ref
            reft = (f"{a[0]} / {a[1]}" if a else "–") + " · " + f"{b[0]} / {b[1]}"
        print(f"| {n} | {terms} | {chis} | {m['n_params']} | {how} | {e_mae:.2f} / {e_rmse:.2f} | "
              f"{f_mae:.4f} / {f_rmse:.4f} | {'%.3f' % s if s is not None else '–'} | {reft} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["Cu", "Ni", "Li", "Mo", "Si", "Ge", "NbMoTaW"])
