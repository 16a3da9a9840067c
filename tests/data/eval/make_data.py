#!/usr/bin/python3
"""Generator of the tnace-eval test inputs in this folder (run here: /usr/bin/python3 make_data.py).

Small fcc Cu cells (a = 3.615 A) with jittered positions and arbitrary energies, forces and stresses:
cu_mixed.xyz (7 frames: config_type Bulk x2 with stress, Vacancy x2 (one with stress), Surface (pbc T T F:
no stress), one without config_type and forces, one named `odd "name" x`), and the error cases empty.xyz,
truncated.xyz (frame 2 at line 7 truncated), nan_pos.xyz (NaN position at line 10), unknown_element.xyz
(Ni at line 7), too_close.xyz (frame 2 at line 7 has atoms 0.25 A apart, below r_min = 0.5 A of
tests/data/yaml/valid.yaml). Deterministic (seeded).
"""
import random
random.seed(7)
a = 3.615
fcc = [(0,0,0),(0.5,0.5,0),(0.5,0,0.5),(0,0.5,0.5)]
def cell_atoms(nx, ny, nz, strain=0.0):
    L = [a*nx*(1+strain), a*ny*(1+strain), a*nz*(1+strain)]
    pos = []
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                for f in fcc:
                    pos.append([(i+f[0])*a*(1+strain), (j+f[1])*a*(1+strain), (k+f[2])*a*(1+strain)])
    return L, pos
def jitter(pos, s=0.05):
    return [[x + random.uniform(-s, s) for x in p] for p in pos]
def frame(L, pos, info, forces=True, syms=None, pbc="T T T", pos_override=None):
    n = len(pos)
    props = "species:S:1:pos:R:3" + (":forces:R:3" if forces else "")
    lat = 'Lattice="%g 0 0 0 %g 0 0 0 %g"' % tuple(L)
    out = ["%d" % n, " ".join([lat, 'Properties=' + props] + info + ['pbc="%s"' % pbc])]
    for i, p in enumerate(pos):
        s = (syms[i] if syms else "Cu")
        line = "%s %.8f %.8f %.8f" % (s, *p)
        if forces:
            line += " %.6f %.6f %.6f" % tuple(random.uniform(-0.3, 0.3) for _ in range(3))
        out.append(line)
    return "\n".join(out) + "\n"
def stress():
    v = [random.uniform(-0.01, 0.01) for _ in range(6)]
    xx, yy, zz, yz, xz, xy = v
    return 'stress="%.6f %.6f %.6f %.6f %.6f %.6f %.6f %.6f %.6f"' % (xx, xy, xz, xy, yy, yz, xz, yz, zz)
def en(n):
    return "energy=%.6f" % (-3.7 * n + random.uniform(-0.05, 0.05))

fr = []
L, p = cell_atoms(1,1,1); fr.append(frame(L, jitter(p), [en(4), stress(), "config_type=Bulk"]))
L, p = cell_atoms(1,1,1, 0.02); fr.append(frame(L, jitter(p), [en(4), stress(), "config_type=Bulk"]))
L, p = cell_atoms(2,1,1); p = p[1:]; fr.append(frame(L, jitter(p), [en(7), "config_type=Vacancy"]))
L, p = cell_atoms(2,1,1); p = p[:5] + p[6:]; fr.append(frame(L, jitter(p), [en(7), stress(), "config_type=Vacancy"]))
L, p = cell_atoms(1,1,2); L[2] = 20.0; fr.append(frame(L, jitter(p), [en(8), stress(), "config_type=Surface"], pbc="T T F"))
L, p = cell_atoms(1,1,1, -0.01); fr.append(frame(L, jitter(p), [en(4)], forces=False))
L, p = cell_atoms(1,1,1); fr.append(frame(L, jitter(p), [en(4), stress(), 'config_type="odd \\"name\\" x"']))
open("cu_mixed.xyz", "w").write("".join(fr))

# error cases
open("empty.xyz", "w").write("")
L, p = cell_atoms(1,1,1)
good = frame(L, jitter(p), [en(4), "config_type=Bulk"])
t = good.splitlines()[:4]
open("truncated.xyz", "w").write(good + "\n".join(t) + "\n")
bad = good.splitlines(); bad[3] = "Cu nan 0.5 0.5 0.1 0.1 0.1"
open("nan_pos.xyz", "w").write(good + "\n".join(bad) + "\n" + good)
open("unknown_element.xyz", "w").write(good + frame(L, jitter(p), [en(4)], syms=["Cu","Ni","Cu","Cu"]))
close = good.splitlines(); close[3] = "Cu 0.2 0.0 0.0 0.1 0.1 0.1"
open("too_close.xyz", "w").write(good + "\n".join(close) + "\n" + good)
