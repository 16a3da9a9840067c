#!/usr/bin/env bash
# examples/validate/run.sh — LAMMPS (pair_style tnace) against tnace-eval on the same DFT frames: total energy,
# forces and stress must agree to round-off.
#
#   examples/validate/run.sh [POTENTIAL [DATA.xyz [FRAMES]]]
#     POTENTIAL  default potentials/Cu.yaml
#     DATA.xyz   default examples/data/Cu_train.xyz
#     FRAMES     0-based frame indices, comma-separated; default 9,39,69,169,259 (frames of the held-out
#                split of examples/fit-cu: a vacancy cell, a small triclinic surface slab, a hot AIMD snapshot,
#                a monoclinic and an orthorhombic strained cell)
# e.g. examples/validate/run.sh potentials/NbMoTaW.yaml /work/shared/data/nbmotaw/NbMoTaW_train.xyz 0,1000,2000
# Outputs in examples/validate/out/; prints the table of compare.py and VALIDATE PASS / FAIL (exit status 1).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="${TNACE_BUILD_DIR:-$ROOT/build}"
PY=/usr/bin/python3
abspath() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
POT=$(abspath "${1:-$ROOT/potentials/Cu.yaml}")
DATA=$(abspath "${2:-$ROOT/examples/data/Cu_train.xyz}")
FRAMES="${3:-9,39,69,169,259}"
OUT="${TNACE_VALIDATE_OUT:-$HERE/out}"   # where the frames, dumps and tables go
mkdir -p "$OUT"
# the potential's elements, in order (line "elements: [A, B]" of the potential file)
ELEM=$(sed -n 's/^elements: *\[\(.*\)\].*/\1/p' "$POT" | head -1 | tr -d ',')
[ -n "$ELEM" ] || { echo "run.sh: cannot read the elements of $POT" >&2; exit 2; }
NFR=$(echo "$FRAMES" | tr ',' '\n' | grep -c .)

echo "== potential $POT (elements: $ELEM); frames $FRAMES of $DATA"
rm -f "$OUT"/frame_*.data "$OUT"/forces_*.dump
$PY "$HERE/make_frames.py" "$DATA" "$OUT" --elements "$ELEM" --frames "$FRAMES"
"$BUILD/tnace-eval" "$POT" "$OUT/frames.xyz" --predictions "$OUT/predictions.tsv" > "$OUT/eval.txt"
"$ROOT/tools/lmp" -in "$HERE/in.validate" -log "$OUT/lammps.log" -screen none \
  -var dir "$OUT" -var nframes "$NFR" -var pot "$POT" -var elem "$ELEM"
$PY "$HERE/compare.py" "$OUT"
