#!/usr/bin/env bash
# run_compare.sh [-r RTOL] [-n MINFRAMES] [-m MINCHANGE] -p "DUMP_A DUMP_B" [-p ...] -- COMMAND [ARGS...]
#
# Runs COMMAND (a LAMMPS run that writes the dumps and makes its own checks, failing with a non-zero exit
# status), then compares each pair of dumps given with -p by compare_dumps.sh with the -r/-n/-m options.
# Prints "RUN_COMPARE PASS" when the run and every comparison pass; exit status 0, 1 otherwise.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OPTS=()
PAIRS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -r|-n|-m) OPTS+=("$1" "$2"); shift 2 ;;
    -p) PAIRS+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "run_compare.sh: unknown option '$1' (the command goes after --)" >&2; exit 2 ;;
  esac
done
if [ $# -eq 0 ] || [ "${#PAIRS[@]}" -eq 0 ]; then
  echo "usage: $0 [-r RTOL] [-n MINFRAMES] [-m MINCHANGE] -p \"DUMP_A DUMP_B\" ... -- COMMAND [ARGS...]" >&2
  exit 2
fi
"$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "run_compare.sh: the command failed with exit status $rc"
  echo "RUN_COMPARE FAIL"
  exit 1
fi
status=0
for p in "${PAIRS[@]}"; do
  read -r a b <<< "$p"
  "$HERE/compare_dumps.sh" "${OPTS[@]}" "$a" "$b" || status=1
done
if [ "$status" -eq 0 ]; then echo "RUN_COMPARE PASS"; else echo "RUN_COMPARE FAIL"; fi
exit "$status"
