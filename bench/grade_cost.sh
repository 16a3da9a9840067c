#!/usr/bin/env bash
# bench/grade_cost.sh — cost of the extrapolation grade (compute tnace/grade) in LAMMPS, relative to the
# energy and forces of pair_style tnace: the same MD (diamond Si, 512 atoms, potentials/Si.yaml, 200 steps)
# without the grade, with it every 10 steps and every step, interleaved REPS times on one core; prints the
# loop times and the extra time per graded atom-step as a multiple of one energy+force atom-step.
#
#   bench/grade_cost.sh [REPS] [POTENTIAL] [ELEMENT] [LATTICE a]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPS="${1:-3}"; POT="${2:-$ROOT/potentials/Si.yaml}"; EL="${3:-Si}"; A="${4:-5.468}"
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
cat > "$W/in.cost" <<IN
units metal
atom_style atomic
plugin load tnaceplugin.so
lattice diamond \${a}
region box block 0 4 0 4 0 4
create_box 1 box
create_atoms 1 box
mass 1 28.0855
pair_style tnace
pair_coeff * * \${pot} \${el}
velocity all create 600 4928459 mom yes rot yes
fix nve all nve
compute g all tnace/grade
if "\${every} > 0" then "thermo_style custom step pe c_g" "thermo \${every}" else "thermo 1000"
run 200
IN
declare -A T
for r in $(seq "$REPS"); do
  for every in 0 10 1; do
    t=$(cd "$W" && OMP_NUM_THREADS=1 "$ROOT/tools/lmp" -in in.cost -var a "$A" -var pot "$POT" -var el "$EL" \
        -var every $every -log none | awk '/^Loop time/ {print $4}')
    T[$every]="${T[$every]:-} $t"
  done
done
python3 - "${T[0]}" "${T[10]}" "${T[1]}" <<'PY'
import sys
t0, t10, t1 = ([float(x) for x in a.split()] for a in sys.argv[1:])
med = lambda v: sorted(v)[len(v) // 2]
a, b, c = med(t0), med(t10), med(t1)
print("loop time of 200 steps (median of %d): no grade %.3f s, grade every 10 steps %.3f s, every step %.3f s" % (len(t0), a, b, c))
print("grade every step costs %.2f x an energy+force step; every 10 steps adds %.1f %%" % ((c - a) / a, 100 * (b - a) / a))
PY
