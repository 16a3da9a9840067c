#!/usr/bin/python3
"""prepare.py — split the NMD18 training file into a training pool and our own held-out test set.

    /usr/bin/python3 examples/nmd18/prepare.py [--data ../shared/data/nmd18/nmd18_train.xyz] [--test 600]
                                               [--seed 18] --out DIR

Writes DIR/train.xyz (the rest, 1800 of 2400) and DIR/test.xyz (600 structures drawn by a seeded permutation),
frames copied verbatim (tools/extxyz_frames.py). The files are (Al_x Ga_y In_z)2O3 cells of the NOMAD 2018
Kaggle competition (Sutton et al., npj Comput Mater 5, 111 (2019)) with keys formation_energy (eV per cation)
and bandgap (eV); as in the seed (Sommer & Dunham Sec. IV.A) the model sees the cells as given.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
from extxyz_frames import frames  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "nmd18", "nmd18_train.xyz"))
ap.add_argument("--test", type=int, default=600)
ap.add_argument("--seed", type=int, default=18)
ap.add_argument("--out", required=True)
a = ap.parse_args()
fr = [t for _, t in frames(a.data)]
if not 0 < a.test < len(fr):
    sys.exit("prepare: --test %d out of range for %d frames" % (a.test, len(fr)))
perm = np.random.default_rng(a.seed).permutation(len(fr))
os.makedirs(a.out, exist_ok=True)
for name, idx in (("test.xyz", perm[:a.test]), ("train.xyz", np.sort(perm[a.test:]))):
    with open(os.path.join(a.out, name), "w") as f:
        f.writelines(fr[i] for i in idx)
    print("prepare: %s -> %s (%d structures)" % (a.data, os.path.join(a.out, name), len(idx)))
