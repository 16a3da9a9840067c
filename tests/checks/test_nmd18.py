#!/usr/bin/python3
"""ctest nmd18_driver: examples/nmd18/learning_curve.py and compress.py end to end on a small synthetic oxide set.

Forty random (Al,Ga)2O3-like cells carry a formation_energy (eV per cation) that is a smooth function of their
composition and volume. With tiny models (tests/data/nmd18_configs) the driver must: write results.json as a list
of exactly {method, n, repeat, rmse, mae} for every method, size and repeat, with 0 < mae <= rmse; give the
tensor-network methods the errors tnace-eval gives for the same fitted model on the test file; skip what is
already there when run again; write summary.md and curves.png. compress.py must reconstruct every descriptor
exactly (relative RMSE < 1e-10) at a bond χ_in large enough to be lossless, lose information at χ_in = 1, and
write its table. Fails if subsets, units, the prediction parser, the resume logic or the MPS-SVD are wrong.

    test_nmd18.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase import Atoms
from ase.io import write

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EX = os.path.join(ROOT, "examples", "nmd18")


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what)


def synthetic(n, rng):
    out = []
    while len(out) < n:
        a = 4.0 + rng.uniform(0, 0.6)
        cell = np.diag([a, a, a]) + rng.normal(scale=0.1, size=(3, 3))
        frac = rng.uniform(size=(10, 3))
        x = rng.uniform()
        sym = ["Al" if rng.uniform() < x else "Ga" for _ in range(4)] + ["O"] * 6
        at = Atoms(sym, scaled_positions=frac, cell=cell, pbc=True)
        d = at.get_all_distances(mic=True)[np.triu_indices(10, 1)]
        if d.min() < 1.2:
            continue
        xa = sym[:4].count("Al") / 4
        at.info["formation_energy"] = round(0.2 * xa * (1 - xa) + 0.01 * (at.get_volume() / 10 - 7), 5)
        out.append(at)
    return out


def main():
    build = os.path.abspath(sys.argv[1])
    rng = np.random.default_rng(3)
    frames = synthetic(45, rng)
    with tempfile.TemporaryDirectory() as d:
        write(os.path.join(d, "train.xyz"), frames[:30], format="extxyz")
        write(os.path.join(d, "test.xyz"), frames[30:45], format="extxyz")
        cfg = os.path.join(ROOT, "tests", "data", "nmd18_configs")
        cmd = ["/usr/bin/python3", os.path.join(EX, "learning_curve.py"), "--train", os.path.join(d, "train.xyz"),
               "--test", os.path.join(d, "test.xyz"), "--sizes", "12,24", "--repeats", "2", "--out",
               os.path.join(d, "lc"), "--configs", cfg, "--bin", build, "--per", "Al,Ga"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        check(p.returncode == 0, "learning_curve.py runs (%s)" % p.stderr[-400:])
        res = json.load(open(os.path.join(d, "lc", "results.json")))
        methods = {"tnace-mps", "tnace-mpo", "tnace-pooled", "gpr-comp", "krr-soap", "krr-rbf"}
        keys = {(r["method"], r["n"], r["repeat"]) for r in res}
        check(len(res) == 24 and keys == {(m, n, k) for m in methods for n in (12, 24) for k in (0, 1)},
              "results.json: every method, size and repeat once (%d entries)" % len(res))
        check(all(set(r) == {"method", "n", "repeat", "rmse", "mae"} for r in res), "results.json keys exactly")
        check(all(0 < r["mae"] <= r["rmse"] < 1e4 for r in res), "0 < mae <= rmse, finite")
        run = os.path.join(d, "lc", "runs", "tnace-pooled_n24_r1")
        ev = subprocess.run([os.path.join(build, "tnace-eval"), os.path.join(run, "model.yaml"),
                             os.path.join(d, "test.xyz"), "--json"], capture_output=True, text=True)
        e = json.loads(ev.stdout)["energy"]
        r = [x for x in res if (x["method"], x["n"], x["repeat"]) == ("tnace-pooled", 24, 1)][0]
        check(abs(e["rmse"] - r["rmse"]) < 1e-3 * e["rmse"] + 1e-6 and abs(e["mae"] - r["mae"]) < 1e-3 * e["mae"] + 1e-6,
              "driver errors equal tnace-eval's on the same model (%.4g/%.4g vs %.4g/%.4g meV/cation)"
              % (r["rmse"], r["mae"], e["rmse"], e["mae"]))
        sub = open(os.path.join(run, "train.xyz")).read().count("Lattice=")
        check(sub == 24, "the n = 24 subset has 24 structures (%d)" % sub)
        p = subprocess.run(cmd, capture_output=True, text=True)
        check(p.returncode == 0 and len(json.load(open(os.path.join(d, "lc", "results.json")))) == 24
              and "n=" not in p.stdout, "a second run skips what is done")
        check(os.path.getsize(os.path.join(d, "lc", "curves.png")) > 1000
              and "| tnace-pooled |" in open(os.path.join(d, "lc", "summary.md")).read(), "summary.md and curves.png")
        cmd = ["/usr/bin/python3", os.path.join(EX, "compress.py"), "--train", os.path.join(d, "train.xyz"),
               "--test", os.path.join(d, "test.xyz"), "--out", os.path.join(d, "cmp"), "--n", "24", "--repeats", "1",
               "--chi", "1,64", "--latent", "1", "--ae-chi", "2", "--ae-steps", "20", "--configs", cfg, "--bin", build,
               "--per", "Al,Ga"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        check(p.returncode == 0, "compress.py runs (%s)" % p.stderr[-400:])
        c = json.load(open(os.path.join(d, "cmp", "compression.json")))
        rel = {(x["method"], x["param"]): x["recon_rel_rmse"] for x in c}
        check(rel[("mps-svd", 64)] < 1e-10 and rel[("mps-svd", 1)] > 1e-4,
              "MPS-SVD: lossless at chi 64 (%.1e), lossy at chi 1 (%.1e)" % (rel[("mps-svd", 64)], rel[("mps-svd", 1)]))
        full = [x for x in c if x["method"] == "full"][0]
        big = [x for x in c if x["method"] == "mps-svd" and x["param"] == 64][0]
        check(abs(full["rmse"] - big["rmse"]) < 1e-6 * full["rmse"], "the lossless compression predicts as the full input")
        check(("mpo-ae", 1) in rel and os.path.exists(os.path.join(d, "cmp", "compression.md")), "autoencoder row, table")
    print("PASS")


if __name__ == "__main__":
    main()
