/*
 * grade_fit.c — the extrapolation grade's active set: feature columns by pivoted QR, environments by MaxVol
 * (see grade_fit.h for the method and its sources).
 */
#include "grade_fit.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct { int s, j; } env_ref;   /* structure index, atom index */

void tnace_grade_opts_default(tnace_grade_opts *o) {
  o->size = 128;
  o->sample = 1000;
  o->rank_tol = 1e-5;
  o->maxvol_tol = 1.01;
  o->threads = 0;
}

/* The environments of species a in the structures idx[0..n_idx) (NULL: all), in data order. */
static long collect_envs(const tnace_dataset *ds, const int *idx, int n_idx, int a, env_ref *out) {
  long n = 0;
  const int ns = idx ? n_idx : ds->n;
  for (int q = 0; q < ns; q++) {
    const int i = idx ? idx[q] : q;
    for (int j = 0; j < ds->s[i].n; j++)
      if (ds->s[i].species[j] == a) {
        if (out) out[n] = (env_ref){i, j};
        n++;
      }
  }
  return n;
}

/* Features of environments env[0..ne) into out: all D columns (cols NULL) or the nc columns cols[], column-major
 * (out[k·ne + i]) or row-major (out[i·nc + k]). 0 or the first per-atom error (message in err). */
static int feature_matrix(const tnace_potential *pot, const tnace_dataset *ds, const env_ref *env, long ne,
                          const int *cols, int nc, int colmajor, int threads, double *out, char *err, size_t errlen) {
  const size_t D = tnace_grade_n_features(pot, ds->s[env[0].s].species[env[0].j]);
  int status = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads())
#else
  (void)threads;
#endif
  {
    tnace_workspace *ws = tnace_workspace_new(pot, 64);
    double *f = malloc(D * sizeof(double));
    if (!ws || !f) {
#ifdef _OPENMP
#pragma omp critical(grade_err)
#endif
      if (!status) { status = TNACE_ERR_NOMEM; snprintf(err, errlen, "extrapolation grade: out of memory"); }
    }
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 64)
#endif
    for (long i = 0; i < ne; i++) {
      if (!ws || !f || status) continue;
      const tnace_struct *s = &ds->s[env[i].s];
      const int j = env[i].j, o = s->off[j], nn = s->off[j + 1] - o;
      int rc = tnace_workspace_reserve(ws, s->max_neigh);
      if (!rc) rc = tnace_atom_grade_features(pot, ws, s->species[j], nn, (const double(*)[3])s->d + o, s->nsp + o, f);
      if (rc) {
#ifdef _OPENMP
#pragma omp critical(grade_err)
#endif
        if (!status) {
          status = rc;
          snprintf(err, errlen, "%s: atom %d: %s", s->source, j + 1,
                   rc == TNACE_ERR_NOMEM ? "out of memory" : tnace_workspace_error(ws));
        }
        continue;
      }
      for (int k = 0; k < nc; k++) {
        const double x = f[cols ? (size_t)cols[k] : (size_t)k];
        if (colmajor) out[(size_t)k * ne + i] = x; else out[(size_t)i * nc + k] = x;
      }
    }
    free(f);
    tnace_workspace_free(ws);
  }
  return status;
}

/* Step 1: the m ≤ size columns of a pivoted QR of the unit-RMS-scaled features of an evenly spaced sample. */
static int select_columns(const tnace_potential *pot, const tnace_dataset *ds, const env_ref *env, long ne, int D,
                          const tnace_grade_opts *o, int *cols, int *m, char *err, size_t errlen) {
  const long S = ne < o->sample ? ne : o->sample;
  env_ref *smp = malloc((size_t)S * sizeof *smp);
  double *X = malloc((size_t)S * D * sizeof(double));
  lapack_int *jpvt = calloc((size_t)D, sizeof *jpvt);
  double *tau = malloc((size_t)(S < D ? S : D) * sizeof(double));
  int rc = !smp || !X || !jpvt || !tau ? TNACE_ERR_NOMEM : 0;
  if (rc) snprintf(err, errlen, "extrapolation grade: out of memory (%ld x %d features)", S, D);
  for (long k = 0; !rc && k < S; k++) smp[k] = env[(long)((double)k * ne / S)];
  if (!rc) rc = feature_matrix(pot, ds, smp, S, NULL, D, 1, o->threads, X, err, errlen);
  double rmax = 0.0;
  for (int c = 0; !rc && c < D; c++) {
    double *x = X + (size_t)c * S, q = 0.0;
    for (long i = 0; i < S; i++) q += x[i] * x[i];
    q = sqrt(q / S);
    if (q > rmax) rmax = q;
    for (long i = 0; i < S && q > 0; i++) x[i] /= q;
  }
  if (!rc && rmax == 0.0) {
    rc = TNACE_ERR_VALUE;
    snprintf(err, errlen, "extrapolation grade: every tangent feature is zero on the training data");
  }
  if (!rc && LAPACKE_dgeqp3(LAPACK_COL_MAJOR, (lapack_int)S, D, X, (lapack_int)S, jpvt, tau) != 0) {
    rc = TNACE_ERR_NUMERIC;
    snprintf(err, errlen, "extrapolation grade: pivoted QR (dgeqp3) failed");
  }
  if (!rc) {
    const int kmax = (int)(S < D ? S : D), cap = o->size < kmax ? o->size : kmax;
    const double r0 = fabs(X[0]);
    *m = 0;
    while (*m < cap && fabs(X[(size_t)*m * S + *m]) >= o->rank_tol * r0) {
      cols[*m] = jpvt[*m] - 1;
      (*m)++;
    }
  }
  free(smp); free(X); free(jpvt); free(tau);
  return rc;
}

/* Inverse of the m × m rows `rows` of F (N × m, row-major) into Ainv. */
static int active_inverse(const double *F, int m, const int *rows, double *Ainv) {
  lapack_int *ipiv = malloc((size_t)m * sizeof *ipiv);
  if (!ipiv) return TNACE_ERR_NOMEM;
  for (int r = 0; r < m; r++) memcpy(Ainv + (size_t)r * m, F + (size_t)rows[r] * m, (size_t)m * sizeof(double));
  int rc = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, m, m, Ainv, m, ipiv) || LAPACKE_dgetri(LAPACK_ROW_MAJOR, m, Ainv, m, ipiv)
               ? TNACE_ERR_NUMERIC : 0;
  free(ipiv);
  return rc;
}

/* Step 2: MaxVol over the rows of F (N × m, row-major, N ≥ m); rows[m] out, Ainv[m][m] out. */
static int maxvol(const double *F, long N, int m, double tol, int *rows, double *Ainv, int *swaps, double *gmax) {
  double *B = malloc((size_t)N * m * sizeof(double)), *bj = malloc((size_t)N * sizeof(double));
  double *bi = malloc((size_t)m * sizeof(double));
  lapack_int *ipiv = malloc((size_t)m * sizeof *ipiv);
  long *perm = malloc((size_t)N * sizeof(long));
  int rc = !B || !bj || !bi || !ipiv || !perm ? TNACE_ERR_NOMEM : 0;
  /* start: the pivot rows of an LU factorisation with partial pivoting */
  if (!rc) {
    memcpy(B, F, (size_t)N * m * sizeof(double));
    if (LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)N, m, B, m, ipiv) != 0) rc = TNACE_ERR_NUMERIC;
  }
  for (long i = 0; !rc && i < N; i++) perm[i] = i;
  for (int k = 0; !rc && k < m; k++) {
    const long p = ipiv[k] - 1, t = perm[k];
    perm[k] = perm[p];
    perm[p] = t;
  }
  for (int k = 0; !rc && k < m; k++) rows[k] = (int)perm[k];
  if (!rc) rc = active_inverse(F, m, rows, Ainv);
  *swaps = 0;
  if (!rc) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, m, m, 1.0, F, m, Ainv, m, 0.0, B, m);
  for (int it = 0; !rc && it < 100 * m; it++) {
    const size_t big = cblas_idamax((int)((size_t)N * m), B, 1);
    if (fabs(B[big]) <= tol) break;
    const long i = (long)(big / m);
    const int j = (int)(big % m);
    /* replace active row j by i: B ← B − B[:,j] (B[i,:] − e_j) / B[i,j] */
    const double piv = B[big];
    for (long r = 0; r < N; r++) bj[r] = B[(size_t)r * m + j];
    memcpy(bi, B + (size_t)i * m, (size_t)m * sizeof(double));
    bi[j] -= 1.0;
    cblas_dger(CblasRowMajor, (int)N, m, -1.0 / piv, bj, 1, bi, 1, B, m);
    rows[j] = (int)i;
    (*swaps)++;
  }
  /* A⁻¹ afresh from the final rows (no rank-1 drift), and the largest coefficient over the data */
  if (!rc) rc = active_inverse(F, m, rows, Ainv);
  if (!rc) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, m, m, 1.0, F, m, Ainv, m, 0.0, B, m);
    *gmax = fabs(B[cblas_idamax((int)((size_t)N * m), B, 1)]);
  }
  free(B); free(bj); free(bi); free(ipiv); free(perm);
  return rc;
}

/* Steps 1–3 for species a. */
static int grade_species(tnace_potential *pot, const tnace_dataset *ds, const int *idx, int n_idx, int a,
                         const tnace_grade_opts *o, tnace_grade_report *rep, char *err, size_t errlen) {
  const long ne = collect_envs(ds, idx, n_idx, a, NULL);
  const int D = (int)tnace_grade_n_features(pot, a);
  if (ne == 0) {
    snprintf(err, errlen, "extrapolation grade: no training environment of %s", pot->elem[a]);
    return TNACE_ERR_VALUE;
  }
  env_ref *env = malloc((size_t)ne * sizeof *env);
  int *cols = malloc((size_t)D * sizeof(int)), *rows = NULL, m = 0;
  double *F = NULL, *Ainv = NULL;
  int rc = !env || !cols ? TNACE_ERR_NOMEM : 0;
  if (!rc) collect_envs(ds, idx, n_idx, a, env);
  if (!rc) rc = select_columns(pot, ds, env, ne, D, o, cols, &m, err, errlen);
  if (!rc) {
    F = malloc((size_t)ne * m * sizeof(double));
    Ainv = malloc((size_t)m * m * sizeof(double));
    rows = malloc((size_t)m * sizeof(int));
    rc = !F || !Ainv || !rows ? TNACE_ERR_NOMEM : 0;
  }
  if (!rc) rc = feature_matrix(pot, ds, env, ne, cols, m, 0, o->threads, F, err, errlen);
  if (!rc) {
    rc = maxvol(F, ne, m, o->maxvol_tol, rows, Ainv, &rep->swaps[a], &rep->gmax[a]);
    if (rc) snprintf(err, errlen, "extrapolation grade of %s: MaxVol: %s", pot->elem[a],
                     rc == TNACE_ERR_NOMEM ? "out of memory" : "singular active set (LAPACK dgetrf/dgetri)");
  }
  if (!rc) rc = tnace_potential_set_grade(pot, a, m, cols, Ainv, ne, err, errlen);
  if (rc == TNACE_ERR_NOMEM && !err[0]) snprintf(err, errlen, "extrapolation grade: out of memory");
  rep->m[a] = m;
  rep->n_env[a] = ne;
  rep->D[a] = D;
  free(env); free(cols); free(rows); free(F); free(Ainv);
  return rc;
}

int tnace_grade_build(tnace_potential *pot, const tnace_dataset *ds, const int *idx, int n_idx,
                      const tnace_grade_opts *o, tnace_grade_report *rep, char *err, size_t errlen) {
  tnace_grade_report r0;
  if (!rep) rep = &r0;
  memset(rep, 0, sizeof *rep);
  if (err && errlen) err[0] = '\0';
  tnace_potential_clear_grade(pot);
  for (int a = 0; a < pot->n_el; a++) {
    const int rc = grade_species(pot, ds, idx, n_idx, a, o, rep, err, errlen);
    if (rc) {
      tnace_potential_clear_grade(pot);
      return rc;
    }
  }
  return 0;
}

int tnace_struct_grade(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *gamma,
                       int *failed_atom) {
  if (failed_atom) *failed_atom = -1;
  int rc = tnace_workspace_reserve(ws, s->max_neigh);
  for (int j = 0; !rc && j < s->n; j++) {
    const int o = s->off[j];
    rc = tnace_atom_grade(pot, ws, s->species[j], s->off[j + 1] - o, (const double(*)[3])s->d + o, s->nsp + o,
                          &gamma[j]);
    if (rc && failed_atom) *failed_atom = j;
  }
  return rc;
}

int tnace_eval_grade(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_eval_pred *p,
                     char *err, size_t errlen) {
  if (!tnace_potential_has_grade(pot)) {
    snprintf(err, errlen, "the potential has no extrapolation grade (add one with tnace-fit CONFIG --grade-only)");
    return TNACE_ERR_VALUE;
  }
  int first = -1, first_rc = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads > 0 ? n_threads : omp_get_max_threads())
#else
  (void)n_threads;
#endif
  {
    tnace_workspace *ws = tnace_workspace_new(pot, 64);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (int i = 0; i < ds->n; i++) {
      const tnace_struct *s = &ds->s[i];
      tnace_eval_pred *q = &p[i];
      if (q->status) continue;
      int bad = -1, rc = ws ? 0 : TNACE_ERR_NOMEM;
      if (!rc) rc = (q->grade = malloc((size_t)s->n * sizeof(double))) ? 0 : TNACE_ERR_NOMEM;
      if (!rc) rc = tnace_struct_grade(pot, ws, s, q->grade, &bad);
      if (rc) {
#ifdef _OPENMP
#pragma omp critical(eval_grade_err)
#endif
        if (first < 0 || i < first) {
          first = i;
          first_rc = rc;
          snprintf(err, errlen, "%s: atom %d: %s", s->source, bad + 1,
                   rc == TNACE_ERR_NOMEM ? "out of memory" : tnace_workspace_error(ws));
        }
        continue;
      }
      double mx = 0.0, sum = 0.0;
      for (int j = 0; j < s->n; j++) { mx = fmax(mx, q->grade[j]); sum += q->grade[j]; }
      q->grade_max = mx;
      q->grade_mean = sum / s->n;
      q->has_grade = 1;
    }
    tnace_workspace_free(ws);
  }
  return first_rc;
}
