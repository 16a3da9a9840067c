#!/usr/bin/env bash
# expect_error.sh REGEX COMMAND [ARGS...]
#
# Runs COMMAND (e.g. tools/lmp -in in.errors -var case units -log none) and passes when it
#   * exits with a status in 1..125 (an orderly error exit: not 0, not a signal / crash, not 126/127
#     "cannot execute" / "not found"), and
#   * prints a line matching the extended regular expression REGEX (e.g. "ERROR.*units metal").
# The output is echoed so that ctest --output-on-failure shows it.
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
echo "expect_error.sh: exit status $rc"
if [ "$rc" -eq 0 ]; then
  echo "expect_error.sh: FAIL: the command succeeded, an error was expected" >&2
  exit 1
fi
if [ "$rc" -ge 126 ]; then
  echo "expect_error.sh: FAIL: exit status $rc (>= 128 means killed by signal $((rc - 128)): a crash, not an error message)" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
  echo "expect_error.sh: FAIL: no output line matches /$regex/" >&2
  exit 1
fi
echo "expect_error.sh: PASS (status $rc, output matches /$regex/)"
exit 0
