/*
 * grade_fit.h — building the extrapolation grade of a fitted potential from its training environments, and
 * evaluating it on whole structures (docs/extrapolation-grade.md; the per-atom grade is libtnace's
 * tnace_atom_grade).
 *
 * For each species a, with f_i = ∂E_i/∂U the D tangent features of environment i (tnace_atom_grade_features):
 *   1. columns: a pivoted QR (LAPACK dgeqp3) of the features of up to `sample` environments of species a,
 *      each column scaled to unit RMS, keeps the first m pivot columns whose |R_kk| ≥ rank_tol·|R_00|,
 *      m ≤ size (a well-conditioned basis of the span of the features; exactly dependent columns,
 *      e.g. of channels no environment excites, dropped);
 *   2. active set: MaxVol (Goreinov, Oseledets et al., "How to find a good submatrix", 2010) over the m
 *      selected features of every training environment of species a: m environments whose m × m matrix A
 *      has locally maximal |det A|, iterated until every training environment has |(f A⁻¹)_j| ≤ maxvol_tol;
 *   3. A⁻¹ is stored in the potential (model.h: tnace_grade_el), so that γ_i = max_j |(f_i[cols] A⁻¹)_j|.
 * Cost: one feature evaluation per training environment (about an energy-and-force evaluation), the QR of a
 * sample × D matrix, and a few MaxVol swaps of O(N m) each.
 */
#ifndef TNACE_GRADE_FIT_H
#define TNACE_GRADE_FIT_H

#include "dataset.h"
#include "evalstats.h"
#include "tnace.h"
#include "tnace_limits.h"

typedef struct {
  int size;            /* largest number of feature columns m per species (default 128) */
  int sample;          /* environments per species for the column selection (default 1000) */
  double rank_tol;     /* relative |R_kk| below which columns are dependent (default 1e-5) */
  double maxvol_tol;   /* MaxVol stops when every |coefficient| ≤ this (default 1.01) */
  int threads;         /* OpenMP threads, 0 = all */
} tnace_grade_opts;

/* Per species: columns kept, environments, the largest grade over them (≤ maxvol_tol), MaxVol swaps. */
typedef struct {
  int m[TNACE_MAX_ELEMENTS], swaps[TNACE_MAX_ELEMENTS];
  long n_env[TNACE_MAX_ELEMENTS];
  double gmax[TNACE_MAX_ELEMENTS];
  int D[TNACE_MAX_ELEMENTS];
} tnace_grade_report;

/* The defaults above. */
void tnace_grade_opts_default(tnace_grade_opts *o);

/* Build the grade of `pot` from every atomic environment of the structures ds->s[idx[0..n_idx)] (idx NULL:
 * all), replacing any grade pot had. Every species needs at least one environment. Returns 0, or
 * TNACE_ERR_VALUE (a species without environments), TNACE_ERR_NUMERIC (a LAPACK failure), TNACE_ERR_NOMEM,
 * or the per-atom call's error, with the message in err. */
int tnace_grade_build(tnace_potential *pot, const tnace_dataset *ds, const int *idx, int n_idx,
                      const tnace_grade_opts *o, tnace_grade_report *rep, char *err, size_t errlen);

/* Per-atom grades gamma[n] of structure s (workspace grown as needed). Returns 0 or the error of
 * tnace_atom_grade (message in tnace_workspace_error(ws)); failed_atom (may be NULL) gets the atom. */
int tnace_struct_grade(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *gamma,
                       int *failed_atom);

/* Extrapolation grades of every structure of ds already predicted in p (tnace_eval_predict; structures whose
 * status is not 0 are skipped): per-atom p[i].grade, p[i].grade_max, .grade_mean, has_grade = 1. OpenMP over
 * structures. Returns 0, or the first failure ("source: atom k: message" in err; that structure keeps
 * has_grade = 0), TNACE_ERR_VALUE if pot has no grade. */
int tnace_eval_grade(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_eval_pred *p,
                     char *err, size_t errlen);

#endif
