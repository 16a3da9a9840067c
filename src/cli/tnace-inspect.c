/*
 * tnace-inspect — what a fitted potential's tensor networks hold: the entanglement of every MPS weight
 * tensor at every bond (Schmidt values, entropy against ln χ and the Page value, capacity, level-spacing
 * ratio), to see which bonds are saturated by χ (S near ln χ, flat spectrum: a larger χ may pay) and which
 * could shrink (Schmidt values below 1e-3 of the largest). Definitions: src/fit/entangle.h.
 *
 *   tnace-inspect POTENTIAL.yaml [--json]
 *
 * Exit status: 0 success, 1 error (one line "tnace-inspect: ..." on stderr), 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "entangle.h"
#include "tnace.h"

#define PROG "tnace-inspect"

static const char *const USAGE =
    "usage: tnace-inspect POTENTIAL.yaml [--json]\n"
    "\n"
    "Entanglement of the MPS weight tensors of a tnace potential, per element, term and bond: bond\n"
    "dimension chi, entanglement entropy S against ln(chi) and the Page value of a random chi x chi state,\n"
    "capacity of entanglement C, mean level-spacing ratio <r> of the entanglement spectrum, smallest over\n"
    "largest Schmidt value, and how many Schmidt values are below 1e-3 of the largest. 'copies' cuts lie\n"
    "between two copies (body-order factors) of a term, 'inside' cuts between its species, radial and\n"
    "angular sites. S/ln(chi) near 1 with a flat spectrum: the bond is saturated (a larger chi may pay);\n"
    "values below 1e-3: the bond can shrink. Definitions: src/fit/entangle.h.\n"
    "\n"
    "  --json      one JSON object with every Schmidt value instead of the table\n"
    "  --help      print this help and exit\n";

int main(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(USAGE, stdout); return 0; }
    if (!strcmp(argv[i], "--json")) { json = 1; continue; }
    if (argv[i][0] == '-' || path) {
      fprintf(stderr, PROG ": %s '%s' (see tnace-inspect --help)\n", argv[i][0] == '-' ? "unknown option" : "extra argument",
              argv[i]);
      return 2;
    }
    path = argv[i];
  }
  if (!path) {
    fprintf(stderr, PROG ": no potential file given (see tnace-inspect --help)\n");
    return 2;
  }
  char err[1024];
  tnace_potential *pot = NULL;
  if (tnace_potential_load(path, &pot, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err);
    return 1;
  }
  const int rc = tnace_entanglement_report(stdout, pot, path, json, err, sizeof err);
  tnace_potential_free(pot);
  if (rc) fprintf(stderr, PROG ": %s\n", err);
  return rc ? 1 : 0;
}
