/*
 * dataset.c — DFT structures for fitting and validation: extxyz frames mapped to a potential's species,
 * with periodic neighbour lists, and whole-structure energy / forces / stress through the per-atom API.
 */
#include "dataset.h"
#include "extxyz.h"
#include "nlist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tnace_struct_free(tnace_struct *s) {
  if (!s) return;
  free(s->species); free(s->off); free(s->nj); free(s->nsp); free(s->d); free(s->forces);
  memset(s, 0, sizeof *s);
}

void tnace_dataset_free(tnace_dataset *ds) {
  if (!ds) return;
  for (int i = 0; i < ds->n; i++) tnace_struct_free(&ds->s[i]);
  free(ds->s);
  memset(ds, 0, sizeof *ds);
}

long tnace_dataset_count_atoms(const tnace_dataset *ds, int from, int to) {
  long n = 0;
  for (int i = from; i < to; i++) n += ds->s[i].n;
  return n;
}

int tnace_struct_build(tnace_struct *s, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                       const int pbc[3], double rc, const char *source, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  snprintf(s->source, sizeof s->source, "%s", source);
  s->n = s->n_count = n;
  s->weight = s->energy_weight = s->forces_weight = s->stress_weight = 1.0;
  if (n < 1) { snprintf(err, errlen, "%s: structure with no atoms", s->source); return TNACE_ERR_PARSE; }
  s->species = malloc((size_t)n * sizeof(int));
  if (!s->species) goto nomem;
  memcpy(s->species, species, (size_t)n * sizeof(int));
  memcpy(s->cell, cell, sizeof s->cell);
  memcpy(s->pbc, pbc, sizeof s->pbc);
  if (pbc[0] && pbc[1] && pbc[2])
    s->volume = fabs(cell[0][0] * (cell[1][1] * cell[2][2] - cell[1][2] * cell[2][1]) -
                     cell[0][1] * (cell[1][0] * cell[2][2] - cell[1][2] * cell[2][0]) +
                     cell[0][2] * (cell[1][0] * cell[2][1] - cell[1][1] * cell[2][0]));
  tnace_nlist nl;
  memset(&nl, 0, sizeof nl);
  char nerr[256];
  int rc2 = tnace_nlist_build(&nl, n, pos, cell, pbc, rc, nerr, sizeof nerr);
  if (rc2) {
    /* nerr already says "neighbour list: ..." */
    snprintf(err, errlen, "%s: %s", s->source, nerr);
    tnace_nlist_free(&nl); /* a failed build may still hold memory */
    tnace_struct_free(s);
    return rc2;
  }
  const int np = nl.offset[n];
  s->off = malloc((size_t)(n + 1) * sizeof(int));
  s->nj = malloc((size_t)(np ? np : 1) * sizeof(int));
  s->nsp = malloc((size_t)(np ? np : 1) * sizeof(int));
  s->d = malloc((size_t)(np ? np : 1) * sizeof *s->d);
  if (!s->off || !s->nj || !s->nsp || !s->d) { tnace_nlist_free(&nl); goto nomem; }
  memcpy(s->off, nl.offset, (size_t)(n + 1) * sizeof(int));
  if (np > 0) { /* without pairs (an isolated atom) nl.j and nl.d are NULL: memcpy from NULL is undefined */
    memcpy(s->nj, nl.j, (size_t)np * sizeof(int));
    memcpy(s->d, nl.d, (size_t)np * sizeof *s->d);
  }
  for (int k = 0; k < np; k++) s->nsp[k] = s->species[s->nj[k]];
  s->max_neigh = nl.max_neigh;
  tnace_nlist_free(&nl);
  return 0;
nomem:
  snprintf(err, errlen, "%s: out of memory", s->source);
  tnace_struct_free(s);
  return TNACE_ERR_NOMEM;
}

int tnace_struct_from_frame(tnace_struct *s, const tnace_frame *f, const char *path, int n_el, const char (*elem)[4],
                            double rc, char *err, size_t errlen) {
  char src[512];
  snprintf(src, sizeof src, "%.480s:%ld", path, f->line);
  int *sp = malloc((size_t)(f->n_atoms > 0 ? f->n_atoms : 1) * sizeof(int));
  if (!sp) { snprintf(err, errlen, "%s: out of memory", src); return TNACE_ERR_NOMEM; }
  for (int i = 0; i < f->n_atoms; i++) {
    int a = -1;
    for (int e = 0; e < n_el; e++)
      if (strcmp(elem[e], f->symbol[i]) == 0) a = e;
    if (a < 0) {
      snprintf(err, errlen, "%.480s:%ld: atom %d: element '%s' is not one of the potential's elements", path,
               f->line + 2 + i, i + 1, f->symbol[i]);
      free(sp);
      return TNACE_ERR_ELEMENT;
    }
    sp[i] = a;
  }
  int rc2 = tnace_struct_build(s, f->n_atoms, sp, (const double(*)[3])f->pos, (const double(*)[3])f->cell, f->pbc,
                               rc, src, err, errlen);
  free(sp);
  if (rc2) return rc2;
  if (s->volume > 0 && fabs(s->volume - tnace_frame_volume(f)) > 1e-9 * s->volume) s->volume = tnace_frame_volume(f);
  s->has_energy = f->has_energy;
  s->energy = f->energy;
  s->n_count = f->n_count > 0 ? f->n_count : s->n;
  s->has_forces = f->has_forces;
  if (f->has_forces) {
    s->forces = malloc((size_t)s->n * sizeof *s->forces);
    if (!s->forces) { snprintf(err, errlen, "%s: out of memory", src); tnace_struct_free(s); return TNACE_ERR_NOMEM; }
    memcpy(s->forces, f->forces, (size_t)s->n * sizeof *s->forces);
  }
  s->has_stress = f->has_stress && s->volume > 0;
  memcpy(s->stress, f->stress, sizeof s->stress);
  s->weight = f->weight;
  s->energy_weight = f->energy_weight;
  s->forces_weight = f->forces_weight;
  s->stress_weight = f->stress_weight;
  snprintf(s->config_type, sizeof s->config_type, "%s", f->config_type);
  return 0;
}

int tnace_dataset_read(tnace_dataset *ds, const char *path, int n_el, const char (*elem)[4], double rc, int skip_bad,
                       char *err, size_t errlen) {
  return tnace_dataset_read_keys(ds, path, NULL, n_el, elem, rc, skip_bad, err, errlen);
}

int tnace_dataset_read_keys(tnace_dataset *ds, const char *path, const tnace_xyz_keys *keys, int n_el,
                            const char (*elem)[4], double rc, int skip_bad, char *err, size_t errlen) {
  tnace_xyz_reader *r = tnace_xyz_open(path, keys, err, errlen);
  if (!r) return TNACE_ERR_IO;
  int cap = ds->n, got = 0, rc2 = 0;
  long last_line = -1;
  tnace_frame f;
  memset(&f, 0, sizeof f);
  for (;;) {
    char ferr[512];
    int st = tnace_xyz_next(r, &f, ferr, sizeof ferr);
    if (st == 0) break;
    if (st < 0) {
      /* skip a bad frame only when the reader moved past it; an error without progress (an empty file)
       * would otherwise repeat forever */
      const long line_now = tnace_xyz_line(r);
      if (skip_bad && st != TNACE_ERR_NOMEM && st != TNACE_ERR_IO && line_now != last_line) {
        last_line = line_now;
        ds->n_skipped++;
        continue;
      }
      snprintf(err, errlen, "%s", ferr);
      rc2 = st;
      break;
    }
    if (ds->n == cap) {
      cap = cap ? 2 * cap : 64;
      tnace_struct *q = realloc(ds->s, (size_t)cap * sizeof *q);
      if (!q) { tnace_frame_free(&f); snprintf(err, errlen, "%s: out of memory", path); rc2 = TNACE_ERR_NOMEM; break; }
      ds->s = q;
    }
    int st2 = tnace_struct_from_frame(&ds->s[ds->n], &f, path, n_el, elem, rc, ferr, sizeof ferr);
    tnace_frame_free(&f);
    if (st2) {
      if (skip_bad && st2 != TNACE_ERR_NOMEM) { ds->n_skipped++; continue; }
      snprintf(err, errlen, "%s", ferr);
      rc2 = st2;
      break;
    }
    ds->n++;
    got++;
  }
  ds->n_empty += (int)tnace_xyz_n_empty(r, NULL);
  tnace_xyz_close(r);
  if (!rc2 && got == 0) {
    snprintf(err, errlen, "%s: no usable frames", path);
    rc2 = TNACE_ERR_PARSE;
  }
  return rc2;
}

int tnace_struct_pool(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *mean,
                      int *failed_atom) {
  const int P = tnace_potential_pool_size(pot);
  if (P == 0) return 0;
  int rc = tnace_workspace_reserve(ws, s->max_neigh);
  if (rc) return rc;
  memset(mean, 0, (size_t)P * sizeof *mean);
  for (int i = 0; i < s->n; i++) {
    const int k0 = s->off[i];
    if ((rc = tnace_atom_pool(pot, ws, s->species[i], s->off[i + 1] - k0, (const double(*)[3])(s->d + k0),
                              s->nsp + k0, mean))) {
      if (failed_atom) *failed_atom = i;
      return rc;
    }
  }
  for (int k = 0; k < P; k++) mean[k] /= s->n;
  return 0;
}

int tnace_struct_eval_strain(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *energy,
                             double (*forces)[3], double dEde[3][3], double *eatom, int *failed_atom) {
  if (failed_atom) *failed_atom = -1;
  int rc = tnace_workspace_reserve(ws, s->max_neigh);
  if (rc) return rc;
  double E = 0.0, W[3][3] = {{0}};
  const int need_d = forces || dEde;
  double(*dEdr)[3] = need_d ? malloc((size_t)(s->max_neigh ? s->max_neigh : 1) * sizeof *dEdr) : NULL;
  if (need_d && !dEdr) return TNACE_ERR_NOMEM;
  const int P = tnace_potential_pool_size(pot);
  double *mean = P ? malloc((size_t)P * sizeof *mean) : NULL;
  if (P && !mean) { free(dEdr); return TNACE_ERR_NOMEM; }
  if (P && (rc = tnace_struct_pool(pot, ws, s, mean, failed_atom))) { free(dEdr); free(mean); return rc; }
  if (forces) memset(forces, 0, (size_t)s->n * sizeof *forces);
  for (int i = 0; i < s->n; i++) {
    const int k0 = s->off[i], ni = s->off[i + 1] - k0;
    double Ei;
    rc = tnace_atom_energy_pooled(pot, ws, s->species[i], ni, (const double(*)[3])(s->d + k0), s->nsp + k0, mean,
                                  &Ei, dEdr);
    if (rc) {
      if (failed_atom) *failed_atom = i;
      break;
    }
    E += Ei;
    if (eatom) eatom[i] = Ei;
    if (!need_d) continue;
    for (int q = 0; q < ni; q++) {
      const int J = s->nj[k0 + q];
      for (int a = 0; a < 3; a++) {
        if (forces) { forces[J][a] -= dEdr[q][a]; forces[i][a] += dEdr[q][a]; }
        for (int b = 0; b < 3; b++) W[a][b] += dEdr[q][a] * s->d[k0 + q][b];
      }
    }
  }
  free(dEdr);
  free(mean);
  if (rc) return rc;
  *energy = E;
  if (dEde) memcpy(dEde, W, sizeof W);
  return 0;
}

int tnace_struct_eval(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *energy,
                      double (*forces)[3], double stress[3][3], double *eatom) {
  double W[3][3];
  const int rc = tnace_struct_eval_strain(pot, ws, s, energy, forces, stress ? W : NULL, eatom, NULL);
  if (rc || !stress) return rc;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) stress[a][b] = s->volume > 0 ? W[a][b] / s->volume : 0.0;
  return 0;
}
