#!/usr/bin/env bash
# bench/run_all.sh — every tnace benchmark, in the order BENCHMARKS.md reports them (about 6 minutes on an idle
# 2-core machine with six potentials). Needs the project build (build/, with the LAMMPS plugin) and
# tools/setup's LAMMPS; builds only the two small C drivers in bench/build/.
#
#   bench/run_all.sh            # full
#   bench/run_all.sh --quick    # smoke test (about a minute)
#
# Writes bench/results/<UTC date-time>-{lammps,floor,scaling,cost_model}.json and a log next to them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3
quick=()
floor_reps=7
if [ "${1:-}" = "--quick" ]; then quick=(--quick); floor_reps=3; fi
mkdir -p bench/results
log="bench/results/$(date -u +%Y%m%d-%H%M%S)-run_all.log"
{
  echo "== machine"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|L2|L3|Hypervisor)' || true
  cc --version | head -1
  echo "uptime: $(uptime)"
  echo "== build"
  make -s -C bench
  echo "== pair_style tnace vs snap / qSNAP (LAMMPS)"
  "$PY" bench/run_lammps.py "${quick[@]}"
  echo "== A-basis floor (C driver)"
  "$PY" bench/floor.py --reps "$floor_reps"
  echo "== scaling (LAMMPS)"
  "$PY" bench/scaling.py "${quick[@]}"
  echo "== cost model (C driver)"
  "$PY" bench/cost_model.py "${quick[@]}"
  echo "uptime: $(uptime)"
} 2>&1 | tee "$log"
echo "log: $log"
