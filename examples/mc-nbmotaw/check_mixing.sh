#!/usr/bin/env bash
# check_mixing.sh — mixing energies and lattice constants of the random equimolar bcc solid solutions of a
# 4-element potential (in.mixing, 432 atoms, relaxed at 0 K): every pure element, binary, ternary and the
# quaternary. A potential fit to unary and binary data only must be checked here before it is trusted for
# the quaternary (in.swap).
#
#   examples/mc-nbmotaw/check_mixing.sh [POTENTIAL] [ELEMENTS]      defaults: potentials/NbMoTaW.yaml "Nb Mo Ta W"
#
# E_mix = E(alloy) − mean of E(pure elements) (meV/atom); Vegard: the mean of the pure lattice constants.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
POT="${1:-$ROOT/potentials/NbMoTaW.yaml}"
EL=(${2:-Nb Mo Ta W})
OUT="$HERE/out"; mkdir -p "$OUT"
declare -A A E
run() {   # types...
  local nt=$# tag="" args=() i=1
  for t in "$@"; do args+=(-var "t$i" "$t"); tag+="${EL[$((t-1))]}"; i=$((i+1)); done
  "$ROOT/tools/lmp" -in "$HERE/in.mixing" -screen none -log "$OUT/mixing_$tag.log" \
    -var pot "$POT" -var elem "${EL[*]}" -var nt "$nt" "${args[@]}"
  local line; line=$(grep -a '^MIXING' "$OUT/mixing_$tag.log")
  A[$tag]=$(echo "$line" | awk '{print $3}'); E[$tag]=$(echo "$line" | awk '{print $5}')
  local va=0 ve=0
  for t in "$@"; do va=$(echo "$va + ${A[${EL[$((t-1))]}]:-0}" | bc -l); ve=$(echo "$ve + ${E[${EL[$((t-1))]}]:-0}" | bc -l); done
  if [ "$nt" -eq 1 ]; then
    printf "%-10s a %.4f Å                     E %.5f eV/atom\n" "$tag" "${A[$tag]}" "${E[$tag]}"
  else
    va=$(echo "$va / $nt" | bc -l); ve=$(echo "$ve / $nt" | bc -l)
    printf "%-10s a %.4f Å (Vegard %.4f, %+5.1f %%)  E %.5f eV/atom  E_mix %+6.0f meV/atom\n" "$tag" "${A[$tag]}" \
      "$va" "$(echo "100 * (${A[$tag]} - $va) / $va" | bc -l)" "${E[$tag]}" "$(echo "1000 * (${E[$tag]} - $ve)" | bc -l)"
  fi
}
echo "# potential $POT, elements ${EL[*]}: random equimolar bcc solid solutions, 432 atoms, relaxed at 0 K"
for i in 1 2 3 4; do run $i; done
for i in 1 2 3; do for j in $(seq $((i + 1)) 4); do run $i $j; done; done
run 1 2 3; run 1 2 4; run 1 3 4; run 2 3 4
run 1 2 3 4
