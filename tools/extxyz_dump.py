#!/usr/bin/python3
"""extxyz_dump.py — print extended-XYZ frames with ASE in the text form of `test_extxyz --dump`, and compare.

Run with Debian's /usr/bin/python3 (it has python3-ase), not a pyenv python3.

  extxyz_dump.py FILE [K]                 print the first K frames (default 3; 0 = all) read by ASE
  extxyz_dump.py --compare A B            compare two dumps (numbers to 1e-12 relative), exit 1 on a difference
  extxyz_dump.py --check READER DATADIR [K]
        for every dataset under DATADIR (zuo2020/*_train.xyz, nbmotaw/*.xyz, nmd18/*.xyz) compare the first K
        frames read by ASE with `READER --dump FILE K` (READER = the test_extxyz executable). Exit 77 (ctest
        SKIP_RETURN_CODE) when DATADIR or its files are missing, 1 on any difference.

Dump format (one item per line):
  frame I / natoms N / energy E|none / cell 9 numbers (rows a, b, c) / pbc 0|1 x3 / config_type S|- /
  stress 9 numbers row-major (eV/Å^3, ASE sign)|none / N x "atom SYMBOL x y z fx fy fz" (or "... none")
"""
import glob
import math
import os
import subprocess
import sys


def fmt(x):
    return repr(float(x))


def dump_ase(path, k):
    from ase.io import iread

    out = []
    index = ':' if k <= 0 else ':%d' % k
    for i, at in enumerate(iread(path, index=index, format='extxyz')):
        res = at.calc.results if at.calc is not None else {}
        out.append('frame %d' % i)
        out.append('natoms %d' % len(at))
        out.append('energy %s' % (fmt(res['energy']) if 'energy' in res else 'none'))
        out.append('cell ' + ' '.join(fmt(x) for x in at.cell.array.reshape(-1)))
        out.append('pbc ' + ' '.join('1' if p else '0' for p in at.pbc))
        ct = at.info.get('config_type')
        out.append('config_type %s' % (ct if ct is not None and str(ct) != '' else '-'))
        if 'stress' in res:
            s = at.get_stress(voigt=False)  # 3x3 from ASE's Voigt 6, eV/Å^3, ASE sign
            out.append('stress ' + ' '.join(fmt(x) for x in s.reshape(-1)))
        else:
            out.append('stress none')
        f = res.get('forces')
        for a in range(len(at)):
            p = at.positions[a]
            line = 'atom %s %s %s %s' % (at.get_chemical_symbols()[a], fmt(p[0]), fmt(p[1]), fmt(p[2]))
            line += (' ' + ' '.join(fmt(x) for x in f[a])) if f is not None else ' none'
            out.append(line)
    return out


def close(a, b, tol=1e-12):
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    if math.isnan(x) or math.isnan(y):
        return False
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


def compare(ase_lines, our_lines, label, max_report=10):
    """Return the number of differences (reported on stderr)."""
    nbad = 0
    if len(ase_lines) != len(our_lines):
        print('%s: ASE gives %d lines, tnace %d' % (label, len(ase_lines), len(our_lines)), file=sys.stderr)
        nbad += 1
    frame = '?'
    for n, (la, lb) in enumerate(zip(ase_lines, our_lines)):
        if la.startswith('frame '):
            frame = la.split()[1]
        ta, tb = la.split(), lb.split()
        if len(ta) != len(tb) or not all(close(x, y) for x, y in zip(ta, tb)):
            nbad += 1
            if nbad <= max_report:
                print('%s: frame %s, dump line %d differs:\n  ase:   %s\n  tnace: %s' % (label, frame, n + 1, la, lb),
                      file=sys.stderr)
    return nbad


def check(reader, datadir, k):
    if not os.path.isdir(datadir):
        print('SKIP: data directory %s not found' % datadir)
        return 77
    files = sorted(glob.glob(os.path.join(datadir, 'zuo2020', '*_train.xyz')))
    files += sorted(glob.glob(os.path.join(datadir, 'nbmotaw', '*.xyz')))
    files += sorted(glob.glob(os.path.join(datadir, 'nmd18', '*.xyz')))
    if not files:
        print('SKIP: no .xyz files under %s' % datadir)
        return 77
    total_bad = 0
    for path in files:
        ours = subprocess.run([reader, '--dump', path, str(k)], capture_output=True, text=True)
        if ours.returncode != 0:
            print('%s: tnace reader failed (%d): %s' % (path, ours.returncode, ours.stderr.strip()), file=sys.stderr)
            total_bad += 1
            continue
        ref = dump_ase(path, k)
        nbad = compare(ref, ours.stdout.splitlines(), os.path.relpath(path, datadir))
        nframes = sum(1 for line in ref if line.startswith('frame '))
        natoms = sum(1 for line in ref if line.startswith('atom '))
        print('%-28s %d frames, %d atoms: %s' % (os.path.relpath(path, datadir), nframes, natoms,
                                                 'agree' if nbad == 0 else '%d DIFFERENCES' % nbad))
        total_bad += nbad
    return 1 if total_bad else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == '--check':
        if len(argv) not in (4, 5):
            print(__doc__, file=sys.stderr)
            return 2
        return check(argv[2], argv[3], int(argv[4]) if len(argv) == 5 else 3)
    if len(argv) == 4 and argv[1] == '--compare':
        with open(argv[2]) as fa, open(argv[3]) as fb:
            return 1 if compare(fa.read().splitlines(), fb.read().splitlines(), argv[3]) else 0
    if len(argv) in (2, 3) and not argv[1].startswith('-'):
        for line in dump_ase(argv[1], int(argv[2]) if len(argv) == 3 else 3):
            print(line)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
