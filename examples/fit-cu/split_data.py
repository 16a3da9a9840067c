#!/usr/bin/python3
"""split_data.py — deterministic train/validation split of an extended-XYZ file, frame by frame.

    /usr/bin/python3 split_data.py IN.xyz TRAIN.xyz VALID.xyz [--every 10]

Frame i (0-based, file order) goes to VALID when i % EVERY == EVERY - 1 (every 10th frame: 9, 19, 29, ...),
otherwise to TRAIN. The frames are copied as text, byte for byte, so nothing in them is reformatted.
Every 10th frame samples all parts of the Cu file evenly (vacancies, surfaces, AIMD snapshots, strained cells),
because the file keeps each kind of structure together.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from extxyz_frames import frames  # noqa: E402  (the repository's one frame splitter)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("train")
    ap.add_argument("valid")
    ap.add_argument("--every", type=int, default=10)
    a = ap.parse_args()
    if a.every < 2:
        sys.exit("split_data: --every must be >= 2")
    nt = nv = at = av = 0
    with open(a.train, "w") as ft, open(a.valid, "w") as fv:
        for i, (_, fr) in enumerate(frames(a.data)):
            natoms = int(fr.split(None, 1)[0])
            if i % a.every == a.every - 1:
                fv.write(fr)
                nv += 1
                av += natoms
            else:
                ft.write(fr)
                nt += 1
                at += natoms
    print("split_data: %s -> %s (%d structures, %d atoms), %s (%d structures, %d atoms)"
          % (a.data, a.train, nt, at, a.valid, nv, av))


if __name__ == "__main__":
    main()
