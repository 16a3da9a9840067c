"""The frames of an extended-XYZ file, verbatim: the one splitter the repository's scripts share.

    from extxyz_frames import frames          (sys.path: the repository's tools/)
    for line, text in frames("data.xyz"): ...

Each frame is its atom-count line, the comment line and the atom lines exactly as in the file (so that keys,
precision and columns survive a copy), with the 1-based line number of its atom-count line. Blank lines between
frames are skipped. A line where an atom count should be, or a frame cut short by the end of the file, is an
error (SystemExit naming the file and line): a split or a subset must never silently lose structures.
Standard library only.
"""
import sys


def frames(path):
    """List of (line, text) for every frame of the extxyz file `path`."""
    with open(path) as f:
        lines = f.readlines()
    out, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        try:
            n = int(lines[i].split()[0])
        except ValueError:
            sys.exit("%s:%d: expected an atom count, got %r" % (path, i + 1, lines[i][:40]))
        if n < 0 or i + 2 + n > len(lines):
            sys.exit("%s:%d: frame of %d atoms cut short by the end of the file" % (path, i + 1, n))
        out.append((i + 1, "".join(lines[i:i + 2 + n])))
        i += 2 + n
    return out
