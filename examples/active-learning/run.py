#!/usr/bin/python3
"""Active learning with the extrapolation grade, on real DFT data (Zuo et al. 2020 Si).

    examples/active-learning/run.py [--data ../shared/data/zuo2020/Si_train.xyz] [--out al-out] [--k 4,8,16]
                                    [--seeds 3] [--threads 1]

1. Split the training file (stratified by config_type, every 5th structure of each type) into a test set and
   a pool. The first model is fitted on half of the pool's AIMD and Elastic structures only: it has seen no
   surface and no vacancy. The rest of the pool (the other AIMD/Elastic half, every Surface and Vacancy
   structure) is the candidate set from which "DFT" structures are chosen.
2. Grade: on the test set, per-structure largest grade γ_max against the per-structure force RMSE (Spearman
   rank correlation), and how many out-of-domain (Surface, Vacancy) and in-domain (AIMD, Elastic) test
   structures pass the thresholds 1.1 and 2.
3. Selection: for each K, the K candidates of largest γ_max (tools/select_by_grade.py) against K random
   candidates (several seeds), each added to the first training set and refitted with the same config;
   test errors overall and on the out-of-domain types.
Writes OUT/results.json and OUT/results.md (the tables of README.md). About 10 fits of ~1-2 min on one core.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
from scipy.stats import spearmanr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import select_by_grade  # noqa: E402

OOD = ("Surface", "Vacancy")
CONFIG = """# active-learning example model (examples/active-learning/run.py): small enough for ~1-2 min fits
elements: [Si]
e0: auto
cutoff: 5.0
radial: {{lambda: 5.0}}
r_min: 0.5
repulsion: {{type: zbl, inner: 1.0, outer: 1.8}}
terms:
  - {{nu: 1, nmax: 10, chi: 1}}
  - {{nu: 2, lmax: 5, nmax: 8, chi: 8}}
  - {{nu: 3, lmax: 3, nmax: 6, chi: 5}}
data: {{train: {train}, validation_fraction: 0, seed: 1}}
loss: {{energy: 10.0, forces: 0.01, stress: 0.03}}
fit: {{lambda: 1.0e-7, lambda_start: 1.0e-3, anneal_sweeps: 3, sweeps: 6, force_fraction: 0.15, seed: 1, threads: {threads}}}
output: {{potential: {pot}, metrics: null}}
"""


def config_type(text):
    head = text.split("\n", 2)[1]
    k = head.find("config_type=")
    return head[k + 12:].split()[0].strip('"') if k >= 0 else "(none)"


def write(path, frames):
    with open(path, "w") as f:
        for fr in frames:
            f.write(fr)


def fit(work, name, frames, threads):
    xyz, cfg, pot = (os.path.join(work, name + ext) for ext in (".xyz", ".fit.yaml", ".yaml"))
    write(xyz, frames)
    with open(cfg, "w") as f:
        f.write(CONFIG.format(train=xyz, pot=pot, threads=threads))
    t0 = time.time()
    r = subprocess.run([os.path.join(ROOT, "build", "tnace-fit"), cfg, "--quiet"], capture_output=True, text=True)
    if r.returncode:
        sys.exit("fit %s failed:\n%s" % (name, r.stderr))
    print("  fitted %s on %d structures in %.0f s" % (name, len(frames), time.time() - t0), flush=True)
    return pot


def predictions(pot, xyz, threads):
    """Per structure (by frame line): config_type, γ_max, E error (meV/atom), force RMSE and the force errors."""
    pred = xyz + "." + os.path.basename(pot) + ".tsv"
    subprocess.run([os.path.join(ROOT, "build", "tnace-eval"), pot, xyz, "--grade", "--predictions", pred,
                    "--threads", str(threads)], check=True, stdout=subprocess.DEVNULL)
    S, F = {}, {}
    for line in open(pred):
        x = line.rstrip("\n").split("\t")
        if x[0] == "S":
            S[x[1]] = dict(ct=x[3], n=int(x[4]), de=1000 * (float(x[6]) - float(x[5])), g=float(x[19]))
        elif x[0] == "F":
            F.setdefault(x[1], []).extend(float(x[7 + k]) - float(x[4 + k]) for k in range(3))
    for i, s in S.items():
        s["df"] = np.array(F[i])
        s["frmse"] = float(np.sqrt(np.mean(s["df"] ** 2)))
    return list(S.values())


def errors(rows, types=None):
    rows = [r for r in rows if types is None or r["ct"] in types]
    return dict(n=len(rows), e_mae=float(np.mean([abs(r["de"]) for r in rows])),
                f_mae=float(np.mean(np.concatenate([np.abs(r["df"]) for r in rows]))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "zuo2020", "Si_train.xyz"))
    ap.add_argument("--out", default="al-out")
    ap.add_argument("--k", default="4,8,16")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = os.path.abspath(a.out)
    allf = [t for _, t in select_by_grade.frames(a.data)]
    by = {}
    for t in allf:
        by.setdefault(config_type(t), []).append(t)
    test, init, cand = [], [], []
    for ct, fr in sorted(by.items()):
        rest = []
        for i, t in enumerate(fr):
            (test if i % 5 == 2 else rest).append(t)
        if ct in OOD:
            cand += rest
        else:
            init += rest[0::2]
            cand += rest[1::2]
    test_xyz, cand_xyz = os.path.join(work, "test.xyz"), os.path.join(work, "candidates.xyz")
    write(test_xyz, test)
    write(cand_xyz, cand)
    print("test %d, first training set %d (no %s), candidates %d" % (len(test), len(init), " or ".join(OOD), len(cand)))

    pot0 = fit(work, "m0", init, a.threads)
    rows = predictions(pot0, test_xyz, a.threads)
    rho, pval = spearmanr([r["g"] for r in rows], [r["frmse"] for r in rows])
    flag = {}
    for name, types in (("out_of_domain", OOD), ("in_domain", None)):
        sel = [r for r in rows if (r["ct"] in OOD) == (types is not None)]
        flag[name] = dict(n=len(sel), **{"above_%g" % t: sum(r["g"] > t for r in sel) for t in (1.1, 2.0)},
                          g_median=float(np.median([r["g"] for r in sel])))
    per_type = {ct: dict(n=len(v), g_max=float(max(r["g"] for r in v)), g_median=float(np.median([r["g"] for r in v])),
                         frmse_mean=float(np.mean([r["frmse"] for r in v])))
                for ct in sorted({r["ct"] for r in rows}) for v in [[r for r in rows if r["ct"] == ct]]}
    res = dict(n_test=len(test), n_init=len(init), n_cand=len(cand), spearman=float(rho), spearman_p=float(pval),
               flagging=flag, per_type=per_type, m0=dict(all=errors(rows), ood=errors(rows, OOD)), curves=[])
    print("spearman(grade_max, force RMSE) on the test set: %.3f (p %.2g)" % (rho, pval))

    cands = select_by_grade.frames(cand_xyz)
    for k in [int(x) for x in a.k.split(",")]:
        out = os.path.join(work, "sel_grade_%d.xyz" % k)
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "select_by_grade.py"), pot0, cand_xyz, "-n", str(k),
                        "-o", out, "--threshold", "0"], check=True, stdout=subprocess.DEVNULL)
        chosen = [t for _, t in select_by_grade.frames(out)]
        pot = fit(work, "grade_%d" % k, init + chosen, a.threads)
        r = predictions(pot, test_xyz, a.threads)
        entry = dict(k=k, grade=dict(all=errors(r), ood=errors(r, OOD),
                                     picked={ct: sum(config_type(t) == ct for t in chosen) for ct in by}), random=[])
        for s in range(a.seeds):
            chosen = [t for _, t in random.Random(1000 * k + s).sample(cands, k)]
            pot = fit(work, "random_%d_%d" % (k, s), init + chosen, a.threads)
            r = predictions(pot, test_xyz, a.threads)
            entry["random"].append(dict(all=errors(r), ood=errors(r, OOD),
                                        picked={ct: sum(config_type(t) == ct for t in chosen) for ct in by}))
        res["curves"].append(entry)
        json.dump(res, open(os.path.join(work, "results.json"), "w"), indent=1)
    write_md(res, os.path.join(work, "results.md"))
    print(open(os.path.join(work, "results.md")).read())


def write_md(res, path):
    L = ["Test set %d structures; first training set %d (no Surface, no Vacancy); %d candidates." % (
        res["n_test"], res["n_init"], res["n_cand"]), "",
         "Spearman rank correlation of per-structure γ_max with force RMSE on the test set: **%.2f** (p = %.1g)."
         % (res["spearman"], res["spearman_p"]), "", "| test config_type | n | γ_max median | γ_max largest | force RMSE mean (eV/Å) |",
         "|---|---|---|---|---|"]
    for ct, v in res["per_type"].items():
        L.append("| %s | %d | %.3g | %.3g | %.3f |" % (ct, v["n"], v["g_median"], v["g_max"], v["frmse_mean"]))
    L += ["", "| test structures | n | γ_max > 1.1 | γ_max > 2 |", "|---|---|---|---|"]
    for name, v in res["flagging"].items():
        L.append("| %s | %d | %d | %d |" % (name.replace("_", " "), v["n"], v["above_1.1"], v["above_2"]))
    m0 = res["m0"]
    L += ["", "| added K | selection | test E MAE (meV/atom) | test F MAE (eV/Å) | Surface+Vacancy E / F | picked |",
          "|---|---|---|---|---|---|",
          "| 0 | – | %.2f | %.4f | %.2f / %.4f | |" % (m0["all"]["e_mae"], m0["all"]["f_mae"], m0["ood"]["e_mae"],
                                                   m0["ood"]["f_mae"])]
    for c in res["curves"]:
        g = c["grade"]
        L.append("| %d | highest γ_max | %.2f | %.4f | %.2f / %.4f | %s |" % (
            c["k"], g["all"]["e_mae"], g["all"]["f_mae"], g["ood"]["e_mae"], g["ood"]["f_mae"],
            ", ".join("%s %d" % kv for kv in sorted(g["picked"].items()) if kv[1])))
        rr = c["random"]
        def ms(key, q):
            v = np.array([x[key][q] for x in rr])
            return "%.*f ± %.*f" % ((2, v.mean(), 2, v.std(ddof=1) / np.sqrt(len(v))) if q == "e_mae" else
                                    (4, v.mean(), 4, v.std(ddof=1) / np.sqrt(len(v))))
        L.append("| %d | random (%d seeds, mean ± s.e.) | %s | %s | %s / %s | |" % (
            c["k"], len(rr), ms("all", "e_mae"), ms("all", "f_mae"), ms("ood", "e_mae"), ms("ood", "f_mae")))
    open(path, "w").write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
