#!/usr/bin/env bash
# mpi_compare.sh — run one LAMMPS input with several MPI rank counts and check that the total energy,
# pressure and per-atom forces / energies agree (sorted by atom id) to a relative tolerance.
#
#   mpi_compare.sh [-n "1 2 4"] [-r 1e-10] [-i INPUT] [-l LMP] [-w WORKDIR] [-- LMP_ARGS...]
#   e.g. tests/lammps/mpi_compare.sh -- -var pot tests/lammps/test_potential.yaml -var elem Cu
#
#   -n  rank counts; the first is the reference              (default "1 2 4")
#   -r  relative tolerance                                   (default 1e-10)
#   -i  LAMMPS input; must accept -var out FILE, dump "id type x y z fx fy fz pe" sorted by id, and
#       print "TNACE_PE <pe>" and "TNACE_PRESS <p> ..." lines  (default in.run0 next to this script);
#       if it knows -var confmode 1|2 -var conf FILE (write|read), the configuration is written once serially
#       and read by every run, so that atom ids do not depend on the rank count
#   -l  LAMMPS launcher                                      (default <repo>/tools/lmp)
#   -w  work folder for dumps and logs                       (default a new temporary folder)
#   MPIEXEC (env) the MPI launcher                           (default mpirun)
# Forces are compared as |a-b| <= rtol * max(|a|, |b|, max_k |F_k|): a relative tolerance with respect to
# the largest force component of the reference, so near-zero components are not held to 1e-10 of zero.
# Exit status 0 when all runs agree, 1 otherwise (2 on usage or run errors).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NPS="1 2 4"
RTOL=1e-10
INPUT="$HERE/in.run0"
LMP="$ROOT/tools/lmp"
WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) NPS="$2"; shift 2 ;;
    -r) RTOL="$2"; shift 2 ;;
    -i) INPUT="$2"; shift 2 ;;
    -l) LMP="$2"; shift 2 ;;
    -w) WORK="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "mpi_compare.sh: unknown option '$1' (LAMMPS arguments go after --)" >&2; exit 2 ;;
  esac
done
INPUT="$(cd "$(dirname "$INPUT")" && pwd)/$(basename "$INPUT")"
if [ -z "$WORK" ]; then WORK="$(mktemp -d "${TMPDIR:-/tmp}/tnace-mpi-compare.XXXXXX")"; fi
mkdir -p "$WORK"
MPIEXEC="${MPIEXEC:-mpirun}"
MPIFLAGS=()
# Open MPI: allow more ranks than cores, and running as root (containers / CI); other MPIs ignore these
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if "$MPIEXEC" --version 2>&1 | grep -Eqi "open mpi|openrte|open-mpi"; then
  MPIFLAGS+=(--oversubscribe)
fi
export OMP_NUM_THREADS=1

# One configuration for all runs: create_atoms numbers atoms by rank, so ids would differ with the
# rank count. Build it once serially, save it, and have every run read it (-var confmode 2).
if grep -q 'confmode' "$INPUT"; then
  echo "mpi_compare.sh: writing the configuration: $LMP -in $INPUT -var confmode 1 -var conf conf.data $*"
  if ! (cd "$WORK" && "$LMP" -in "$INPUT" -var out dump.setup -var confmode 1 -var conf conf.data -log log.setup \
          -screen none -echo none "$@"); then
    echo "mpi_compare.sh: the setup run failed; log:" >&2
    tail -n 30 "$WORK/log.setup" >&2 || true
    exit 2
  fi
  DATA_ARGS=(-var confmode 2 -var conf conf.data)
else
  DATA_ARGS=()
fi

ref=""
status=0
for np in $NPS; do
  echo "mpi_compare.sh: running $np rank(s): $MPIEXEC -np $np ${MPIFLAGS[*]} $LMP -in $INPUT -var out dump.np$np ${DATA_ARGS[*]} $*"
  if ! (cd "$WORK" && "$MPIEXEC" -np "$np" "${MPIFLAGS[@]}" "$LMP" -in "$INPUT" -var out "dump.np$np" \
          "${DATA_ARGS[@]}" -log "log.np$np" -screen none -echo none "$@"); then
    echo "mpi_compare.sh: the run with $np rank(s) failed; log:" >&2
    tail -n 30 "$WORK/log.np$np" >&2 || true
    exit 2
  fi
  for f in "dump.np$np" "log.np$np"; do
    [ -s "$WORK/$f" ] || { echo "mpi_compare.sh: $WORK/$f is missing or empty" >&2; exit 2; }
  done
  grep -q '^TNACE_PE ' "$WORK/log.np$np" || { echo "mpi_compare.sh: no TNACE_PE line in log.np$np" >&2; exit 2; }
  if [ -z "$ref" ]; then ref="$np"; continue; fi

  # totals: energy and the 7 pressure values, relative to the largest magnitude among them
  if ! awk -v rtol="$RTOL" -v np="$np" -v ref="$ref" '
      function abs(v) { return v < 0 ? -v : v }
      FNR == 1 { file++ }
      /^TNACE_PE / || /^TNACE_PRESS / { for (k = 2; k <= NF; k++) val[file, $1, k] = $k; nf[$1] = NF }
      END {
        bad = 0
        for (key in nf) for (k = 2; k <= nf[key]; k++) {
          a = val[1, key, k] + 0; b = val[2, key, k] + 0
          s = abs(a) > abs(b) ? abs(a) : abs(b)
          if (key == "TNACE_PRESS") { for (q = 2; q <= nf[key]; q++) if (abs(val[1, key, q]) > s) s = abs(val[1, key, q]) }
          d = abs(a - b)
          printf "  %s[%d]: np=%s %.17g  np=%s %.17g  |diff| %.3g\n", key, k - 1, ref, a, np, b, d
          if (d > rtol * s) { bad = 1; printf "  MISMATCH %s[%d] exceeds rtol %g\n", key, k - 1, rtol }
        }
        exit bad
      }' "$WORK/log.np$ref" "$WORK/log.np$np"; then
    status=1
  fi

  # per-atom: the atom lines of each dump (after the last "ITEM: ATOMS" header), joined line by line
  sed -n '/^ITEM: ATOMS/,$p' "$WORK/dump.np$ref" | tail -n +2 > "$WORK/atoms.ref"
  sed -n '/^ITEM: ATOMS/,$p' "$WORK/dump.np$np" | tail -n +2 > "$WORK/atoms.np$np"
  if ! paste -d ' ' "$WORK/atoms.ref" "$WORK/atoms.np$np" | awk -v rtol="$RTOL" -v np="$np" -v ref="$ref" '
      function abs(v) { return v < 0 ? -v : v }
      function max(a, b) { return a > b ? a : b }
      { n++; for (k = 1; k <= NF; k++) v[n, k] = $k; nfield = NF
        for (k = 6; k <= 8; k++) fscale = max(fscale, abs($k)) }
      END {
        if (n == 0 || nfield != 18) { printf "  bad dumps: %d atoms, %d fields per joined line (want 18)\n", n, nfield; exit 1 }
        bad = 0; dfmax = 0; demax = 0
        for (i = 1; i <= n; i++) {
          if (v[i, 1] != v[i, 10] || v[i, 2] != v[i, 11]) { printf "  atom order/type differs at line %d: %s/%s vs %s/%s\n", i, v[i,1], v[i,2], v[i,10], v[i,11]; bad = 1; continue }
          for (k = 3; k <= 8; k++) {
            a = v[i, k] + 0; b = v[i, k + 9] + 0; d = abs(a - b)
            s = max(max(abs(a), abs(b)), k >= 6 ? fscale : 1.0)
            if (k >= 6 && d > dfmax) dfmax = d
            if (d > rtol * s) { if (nbad++ < 10) printf "  MISMATCH atom %s column %d: %.17g vs %.17g\n", v[i,1], k, a, b; bad = 1 }
          }
          a = v[i, 9] + 0; b = v[i, 18] + 0; d = abs(a - b); if (d > demax) demax = d
          if (d > rtol * max(max(abs(a), abs(b)), 1e-300)) { if (nbad++ < 10) printf "  MISMATCH atom %s pe/atom: %.17g vs %.17g\n", v[i,1], a, b; bad = 1 }
        }
        printf "  %d atoms: max |dF| %.3g (max |F| %.3g), max |d pe/atom| %.3g\n", n, dfmax, fscale, demax
        exit bad
      }'; then
    status=1
  fi
  if [ "$status" -eq 0 ]; then echo "mpi_compare.sh: np=$np agrees with np=$ref (rtol $RTOL)"; fi
done

if [ "$status" -eq 0 ]; then
  echo "MPI_COMPARE PASS ($NPS ranks; files in $WORK)"
else
  echo "MPI_COMPARE FAIL (files in $WORK)"
fi
exit $status
