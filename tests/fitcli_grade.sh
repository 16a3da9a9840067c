#!/bin/sh
# tests/fitcli_grade.sh TNACE_FIT TNACE_EVAL DATA_DIR — the extrapolation grade through the command line
# (tests/fitcli.cmake, fitcli_grade): a fit writes a grade section; the same potential stripped of it and given
# one again by --grade-only (same config, same training split) is byte-identical to the fit's file; tnace-eval
# --grade reads it (a table with the grade part, predictions with the grade columns) and refuses the stripped
# file naming it; --grade-only with --cv is a usage error; grade: false writes no grade.
set -eu
FIT=$1
EVAL=$2
DATA=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$DATA/tiny.yaml" "$DATA/Cu_tiny.xyz" "$dir/"
cd "$dir"
"$FIT" tiny.yaml --output fit.yaml > fit.log
grep -q "^extrapolation grade Cu: [0-9]* of [0-9]* tangent features" fit.log || { echo "FAIL: no grade line"; cat fit.log; exit 1; }
grep -q "^grade:" fit.yaml || { echo "FAIL: no grade section in the potential"; exit 1; }
sed '/^grade:/,/^metadata:/{/^metadata:/!d}' fit.yaml > bare.yaml
! grep -q "^grade:" bare.yaml || { echo "FAIL: could not strip the grade"; exit 1; }
if "$EVAL" bare.yaml Cu_tiny.xyz --grade > e.out 2> e.err; then echo "FAIL: --grade without a grade passed"; exit 1; fi
grep -q "bare.yaml: --grade: the potential has no extrapolation grade" e.err || { echo "FAIL: message"; cat e.err; exit 1; }
cp bare.yaml again.yaml
"$FIT" tiny.yaml --grade-only --output again.yaml > g.log
grep -q "^wrote again.yaml with its extrapolation grade" g.log || { echo "FAIL: --grade-only output"; cat g.log; exit 1; }
cmp -s fit.yaml again.yaml || { echo "FAIL: --grade-only differs from the fit's grade"; diff fit.yaml again.yaml | head; exit 1; }
"$EVAL" again.yaml Cu_tiny.xyz --grade --predictions p.tsv > t.out
grep -q "^extrapolation grade" t.out || { echo "FAIL: no grade table"; cat t.out; exit 1; }
grep -q "grade_max	grade_mean" p.tsv && grep -q "fz_pred	grade" p.tsv || { echo "FAIL: predictions columns"; head -5 p.tsv; exit 1; }
if "$FIT" tiny.yaml --grade-only --cv 2 --output again.yaml > c.log 2>&1; then echo "FAIL: --grade-only --cv accepted"; exit 1; fi
grep -q "grade-only fits nothing" c.log || { echo "FAIL: usage message"; cat c.log; exit 1; }
sed 's/^output:/grade: false\noutput:/' tiny.yaml > nograde.yaml
"$FIT" nograde.yaml --output ng.yaml > ng.log
! grep -q "^grade:" ng.yaml || { echo "FAIL: grade: false wrote a grade"; exit 1; }
echo "PASS: grade written by the fit, re-added identically by --grade-only, read by tnace-eval --grade"
