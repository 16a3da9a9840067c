#!/usr/bin/env bash
# compare_dumps.sh [-r RTOL] [-n MINFRAMES] [-m MINCHANGE] DUMP_A DUMP_B
#
# Compares two LAMMPS text dumps (dump custom or write_dump, each frame sorted by atom id) frame by frame:
# both must hold the same timesteps and atom ids, and every per-atom column present in both (matched by
# name; id and type compared exactly) must agree as |a - b| <= RTOL * max(|a|, |b|, S), S the largest
# |value| of that column in A's frame, so that a component that happens to be ~0 is not held to RTOL of
# zero. Columns in only one of the dumps are ignored (e.g. positions a rerun wrapped back into the box).
#   -r  relative tolerance (default 1e-10)
#   -n  fail unless at least MINFRAMES frames were compared (default 1)
#   -m  fail unless some compared value differs between A's first and last frame by more than MINCHANGE
#       (default: no such check): guards against a vacuous comparison of identical frames
# Prints a line per column with the largest difference and "DUMP_COMPARE PASS" or "DUMP_COMPARE FAIL";
# exit status 0, 1 on a mismatch, 2 on usage errors or unreadable dumps.
set -u
RTOL=1e-10
MINFRAMES=1
MINCHANGE=""
while [ $# -gt 0 ]; do
  case "$1" in
    -r) RTOL="$2"; shift 2 ;;
    -n) MINFRAMES="$2"; shift 2 ;;
    -m) MINCHANGE="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "compare_dumps.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ]; then
  echo "usage: $0 [-r RTOL] [-n MINFRAMES] [-m MINCHANGE] DUMP_A DUMP_B" >&2
  exit 2
fi
for f in "$1" "$2"; do
  [ -s "$f" ] || { echo "compare_dumps.sh: $f is missing or empty" >&2; echo "DUMP_COMPARE FAIL"; exit 2; }
done

awk -v rtol="$RTOL" -v minframes="$MINFRAMES" -v minchange="$MINCHANGE" -v fa="$1" -v fb="$2" '
  function abs(v) { return v < 0 ? -v : v }
  function max(a, b) { return a > b ? a : b }
  FNR == 1 { file++; fr = 0; mode = "" }
  /^ITEM: TIMESTEP/ { mode = "ts"; next }
  /^ITEM: NUMBER OF ATOMS/ { mode = "n"; next }
  /^ITEM: BOX BOUNDS/ { mode = "box"; next }
  /^ITEM: ATOMS/ {
    fr++; nfr[file] = fr; step[file, fr] = ts; row = 0; mode = "atoms"
    ncol[file] = NF - 2
    for (k = 3; k <= NF; k++) col[file, k - 2] = $k
    next
  }
  /^ITEM:/ { mode = ""; next }
  mode == "ts" { ts = $1; mode = ""; next }
  mode == "atoms" { row++; nrow[file, fr] = row; for (k = 1; k <= NF; k++) val[file, fr, row, k] = $k; next }
  END {
    if (file != 2) { print "  cannot read both dumps"; exit 2 }
    bad = 0
    if (nfr[1] != nfr[2]) { printf "  %s has %d frames, %s has %d\n", fa, nfr[1], fb, nfr[2]; bad = 1 }
    nf = nfr[1] < nfr[2] ? nfr[1] : nfr[2]
    if (nf < minframes) { printf "  only %d frame(s) compared, need %d\n", nf, minframes; bad = 1 }
    # columns of A found in B
    nid = 0
    for (k = 1; k <= ncol[1]; k++)
      for (m = 1; m <= ncol[2]; m++)
        if (col[1, k] == col[2, m]) { nid++; ka[nid] = k; kb[nid] = m; name[nid] = col[1, k] }
    idcol = 0
    for (c = 1; c <= nid; c++) if (name[c] == "id") idcol = c
    if (!idcol) { print "  no id column in both dumps"; exit 2 }
    for (f = 1; f <= nf; f++) {
      if (step[1, f] != step[2, f]) { printf "  frame %d: timestep %s vs %s\n", f, step[1, f], step[2, f]; bad = 1; continue }
      if (nrow[1, f] != nrow[2, f]) { printf "  frame %d (step %s): %d vs %d atoms\n", f, step[1, f], nrow[1, f], nrow[2, f]; bad = 1; continue }
      for (c = 1; c <= nid; c++) {
        s = 0
        for (i = 1; i <= nrow[1, f]; i++) s = max(s, abs(val[1, f, i, ka[c]]))
        for (i = 1; i <= nrow[1, f]; i++) {
          a = val[1, f, i, ka[c]]; b = val[2, f, i, kb[c]]
          if (name[c] == "id" || name[c] == "type") {
            if (a != b) { if (nbad++ < 10) printf "  frame %d (step %s) line %d: %s %s vs %s\n", f, step[1, f], i, name[c], a, b; bad = 1 }
            continue
          }
          d = abs(a - b); if (d > dmax[c]) dmax[c] = d
          if (d > rtol * max(max(abs(a), abs(b)), s)) {
            if (nbad++ < 10) printf "  MISMATCH frame %d (step %s) atom %s %s: %.17g vs %.17g\n", f, step[1, f], val[1, f, i, ka[idcol]], name[c], a, b
            bad = 1
          }
        }
      }
    }
    for (c = 1; c <= nid; c++) if (name[c] != "id" && name[c] != "type") printf "  %-12s max |diff| %.3g\n", name[c], dmax[c]
    if (minchange != "" && nf >= 1) {
      ch = 0
      for (c = 1; c <= nid; c++) {
        if (name[c] == "id" || name[c] == "type") continue
        for (i = 1; i <= nrow[1, 1] && i <= nrow[1, nfr[1]]; i++) ch = max(ch, abs(val[1, 1, i, ka[c]] - val[1, nfr[1], i, ka[c]]))
      }
      printf "  largest change of a compared value from the first to the last frame: %.3g (need > %s)\n", ch, minchange
      if (ch <= minchange + 0) { print "  the frames do not differ: the comparison would be vacuous"; bad = 1 }
    }
    printf "  %d frame(s), %d compared column(s)\n", nf, nid
    exit bad
  }' "$1" "$2"
rc=$?
if [ "$rc" -eq 0 ]; then echo "DUMP_COMPARE PASS ($1 vs $2, rtol $RTOL)"; else echo "DUMP_COMPARE FAIL ($1 vs $2, rtol $RTOL)"; fi
exit "$rc"
