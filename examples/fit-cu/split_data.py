#!/usr/bin/python3
"""split_data.py — deterministic train/validation split of an extended-XYZ file, frame by frame.

    /usr/bin/python3 split_data.py IN.xyz TRAIN.xyz VALID.xyz [--every 10]

Frame i (0-based, file order) goes to VALID when i % EVERY == EVERY - 1 (every 10th frame: 9, 19, 29, ...),
otherwise to TRAIN. The frames are copied as text, byte for byte, so nothing in them is reformatted.
Every 10th frame samples all parts of the Cu file evenly (vacancies, surfaces, AIMD snapshots, strained cells),
because the file keeps each kind of structure together.
"""
import argparse
import sys


def frames(path):
    with open(path) as f:
        lines = f.readlines()
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        try:
            n = int(lines[i].split()[0])
        except ValueError:
            sys.exit("split_data: %s:%d: expected an atom count, got %r" % (path, i + 1, lines[i][:40]))
        if i + 2 + n > len(lines):
            sys.exit("split_data: %s:%d: truncated frame" % (path, i + 1))
        yield lines[i:i + 2 + n]
        i += 2 + n


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
        for i, fr in enumerate(frames(a.data)):
            if i % a.every == a.every - 1:
                fv.writelines(fr)
                nv += 1
                av += len(fr) - 2
            else:
                ft.writelines(fr)
                nt += 1
                at += len(fr) - 2
    print("split_data: %s -> %s (%d structures, %d atoms), %s (%d structures, %d atoms)"
          % (a.data, a.train, nt, at, a.valid, nv, av))


if __name__ == "__main__":
    main()
