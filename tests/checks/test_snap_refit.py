#!/usr/bin/python3
"""ctest snap_refit: potentials/checks/snap_refit.py recovers a known SNAP exactly.

Twelve rattled, strained 8-atom Ge cells are labelled (energy, forces, stress) by LAMMPS pair_style snap with
the published linear Ge SNAP of Zuo et al. (LAMMPS's potentials folder). Their energies are then exactly linear
in the SNAP descriptors, so the refit on 3 CV folds must predict every held-out structure to rounding
(to the 8 decimals extxyz keeps: < 1e-5 meV/atom, 1e-6 eV/Å) and write back the published coefficients (relative 1e-6), and the tnace-schema
output must pass tools/cv.py check. Fails if the descriptor rows, their signs or units, the frame rotation,
the fold handling or the coefficient file layout are wrong.

    test_snap_refit.py SHARE_POTENTIALS_DIR      (LAMMPS through tools/lmp; TNACE_LMP etc. in the environment)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "potentials", "checks"))
import snap_refit  # noqa: E402


def label(frames, stem, d):
    """Energies, forces and stress (ASE frame and sign) of frames from pair_style snap."""
    lines, Rs = [], []
    for i, at in enumerate(frames):
        Rs.append(snap_refit.write_data(os.path.join(d, "l%d.data" % i), at, ["Ge"]))
        lines += (["clear"] if i else []) + ["units metal", "boundary p p p", "atom_style atomic",
                                             "read_data l%d.data" % i, "mass 1 72.63", "pair_style snap",
                                             "pair_coeff * * %s.snapcoeff %s.snapparam Ge" % (stem, stem),
                                             "thermo_style custom pe pxx pyy pzz pyz pxz pxy vol", "run 0",
                                             'print "LBL %d $(pe:%%.17g) $(pxx:%%.17g) $(pyy:%%.17g) $(pzz:%%.17g) '
                                             '$(pyz:%%.17g) $(pxz:%%.17g) $(pxy:%%.17g)"' % i,
                                             "write_dump all custom l%d.dump id fx fy fz modify sort id format "
                                             "float %%.17g" % i]
    with open(os.path.join(d, "in.lbl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run([snap_refit.LMP, "-in", "in.lbl", "-log", "none"], cwd=d, capture_output=True, text=True)
    if out.returncode:
        sys.exit("LAMMPS failed:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    vals = {int(l.split()[1]): [float(x) for x in l.split()[2:]] for l in out.stdout.splitlines()
            if l.startswith("LBL")}
    for i, at in enumerate(frames):
        e, pxx, pyy, pzz, pyz, pxz, pxy = vals[i]
        txt = open(os.path.join(d, "l%d.dump" % i)).read().split("ITEM: ATOMS")[1].splitlines()[1:]
        f = np.array([[float(v) for v in l.split()[1:4]] for l in txt if l.strip()]) @ Rs[i].T
        P = np.array([[pxx, pxy, pxz], [pxy, pyy, pyz], [pxz, pyz, pzz]]) / 1.6021765e6   # bar -> eV/Å^3
        s = -(Rs[i] @ P @ Rs[i].T)   # ASE stress = −pressure tensor, back in the data's frame
        at.calc = SinglePointCalculator(at, energy=e, forces=f,
                                        stress=[s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])


def main(share):
    stem = os.path.join(share, "Ge_Zuo_JPCA2020")
    rng = np.random.default_rng(5)
    frames = []
    for i in range(12):
        at = bulk("Ge", "diamond", a=5.75, cubic=True)
        eps = rng.normal(scale=0.02, size=(3, 3))
        at.set_cell(at.cell[:] @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
        at.rattle(0.08, seed=i)
        at.info["config_type"] = "rattled" if i % 2 else "strained"
        frames.append(at)
    with tempfile.TemporaryDirectory() as d:
        label(frames, stem, d)
        xyz = os.path.join(d, "train.xyz")
        write(xyz, frames, format="extxyz")
        lines = snap_refit.frame_lines(xyz)
        cv = {"cross_validation": {"k": 3, "seed": 1, "folds_done": [0, 1, 2], "structures": [
            {"source": "%s:%d" % (xyz, l), "config_type": at.info["config_type"], "n_atoms": len(at), "fold": i % 3}
            for i, (l, at) in enumerate(zip(lines, frames))]}}
        with open(os.path.join(d, "folds.cv.json"), "w") as f:
            json.dump(cv, f)
        out = os.path.join(d, "refit")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "potentials", "checks", "snap_refit.py"),
                            os.path.join(d, "folds.cv.json"), "--elements", "Ge", "--like", stem,
                            "--grid", "100:1:0.1", "--ridge", "0", "--out", out], capture_output=True, text=True)
        print(r.stdout[-3000:], r.stderr[-3000:])
        if r.returncode:
            sys.exit("snap_refit.py failed")
        res = json.load(open(out + ".cv.json"))
        ov = res["cross_validation"]["overall"]
        bad = []
        # extxyz keeps 8 decimals of energies and forces: 1e-8 eV over 8 atoms is 1e-6 meV/atom
        if ov["energy"]["mae_mean"] > 1e-5 or ov["forces"]["mae_mean"] > 1e-6:
            bad.append("held-out errors %g meV/atom, %g eV/Å: not exact" % (ov["energy"]["mae_mean"],
                                                                          ov["forces"]["mae_mean"]))
        if ov["stress"]["mae_mean"] > 1e-6:
            bad.append("held-out stress error %g GPa: not exact" % ov["stress"]["mae_mean"])
        ref = np.array([float(x) for x in open(stem + ".snapcoeff").read().split()[-56:]])
        got = np.array([float(x) for x in open(out + ".snapcoeff").read().split()[-56:]])
        rel = np.abs(got - ref).max() / np.abs(ref).max()
        if rel > 1e-6:
            bad.append("coefficients differ from the published ones by %g (relative)" % rel)
        chk = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "cv.py"), "check", out + ".cv.json"],
                             capture_output=True, text=True)
        print(chk.stdout)
        if chk.returncode:
            bad.append("tools/cv.py check failed")
    for b in bad:
        print("FAIL:", b)
    print("coefficients recovered to %.2g; held-out E %.2g meV/atom, F %.2g eV/Å" % (
        rel, ov["energy"]["mae_mean"], ov["forces"]["mae_mean"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
