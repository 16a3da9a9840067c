#!/bin/sh
# tests/fitcli_property.sh TNACE_FIT TNACE_EVAL DATA_DIR — a property model through the command line (issue #16,
# tests/fitcli.cmake): property: in the config fits the extxyz key it names, per atom, and marks the potential
# file; tnace-eval reads the same key and normalisation from the file (reference values per atom equal the key's
# values); forces weighted in a property model, or the key given twice, are config errors with their line.
set -eu
FIT=$1
EVAL=$2
DATA=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$DATA/property.yaml" "$DATA/formation.xyz" "$dir/"
cd "$dir"
"$FIT" property.yaml > fit.log
grep -q "^property: {name: formation_energy, kind: intensive, units: eV}" prop.yaml || { echo "FAIL: no property in the file"; exit 1; }
"$EVAL" prop.yaml formation.xyz --predictions p.tsv > e.out
grep -q "meV/atom" e.out || { echo "FAIL: units"; cat e.out; exit 1; }
refs=$(awk -F'\t' '$1 == "S" { printf "%s ", $6 }' p.tsv)
[ "$refs" = "-0.125 -0.1 " ] || { echo "FAIL: reference values per atom '$refs'"; cat p.tsv; exit 1; }
sed 's/^fit: .*/fit: {sweeps: 1, threads: 1}\nloss: {energy: 1.0, forces: 0.01}/' property.yaml > forces.yaml
if "$FIT" forces.yaml --dry-run > f.log 2>&1; then echo "FAIL: forces accepted"; exit 1; fi
grep -q "forces.yaml:8: loss.forces: a property model fits formation_energy only" f.log || { echo "FAIL: message"; cat f.log; exit 1; }
sed 's/validation_fraction: 0}/validation_fraction: 0, keys: {energy: formation_energy}}/' property.yaml > twice.yaml
if "$FIT" twice.yaml --dry-run > t.log 2>&1; then echo "FAIL: key given twice accepted"; exit 1; fi
grep -q "property.name: data.keys.energy is set too" t.log || { echo "FAIL: message"; cat t.log; exit 1; }
# a pooled MPO term (pool: true): fitted and written with the key; no grade, and --grade / --grade-only say why
sed -e 's/^terms: .*/terms: [{nu: 1, nmax: 2, chi: 1}, {nu: 2, lmax: 1, nmax: 2, chi: 2, model: mpo, rank: 2, pool: true}]/' \
    -e 's/potential: prop.yaml/potential: pooled.yaml/' property.yaml > pooled_cfg.yaml
"$FIT" pooled_cfg.yaml > p.log || { echo "FAIL: pooled fit"; cat p.log; exit 1; }
grep -q "pool: true" pooled.yaml || { echo "FAIL: pool not written"; exit 1; }
grep -q "no extrapolation grade: the model has terms pooled" p.log || { echo "FAIL: no note on the grade"; cat p.log; exit 1; }
if "$EVAL" pooled.yaml formation.xyz --grade > g.out 2>&1; then echo "FAIL: --grade accepted"; exit 1; fi
grep -q "pooled over the structure (pool: true) has no extrapolation grade" g.out || { echo "FAIL: --grade message"; cat g.out; exit 1; }
if "$FIT" pooled_cfg.yaml --grade-only > go.out 2>&1; then echo "FAIL: --grade-only accepted"; exit 1; fi
grep -q "has no extrapolation grade" go.out || { echo "FAIL: --grade-only message"; cat go.out; exit 1; }
echo "PASS: property model fitted, marked, evaluated per atom; misuse refused; pooled model without a grade"
