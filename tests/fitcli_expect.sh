#!/bin/sh
# fitcli_expect.sh STATUS REGEX CMD [ARGS...] — driver of the tnace-fit tests (tests/fitcli.cmake).
# Runs CMD and passes when its exit status is exactly STATUS and its output (stdout and stderr together)
# has a line matching the extended regular expression REGEX. A signal (status > 128) always fails.
want=$1
regex=$2
shift 2
out=$("$@" 2>&1)
got=$?
printf '%s\n' "$out"
if [ "$got" -gt 128 ]; then
  echo "fitcli_expect: FAIL: killed by signal $((got - 128))"
  exit 1
fi
if [ "$got" -ne "$want" ]; then
  echo "fitcli_expect: FAIL: exit status $got, expected $want"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -E -q -e "$regex"; then
  echo "fitcli_expect: FAIL: no line matches: $regex"
  exit 1
fi
echo "fitcli_expect: ok (exit status $got, output matches)"
exit 0
