#!/usr/bin/env bash
# examples/fit-cu/run.sh — fit a Cu potential to the bundled DFT data, validate it on held-out structures with
# tnace-eval, draw the parity plots.
#
#   examples/fit-cu/run.sh            full fit (fit-cu.yaml: the model of potentials/Cu.yaml), ~6 min on 2 cores
#   examples/fit-cu/run.sh --quick    small model, 3 sweeps (fit-cu-quick.yaml), ~1 min
#
# Outputs in examples/fit-cu/out/: train.xyz / valid.xyz (the split), and for NAME = Cu-fit (Cu-quick with
# --quick): NAME.yaml (the potential), NAME.metrics.json, NAME.fit.log, NAME.eval_valid.txt,
# NAME.eval_train.txt, NAME.predictions_valid.tsv, NAME.parity_valid_energy.png, NAME.parity_valid_forces.png.
# Environment: TNACE_BUILD_DIR (default <repo>/build), TNACE_THREADS (default 0 = all cores).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="${TNACE_BUILD_DIR:-$ROOT/build}"
PY=/usr/bin/python3
config=fit-cu.yaml; name=Cu-fit
if [ "${1:-}" = "--quick" ]; then config=fit-cu-quick.yaml; name=Cu-quick; fi
for exe in tnace-fit tnace-eval; do
  [ -x "$BUILD/$exe" ] || { echo "run.sh: no $BUILD/$exe: build first (tools/test or cmake)" >&2; exit 2; }
done
cd "$HERE"
mkdir -p out

echo "== 1/4 split: every 10th frame of examples/data/Cu_train.xyz is held out for validation"
$PY split_data.py ../data/Cu_train.xyz out/train.xyz out/valid.xyz --every 10

echo "== 2/4 fit: tnace-fit $config"
start=$(date +%s)
"$BUILD/tnace-fit" "$config" --threads "${TNACE_THREADS:-0}" | tee "out/$name.fit.log"
echo "fit wall time: $(( $(date +%s) - start )) s"

echo "== 3/4 validate: tnace-eval on the held-out structures (and on the training structures)"
"$BUILD/tnace-eval" "out/$name.yaml" out/valid.xyz --predictions "out/$name.predictions_valid.tsv" | tee "out/$name.eval_valid.txt"
"$BUILD/tnace-eval" "out/$name.yaml" out/train.xyz | tee "out/$name.eval_train.txt"

echo "== 4/4 parity plots"
if $PY -c "import matplotlib" 2>/dev/null; then
  $PY "$ROOT/tools/plot_parity.py" "out/$name.predictions_valid.tsv" --out-prefix "out/$name.parity_valid" \
    --title "tnace Cu ($name), 26 held-out structures"
  ls "out/$name".parity_valid_*.png
else
  echo "(no matplotlib for $PY: parity plots skipped)"
fi
