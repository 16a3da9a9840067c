#!/usr/bin/env bash
# expect_output.sh REGEX COMMAND [ARGS...]
#
# Runs COMMAND and passes when it exits with status 0 AND prints a line matching the extended regular
# expression REGEX, and no line starts with "ERROR" (ctest's PASS_REGULAR_EXPRESSION alone would ignore
# the exit status, so the tests use this driver).
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 REGEX COMMAND [ARGS...]" >&2
  exit 2
fi
regex="$1"
shift
out="$("$@" 2>&1)"
rc=$?
printf '%s\n' "$out"
echo "expect_output.sh: exit status $rc"
if [ "$rc" -ne 0 ]; then
  echo "expect_output.sh: FAIL: exit status $rc" >&2
  exit 1
fi
if printf '%s\n' "$out" | grep -Eq '^ERROR'; then
  echo "expect_output.sh: FAIL: LAMMPS printed an ERROR" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
  echo "expect_output.sh: FAIL: no output line matches /$regex/" >&2
  exit 1
fi
echo "expect_output.sh: PASS"
exit 0
