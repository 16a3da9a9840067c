#!/usr/bin/env bash
# mpi_compare.sh — run one LAMMPS input with several MPI rank counts and check that the total energy,
# pressure and per-atom forces / energies agree (sorted by atom id) to a relative tolerance.
#
#   mpi_compare.sh [-n "1 2 4"] [-T "1 1 1"] [-r 1e-10] [-i INPUT] [-l LMP] [-w WORKDIR] [-- LMP_ARGS...]
#   e.g. tests/lammps/mpi_compare.sh -- -var pot tests/lammps/test_potential.yaml -var elem Cu
#
#   -n  rank counts; the first run is the reference          (default "1 2 4")
#   -T  OpenMP thread counts, one per entry of -n, passed as -var threads N (pair_style tnace threads N);
#       e.g. -n "1 1 2" -T "1 2 2" compares 1x1, 1x2 and 2x2   (default: none passed)
#   -r  relative tolerance                                   (default 1e-10)
#   -i  LAMMPS input; must accept -var out FILE, dump "id type x y z fx fy fz pe [per-atom virial x6]"
#       sorted by id, and print "TNACE_PE <pe>" and "TNACE_PRESS <p> ..." lines
#       (default in.run0 next to this script);
#       if it knows -var confmode 1|2 -var conf FILE (write|read), the configuration is written once serially
#       and read by every run, so that atom ids do not depend on the rank count
#   -l  LAMMPS launcher                                      (default <repo>/tools/lmp)
#   -w  work folder for dumps and logs                       (default a new temporary folder)
#   MPIEXEC (env) the MPI launcher                           (default mpirun)
# Forces are compared as |a-b| <= rtol * max(|a|, |b|, max_k |F_k|): a relative tolerance with respect to
# the largest force component of the reference, so near-zero components are not held to 1e-10 of zero;
# per-atom virials likewise with respect to the largest per-atom virial component of the reference.
# Exit status 0 when all runs agree, 1 otherwise (2 on usage or run errors).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NPS="1 2 4"
NTS=""
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
    -T) NTS="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
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

read -r -a NP_LIST <<< "$NPS"
read -r -a NT_LIST <<< "$NTS"
if [ "${#NT_LIST[@]}" -gt 0 ] && [ "${#NT_LIST[@]}" -ne "${#NP_LIST[@]}" ]; then
  echo "mpi_compare.sh: -T needs one thread count per rank count of -n ('$NPS')" >&2
  exit 2
fi

ref=""
status=0
for idx in "${!NP_LIST[@]}"; do
  np="${NP_LIST[$idx]}"
  # run label: the rank count, or ranks x threads with -T
  THREAD_ARGS=()
  if [ "${#NT_LIST[@]}" -gt 0 ]; then
    run="${np}x${NT_LIST[$idx]}"
    THREAD_ARGS=(-var threads "${NT_LIST[$idx]}")
  else
    run="$np"
  fi
  echo "mpi_compare.sh: running $run: $MPIEXEC -np $np ${MPIFLAGS[*]} $LMP -in $INPUT -var out dump.np$run ${DATA_ARGS[*]} ${THREAD_ARGS[*]} $*"
  if ! (cd "$WORK" && "$MPIEXEC" -np "$np" "${MPIFLAGS[@]}" "$LMP" -in "$INPUT" -var out "dump.np$run" \
          "${DATA_ARGS[@]}" "${THREAD_ARGS[@]}" -log "log.np$run" -screen none -echo none "$@"); then
    echo "mpi_compare.sh: the run $run failed; log:" >&2
    tail -n 30 "$WORK/log.np$run" >&2 || true
    exit 2
  fi
  for f in "dump.np$run" "log.np$run"; do
    [ -s "$WORK/$f" ] || { echo "mpi_compare.sh: $WORK/$f is missing or empty" >&2; exit 2; }
  done
  grep -q '^TNACE_PE ' "$WORK/log.np$run" || { echo "mpi_compare.sh: no TNACE_PE line in log.np$run" >&2; exit 2; }
  # with -T, the pair style must say it ran on the requested threads (else the comparison is void)
  if [ "${#NT_LIST[@]}" -gt 0 ] && ! grep -q "^pair tnace: ${NT_LIST[$idx]} OpenMP thread" "$WORK/log.np$run"; then
    echo "mpi_compare.sh: log.np$run does not report 'pair tnace: ${NT_LIST[$idx]} OpenMP thread(s)'" >&2
    exit 2
  fi
  if [ -z "$ref" ]; then ref="$run"; continue; fi
  np="$run"

  # totals: energy and the 7 pressure values, relative to the largest magnitude among them
  if ! awk -v rtol="$RTOL" -v np="$np" -v ref="$ref" '
      function abs(v) { return v < 0 ? -v : v }
      FNR == 1 { file++ }
      /^TNACE_PE / || /^TNACE_PRESS / || /^TNACE_GRADE_MAX / { for (k = 2; k <= NF; k++) val[file, $1, k] = $k; nf[$1] = NF }
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
  # columns: 1 id, 2 type, 3-5 x, 6-8 f, 9 pe/atom, 10.. per-atom virial (if dumped), the extrapolation grade
  # c_g last (if dumped: compared relative to itself, like pe/atom)
  gcol=$(sed -n '/^ITEM: ATOMS/{p;q}' "$WORK/dump.np$ref" | awk '{ for (k = 3; k <= NF; k++) if ($k == "c_g") print k - 2 }')
  if ! paste -d ' ' "$WORK/atoms.ref" "$WORK/atoms.np$np" | awk -v rtol="$RTOL" -v np="$np" -v ref="$ref" -v gcol="${gcol:-0}" '
      function abs(v) { return v < 0 ? -v : v }
      function max(a, b) { return a > b ? a : b }
      { n++; for (k = 1; k <= NF; k++) v[n, k] = $k; nfield = NF; nc = NF / 2
        for (k = 6; k <= 8; k++) fscale = max(fscale, abs($k))
        for (k = 10; k <= nc; k++) if (k != gcol) sscale = max(sscale, abs($k)) }
      END {
        if (n == 0 || nfield % 2 != 0 || nc < 9) { printf "  bad dumps: %d atoms, %d fields per joined line\n", n, nfield; exit 1 }
        bad = 0; dfmax = 0; demax = 0; dsmax = 0
        for (i = 1; i <= n; i++) {
          if (v[i, 1] != v[i, nc + 1] || v[i, 2] != v[i, nc + 2]) { printf "  atom order/type differs at line %d: %s/%s vs %s/%s\n", i, v[i,1], v[i,2], v[i,nc+1], v[i,nc+2]; bad = 1; continue }
          for (k = 3; k <= nc; k++) {
            a = v[i, k] + 0; b = v[i, k + nc] + 0; d = abs(a - b)
            if (k <= 5) s = max(max(abs(a), abs(b)), 1.0)
            else if (k <= 8) { s = max(max(abs(a), abs(b)), fscale); if (d > dfmax) dfmax = d }
            else if (k == 9) { s = max(max(abs(a), abs(b)), 1e-300); if (d > demax) demax = d }
            else if (k == gcol + 0) { s = max(max(abs(a), abs(b)), 1e-300); if (d > dgmax) dgmax = d; ng++ }
            else { s = max(max(abs(a), abs(b)), sscale); if (d > dsmax) dsmax = d }
            if (d > rtol * s) { if (nbad++ < 10) printf "  MISMATCH atom %s column %d: %.17g vs %.17g\n", v[i,1], k, a, b; bad = 1 }
          }
        }
        printf "  %d atoms: max |dF| %.3g (max |F| %.3g), max |d pe/atom| %.3g", n, dfmax, fscale, demax
        if (nc > 9 + (gcol > 0)) printf ", max |d virial/atom| %.3g (max %.3g)", dsmax, sscale
        if (gcol > 0) printf ", max |d grade| %.3g (%d atoms)", dgmax, ng
        printf "\n"
        exit bad
      }'; then
    status=1
  fi
  if [ "$status" -eq 0 ]; then echo "mpi_compare.sh: run $np agrees with run $ref (rtol $RTOL)"; fi
done

if [ "$status" -eq 0 ]; then
  echo "MPI_COMPARE PASS (runs: ${NTS:+ranks x threads }$NPS${NTS:+ x $NTS}; files in $WORK)"
else
  echo "MPI_COMPARE FAIL (files in $WORK)"
fi
exit $status
