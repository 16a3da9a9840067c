#!/usr/bin/python3
"""learning_curve.py — structure→property learning curves on NMD18 (Sommer & Dunham Sec. IV.A, Fig. 12):
tnace's tensor-network property models against the seed's kernel baselines, on the same training subsets.

    /usr/bin/python3 examples/nmd18/learning_curve.py --train TRAIN.xyz --test TEST.xyz \
        --sizes 100,200,400,800,1600 --repeats 3 --out DIR [--methods tnace-mps,krr-soap,...] [--threads N]

For every repeat r and size n the training subset is the first n structures of a permutation of TRAIN.xyz
seeded by r (nested subsets: the curve of one repeat is not noisier than its points). Every method is
trained on exactly that subset (its hyperparameters chosen inside it: tnace by its validation split, the
kernels by 5-fold CV) and predicts every structure of TEST.xyz. Errors are of the per-structure property
(default `formation_energy`, eV per cation in the NMD18 files) in meV per cation (`--per Al,Ga,In`).

Methods (--methods, default all):
  tnace-mps   tnace-fit property model (configs/mps.yaml): per-atom MPS terms, intensive per cation
  tnace-mpo   the same with a per-atom MPO term (configs/mpo.yaml): a sum of per-atom quadratics in B_i
  tnace-pooled  the same with the MPO term pooled over the structure (configs/pooled.yaml, pool: true): the
              seed's <B̄|T|B̄>, quadratic in the mean descriptor
  gpr-comp    Gaussian process regression, RBF kernel with one length scale per feature (ARD) plus white noise,
              hyperparameters by marginal likelihood (on at most 800 of the structures), on composition and
              lattice features (cation fractions
              x_Al, x_Ga, x_In; lattice lengths, angles, volume per atom; standardised)
  krr-soap    kernel ridge regression with the SOAP kernel K = (x.x' / |x||x'|)^2 on the power spectrum
              pooled per centre element (tnace-desc --pool species, the basis of configs/mps.yaml); alpha (19
              values, 1e-9..1) by 5-fold CV
  krr-rbf     kernel ridge regression, RBF kernel on the same standardised power spectrum; gamma (5 values around
              the median heuristic) and alpha by 5-fold CV

Writes DIR/results.json, a list of {"method", "n", "repeat", "rmse", "mae"} (meV/cation), after every run (a
rerun with the same DIR skips what is there); DIR/details.json (fit times, chosen hyperparameters, parameter
counts); DIR/summary.md (mean ± standard error over repeats per method and n, and the best tensor network
against the best baseline); DIR/curves.png (RMSE and MAE against n). Needs Debian's python3-numpy, -scipy,
-sklearn, -ase, -matplotlib and the tnace build (--bin, default build/ of this repository).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from extxyz_frames import frames  # noqa: E402

TN_METHODS = {"tnace-mps": "mps.yaml", "tnace-mpo": "mpo.yaml", "tnace-pooled": "pooled.yaml"}
BASELINES = ("gpr-comp", "krr-soap", "krr-rbf")
ALL = tuple(TN_METHODS) + BASELINES


def parse_frames(path, prop, per):
    """Verbatim frames, targets (meV per counted atom), counted atoms, compositions and lattice features."""
    from ase.io import read
    text = [t for _, t in frames(path)]
    atoms = read(path, ":", format="extxyz")
    if len(atoms) != len(text):
        sys.exit("learning_curve: %s: ASE reads %d frames, the splitter %d" % (path, len(atoms), len(text)))
    y, feats = [], []
    for k, a in enumerate(atoms):
        if prop not in a.info:
            sys.exit("learning_curve: %s: frame %d has no key %r" % (path, k, prop))
        sym = a.get_chemical_symbols()
        cnt = np.array([sym.count(e) for e in per], float)
        if cnt.sum() == 0:
            sys.exit("learning_curve: %s: frame %d has none of %s" % (path, k, ",".join(per)))
        y.append(1000.0 * float(a.info[prop]))
        cp = a.cell.cellpar()
        feats.append(np.concatenate([cnt / cnt.sum(), cp, [a.get_volume() / len(a)]]))
    return text, np.array(y), np.array(feats)


def run(cmd, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode:
        sys.exit("learning_curve: %s failed (exit %d); see %s" % (cmd[0], p.returncode, log))


def tnace_run(method, sub_text, work, a, test):
    """Fit a tnace property model on the subset, evaluate TEST: (rmse, mae, details)."""
    os.makedirs(work, exist_ok=True)
    train = os.path.join(work, "train.xyz")
    with open(train, "w") as f:
        f.writelines(sub_text)
    cfg = yaml.safe_load(open(os.path.join(a.configs, TN_METHODS[method])))
    cfg["data"]["train"] = os.path.abspath(train)
    cfg["property"]["name"] = a.property
    cfg["property"]["per"] = a.per
    pot = os.path.join(work, "model.yaml")
    cfg["output"] = {"potential": pot, "metrics": None}
    cfg_path = os.path.join(work, "config.yaml")
    with open(cfg_path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    log = os.path.join(work, "log.txt")
    t0 = time.time()
    run([os.path.join(a.bin, "tnace-fit"), cfg_path, "--threads", str(a.threads)], log)
    fit_s = time.time() - t0
    pred = os.path.join(work, "test.tsv")
    run([os.path.join(a.bin, "tnace-eval"), pot, test, "--predictions", pred, "--threads", str(a.threads)], log)
    y, yp = read_predictions(pred)
    n_par = None  # from the "# tnace-fit: ... N parameters" line of the log
    for line in open(log):
        if "parameters" in line and line.startswith("# tnace-fit:"):
            n_par = int(line.split(" parameters")[0].split()[-1])
    ent = entanglement(os.path.join(a.bin, "tnace-inspect"), pot, log)
    return y, yp, {"fit_time_s": round(fit_s, 2), "n_params": n_par, "entanglement": ent}


def entanglement(inspect, pot, log):
    """Per (element, term, layer) of the fitted model's nu >= 2 terms, per bond: chi, entropy S, S / ln chi,
    the Page value, the mean level-spacing ratio <r> and whether the cut lies between copies (tnace-inspect)."""
    p = subprocess.run([inspect, pot, "--json"], capture_output=True, text=True)
    if p.returncode:
        with open(log, "a") as f:
            f.write(p.stderr)
        sys.exit("learning_curve: tnace-inspect failed; see %s" % log)
    out = []
    for t in json.loads(p.stdout)["mps"]:
        if t["nu"] < 2:
            continue
        out.append({"element": t["element"], "term": t["term"], "layer": t["layer"],
                    "cuts": [{"bond": c["bond"], "chi": c["chi"], "copies": c["between_copies"],
                              "S": c["entropy"], "S_over_ln_chi": c["entropy"] / c["ln_chi"] if c["ln_chi"] else None,
                              "page": c["page"], "r_mean": c["r_mean"]} for c in t["cuts"]]})
    return out


def read_predictions(path):
    """Per-structure reference and predicted property from tnace-eval --predictions (a property model's e_ref
    and e_pred are per counted atom: meV per cation after the factor 1000)."""
    y, yp, head = [], [], None
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "# S":
            head = f
        elif f[0] == "S":
            r = dict(zip(head, f))
            y.append(1000.0 * float(r["e_ref"]))
            yp.append(1000.0 * float(r["e_pred"]))
    return np.array(y), np.array(yp)


def krr_cv(K, y, alphas, Kt):
    """Kernel ridge regression on a precomputed kernel K (n × n, training rows) with α chosen by 5-fold CV (shuffled,
    seed 0): one eigendecomposition per fold serves every α. Returns (predictions for the rows Kt [m × n], α,
    the CV mean squared error)."""
    from sklearn.model_selection import KFold
    mu = y.mean()
    err = np.zeros(len(alphas))
    for tr, va in KFold(n_splits=5, shuffle=True, random_state=0).split(K):
        w, V = np.linalg.eigh(K[np.ix_(tr, tr)])
        m = y[tr].mean()
        Vy = V.T @ (y[tr] - m)
        Kv = K[np.ix_(va, tr)] @ V
        for j, a in enumerate(alphas):
            err[j] += np.sum((Kv @ (Vy / (np.clip(w, 0, None) + a)) + m - y[va]) ** 2)
    j = int(np.argmin(err))
    coef = np.linalg.solve(K + alphas[j] * np.eye(len(K)), y - mu)
    return Kt @ coef + mu, float(alphas[j]), float(err[j] / len(y))


def baseline(method, idx, y, feats, desc, test):
    """Fit a baseline on rows idx of the training data; predict the test rows. (pred, details)."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.preprocessing import StandardScaler
    yt = y[idx]
    if method == "gpr-comp":
        sc = StandardScaler().fit(feats[idx])
        X, Xt = sc.transform(feats[idx]), sc.transform(test["feats"])
        ker = ConstantKernel(1.0) * RBF(np.ones(X.shape[1]), (1e-2, 1e3)) + WhiteKernel(1e-2, (1e-6, 1e1))
        # hyperparameters by marginal likelihood on at most 800 structures (O(n^3) per step), then the GP on all
        sub = np.random.default_rng(0).permutation(len(X))[:800]
        with warnings.catch_warnings():  # length scales at their bound: the feature does not matter
            warnings.simplefilter("ignore")
            g = GaussianProcessRegressor(ker, normalize_y=True, n_restarts_optimizer=2, random_state=0).fit(X[sub], yt[sub])
            if len(X) > len(sub):
                g = GaussianProcessRegressor(g.kernel_, normalize_y=True, optimizer=None).fit(X, yt)
        return g.predict(Xt), {"kernel": str(g.kernel_)}
    alphas = np.logspace(-9, 0, 19)
    if method == "krr-soap":
        nz = lambda M: M / np.linalg.norm(M, axis=1)[:, None]  # noqa: E731
        X, Xt = nz(desc[idx]), nz(test["desc"])
        pred, a, _ = krr_cv((X @ X.T) ** 2, yt, alphas, (Xt @ X.T) ** 2)
        return pred, {"alpha": a}
    # krr-rbf: squared distances once; γ on a grid around the median heuristic, α by CV for each γ
    sc = StandardScaler().fit(desc[idx])
    X, Xt = sc.transform(desc[idx]), sc.transform(test["desc"])
    sq, sqt = np.sum(X * X, axis=1), np.sum(Xt * Xt, axis=1)
    D2 = np.clip(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0, None)
    D2t = np.clip(sqt[:, None] + sq[None, :] - 2 * Xt @ X.T, 0, None)
    g0 = 1.0 / np.median(D2[np.triu_indices(len(X), 1)])
    best = None
    for g in g0 * np.array([1 / 16, 1 / 4, 1, 4, 16]):
        pred, a, e = krr_cv(np.exp(-g * D2), yt, alphas, np.exp(-g * D2t))
        if best is None or e < best[0]:
            best = (e, pred, {"alpha": a, "gamma": float(g)})
    return best[1], best[2]


def descriptors(a, path, out, pool="species"):
    """Pooled power spectrum of every frame (tnace-desc --pool POOL on the basis of configs/mps.yaml)."""
    cfg = yaml.safe_load(open(os.path.join(a.configs, "mps.yaml")))
    lmax = max(t.get("lmax", 0) for t in cfg["terms"])
    nmax = max(t["nmax"] for t in cfg["terms"] if t["nu"] == 2)
    cmd = [os.path.join(a.bin, "tnace-desc"), "--elements", ",".join(cfg["elements"]), "--cutoff",
           str(cfg["cutoff"]), "--nmax", str(nmax), "--lmax", str(lmax), "--lambda",
           str(cfg.get("radial", {}).get("lambda", 5.0)), "--pool", pool, "--output", out, path]
    run(cmd, os.path.join(a.out, "desc.log"))
    return np.load(out)


def summary(results, out):
    """Mean ± s.e. over repeats per method and n (markdown), and the best TN against the best baseline."""
    methods = [m for m in ALL if any(r["method"] == m for r in results)]
    sizes = sorted({r["n"] for r in results})
    stat = {}
    for m in methods:
        for n in sizes:
            rs = [r for r in results if r["method"] == m and r["n"] == n]
            if rs:
                v = np.array([[r["rmse"], r["mae"]] for r in rs])
                se = v.std(axis=0, ddof=1) / np.sqrt(len(rs)) if len(rs) > 1 else np.zeros(2)
                stat[m, n] = (v.mean(axis=0), se, len(rs))
    lines = ["# NMD18 learning curves: test RMSE / MAE (meV/cation), mean ± s.e. over repeats", "",
             "| method | " + " | ".join("n = %d" % n for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for m in methods:
        cells = []
        for n in sizes:
            if (m, n) in stat:
                (r, e), (sr, se), k = stat[m, n]
                cells.append("%.1f ± %.1f / %.1f ± %.1f (%d)" % (r, sr, e, se, k) if k > 1 else "%.1f / %.1f (1)" % (r, e))
            else:
                cells.append("–")
        lines.append("| %s | %s |" % (m, " | ".join(cells)))
    lines += ["", "Best tensor network / best baseline (ratio of means; target ≤ 0.9 at n ≤ 400, ≤ 1 above):", "",
              "| n | RMSE: best TN, best baseline, ratio | MAE: best TN, best baseline, ratio |", "|---|---|---|"]
    for n in sizes:
        row = []
        for q in (0, 1):
            tn = [(stat[m, n][0][q], m) for m in TN_METHODS if (m, n) in stat]
            bl = [(stat[m, n][0][q], m) for m in BASELINES if (m, n) in stat]
            if tn and bl:
                row.append("%.1f (%s), %.1f (%s), %.2f" % (min(tn) + min(bl) + (min(tn)[0] / min(bl)[0],)))
            else:
                row.append("–")
        lines.append("| %d | %s |" % (n, " | ".join(row)))
    lines += entanglement_table(out)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return stat, methods, sizes


def entanglement_table(summary_path):
    """Mean S / ln chi and <r> at the cut between the two copies of each nu = 2 layer, per method and n."""
    det_path = os.path.join(os.path.dirname(summary_path), "details.json")
    if not os.path.exists(det_path):
        return []
    acc = {}
    for d in json.load(open(det_path)):
        for t in d.get("entanglement") or []:
            for c in t["cuts"]:
                if c["copies"] and c["S_over_ln_chi"] is not None:
                    k = (d["method"], t["term"], t["layer"], d["n"])
                    acc.setdefault(k, []).append((c["S_over_ln_chi"], c["r_mean"] if c["r_mean"] is not None else np.nan))
    if not acc:
        return []
    lines = ["", "Entanglement of the fitted nu = 2 layers at the cut between their two copies (tnace-inspect): mean "
             "S / ln chi and mean level-spacing ratio <r> over elements and repeats (Poisson 0.386, GOE 0.536):", "",
             "| method | term | layer | n | S / ln chi | <r> |", "|---|---|---|---|---|---|"]
    for (m, term, layer, n), v in sorted(acc.items()):
        v = np.array(v)
        r = "%.2f" % np.nanmean(v[:, 1]) if np.isfinite(v[:, 1]).any() else "–"
        lines.append("| %s | %d | %s | %d | %.2f | %s |" % (m, term, layer, n, v[:, 0].mean(), r))
    return lines


def plot(stat, methods, sizes, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for m in methods:
        ns = [n for n in sizes if (m, n) in stat]
        for q, name in enumerate(("RMSE", "MAE")):
            mean = [stat[m, n][0][q] for n in ns]
            se = [stat[m, n][1][q] for n in ns]
            ax[q].errorbar(ns, mean, yerr=se, marker="o" if m in TN_METHODS else "s", capsize=3, label=m,
                           ls="-" if m in TN_METHODS else "--")
    for q, name in enumerate(("RMSE", "MAE")):
        ax[q].set_xscale("log")
        ax[q].set_xlabel("training structures n")
        ax[q].set_ylabel("test %s (meV/cation)" % name)
        ax[q].grid(alpha=0.3)
    ax[0].legend()
    fig.suptitle("NMD18 formation energy: learning curves (mean ± s.e. over repeats)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--sizes", default="100,200,400,800,1600")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", required=True)
    ap.add_argument("--methods", default=",".join(ALL))
    ap.add_argument("--property", default="formation_energy")
    ap.add_argument("--per", default="Al,Ga,In", help="species counted (errors per counted atom)")
    ap.add_argument("--configs", default=os.path.join(HERE, "configs"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build"), help="directory of tnace-fit, -eval, -desc")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    a.per = [s for s in a.per.replace(",", " ").split()]
    a.out = os.path.abspath(a.out)
    a.configs = os.path.abspath(a.configs)
    methods = [m for m in a.methods.split(",") if m]
    bad = [m for m in methods if m not in ALL]
    if bad:
        sys.exit("learning_curve: unknown method(s) %s (known: %s)" % (", ".join(bad), ", ".join(ALL)))
    sizes = [int(s) for s in a.sizes.split(",") if s]
    os.makedirs(a.out, exist_ok=True)
    text, y, feats = parse_frames(a.train, a.property, a.per)
    _, yt, tfeats = parse_frames(a.test, a.property, a.per)
    if max(sizes) > len(y):
        sys.exit("learning_curve: size %d exceeds the %d training structures" % (max(sizes), len(y)))
    test = {"feats": tfeats}
    if any(m.startswith("krr") for m in methods):
        desc = descriptors(a, os.path.abspath(a.train), os.path.join(a.out, "train_desc.npy"))
        test["desc"] = descriptors(a, os.path.abspath(a.test), os.path.join(a.out, "test_desc.npy"))
    else:
        desc = None
    res_path, det_path = os.path.join(a.out, "results.json"), os.path.join(a.out, "details.json")
    results = json.load(open(res_path)) if os.path.exists(res_path) else []
    details = json.load(open(det_path)) if os.path.exists(det_path) else []
    done = {(r["method"], r["n"], r["repeat"]) for r in results}
    for rep in range(a.repeats):
        perm = np.random.default_rng(a.seed + rep).permutation(len(y))
        for n in sizes:
            idx = perm[:n]
            for m in methods:
                if (m, n, rep) in done:
                    continue
                t0 = time.time()
                if m in TN_METHODS:
                    work = os.path.join(a.out, "runs", "%s_n%d_r%d" % (m, n, rep))
                    yref, yp, det = tnace_run(m, [text[i] for i in idx], work, a, os.path.abspath(a.test))
                    if not np.allclose(yref, yt, atol=1e-6):
                        sys.exit("learning_curve: tnace-eval's reference values differ from %s's %s" % (a.test, a.property))
                else:
                    yp, det = baseline(m, idx, y, feats, desc, test)
                err = yp - yt
                r = {"method": m, "n": n, "repeat": rep, "rmse": float(np.sqrt(np.mean(err ** 2))),
                     "mae": float(np.mean(np.abs(err)))}
                results.append(r)
                details.append(dict(r, time_s=round(time.time() - t0, 2), **det))
                json.dump(results, open(res_path, "w"), indent=1)
                json.dump(details, open(det_path, "w"), indent=1, default=str)
                print("%-10s n=%5d repeat %d: RMSE %7.2f  MAE %7.2f meV/cation  (%.0f s)"
                      % (m, n, rep, r["rmse"], r["mae"], time.time() - t0), flush=True)
    stat, ms, ss = summary(results, os.path.join(a.out, "summary.md"))
    plot(stat, ms, ss, os.path.join(a.out, "curves.png"))
    print(open(os.path.join(a.out, "summary.md")).read())


if __name__ == "__main__":
    main()
