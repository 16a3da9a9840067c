#!/usr/bin/python3
"""loco.py — leave one chemistry out: train tnace and the SNAP refits without a chemistry, predict it.

    /usr/bin/python3 potentials/checks/loco.py potentials/configs/NbMoTaW.yaml --hold-out NbW_SS \\
        --elements Ta W Nb Mo --like potentials/checks/reference/snap_Li2020/Ta-W-Nb-Mo \\
        --snap potentials/checks/nbmotaw_refit/NbMoTaW_SNAP.cv.json \\
        --qsnap potentials/checks/nbmotaw_refit/NbMoTaW_qSNAP.cv.json --out loco_NbW

The generalisation protocol of issue #13 for a multicomponent training set of unaries and binaries: the
structures of the held-out config_types (e.g. NbW_SS, every structure that holds both Nb and W) are removed
from the training data; tnace and linear and quadratic SNAP are fitted to the rest and scored on the removed
chemistry, next to their errors on the chemistries they saw (the config's validation split, held-out groups
removed). All three see exactly the same structures:

- the config's own validation split (data.validation_fraction, seed, stratify, reproduced bit for bit as
  snap_refit.py --split does) defines "train" and "validation"; held-out groups are taken out of both;
- tnace: a copy of the config with data.train / data.validation pointing at the two remaining parts (frames
  copied verbatim) is fitted with build/tnace-fit (OUT/tnace.yaml; an existing one is reused, so that an
  interrupted run resumes); it uses the validation part as the fit does, to keep the best sweep;
- SNAP and qSNAP: the training part only, with the hyperparameters of --like and the loss weights, ridge and
  force fraction that snap_refit.py chose by CV for the full data (--snap, --qsnap: their .cv.json). One
  LAMMPS `compute snap` pass (quadratic) gives both: the linear model uses the linear columns.

Output: OUT/loco.json (per structure and per config_type errors of the three models on the held-out
chemistry and on the validation part) and a table on stdout (MAE, energy in meV/atom, forces in eV/Å).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import yaml  # python3-yaml, Debian

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import snap_refit as sr  # noqa: E402
from extxyz_frames import frames as xyz_frames  # noqa: E402


def partition(config, hold):
    """Records of every training structure with its part: 'held' (a held-out config_type), 'train' or
    'validation' (the config's split). Returns (records with frames, path of the training file)."""
    _, pairs = sr.load_split(config, None)
    for r, _ in pairs:
        r["part"] = "held" if r["config_type"] in hold else ("validation" if r["fold"] == 0 else "train")
    missing = [h for h in hold if not any(r["config_type"] == h for r, _ in pairs)]
    if missing:
        sys.exit("loco: no structure of config_type %s in %s" % (", ".join(missing), pairs[0][0]["source"]))
    return pairs


def write_parts(pairs, out):
    """OUT/fit_train.xyz and OUT/fit_validation.xyz: the frames of the two parts, verbatim."""
    path = pairs[0][0]["source"].rsplit(":", 1)[0]
    text = dict(xyz_frames(path))
    files = {}
    for part in ("train", "validation"):
        files[part] = os.path.join(out, "fit_%s.xyz" % part)
        with open(files[part] + ".tmp", "w") as f:
            for r, _ in pairs:
                if r["part"] == part:
                    f.write(text[int(r["source"].rsplit(":", 1)[1])])
        os.replace(files[part] + ".tmp", files[part])   # a fit started by a parallel run keeps reading its copy
    return files


def fit_tnace(config, files, out, threads, name):
    pot = os.path.join(out, name + ".yaml")
    if os.path.exists(pot):
        print("loco: reusing %s" % pot, file=sys.stderr)
        return pot
    c = yaml.safe_load(open(config))
    c["data"] = {"train": os.path.abspath(files["train"]), "validation": os.path.abspath(files["validation"]),
                 "validation_fraction": 0}
    c["output"] = {"potential": os.path.abspath(pot), "metrics": os.path.abspath(os.path.join(out, name + ".metrics.json"))}
    if threads:
        c.setdefault("fit", {})["threads"] = threads
    cfg = os.path.join(out, name + "_config.yaml")
    with open(cfg, "w") as f:
        f.write("# written by potentials/checks/loco.py from %s\n" % config)
        yaml.safe_dump(c, f, sort_keys=False)
    with open(os.path.join(out, name + "_fit.log"), "w") as log:
        r = subprocess.run([os.path.join(ROOT, "build", "tnace-fit"), cfg], stdout=log, stderr=subprocess.STDOUT)
    if r.returncode:
        sys.exit("loco: tnace-fit failed (see %s)" % os.path.join(out, name + "_fit.log"))
    return pot


def snap_settings(cvfile):
    m = json.load(open(cvfile))
    w = m["weights"]
    return {"w": {"e": w["energy"], "f": w["forces"], "s": w["stress"]}, "ridge": m["ridge"],
            "force_fraction": m["force_fraction"], "hp": m["hyperparameters"], "model": m["model"]}


def linear_columns(hp, nel):
    """Indices of the linear SNAP columns (constant + K bispectrum) inside the quadratic design's columns."""
    K = sr.n_bispectrum(hp["twojmax"])
    nper = sr.n_per_type(hp)
    return np.concatenate([t * (nper + 1) + np.arange(K + 1) for t in range(nel)])


def fit_snaps(pairs, elements, hp, models):
    """One compute-snap pass over the training and scored structures; per model (name → settings with its
    column subset) the Gram of the training rows, then β; returns {name: per-structure records}."""
    rng = np.random.default_rng(12345)
    use = [(r, at) for r, at in pairs if r["part"] in ("train", "held", "validation")]
    grams = {m: {} for m in models}
    kept = []   # rows of the scored structures: every force component
    for (r, at), d in zip(use, sr.descriptors([at for _, at in use], elements, hp)):
        if r["part"] == "train":
            for m, s in models.items():
                rows = sr.design(at, d, s["force_fraction"], rng)
                for kind, (X, y) in rows.items():
                    X = X[:, s["cols"]]
                    g = grams[m].setdefault(kind, [0.0, 0.0])
                    g[0] = g[0] + X.T @ X
                    g[1] = g[1] + X.T @ y
        else:
            kept.append((r, at, sr.design(at, d)))
    out = {}
    for m, s in models.items():
        G = {(0, kind): (g[0], g[1], 0) for kind, g in grams[m].items()}
        beta = sr.solve(G, len(s["cols"]), [0], s["w"], s["ridge"])
        recs = []
        for r, at, rows in kept:
            err = sr.predict_errors({k: (X[:, s["cols"]], y) for k, (X, y) in rows.items()}, beta)
            rec = {"source": r["source"], "config_type": r["config_type"], "part": r["part"], "n_atoms": len(at),
                   "e_err": float(err["e"][0]) * 1000.0, "f_mae": None, "n_f": 0}
            if "f" in err:
                rec["f_mae"], rec["n_f"] = float(np.abs(err["f"]).mean()), int(err["f"].size)
            recs.append(rec)
        out[m] = recs
    return out


def tnace_recs(pot, pairs):
    scored = [(dict(r, fold=0), at) for r, at in pairs if r["part"] in ("held", "validation")]
    recs = sr.tnace_records(pot, scored)
    for rec, (r, _) in zip(recs, scored):
        rec["part"] = r["part"]
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="the tnace fit config of the full training set (its data and split)")
    ap.add_argument("--hold-out", nargs="+", required=True, metavar="CONFIG_TYPE",
                    help="config_types removed from training and predicted")
    ap.add_argument("--elements", nargs="+", required=True, help="element order of the SNAP files")
    ap.add_argument("--like", required=True, help="STEM of the published .snapparam/.snapcoeff: hyperparameters")
    ap.add_argument("--snap", required=True, help="snap_refit.py result (.cv.json) of linear SNAP: weights, ridge")
    ap.add_argument("--qsnap", required=True, help="the same for quadratic SNAP")
    ap.add_argument("--variant", nargs="+", default=[], metavar="NAME=CONFIG.yaml",
                    help="further tnace models fitted to the same parts: their configs' terms, loss and fit settings "
                         "(their data sections are replaced)")
    ap.add_argument("--threads", type=int, default=0, help="tnace-fit threads (default: the config's)")
    ap.add_argument("--snap-only", action="store_true", help="fit and score the SNAP refits only (kept in "
                    "OUT/snap_records.json, which later runs reuse) and stop")
    ap.add_argument("--fit-only", nargs="*", metavar="NAME", help="fit these tnace models (all without names) "
                    "and stop: run several side by side, then once without it (finished fits are reused)")
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    pairs = partition(a.config, set(a.hold_out))
    files = write_parts(pairs, a.out)
    variants = [("tnace", a.config)] + [tuple(v.split("=", 1)) for v in a.variant]
    if any(len(v) != 2 for v in variants):
        sys.exit("loco: --variant takes NAME=CONFIG.yaml")
    if a.fit_only is not None:
        for name, cfg in variants:
            if not a.fit_only or name in a.fit_only:
                fit_tnace(cfg, files, a.out, a.threads, name)
        return
    pots = [] if a.snap_only else [(name, fit_tnace(cfg, files, a.out, a.threads, name)) for name, cfg in variants]
    lin, quad = snap_settings(a.snap), snap_settings(a.qsnap)
    hp = sr.read_like(a.like, a.elements)
    hp["quadraticflag"] = 1
    nper = sr.n_per_type(hp)
    lin["cols"] = linear_columns(hp, len(a.elements))
    quad["cols"] = np.arange(len(a.elements) * (nper + 1))
    cache = os.path.join(a.out, "snap_records.json")
    if os.path.exists(cache):
        snaps = json.load(open(cache))
    else:
        snaps = fit_snaps(pairs, a.elements, hp, {"SNAP": lin, "qSNAP": quad})
        with open(cache + ".tmp", "w") as f:
            json.dump(snaps, f)
        os.replace(cache + ".tmp", cache)
    if a.snap_only:
        return
    named = [("SNAP refit", snaps["SNAP"]), ("qSNAP refit", snaps["qSNAP"])] + [
        (name, tnace_recs(pot, pairs)) for name, pot in pots]
    counts = {p: sum(1 for r, _ in pairs if r["part"] == p) for p in ("train", "validation", "held")}
    res = {"generator": "potentials/checks/loco.py", "config": a.config, "hold_out": a.hold_out, "counts": counts,
           "tnace_potentials": dict(pots), "variants": dict(variants), "snap": {k: {x: v[x] for x in ("w", "ridge", "force_fraction", "model")}
                                            for k, v in (("SNAP", lin), ("qSNAP", quad))},
           "tables": {part: sr.group_rows(named, lambda r, p=part: r["part"] == p, "all") for part in ("held", "validation")},
           "structures": {name: recs for name, recs in named}}
    with open(os.path.join(a.out, "loco.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("training %(train)d, validation %(validation)d, held out %(held)d structures" % counts)
    print("| part | config_type | n | " + " | ".join("%s E / F" % n for n, _ in named) + " |")
    print("|---|---|---|" + "---|" * len(named))
    for part, label in (("held", "held out (never seen)"), ("validation", "validation (seen chemistries)")):
        for g, n, cells in res["tables"][part]:
            print("| %s | %s | %d | " % (label, g, n) + " | ".join(
                "%.2f / %s" % (e, "–" if f is None else "%.3f" % f) for e, f in cells) + " |")


if __name__ == "__main__":
    main()
