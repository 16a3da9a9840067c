/*
 * calc.c — whole-structure evaluation over plain arrays (calc.h): a neighbour list per call, then the same
 * structure sum as tnace-eval (dataset.c).
 */
#include "calc.h"
#include "dataset.h"
#include "grade_fit.h"

#include <stdio.h>
#include <stdlib.h>

struct tnace_calc {
  tnace_potential *pot;
  tnace_workspace *ws;  /* grown to the largest neighbour count seen, reused across calls */
};

int tnace_calc_open(const char *path, tnace_calc **out, char *err, size_t errlen) {
  if (!out || !path) { snprintf(err, errlen, "tnace_calc_open: NULL argument"); return TNACE_ERR_ARG; }
  *out = NULL;
  tnace_calc *c = calloc(1, sizeof *c);
  if (!c) { snprintf(err, errlen, "%s: out of memory", path); return TNACE_ERR_NOMEM; }
  int rc = tnace_potential_load(path, &c->pot, err, errlen);
  if (rc) { free(c); return rc; }
  c->ws = tnace_workspace_new(c->pot, 64);
  if (!c->ws) {
    tnace_calc_free(c);
    snprintf(err, errlen, "%s: out of memory", path);
    return TNACE_ERR_NOMEM;
  }
  *out = c;
  return 0;
}

void tnace_calc_free(tnace_calc *c) {
  if (!c) return;
  tnace_workspace_free(c->ws);
  tnace_potential_free(c->pot);
  free(c);
}

const tnace_potential *tnace_calc_potential(const tnace_calc *c) { return c ? c->pot : NULL; }

static int check_species(const tnace_potential *pot, int n, const int *species, char *err, size_t errlen) {
  const int n_el = tnace_potential_n_elements(pot);
  for (int i = 0; i < n; i++)
    if (species[i] < 0 || species[i] >= n_el) {
      snprintf(err, errlen, "atom %d: species index %d is not one of the potential's %d elements (0..%d)", i,
               species[i], n_el, n_el - 1);
      return TNACE_ERR_ELEMENT;
    }
  return 0;
}

/* The checks and neighbour list of both entry points. */
static int build(tnace_calc *c, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                 const int pbc[3], tnace_struct *s, char *err, size_t errlen) {
  if (!c || !species || !pos || !cell || !pbc) {
    snprintf(err, errlen, "tnace_calc: NULL argument");
    return TNACE_ERR_ARG;
  }
  if (n < 1) { snprintf(err, errlen, "tnace_calc: a structure needs at least one atom (n = %d)", n); return TNACE_ERR_ARG; }
  int rc = check_species(c->pot, n, species, err, errlen);
  if (rc) return rc;
  return tnace_struct_build(s, n, species, pos, cell, pbc, tnace_potential_cutoff_max(c->pot), "structure", err,
                            errlen);
}

/* The message of a failed per-atom call of atom `bad` (−1: none known). */
static void atom_error(const tnace_calc *c, int rc, int bad, const int *species, char *err, size_t errlen) {
  if (rc == TNACE_ERR_NOMEM)
    snprintf(err, errlen, "structure: out of memory");
  else if (bad >= 0)
    snprintf(err, errlen, "atom %d (%s): %s", bad, tnace_potential_element(c->pot, species[bad]),
             tnace_workspace_error(c->ws));
  else
    snprintf(err, errlen, "structure: %s", tnace_workspace_error(c->ws));
}

int tnace_calc_compute(tnace_calc *c, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                       const int pbc[3], double *energy, double *eatom, double (*forces)[3], double dEde[3][3],
                       char *err, size_t errlen) {
  tnace_struct s;
  int rc = build(c, n, species, pos, cell, pbc, &s, err, errlen);
  if (rc) return rc;
  double E = 0.0;
  int bad = -1;
  rc = tnace_struct_eval_strain(c->pot, c->ws, &s, &E, forces, dEde, eatom, &bad);
  if (rc) atom_error(c, rc, bad, species, err, errlen);
  else if (energy) *energy = E;
  tnace_struct_free(&s);
  return rc;
}

int tnace_calc_grade(tnace_calc *c, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                     const int pbc[3], double *gamma, char *err, size_t errlen) {
  if (c && !tnace_potential_has_grade(c->pot)) {
    snprintf(err, errlen, "the potential has no extrapolation grade (add one with tnace-fit CONFIG --grade-only)");
    return TNACE_ERR_VALUE;
  }
  if (!gamma) { snprintf(err, errlen, "tnace_calc_grade: NULL argument"); return TNACE_ERR_ARG; }
  tnace_struct s;
  int rc = build(c, n, species, pos, cell, pbc, &s, err, errlen);
  if (rc) return rc;
  int bad = -1;
  rc = tnace_struct_grade(c->pot, c->ws, &s, gamma, &bad);
  if (rc) atom_error(c, rc, bad, species, err, errlen);
  tnace_struct_free(&s);
  return rc;
}
