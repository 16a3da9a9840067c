#!/bin/sh
# tests/fitcli_resume.sh TNACE_FIT DATA_DIR — checkpoint and resume (tests/fitcli.cmake, fitcli_resume):
# a fit stopped after sweep 2 (--stop-after: leaves only the checkpoint) and continued with --resume must end
# with exactly the cores and E0 of the same fit run without a stop (the potential files equal line by line,
# metadata lines about the run itself excepted), the checkpoint must be gone afterwards, and --init from the
# result must report it as sweep 0. Fails if the resumed fit restarts, loses E0, or the λ schedule shifts.
set -eu
FIT=$1
DATA=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$DATA/tiny.yaml" "$DATA/Cu_tiny.xyz" "$dir/"
cd "$dir"
"$FIT" tiny.yaml --sweeps 4 --output full.yaml > full.log
"$FIT" tiny.yaml --sweeps 4 --output part.yaml --stop-after 2 > stop.log
grep -q "stopped after sweep 2 (--stop-after)" stop.log || { echo "FAIL: no stop message"; cat stop.log; exit 1; }
[ -f part.checkpoint.yaml ] || { echo "FAIL: no checkpoint after --stop-after"; exit 1; }
[ ! -f part.yaml ] || { echo "FAIL: --stop-after wrote the potential"; exit 1; }
"$FIT" tiny.yaml --sweeps 4 --output part.yaml --resume > resume.log
grep -q "^starting from part.checkpoint.yaml, the checkpoint" resume.log || { echo "FAIL: resume did not start from the checkpoint"; cat resume.log; exit 1; }
[ ! -f part.checkpoint.yaml ] || { echo "FAIL: checkpoint left after the final potential was written"; exit 1; }
strip() { grep -v -e 'date:' -e 'command_line:' -e 'fit_time_s:' -e 'resumed_after_sweep:' -e 'potential:' "$1"; }
strip full.yaml > a.txt
strip part.yaml > b.txt
if ! cmp -s a.txt b.txt; then echo "FAIL: the resumed fit differs from the uninterrupted one"; diff a.txt b.txt | head -20; exit 1; fi
"$FIT" tiny.yaml --sweeps 1 --output init.yaml --init full.yaml > init.log
grep -q "^starting from full.yaml (sweep 0 below" init.log || { echo "FAIL: --init message"; cat init.log; exit 1; }
grep -q "initial_potential: full.yaml" init.yaml || { echo "FAIL: initial_potential not in the metadata"; exit 1; }
echo "PASS: resumed fit identical to the uninterrupted one; --init reports its start"
