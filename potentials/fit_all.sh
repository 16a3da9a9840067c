#!/usr/bin/env bash
# potentials/fit_all.sh — refit every shipped potential from its config (potentials/configs/*.yaml).
# Run from anywhere; needs the build (tools/test or cmake) and ../shared/data next to the repository.
#   potentials/fit_all.sh            all
#   potentials/fit_all.sh Cu Mo      some
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(Cu Ni Li Mo Si Ge NbMoTaW)
for n in "${names[@]}"; do
  echo "== $n"
  "${TNACE_BUILD_DIR:-$ROOT/build}/tnace-fit" "potentials/configs/$n.yaml" | tee "potentials/$n.fit.log"
done
