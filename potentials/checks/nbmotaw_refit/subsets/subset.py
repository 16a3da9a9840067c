#!/usr/bin/python3
"""subset.py — the element subsets of the Nb–Mo–Ta–W training data used to screen the refit's levers
(potentials/README.md, "Nb–Mo–Ta–W against SNAP and qSNAP"): Mo.xyz (Mo_AIMD, Mo_Elastic, Mo_Surface) and
MoTa.xyz (the Mo and Ta structures and MoTa_SS), frames copied verbatim in file order.

    cd potentials/checks/nbmotaw_refit/subsets && /usr/bin/python3 subset.py
    ../../../../build/tnace-fit Mo_S.yaml --cv 5 --cv-out Mo_S.cv.json        # and Mo_M1, Mo_L
    ../../../../build/tnace-fit B_S.yaml --cv 5 --fold 0 --cv-out B_S_f0.cv.json   # and B_SE
    /usr/bin/python3 ../../snap_refit.py Mo_S.cv.json --elements Mo \\
        --like ../../reference/snap_Li2020/Ta-W-Nb-Mo --quadratic --out Mo_qSNAP
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "..", "..", "..", "shared", "data", "nbmotaw", "NbMoTaW_train.xyz")
SUBSETS = {"Mo.xyz": ("Mo",), "MoTa.xyz": ("Mo", "Ta", "MoTa")}


def main():
    if not os.path.exists(SRC):
        sys.exit(f"subset.py: no training file {os.path.normpath(SRC)} (../shared/data next to the repository)")
    lines = open(SRC).read().split("\n")
    out = {k: [] for k in SUBSETS}
    i = 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        frame = lines[i:i + 2 + n]
        kind = frame[1].split("config_type=")[1].split()[0].split("_")[0]
        for name, kinds in SUBSETS.items():
            if kind in kinds:
                out[name].extend(frame)
        i += 2 + n
    for name, frame_lines in out.items():
        with open(os.path.join(HERE, name), "w") as f:
            f.write("\n".join(frame_lines) + "\n")
        print(f"wrote {name}: {sum(1 for l in frame_lines if 'Lattice=' in l)} structures")


if __name__ == "__main__":
    main()
