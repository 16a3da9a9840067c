/*
 * fit.c — alternating least-squares (one-site DMRG) fit of the MPS cores to energies, forces and
 * stresses. See fit.h for the method; the physics (A basis, contraction, tangents) is in potential.c and
 * tn.c, used here through the same functions as the evaluator.
 */
#include "fit.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define EV_A3_TO_GPA 160.21766208
#define TNACE_MAX_CHAINS (2 * TNACE_MAX_TERMS)
#ifndef SP_INNER
#define SP_INNER 3
#endif

void tnace_fit_opts_default(tnace_fit_opts *o) {
  memset(o, 0, sizeof *o);
  o->kappa_e = 1.0;
  o->kappa_f = 0.01;
  o->kappa_s = 0.01;
  o->lambda = 1e-6;
  o->lambda_start = 1e-2;
  o->anneal_sweeps = 3;
  o->max_sweeps = 10;
  o->patience = 3;
  o->force_fraction = 0.25;
  o->seed = 1;
  o->fit_e0 = 1;
  o->max_rows_mb = 4000.0;
  o->chi_start = 0;
  o->grow_every = 2;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* splitmix64: deterministic per-(seed, structure, atom) decisions independent of thread order. */
static unsigned long long mix64(unsigned long long x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
static double hash_uniform(unsigned long long seed, unsigned long long a, unsigned long long b) {
  return (double)(mix64(seed ^ mix64(a * 0x100000001B3ULL + b)) >> 11) * (1.0 / 9007199254740992.0);
}

static int n_threads_of(const tnace_fit_opts *o) {
#ifdef _OPENMP
  return o->n_threads > 0 ? o->n_threads : omp_get_max_threads();
#else
  (void)o;
  return 1;
#endif
}

/* ---- gauge: QR / LQ moves of the orthogonality centre ---------------------------------------- */

/* Core a = Q R (Q left-orthonormal, [ph][bl][br] reshaped [ph·bl] × br, needs ph·bl ≥ br);
 * next ([ph2][br][b2]) ← R · next. */
static int qr_right(double *a, int ph, int bl, int br, double *next, int ph2, int b2) {
  const int m = ph * bl, n = br;
  double *tau = malloc((size_t)n * sizeof(double)), *R = calloc((size_t)n * n, sizeof(double));
  if (!tau || !R) { free(tau); free(R); return TNACE_ERR_NOMEM; }
  int info = m >= n ? LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, n, a, n, tau) : -1;
  if (!info) {
    for (int i = 0; i < n; i++)
      for (int j = i; j < n; j++) R[i * n + j] = a[(size_t)i * n + j];
    info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, n, n, a, n, tau);
  }
  if (!info) {
    double *tmp = malloc((size_t)n * b2 * sizeof(double));
    if (!tmp) info = -1;
    for (int p = 0; !info && p < ph2; p++) {
      double *C = next + (size_t)p * n * b2;
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, b2, n, 1.0, R, n, C, b2, 0.0, tmp, b2);
      memcpy(C, tmp, (size_t)n * b2 * sizeof(double));
    }
    free(tmp);
  }
  free(tau);
  free(R);
  return info ? TNACE_ERR_NUMERIC : 0;
}

/* Core a = L Q (Q right-orthonormal, [ph][bl][br] reshaped bl × [ph·br], needs bl ≤ ph·br);
 * prev ([ph0][b0][bl]) ← prev · L. */
static int lq_left(double *a, int ph, int bl, int br, double *prev, int ph0, int b0) {
  const int n = ph * br;
  double *M = malloc((size_t)bl * n * sizeof(double)), *tau = malloc((size_t)bl * sizeof(double));
  double *L = calloc((size_t)bl * bl, sizeof(double));
  if (!M || !tau || !L) { free(M); free(tau); free(L); return TNACE_ERR_NOMEM; }
  for (int p = 0; p < ph; p++)
    for (int i = 0; i < bl; i++)
      for (int j = 0; j < br; j++) M[(size_t)i * n + p * br + j] = a[((size_t)p * bl + i) * br + j];
  int info = bl <= n ? LAPACKE_dgelqf(LAPACK_ROW_MAJOR, bl, n, M, n, tau) : -1;
  if (!info) {
    for (int i = 0; i < bl; i++)
      for (int j = 0; j <= i; j++) L[i * bl + j] = M[(size_t)i * n + j];
    info = LAPACKE_dorglq(LAPACK_ROW_MAJOR, bl, n, bl, M, n, tau);
  }
  if (!info) {
    for (int p = 0; p < ph; p++)
      for (int i = 0; i < bl; i++)
        for (int j = 0; j < br; j++) a[((size_t)p * bl + i) * br + j] = M[(size_t)i * n + p * br + j];
    double *tmp = malloc((size_t)b0 * bl * sizeof(double));
    if (!tmp) info = -1;
    for (int p = 0; !info && p < ph0; p++) {
      double *C = prev + (size_t)p * b0 * bl;
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b0, bl, bl, 1.0, C, bl, L, bl, 0.0, tmp, bl);
      memcpy(C, tmp, (size_t)b0 * bl * sizeof(double));
    }
    free(tmp);
  }
  free(M);
  free(tau);
  free(L);
  return info ? TNACE_ERR_NUMERIC : 0;
}

/* ---- species rank: S[α] = Σ_c E[α][c] G[c] (model.h, srank) -----------------------------------
 * The trainer keeps E (n_el × d, orthonormal columns) for every species site of a term with species rank
 * d; the potential stores the product S. Neighbouring gauge moves multiply S by bond matrices from the
 * left or right, which keeps the factor E; a move *through* the species site orthonormalises G instead of
 * S (QR/LQ of G, then S = E G), so S keeps rank d and, E being an isometry, stays canonical. */

/* G (d × m) = Eᵀ S, S (ne × m). */
static void sp_project(const double *E, int ne, int d, const double *S, size_t m, double *G) {
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, (int)m, ne, 1.0, E, d, S, (int)m, 0.0, G, (int)m);
}
/* S (ne × m) = E G. */
static void sp_expand(const double *E, int ne, int d, const double *G, size_t m, double *S) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ne, (int)m, d, 1.0, E, d, G, (int)m, 0.0, S, (int)m);
}

/* Move the centre right through core s: with E (species factor) or plainly. */
static int move_right_f(tnace_tn *t, int s, const double *E, int d) {
  if (!E) return qr_right(t->core[s], t->phys[s], t->bond[s], t->bond[s + 1], t->core[s + 1], t->phys[s + 1],
                          t->bond[s + 2]);
  const size_t m = (size_t)t->bond[s] * t->bond[s + 1];
  double *G = malloc((size_t)d * m * sizeof(double));
  if (!G) return TNACE_ERR_NOMEM;
  sp_project(E, t->n_el, d, t->core[s], m, G);
  int rc = qr_right(G, d, t->bond[s], t->bond[s + 1], t->core[s + 1], t->phys[s + 1], t->bond[s + 2]);
  if (!rc) sp_expand(E, t->n_el, d, G, m, t->core[s]);
  free(G);
  return rc;
}
static int move_left_f(tnace_tn *t, int s, const double *E, int d) {
  if (!E) return lq_left(t->core[s], t->phys[s], t->bond[s], t->bond[s + 1], t->core[s - 1], t->phys[s - 1],
                         t->bond[s - 1]);
  const size_t m = (size_t)t->bond[s] * t->bond[s + 1];
  double *G = malloc((size_t)d * m * sizeof(double));
  if (!G) return TNACE_ERR_NOMEM;
  sp_project(E, t->n_el, d, t->core[s], m, G);
  int rc = lq_left(G, d, t->bond[s], t->bond[s + 1], t->core[s - 1], t->phys[s - 1], t->bond[s - 1]);
  if (!rc) sp_expand(E, t->n_el, d, G, m, t->core[s]);
  free(G);
  return rc;
}

/* Right-canonical form with the centre at site 0; E[k]: the species factor of copy k (NULL: plain). */
static int canonicalize_left_end_f(tnace_tn *t, double *const *E, const int *d) {
  for (int s = 3 * t->nu - 1; s >= 1; s--) {
    int rc = move_left_f(t, s, E && s % 3 == 0 ? E[s / 3] : NULL, d ? d[s / 3] : 0);
    if (rc) return rc;
  }
  return tn_prepare(t);
}
static int canonicalize_left_end(tnace_tn *t) { return canonicalize_left_end_f(t, NULL, NULL); }

/* Orthonormal basis (ne × d, columns) of the columns of X (ne × d), by QR; X is overwritten by it. */
static int sp_orthonormalize(double *X, int ne, int d) {
  double tau[TNACE_MAX_ELEMENTS];
  int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, ne, d, X, d, tau);
  if (!info) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, ne, d, d, X, d, tau);
  return info ? TNACE_ERR_NUMERIC : 0;
}

/* Start the species factor of copy k of t for rank d: E = the d leading left singular vectors of S (a
 * seeded random orthonormal E when S = 0, e.g. the zeroed centre of a fresh ket), then S ← E Eᵀ S (the
 * best rank-d approximation). *E_out = NULL when d does not constrain this site (d ≥ min(n_el, bl·br)).
 * blind: a species-blind copy (model.h, scopies): d = 1 and E = (1, …, 1)/√n_el, kept fixed. */
static int sp_factor_init(tnace_tn *t, int k, int d, int blind, unsigned long long seed, double **E_out) {
  const int ne = t->n_el, s = 3 * k;
  const size_t m = (size_t)t->bond[s] * t->bond[s + 1];
  *E_out = NULL;
  if (blind) d = 1;
  else if (d <= 0 || d >= ne || (size_t)d >= m) return 0;
  const int kk = (size_t)ne < m ? ne : (int)m;
  double *E = malloc((size_t)ne * d * sizeof(double)), *A = malloc((size_t)ne * m * sizeof(double));
  double *U = malloc((size_t)ne * kk * sizeof(double)), *sv = malloc((size_t)kk * sizeof(double));
  double *sup = malloc((size_t)kk * sizeof(double)), *G = malloc((size_t)d * m * sizeof(double));
  int rc = 0;
  if (!E || !A || !U || !sv || !sup || !G) { rc = TNACE_ERR_NOMEM; goto out; }
  memcpy(A, t->core[s], (size_t)ne * m * sizeof(double));
  if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'N', ne, (int)m, A, (int)m, sv, U, kk, NULL, 1, sup)) {
    rc = TNACE_ERR_NUMERIC;
    goto out;
  }
  if (blind) {
    for (int a = 0; a < ne; a++) E[a] = 1.0 / sqrt((double)ne);
  } else if (sv[0] > 0.0) {
    for (int a = 0; a < ne; a++)
      for (int c = 0; c < d; c++) E[a * d + c] = U[(size_t)a * kk + c];
  } else {
    for (int q = 0; q < ne * d; q++) E[q] = 2.0 * hash_uniform(seed, 0x5eedULL + (unsigned)k, (unsigned)q) - 1.0;
    if ((rc = sp_orthonormalize(E, ne, d))) goto out;
  }
  sp_project(E, ne, d, t->core[s], m, G);
  sp_expand(E, ne, d, G, m, t->core[s]);
  *E_out = E;
  E = NULL;
out:
  free(E); free(A); free(U); free(sv); free(sup); free(G);
  return rc;
}

int tnace_fit_init(tnace_potential *pot, unsigned long long seed, char *err, size_t errlen) {
  for (int i = 0; i < pot->n_el * pot->n_terms; i++)
    for (int layer = 0; layer < tnace_n_layers(pot, i % pot->n_terms); layer++) {
      tnace_tn *t = tnace_layer(pot, i / pot->n_terms, i % pot->n_terms, layer);
      for (int s = 0; s < 3 * t->nu; s++)
        for (size_t q = 0; q < tn_core_size(t, s); q++)
          t->core[s][q] = 2.0 * hash_uniform(seed, ((unsigned)i * 2 + layer) * 64 + s, q) - 1.0;
      int rc = canonicalize_left_end(t);
      if (rc) { snprintf(err, errlen, "initialising cores: QR failed"); return rc; }
      /* Only the ket (or MPS) starts at zero: an MPO bra keeps its normalised random centre, else both
       * layers' rows (seeded by the other layer's J) would vanish and the term could never start. */
      if (layer == 0) memset(t->core[0], 0, tn_core_size(t, 0) * sizeof(double));
      tn_prepare(t);
    }
  return 0;
}

/* ---- metrics ---------------------------------------------------------------------------------- */

typedef struct {
  double e_abs, e_sq, f_abs, f_sq, s_abs, s_sq;
  long nf, ns;
  int has_e;
  int err;
} struct_err;

int tnace_metrics_compute(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_metrics *m,
                          char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  if (!ds || ds->n == 0) return 0;
  struct_err *se = calloc((size_t)ds->n, sizeof *se);
  if (!se) { snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
  int bad = -1;
  char msg[512] = "";
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads > 0 ? n_threads : omp_get_max_threads())
#else
  (void)n_threads;
#endif
  {
    tnace_workspace *ws = tnace_workspace_new(pot, 64);
    int cap = 0;
    double(*F)[3] = NULL;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int i = 0; i < ds->n; i++) {
      const tnace_struct *s = &ds->s[i];
      if (!ws) { se[i].err = TNACE_ERR_NOMEM; continue; }
      if (s->n > cap) {
        free(F);
        cap = s->n;
        F = malloc((size_t)cap * sizeof *F);
      }
      if (!F) { se[i].err = TNACE_ERR_NOMEM; continue; }
      double E, S[3][3];
      int rc = tnace_struct_eval(pot, ws, s, &E, F, S, NULL);
      if (rc) {
        se[i].err = rc;
#ifdef _OPENMP
#pragma omp critical
#endif
        if (bad < 0 || i < bad) { bad = i; snprintf(msg, sizeof msg, "%s: %s", s->source, tnace_workspace_error(ws)); }
        continue;
      }
      if (s->has_energy) {
        const double d = (E - s->energy) / s->n * 1000.0;
        se[i].has_e = 1;
        se[i].e_abs = fabs(d);
        se[i].e_sq = d * d;
      }
      if (s->has_forces)
        for (int a = 0; a < s->n; a++)
          for (int x = 0; x < 3; x++) {
            const double d = F[a][x] - s->forces[a][x];
            se[i].f_abs += fabs(d);
            se[i].f_sq += d * d;
            se[i].nf++;
          }
      if (s->has_stress && s->volume > 0)
        for (int a = 0; a < 3; a++)
          for (int b = a; b < 3; b++) {
            const double d = (S[a][b] - s->stress[a][b]) * EV_A3_TO_GPA;
            se[i].s_abs += fabs(d);
            se[i].s_sq += d * d;
            se[i].ns++;
          }
    }
    free(F);
    tnace_workspace_free(ws);
  }
  if (bad >= 0) {
    snprintf(err, errlen, "%s", msg);
    free(se);
    return TNACE_ERR_NUMERIC;
  }
  int ne = 0;
  for (int i = 0; i < ds->n; i++) {
    if (se[i].err) { snprintf(err, errlen, "out of memory"); free(se); return TNACE_ERR_NOMEM; }
    m->n_struct++;
    m->n_atoms += ds->s[i].n;
    if (se[i].has_e) { ne++; m->e_mae += se[i].e_abs; m->e_rmse += se[i].e_sq; }
    m->f_mae += se[i].f_abs; m->f_rmse += se[i].f_sq; m->n_force_comp += (int)se[i].nf;
    m->s_mae += se[i].s_abs; m->s_rmse += se[i].s_sq; m->n_stress += (int)se[i].ns;
  }
  if (ne) { m->e_mae /= ne; m->e_rmse = sqrt(m->e_rmse / ne); }
  if (m->n_force_comp) { m->f_mae /= m->n_force_comp; m->f_rmse = sqrt(m->f_rmse / m->n_force_comp); }
  if (m->n_stress) { m->s_mae /= m->n_stress; m->s_rmse = sqrt(m->s_rmse / m->n_stress); }
  free(se);
  return 0;
}

/* ---- rows ------------------------------------------------------------------------------------- */

/* Per-structure row layout within a copy pass: [energy][forces of sampled atoms, 3 each][6 virials]. */
typedef struct {
  int n_rows, row0;        /* rows of this structure, first global row */
  int e_row, f_row, s_row; /* local offsets, −1 when absent */
  int n_sel;
  double w_e, w_f, w_s;    /* row weights (already normalised) */
} struct_rows;

typedef struct {
  tnace_potential *pot;
  const tnace_dataset *ds;
  const tnace_fit_opts *o;
  unsigned char **sel;     /* [struct][atom] sampled for force rows */
  int **sel_row;           /* [struct][atom] index among sampled atoms, −1 */
  struct_rows *sr;
  int n_rows;
  int nthreads;
  double *Ucat;            /* the current copy's U maps of all species, stacked like the row columns */
  int n_chunks, *chunk_s0; /* structure ranges whose rows fit the memory budget together */
  int n_chains;            /* MPS chains: one per MPS term, two per MPO term (ket, bra) */
  int chain_t[TNACE_MAX_CHAINS], chain_layer[TNACE_MAX_CHAINS];
  int chain_mate[TNACE_MAX_CHAINS]; /* the other layer of an MPO term, −1 for an MPS term */
  int sd[TNACE_MAX_CHAINS][TNACE_MAX_NU];            /* species rank of copy k's species site (0: full) */
  unsigned char sfix[TNACE_MAX_CHAINS][TNACE_MAX_NU]; /* 1: species-blind copy, E fixed (d = 1) */
  double *Ef[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS][TNACE_MAX_NU]; /* species factors E (n_el × d), NULL:
                                                                     the site is not rank-constrained */
} fit_ctx;

/* Chain c of centre species a. */
#define CHAIN(pot, F, a, c) tnace_layer((pot), (a), (F)->chain_t[c], (F)->chain_layer[c])

/* out[α][n][λ] += scale · Σ_m A[α][n][l m] g[(λ, m)] for α in [a0, a1) — the U-space gradient. */
static void accum_U(const tnace_tn *t, int k, const double *A, int nmaxA, int lmaxA, const double *g, double scale,
                    int a0, int a1, double *out) {
  const int nlmA = (lmaxA + 1) * (lmaxA + 1), nl = t->fus.n_lambda[k];
  const int bb = t->bond[3 * k] * t->bond[3 * k + 3];
  for (int a = a0; a < a1; a++)
    for (int n = 0; n < t->nmax; n++) {
      const double *An = A + ((size_t)a * nmaxA + n) * nlmA;
      double *o = out + ((size_t)a * t->nmax + n) * nl * bb;
      for (int lam = 0; lam < nl; lam++) {
        const int l = t->fus.lam_l[k][lam], ch0 = t->fus.chan_off[k][lam];
        double *ol = o + (size_t)lam * bb;
        for (int m = 0; m <= 2 * l; m++) {
          const double x = scale * An[l * l + m];
          if (x == 0.0) continue;
          const double *gg = g + (size_t)(ch0 + m) * bb;
          for (int q = 0; q < bb; q++) ol[q] += x * gg[q];
        }
      }
    }
}

/* out[b][n][λ] += Σ_m (u[n] y1[lm] + v[n] y2[lm]) g[(λ, m)] for one species b: the ΔA ⊗ g part of a
 * pair tangent (see tn_channels_pair), as u[n] Q1[λ] + v[n] Q2[λ] with Q = Σ_m y g. */
static void accum_U_pair(const tnace_tn *t, int k, int b, const double *u, const double *y1, int s1, const double *v,
                         const double *y2, int s2, const double *g, double sign, double *Q, double *out) {
  const int nl = t->fus.n_lambda[k], bb = t->bond[3 * k] * t->bond[3 * k + 3];
  double *Q1 = Q, *Q2 = Q + (size_t)nl * bb;
  memset(Q, 0, 2 * (size_t)nl * bb * sizeof(double));
  for (int lam = 0; lam < nl; lam++) {
    const int l = t->fus.lam_l[k][lam], ch0 = t->fus.chan_off[k][lam];
    for (int m = 0; m <= 2 * l; m++) {
      const int lm = l * l + m;
      const double a = y1[(size_t)lm * s1], e = y2[(size_t)lm * s2];
      const double *gg = g + (size_t)(ch0 + m) * bb;
      for (int q = 0; q < bb; q++) { Q1[(size_t)lam * bb + q] += a * gg[q]; Q2[(size_t)lam * bb + q] += e * gg[q]; }
    }
  }
  for (int n = 0; n < t->nmax; n++) {
    const double un = sign * u[n], vn = sign * v[n];
    double *o = out + ((size_t)b * t->nmax + n) * nl * bb;
    for (size_t q = 0; q < (size_t)nl * bb; q++) o[q] += un * Q1[q] + vn * Q2[q];
  }
}

static size_t U_dim(const tnace_tn *t, int k) {
  return (size_t)t->n_el * t->nmax * t->fus.n_lambda[k] * t->bond[3 * k] * t->bond[3 * k + 3];
}

static int plan_rows(fit_ctx *F) {
  const tnace_dataset *ds = F->ds;
  const tnace_fit_opts *o = F->o;
  F->sr = calloc((size_t)ds->n, sizeof *F->sr);
  F->sel = calloc((size_t)ds->n, sizeof *F->sel);
  F->sel_row = calloc((size_t)ds->n, sizeof *F->sel_row);
  if (!F->sr || !F->sel || !F->sel_row) return TNACE_ERR_NOMEM;
  double we_sum = 0, wf_sum = 0, ws_sum = 0;
  for (int i = 0; i < ds->n; i++) {
    const tnace_struct *s = &ds->s[i];
    double ct = 1.0;
    for (int c = 0; c < o->n_ct; c++)
      if (strcmp(o->ct_name[c], s->config_type) == 0) ct = o->ct_weight[c];
    struct_rows *r = &F->sr[i];
    r->e_row = r->f_row = r->s_row = -1;
    int nr = 0;
    if (s->has_energy && o->kappa_e > 0) { r->e_row = nr++; r->w_e = s->weight * s->energy_weight * ct; we_sum += r->w_e; }
    F->sel[i] = calloc((size_t)s->n, 1);
    F->sel_row[i] = malloc((size_t)s->n * sizeof(int));
    if (!F->sel[i] || !F->sel_row[i]) return TNACE_ERR_NOMEM;
    if (s->has_forces && o->kappa_f > 0) {
      int want = (int)ceil(o->force_fraction * s->n);
      if (want < 1) want = 1;
      if (want > s->n) want = s->n;
      /* pick the `want` atoms with the smallest hash: a deterministic sample */
      double *h = malloc((size_t)s->n * sizeof(double));
      if (!h) return TNACE_ERR_NOMEM;
      for (int a = 0; a < s->n; a++) h[a] = hash_uniform(o->seed, (unsigned long long)i, (unsigned long long)a);
      for (int c = 0; c < want; c++) {
        int best = -1;
        for (int a = 0; a < s->n; a++)
          if (!F->sel[i][a] && (best < 0 || h[a] < h[best])) best = a;
        F->sel[i][best] = 1;
      }
      free(h);
      r->n_sel = want;
      r->f_row = nr;
      nr += 3 * want;
      r->w_f = s->weight * s->forces_weight * ct * ((double)s->n / want);
      wf_sum += r->w_f * 3 * want;
    }
    int q = 0;
    for (int a = 0; a < s->n; a++) F->sel_row[i][a] = F->sel[i][a] ? q++ : -1;
    if (s->has_stress && s->volume > 0 && o->kappa_s > 0) {
      r->s_row = nr;
      nr += 6;
      r->w_s = s->weight * s->stress_weight * ct;
      ws_sum += 6 * r->w_s;
    }
    r->n_rows = nr;
    r->row0 = F->n_rows;
    F->n_rows += nr;
  }
  /* normalise: the loss is κ_E·mean + κ_F·mean + κ_σ·mean */
  for (int i = 0; i < ds->n; i++) {
    struct_rows *r = &F->sr[i];
    if (we_sum > 0) r->w_e *= o->kappa_e / we_sum;
    if (wf_sum > 0) r->w_f *= o->kappa_f / wf_sum;
    if (ws_sum > 0) r->w_s *= o->kappa_s / ws_sum;
  }
  return 0;
}

static const int VOIGT[6][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}};

/* Build, for every training structure, the rows of the joint least-squares problem of one sweep step:
 * for each chain c (an MPS term, or one layer of an MPO term; kt[c] = its current copy) and centre species
 * a, the U-space columns of copy kt[c] (block at uoff[c][a], width U_dim), then one column per species for
 * E0 (at e0off); D columns in all. Targets y[row] are the reference minus the prediction of everything but
 * these maps and E0; rows and targets are scaled by √w. Each chain's rows depend only on its own other
 * copies (and, for an MPO layer, on the other layer), so all chains and species are solved jointly: total
 * energies and forces couple them, and alternating between them (block coordinate descent) is slow. */
static int copy_pass(fit_ctx *F, const int *kt, size_t (*uoff)[TNACE_MAX_ELEMENTS + 1], size_t e0off, size_t D,
                     int s0, int s1, double *rows, double *y, char *err, size_t errlen) {
  /* structures s0..s1−1 only; their rows start at row sr[s0].row0 of the whole set, row 0 of `rows` */
  const int row_base = s0 < s1 ? F->sr[s0].row0 : 0;
  tnace_potential *pot = F->pot;
  const tnace_dataset *ds = F->ds;
  const int nc = F->n_chains;
  const int nmax = pot->nmax, lmax = pot->lmax, nlm = (lmax + 1) * (lmax + 1);
  const size_t Asz = (size_t)pot->n_el * nmax * nlm;
  int fail = 0;
  char msg[512] = "";
#ifdef _OPENMP
#pragma omp parallel num_threads(F->nthreads)
#endif
  {
    tnace_workspace *ws = tnace_workspace_new(pot, 64);
    tnace_tn_ws tw[TNACE_MAX_CHAINS]; /* one per chain: its forward/adjoint state stays for the tangents */
    memset(tw, 0, sizeof tw);
    double *dA = malloc(Asz * sizeof(double));
    double *T = malloc(D * sizeof(double)); /* ≥ any one block */
    double(*dEdr)[3] = NULL, (*Fp)[3] = NULL;
    double *G[TNACE_MAX_CHAINS] = {NULL};
    double *Pdg[TNACE_MAX_CHAINS][TNACE_MAX_NU] = {{NULL}}, *Pg[TNACE_MAX_CHAINS][TNACE_MAX_NU] = {{NULL}};
    double *Pu[TNACE_MAX_CHAINS][TNACE_MAX_NU] = {{NULL}};
    double *Jv[TNACE_MAX_CHAINS] = {NULL}, *dJv[TNACE_MAX_CHAINS] = {NULL}; /* MPO layers' J and dJ */
    double *u = malloc((size_t)nmax * sizeof(double));
    size_t qmax = 1;
    int ok = ws && dA && T && u;
    for (int c = 0; c < nc; c++)
      for (int a = 0; a < pot->n_el; a++) {
        const tnace_tn *tn = CHAIN(pot, F, a, c);
        for (int k = 0; k < tn->nu; k++) {
          const size_t sz = (size_t)tn->fus.n_lambda[k] * tn->bond[3 * k] * tn->bond[3 * k + 3];
          if (2 * sz > qmax) qmax = 2 * sz;
        }
      }
    double *Qbuf = malloc(qmax * sizeof(double));
    ok = ok && Qbuf;
    for (int c = 0; c < nc; c++) {
      size_t mg = 1;
      int K = 1;
      for (int a = 0; a < pot->n_el; a++) {
        const tnace_tn *tn = CHAIN(pot, F, a, c);
        if (tn->c_size[kt[c]] > mg) mg = tn->c_size[kt[c]];
        if (tn->bond[3 * tn->nu] > K) K = tn->bond[3 * tn->nu];
        ok = ok && tn_ws_reserve(&tw[c], tn) == 0;
      }
      G[c] = malloc(mg * sizeof(double));
      Jv[c] = malloc((size_t)K * sizeof(double));
      dJv[c] = malloc((size_t)K * sizeof(double));
      ok = ok && G[c] && Jv[c] && dJv[c];
      for (int k = 0; k < TNACE_MAX_NU; k++) {
        size_t mx = 1;
        for (int a = 0; a < pot->n_el; a++) {
          const tnace_tn *tn = CHAIN(pot, F, a, c);
          if (k < tn->nu) {
            const size_t sz = (size_t)tn->fus.n_lambda[k] * tn->bond[3 * k] * tn->bond[3 * k + 3];
            if (sz > mx) mx = sz;
          }
        }
        Pdg[c][k] = malloc(mx * sizeof(double));
        Pg[c][k] = malloc(mx * sizeof(double));
        Pu[c][k] = malloc(mx * sizeof(double));
        ok = ok && Pdg[c][k] && Pg[c][k] && Pu[c][k];
      }
    }
    int cap_n = 0, cap_at = 0;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int si = s0; si < s1; si++) {
      if (!ok || fail) continue;
      const tnace_struct *s = &ds->s[si];
      const struct_rows *r = &F->sr[si];
      if (r->n_rows == 0) continue;
      double *R = rows + (size_t)(r->row0 - row_base) * D;
      double *Y = y + (r->row0 - row_base);
      memset(R, 0, (size_t)r->n_rows * D * sizeof(double));
      if (s->max_neigh > cap_n) {
        free(dEdr);
        cap_n = s->max_neigh;
        dEdr = malloc((size_t)cap_n * sizeof *dEdr);
        if (!dEdr || tnace_workspace_reserve(ws, cap_n)) { ok = 0; continue; }
      }
      if (s->n > cap_at) {
        free(Fp);
        cap_at = s->n;
        Fp = malloc((size_t)cap_at * sizeof *Fp);
        if (!Fp) { ok = 0; continue; }
      }
      memset(Fp, 0, (size_t)s->n * sizeof *Fp);
      double Ep = 0.0, De[6] = {0};
      const unsigned char *sel = F->sel[si];
      const int *selr = F->sel_row[si];
      for (int i = 0; i < s->n; i++) {
        const int n_i = s->off[i + 1] - s->off[i];
        const double(*d)[3] = (const double(*)[3])s->d + s->off[i];
        const int *nsp = s->nsp + s->off[i];
        double Ei;
        int rc = tnace_atom_energy(pot, ws, s->species[i], n_i, d, nsp, &Ei, dEdr);
        if (rc) {
#ifdef _OPENMP
#pragma omp critical
#endif
          { if (!fail) snprintf(msg, sizeof msg, "%s: atom %d: %s", s->source, i + 1, tnace_workspace_error(ws)); fail = 1; }
          break;
        }
        Ep += Ei;
        for (int q = 0; q < n_i; q++) {
          const int J = s->nj[s->off[i] + q];
          for (int x = 0; x < 3; x++) { Fp[J][x] -= dEdr[q][x]; Fp[i][x] += dEdr[q][x]; }
          for (int c = 0; c < 6; c++) {
            const int p = VOIGT[c][0], qq = VOIGT[c][1];
            De[c] += 0.5 * (dEdr[q][p] * d[q][qq] + dEdr[q][qq] * d[q][p]);
          }
        }
        const int a = s->species[i];
        if (r->e_row >= 0) R[(size_t)r->e_row * D + e0off + a] += 1.0; /* E0 column */
        /* every chain of this centre: channels, forward; then the adjoints (an MPO layer is seeded with
         * the other layer's J); energy rows */
        for (int c = 0; c < nc; c++) {
          const tnace_tn *tn = CHAIN(pot, F, a, c);
          tn_channels(tn, ws->A, nmax, lmax, &tw[c], 0);
          tn_forward_vec(tn, &tw[c], Jv[c]);
        }
        for (int c = 0; c < nc; c++) {
          const tnace_tn *tn = CHAIN(pot, F, a, c);
          const int mate = F->chain_mate[c];
          if (mate >= 0) tn_backward_seed(tn, &tw[c], Jv[mate]);
          else tn_backward(tn, &tw[c]);
          memcpy(G[c], tw[c].g[kt[c]], tn->c_size[kt[c]] * sizeof(double));
          if (r->e_row >= 0)
            accum_U(tn, kt[c], ws->A, nmax, lmax, G[c], 1.0, 0, pot->n_el, R + (size_t)r->e_row * D + uoff[c][a]);
        }
        /* The tangent of g^(k) of chain c: within the chain (other copies; none for nu = 1) and, for an MPO
         * layer, through the seed (the other layer's dJ). Needs every chain's dc first. */
#define TANGENT_ROWS(ROW_OF, PAIR_)                                                                  \
  for (int c = 0; c < nc; c++) {                                                                          \
    const int mate = F->chain_mate[c];                                                                    \
    if (mate >= 0) tn_forward_tangent_vec(CHAIN(pot, F, a, mate), &tw[mate], dJv[mate]);                   \
  }                                                                                                       \
  for (int c = 0; c < nc; c++) {                                                                          \
    const tnace_tn *tn = CHAIN(pot, F, a, c);                                                             \
    const int k = kt[c], mate = F->chain_mate[c];                                                         \
    const int moves = tn->nu > 1 || mate >= 0;                                                            \
    if (moves) tn_tangent_copy_seed(tn, &tw[c], k, mate >= 0 ? dJv[mate] : NULL);                           \
    const size_t Da = U_dim(tn, k);                                                                       \
    memset(T, 0, Da * sizeof(double));                                                                    \
    PAIR_;                                                                                                \
    if (moves) accum_U(tn, k, ws->A, nmax, lmax, tw[c].dg[k], 1.0, 0, pot->n_el, T);                       \
    ROW_OF;                                                                                               \
  }
        /* Force rows. F_J = −∂E/∂r_J: a centre i contributes +Σ_j T_ij to its own row (one tangent of the
         * summed A-derivative per direction) and −T_ij to the row of each sampled neighbour J (one
         * rank-2 pair tangent, tn_channels_pair). */
        if (r->f_row >= 0 && sel[i]) {
          for (int x = 0; x < 3; x++) {
            memset(dA, 0, Asz * sizeof(double));
            for (int m = 0; m < ws->n_in; m++) {
              const int b = ws->spec[m];
              const double *g = ws->g + (size_t)m * nmax, *dg = ws->dg + (size_t)m * nmax;
              const double *Yv = ws->Y + (size_t)m * nlm, *dY = ws->dY + (size_t)m * nlm * 3;
              const double rx = ws->rhat[3 * m + x];
              double *dAb = dA + (size_t)b * nmax * nlm;
              for (int n = 0; n < nmax; n++)
                for (int lm = 0; lm < nlm; lm++) dAb[(size_t)n * nlm + lm] += dg[n] * rx * Yv[lm] + g[n] * dY[3 * lm + x];
            }
            for (int c = 0; c < nc; c++) tn_channels(CHAIN(pot, F, a, c), dA, nmax, lmax, &tw[c], 1);
            TANGENT_ROWS(
                cblas_daxpy((int)Da, 1.0, T, 1, R + (size_t)(r->f_row + 3 * selr[i] + x) * D + uoff[c][a], 1),
                accum_U(tn, k, dA, nmax, lmax, G[c], 1.0, 0, pot->n_el, T))
          }
        }
        if (r->f_row >= 0) {
          for (int m = 0; m < ws->n_in; m++) {
            const int q = ws->idx[m], J = s->nj[s->off[i] + q];
            if (!sel[J]) continue;
            const int b = ws->spec[m];
            const double *g = ws->g + (size_t)m * nmax, *dg = ws->dg + (size_t)m * nmax;
            const double *Yv = ws->Y + (size_t)m * nlm, *dY = ws->dY + (size_t)m * nlm * 3;
            for (int c = 0; c < nc; c++) {
              const tnace_tn *tn = CHAIN(pot, F, a, c);
              tn_project_radial(tn, b, dg, Pdg[c]);
              tn_project_radial(tn, b, g, Pg[c]);
            }
            for (int x = 0; x < 3; x++) {
              const double rx = ws->rhat[3 * m + x];
              for (int n = 0; n < nmax; n++) u[n] = dg[n] * rx;
              for (int c = 0; c < nc; c++) {
                const tnace_tn *tn = CHAIN(pot, F, a, c);
                /* Pu = Σ_n U dg_n r̂_x = r̂_x Pdg */
                for (int kk = 0; kk < tn->nu; kk++) {
                  const size_t sz = (size_t)tn->fus.n_lambda[kk] * tn->bond[3 * kk] * tn->bond[3 * kk + 3];
                  for (size_t z = 0; z < sz; z++) Pu[c][kk][z] = rx * Pdg[c][kk][z];
                }
                tn_channels_pair(tn, Pu[c], Yv, 1, Pg[c], dY + x, 3, &tw[c]);
              }
              TANGENT_ROWS(
                  cblas_daxpy((int)Da, -1.0, T, 1, R + (size_t)(r->f_row + 3 * selr[J] + x) * D + uoff[c][a], 1),
                  accum_U_pair(tn, k, b, u, Yv, 1, g, dY + x, 3, G[c], 1.0, Qbuf, T))
            }
          }
        }
        /* virial rows: one strain tangent per centre and component */
        if (r->s_row >= 0) {
          for (int cc = 0; cc < 6; cc++) {
            const int p = VOIGT[cc][0], qq = VOIGT[cc][1];
            memset(dA, 0, Asz * sizeof(double));
            for (int m = 0; m < ws->n_in; m++) {
              const int b = ws->spec[m];
              const double rr = ws->r[m];
              const double *rh = ws->rhat + 3 * m;
              const double *g = ws->g + (size_t)m * nmax, *dg = ws->dg + (size_t)m * nmax;
              const double *Yv = ws->Y + (size_t)m * nlm, *dY = ws->dY + (size_t)m * nlm * 3;
              double *dAb = dA + (size_t)b * nmax * nlm;
              /* ½ (r_p ∂/∂r_q + r_q ∂/∂r_p) of g_n Y_lm */
              const double rp = rr * rh[p], rq = rr * rh[qq];
              for (int n = 0; n < nmax; n++)
                for (int lm = 0; lm < nlm; lm++)
                  dAb[(size_t)n * nlm + lm] +=
                      0.5 * (rp * (dg[n] * rh[qq] * Yv[lm] + g[n] * dY[3 * lm + qq]) +
                             rq * (dg[n] * rh[p] * Yv[lm] + g[n] * dY[3 * lm + p]));
            }
            for (int c = 0; c < nc; c++) tn_channels(CHAIN(pot, F, a, c), dA, nmax, lmax, &tw[c], 1);
            TANGENT_ROWS(
                cblas_daxpy((int)Da, 1.0, T, 1, R + (size_t)(r->s_row + cc) * D + uoff[c][a], 1),
                accum_U(tn, k, dA, nmax, lmax, G[c], 1.0, 0, pot->n_el, T))
          }
        }
#undef TANGENT_ROWS
      }
      if (fail) continue;
      /* targets: y' = ref − (pred − row·vec U), then per-atom scaling and √w; vec U stacks the species */
      const double *U = F->Ucat;
      if (r->e_row >= 0) {
        double *row = R + (size_t)r->e_row * D;
        const double yv = s->energy - (Ep - cblas_ddot((int)D, row, 1, U, 1));
        const double sc = sqrt(r->w_e) / s->n;
        cblas_dscal((int)D, sc, row, 1);
        Y[r->e_row] = sc * yv;
      }
      if (r->f_row >= 0)
        for (int J = 0; J < s->n; J++) {
          if (!sel[J]) continue;
          for (int x = 0; x < 3; x++) {
            const int lr = r->f_row + 3 * selr[J] + x;
            double *row = R + (size_t)lr * D;
            const double yv = s->forces[J][x] - (Fp[J][x] - cblas_ddot((int)D, row, 1, U, 1));
            const double sc = sqrt(r->w_f);
            cblas_dscal((int)D, sc, row, 1);
            Y[lr] = sc * yv;
          }
        }
      if (r->s_row >= 0)
        for (int c = 0; c < 6; c++) {
          const int lr = r->s_row + c;
          double *row = R + (size_t)lr * D;
          const double ref = s->volume * s->stress[VOIGT[c][0]][VOIGT[c][1]];
          const double yv = ref - (De[c] - cblas_ddot((int)D, row, 1, U, 1));
          const double sc = sqrt(r->w_s) / s->n;
          cblas_dscal((int)D, sc, row, 1);
          Y[lr] = sc * yv;
        }
    }
    if (!ok) {
#ifdef _OPENMP
#pragma omp critical
#endif
      { if (!fail) snprintf(msg, sizeof msg, "out of memory in a fitting pass"); fail = 1; }
    }
    free(dA); free(T); free(dEdr); free(Fp);
    for (int c = 0; c < nc; c++) {
      free(G[c]); free(Jv[c]); free(dJv[c]);
      for (int k = 0; k < TNACE_MAX_NU; k++) { free(Pdg[c][k]); free(Pg[c][k]); free(Pu[c][k]); }
      tn_ws_free(&tw[c]);
    }
    free(u);
    free(Qbuf);
    tnace_workspace_free(ws);
  }
  if (fail) { snprintf(err, errlen, "%s", msg); return TNACE_ERR_NUMERIC; }
  return 0;
}

/* Map U-space rows (n_rows × D_U) to the coordinates of core s of copy k: vec U = M_s vec core_s, so
 * J_s = J_U M_s. out: n_rows × |core_s|. */
static void map_rows(const tnace_tn *t, int k, int s, const double *rows, size_t ld_rows, int n_rows, double *out,
                     size_t ld_out, int nthreads) {
  const int b0 = t->bond[3 * k], b1 = t->bond[3 * k + 1], b2 = t->bond[3 * k + 2], b3 = t->bond[3 * k + 3];
  const int ne = t->n_el, nm = t->nmax, nl = t->fus.n_lambda[k];
  const double *S = t->core[3 * k], *N = t->core[3 * k + 1], *L = t->core[3 * k + 2];
  const size_t Dc = tn_core_size(t, s);
  const int site = s - 3 * k;
  /* precomputed products of the two fixed cores */
  double *P = NULL;
  if (site == 0) { /* NL[n][λ] = N[n] L[λ] : b1 × b3 */
    P = malloc((size_t)nm * nl * b1 * b3 * sizeof(double));
    for (int n = 0; n < nm; n++)
      for (int l = 0; l < nl; l++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b1, b3, b2, 1.0, N + (size_t)n * b1 * b2, b2,
                    L + (size_t)l * b2 * b3, b3, 0.0, P + ((size_t)n * nl + l) * b1 * b3, b3);
  } else if (site == 2) { /* SN[α][n] = S[α] N[n] : b0 × b2 */
    P = malloc((size_t)ne * nm * b0 * b2 * sizeof(double));
    for (int a = 0; a < ne; a++)
      for (int n = 0; n < nm; n++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b0, b2, b1, 1.0, S + (size_t)a * b0 * b1, b1,
                    N + (size_t)n * b1 * b2, b2, 0.0, P + ((size_t)a * nm + n) * b0 * b2, b2);
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#else
  (void)nthreads;
#endif
  {
    double *tmp = malloc((size_t)b1 * b3 * sizeof(double));
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int r = 0; r < n_rows; r++) {
      const double *R = rows + (size_t)r * ld_rows;
      double *o = out + (size_t)r * ld_out;
      memset(o, 0, Dc * sizeof(double));
      for (int a = 0; a < ne; a++)
        for (int n = 0; n < nm; n++)
          for (int l = 0; l < nl; l++) {
            const double *Rb = R + (((size_t)a * nm + n) * nl + l) * b0 * b3;
            if (site == 0) /* ∂/∂S[α] += R NLᵀ */
              cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b0, b1, b3, 1.0, Rb, b3,
                          P + ((size_t)n * nl + l) * b1 * b3, b3, 1.0, o + (size_t)a * b0 * b1, b1);
            else if (site == 1) { /* ∂/∂N[n] += S[α]ᵀ R L[λ]ᵀ */
              cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b1, b3, b0, 1.0, S + (size_t)a * b0 * b1, b1, Rb,
                          b3, 0.0, tmp, b3);
              cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b1, b2, b3, 1.0, tmp, b3, L + (size_t)l * b2 * b3,
                          b3, 1.0, o + (size_t)n * b1 * b2, b2);
            } else /* ∂/∂L[λ] += SN[α][n]ᵀ R */
              cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b2, b3, b0, 1.0,
                          P + ((size_t)a * nm + n) * b0 * b2, b2, Rb, b3, 1.0, o + (size_t)l * b2 * b3, b3);
          }
    }
    free(tmp);
  }
  free(P);
}

/* Solve (H + diag λ) x = b for symmetric H (upper triangle used, row-major). The system is first
 * equilibrated, D (H + λ) D z = D b with D = diag(H_ii + λ_i)^(−1/2), x = D z — the same solution, but
 * Cholesky keeps its precision when column scales differ by orders of magnitude (cores of different
 * terms, E0). Cholesky (dposv); if H is not numerically positive definite, an eigendecomposition
 * (dsyevd) that drops directions with eigenvalues ≤ 1e-13·max. */
static int ridge_solve(int n, double *H, double *b, const double *lambda) {
  double *Hc = malloc((size_t)n * n * sizeof(double)), *bc = malloc((size_t)n * sizeof(double));
  double *d = malloc((size_t)n * sizeof(double));
  if (!Hc || !bc || !d) { free(Hc); free(bc); free(d); return TNACE_ERR_NOMEM; }
  for (int i = 0; i < n; i++) {
    H[(size_t)i * n + i] += lambda[i];
    const double h = H[(size_t)i * n + i];
    d[i] = h > 0 ? 1.0 / sqrt(h) : 1.0;
  }
  for (int i = 0; i < n; i++) {
    for (int j = i; j < n; j++) H[(size_t)i * n + j] *= d[i] * d[j];
    b[i] *= d[i];
  }
  memcpy(Hc, H, (size_t)n * n * sizeof(double));
  memcpy(bc, b, (size_t)n * sizeof(double));
  int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', n, 1, Hc, n, bc, 1);
  if (info == 0) {
    memcpy(b, bc, (size_t)n * sizeof(double));
  } else {
    double *w = malloc((size_t)n * sizeof(double));
    if (!w) { free(Hc); free(bc); free(d); return TNACE_ERR_NOMEM; }
    memcpy(Hc, H, (size_t)n * n * sizeof(double));
    info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', n, Hc, n, w);
    if (info == 0) {
      const double wmax = fabs(w[n - 1]);
      for (int j = 0; j < n; j++) {
        double c = 0.0;
        if (w[j] > 1e-13 * wmax)
          for (int i = 0; i < n; i++) c += Hc[(size_t)i * n + j] * b[i];
        bc[j] = w[j] > 1e-13 * wmax ? c / w[j] : 0.0;
      }
      for (int i = 0; i < n; i++) {
        double v = 0.0;
        for (int j = 0; j < n; j++) v += Hc[(size_t)i * n + j] * bc[j];
        b[i] = v;
      }
    }
    free(w);
  }
  for (int i = 0; i < n; i++) b[i] *= d[i];
  free(Hc);
  free(bc);
  free(d);
  return info ? TNACE_ERR_NUMERIC : 0;
}

static int fit_e0(tnace_potential *pot, const tnace_dataset *ds) {
  const int ne = pot->n_el;
  double H[TNACE_MAX_ELEMENTS * TNACE_MAX_ELEMENTS] = {0}, b[TNACE_MAX_ELEMENTS] = {0};
  int any = 0;
  for (int i = 0; i < ds->n; i++) {
    const tnace_struct *s = &ds->s[i];
    if (!s->has_energy) continue;
    double cnt[TNACE_MAX_ELEMENTS] = {0};
    for (int a = 0; a < s->n; a++) cnt[s->species[a]] += 1.0;
    const double w = 1.0 / ((double)s->n * s->n); /* per-atom residuals */
    for (int p = 0; p < ne; p++) {
      b[p] += w * cnt[p] * s->energy;
      for (int q = 0; q < ne; q++) H[p * ne + q] += w * cnt[p] * cnt[q];
    }
    any = 1;
  }
  if (!any) return 0;
  /* tiny ridge keeps elements absent from the data at E0 = 0 */
  double lam[TNACE_MAX_ELEMENTS];
  for (int p = 0; p < ne; p++) lam[p] = 1e-10;
  int rc = ridge_solve(ne, H, b, lam);
  if (rc) return rc;
  for (int p = 0; p < ne; p++) pot->e0[p] = b[p];
  return 0;
}

typedef struct {
  double *core[2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS][TNACE_MAX_SITES];
  int bond[2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS][TNACE_MAX_SITES + 1]; /* bonds when saved (they grow) */
  double e0[TNACE_MAX_ELEMENTS];
} snapshot;

/* Snapshot slot of layer `layer` of (species, term) index i. */
static tnace_tn *snap_tn(const tnace_potential *pot, int i, int layer) {
  return tnace_layer(pot, i / pot->n_terms, i % pot->n_terms, layer);
}

static void snap_save(snapshot *sn, const tnace_potential *pot) {
  memcpy(sn->e0, pot->e0, sizeof sn->e0);
  for (int i = 0; i < pot->n_el * pot->n_terms; i++)
    for (int layer = 0; layer < tnace_n_layers(pot, i % pot->n_terms); layer++) {
      const tnace_tn *t = snap_tn(pot, i, layer);
      const int same = !memcmp(sn->bond[2 * i + layer], t->bond, sizeof t->bond);
      memcpy(sn->bond[2 * i + layer], t->bond, sizeof t->bond);
      for (int s = 0; s < 3 * t->nu; s++) {
        const size_t sz = tn_core_size(t, s) * sizeof(double);
        double **dst = &sn->core[2 * i + layer][s];
        if (!same) { free(*dst); *dst = NULL; }
        if (!*dst) *dst = malloc(sz);
        if (*dst) memcpy(*dst, t->core[s], sz);
      }
    }
}
static void snap_restore(const snapshot *sn, tnace_potential *pot) {
  memcpy(pot->e0, sn->e0, sizeof sn->e0);
  for (int i = 0; i < pot->n_el * pot->n_terms; i++)
    for (int layer = 0; layer < tnace_n_layers(pot, i % pot->n_terms); layer++) {
      tnace_tn *t = snap_tn(pot, i, layer);
      if (memcmp(sn->bond[2 * i + layer], t->bond, sizeof t->bond) && sn->core[2 * i + layer][0]) {
        /* saved before the bonds grew: back to the saved shapes */
        tnace_tn nt;
        char e[128];
        if (tn_init_bonds(&nt, t->nu, t->lmax, t->nmax, t->n_el, sn->bond[2 * i + layer], e, sizeof e)) continue;
        tn_free(t);
        *t = nt;
      }
      for (int s = 0; s < 3 * t->nu; s++)
        if (sn->core[2 * i + layer][s]) memcpy(t->core[s], sn->core[2 * i + layer][s], tn_core_size(t, s) * sizeof(double));
      tn_prepare(t);
    }
}
static void snap_free(snapshot *sn) {
  for (int i = 0; i < 2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS; i++)
    for (int s = 0; s < TNACE_MAX_SITES; s++) free(sn->core[i][s]);
}

/* ---- bond-dimension growth (subspace expansion) ---------------------------------------------- */

/* Re-shape term t to bonds nb (same boundary bonds), in right-canonical form with the centre at site 0:
 * every old entry keeps its place; core 0 gets zero columns, and each core s ≥ 1 gets zero columns and
 * new rows that complete its rows to an orthonormal set (random directions, Gram–Schmidt). The new rows
 * only ever meet the zero columns of the core on their left, so the function is unchanged and the cores
 * stay right-canonical; the following one-site refits can use the new directions. A species site with a
 * factor E is padded in G-space (S = E G, E an isometry), which keeps its rank. Shrinking (nb ≤ old) keeps
 * the leading block — used only on fresh random cores. */
static int reshape_bonds(tnace_tn *t, const int *nb, double *const *E, const int *dk, unsigned long long seed) {
  tnace_tn nt;
  char e[128];
  int rc = tn_init_bonds(&nt, t->nu, t->lmax, t->nmax, t->n_el, nb, e, sizeof e);
  if (rc) return rc;
  const int ns = 3 * t->nu, ne = t->n_el;
  for (int s = 0; s < ns && !rc; s++) {
    const int sp = s % 3 == 0 && E && E[s / 3];
    const int d = sp ? dk[s / 3] : 0, ph = sp ? d : t->phys[s];
    const int bl = t->bond[s], br = t->bond[s + 1], nbl = nb[s], nbr = nb[s + 1];
    const size_t n = (size_t)ph * nbr; /* a row of the new core, as [phys][br] */
    double *old = t->core[s], *M = calloc((size_t)nbl * n, sizeof(double));
    if (!M) { rc = TNACE_ERR_NOMEM; break; }
    if (sp) { /* work on G = Eᵀ S */
      old = malloc((size_t)d * bl * br * sizeof(double));
      if (!old) { free(M); rc = TNACE_ERR_NOMEM; break; }
      sp_project(E[s / 3], ne, d, t->core[s], (size_t)bl * br, old);
    }
    /* M[i][p·nbr + j] = core[p][i][j] */
    for (int p = 0; p < ph; p++)
      for (int i = 0; i < bl && i < nbl; i++)
        for (int j = 0; j < br && j < nbr; j++) M[(size_t)i * n + (size_t)p * nbr + j] = old[((size_t)p * bl + i) * br + j];
    if (s > 0)
      for (int i = bl; i < nbl; i++) {
        double *r = M + (size_t)i * n;
        for (size_t q = 0; q < n; q++) r[q] = 2.0 * hash_uniform(seed, (unsigned long long)s * 4096 + i, q) - 1.0;
        for (int pass = 0; pass < 2; pass++) /* twice: Gram–Schmidt keeps its orthogonality to round-off */
          for (int i2 = 0; i2 < i; i2++) {
            const double *r2 = M + (size_t)i2 * n;
            const double dot = cblas_ddot((int)n, r, 1, r2, 1), nn = cblas_ddot((int)n, r2, 1, r2, 1);
            if (nn > 0) cblas_daxpy((int)n, -dot / nn, r2, 1, r, 1);
          }
        const double nr = cblas_dnrm2((int)n, r, 1);
        if (nr > 0) cblas_dscal((int)n, 1.0 / nr, r, 1);
      }
    double *dst = sp ? malloc((size_t)d * nbl * nbr * sizeof(double)) : nt.core[s];
    if (!dst) { free(M); if (sp) free(old); rc = TNACE_ERR_NOMEM; break; }
    for (int p = 0; p < ph; p++)
      for (int i = 0; i < nbl; i++)
        for (int j = 0; j < nbr; j++) dst[((size_t)p * nbl + i) * nbr + j] = M[(size_t)i * n + (size_t)p * nbr + j];
    if (sp) {
      sp_expand(E[s / 3], ne, d, dst, (size_t)nbl * nbr, nt.core[s]);
      free(dst);
      free(old);
    }
    free(M);
  }
  if (rc) { tn_free(&nt); return rc; }
  tn_free(t);
  *t = nt;
  return tn_prepare(t);
}

/* Bonds of the schedule: min(target, chi) per bond, kept within the TT ranks of the (effective) site
 * dimensions by the same tn_clamp_bonds as tnace_potential_create (boundary bonds unchanged). */
static void capped_bonds(const tnace_tn *t, const int *target, int chi, const int *dk, double *const *E, int *nb) {
  const int ns = 3 * t->nu;
  int ph[TNACE_MAX_SITES];
  for (int s = 0; s < ns; s++) ph[s] = s % 3 == 0 && E && E[s / 3] ? dk[s / 3] : t->phys[s];
  for (int s = 0; s <= ns; s++) nb[s] = (s == 0 || s == ns || target[s] < chi) ? target[s] : chi;
  tn_clamp_bonds(ns, ph, nb);
}

static double loss_of(const tnace_fit_opts *o, const tnace_metrics *m) {
  /* same units as the fitted loss: eV/atom, eV/Å, virial eV/atom ≈ GPa·V/N — use GPa/160 as a proxy */
  const double e = m->e_rmse * 1e-3, f = m->f_rmse, s = m->s_rmse / EV_A3_TO_GPA * 12.0;
  return o->kappa_e * e * e + o->kappa_f * f * f + (m->n_stress ? o->kappa_s * s * s : 0.0);
}

int tnace_fit(tnace_potential *pot, const tnace_dataset *train, const tnace_dataset *valid, const tnace_fit_opts *o,
              FILE *log, tnace_metrics *train_m, tnace_metrics *valid_m, char *err, size_t errlen) {
  fit_ctx F;
  memset(&F, 0, sizeof F);
  F.pot = pot;
  F.ds = train;
  F.o = o;
  F.nthreads = n_threads_of(o);
  int rc = 0;
  double *rows = NULL, *y = NULL, *J = NULL, *H = NULL, *b = NULL, *lamv = NULL, *xold = NULL, *resid = NULL;
  double *Jsp = NULL, *Sbuf = NULL;                       /* species-rank sites: rows of S, SVD scratch */
  int (*tb)[TNACE_MAX_ELEMENTS][TNACE_MAX_SITES + 1] = NULL; /* target bonds of the bond growth */
  int cur_chi = 0, chi_max = 0;                            /* its current and final bond cap */
  double *Gt[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS] = {{NULL}}; /* their fixed G (Vᵀ) in the Ẽ solve */
  snapshot best;
  memset(&best, 0, sizeof best);
  if (!train || train->n == 0) { snprintf(err, errlen, "no training structures"); return TNACE_ERR_VALUE; }
  if ((rc = plan_rows(&F))) { snprintf(err, errlen, "out of memory planning rows"); goto done; }
  for (int t = 0; t < pot->n_terms; t++)
    for (int layer = 0; layer < tnace_n_layers(pot, t); layer++) {
      const int c = F.n_chains++;
      F.chain_t[c] = t;
      F.chain_layer[c] = layer;
      F.chain_mate[c] = tnace_n_layers(pot, t) == 2 ? (layer ? c - 1 : c + 1) : -1;
      const int nu = pot->spec[t].nu, sc = pot->spec[t].scopies;
      for (int k = 0; k < nu; k++) {
        const int blind = pot->n_el > 1 && sc > 0 && k >= sc, d = pot->spec[t].srank;
        F.sfix[c][k] = (unsigned char)blind;
        F.sd[c][k] = blind ? 1 : d > 0 && d < pot->n_el ? d : 0;
      }
      for (int a = 0; a < pot->n_el; a++) {
        tnace_tn *tn = tnace_layer(pot, a, t, layer);
        for (int k = 0; k < tn->nu; k++) {
          const int s3 = 3 * k, d = F.sd[c][k];
          if (!d) continue;
          if (d * tn->bond[s3] < tn->bond[s3 + 1] || (k > 0 && d * tn->bond[s3 + 1] < tn->bond[s3])) {
            rc = TNACE_ERR_VALUE;
            snprintf(err, errlen, "terms[%d]: bonds %d, %d around species site %d exceed species_rank %d times the "
                     "other bond (create the potential with species_rank / species_copies set)", t, tn->bond[s3], tn->bond[s3 + 1], s3, d);
            goto done;
          }
          if ((rc = sp_factor_init(tn, k, d, F.sfix[c][k], o->seed + (unsigned long long)(c * 64 + a), &F.Ef[c][a][k]))) {
            snprintf(err, errlen, "initialising species factors failed");
            goto done;
          }
        }
        tn_prepare(tn);
      }
    }
  if (o->fit_e0 && (rc = fit_e0(pot, train))) { snprintf(err, errlen, "fitting E0 failed"); goto done; }
  size_t Dmax = (size_t)pot->n_el, Dc_max = (size_t)pot->n_el; /* E0 columns */
  {
    int max_nu = 1;
    for (int q = 0; q < pot->n_el * pot->n_terms; q++)
      if (pot->tn[q].nu > max_nu) max_nu = pot->tn[q].nu;
    for (int p = 0; p < max_nu; p++) {
      size_t du = 0, dc[3] = {0, 0, 0};
      for (int ch = 0; ch < F.n_chains; ch++)
        for (int a = 0; a < pot->n_el; a++) {
          const tnace_tn *tn = CHAIN(pot, &F, a, ch);
          const int k = p < tn->nu ? p : tn->nu - 1;
          du += U_dim(tn, k);
          for (int c = 0; c < 3; c++) dc[c] += tn_core_size(tn, p < tn->nu ? 3 * k + c : 3 * tn->nu - 1);
        }
      if (du + pot->n_el > Dmax) Dmax = du + pot->n_el;
      for (int c = 0; c < 3; c++)
        if (dc[c] + pot->n_el > Dc_max) Dc_max = dc[c] + pot->n_el;
    }
  }
  /* Rows are built in chunks of structures that fit the memory budget. With one chunk the rows of a
   * copy level serve its three sites; with several, each site streams the chunks again and accumulates
   * its normal equations (the rows do not change between the sites of a copy, so this is exact). */
  const double row_bytes = (double)(Dmax + Dc_max + 2) * sizeof(double);
  const double budget = o->max_rows_mb * 1048576.0 - (double)Dc_max * Dc_max * sizeof(double);
  int n_chunks = 0, max_chunk_rows = 0;
  int *chunk_s0 = malloc((size_t)(train->n + 1) * sizeof(int));
  if (!chunk_s0) { rc = TNACE_ERR_NOMEM; snprintf(err, errlen, "out of memory"); goto done; }
  for (int i = 0; i < train->n;) {
    int rows_c = 0, j = i;
    while (j < train->n && (j == i || (rows_c + F.sr[j].n_rows) * row_bytes <= budget)) rows_c += F.sr[j++].n_rows;
    if (rows_c * row_bytes > budget) {
      snprintf(err, errlen,
               "the least-squares rows of one structure (%s: %d rows × %zu columns) exceed the budget of %.0f MB: "
               "lower force_fraction, the basis (nmax, lmax) or chi, or raise max_rows_mb",
               train->s[i].source, rows_c, Dmax, o->max_rows_mb);
      free(chunk_s0);
      rc = TNACE_ERR_NOMEM;
      goto done;
    }
    chunk_s0[n_chunks++] = i;
    if (rows_c > max_chunk_rows) max_chunk_rows = rows_c;
    i = j;
  }
  chunk_s0[n_chunks] = train->n;
  F.chunk_s0 = chunk_s0;
  F.n_chunks = n_chunks;
  const double mb = (double)max_chunk_rows * row_bytes / 1048576.0;
  rows = malloc((size_t)max_chunk_rows * Dmax * sizeof(double));
  y = malloc((size_t)(max_chunk_rows ? max_chunk_rows : 1) * sizeof(double));
  J = malloc((size_t)max_chunk_rows * Dc_max * sizeof(double));
  H = malloc(Dc_max * Dc_max * sizeof(double));
  b = malloc(Dc_max * sizeof(double));
  F.Ucat = malloc(Dmax * sizeof(double));
  lamv = malloc(Dc_max * sizeof(double));
  xold = malloc(Dc_max * sizeof(double));
  resid = malloc((size_t)(max_chunk_rows ? max_chunk_rows : 1) * sizeof(double));
  if (!rows || !y || !J || !H || !b || !F.Ucat || !lamv || !xold || !resid) { rc = TNACE_ERR_NOMEM; snprintf(err, errlen, "out of memory (%.0f MB of rows)", mb); goto done; }
  {
    size_t wmax = 0;
    for (int c = 0; c < F.n_chains; c++)
      for (int a = 0; a < pot->n_el; a++)
        for (int k = 0; k < TNACE_MAX_NU; k++)
          if (F.Ef[c][a][k]) {
            const tnace_tn *tn = CHAIN(pot, &F, a, c);
            const size_t w = (size_t)pot->n_el * tn->bond[3 * k] * tn->bond[3 * k + 1];
            if (w > wmax) wmax = w;
          }
    for (int c = 0; wmax && c < F.n_chains; c++)
      for (int a = 0; a < pot->n_el; a++)
        if (!(Gt[c][a] = malloc(wmax * sizeof(double)))) { rc = TNACE_ERR_NOMEM; snprintf(err, errlen, "out of memory"); goto done; }
    if (wmax) {
      Jsp = malloc((size_t)(max_chunk_rows ? max_chunk_rows : 1) * wmax * sizeof(double));
      Sbuf = malloc((wmax + (size_t)pot->n_el * (pot->n_el + 2)) * sizeof(double));
      if (!Jsp || !Sbuf) { rc = TNACE_ERR_NOMEM; snprintf(err, errlen, "out of memory (species-rank rows)"); goto done; }
    }
  }
  /* Bond growth: all buffers above are sized for the target bonds (those the potential was created with);
   * the fit starts from bonds capped at chi_start and doubles them every grow_every sweeps. */
  if (o->chi_start > 0) {
    tb = calloc(TNACE_MAX_CHAINS, sizeof *tb);
    if (!tb) { rc = TNACE_ERR_NOMEM; snprintf(err, errlen, "out of memory"); goto done; }
    for (int c = 0; c < F.n_chains; c++)
      for (int a = 0; a < pot->n_el; a++) {
        const tnace_tn *tn = CHAIN(pot, &F, a, c);
        memcpy(tb[c][a], tn->bond, sizeof tb[c][a]);
        for (int s3 = 1; s3 < 3 * tn->nu; s3++)
          if (tn->bond[s3] > chi_max) chi_max = tn->bond[s3];
      }
    cur_chi = o->chi_start < chi_max ? o->chi_start : chi_max;
    for (int c = 0; c < F.n_chains; c++)
      for (int a = 0; a < pot->n_el; a++) {
        tnace_tn *tn = CHAIN(pot, &F, a, c);
        int nb[TNACE_MAX_SITES + 1];
        capped_bonds(tn, tb[c][a], cur_chi, F.sd[c], F.Ef[c][a], nb);
        if ((rc = reshape_bonds(tn, nb, F.Ef[c][a], F.sd[c], o->seed + 977u * (unsigned)(c * 64 + a)))) {
          snprintf(err, errlen, "out of memory (bond growth)");
          goto done;
        }
      }
  }

  if (log) {
    fprintf(log, "# tnace-fit: %d training structures (%d rows: energies, %.0f%% of forces, virials), %d validation, "
                 "%ld parameters, %d threads\n",
            train->n, F.n_rows, 100.0 * o->force_fraction, valid ? valid->n : 0, tnace_potential_n_params(pot),
            F.nthreads);
    if (n_chunks > 1)
      fprintf(log, "# rows streamed in %d chunks of up to %d rows (%.0f MB each; budget max_rows_mb = %.0f)\n", n_chunks,
              max_chunk_rows, mb, o->max_rows_mb);
    fprintf(log, "# %5s %9s %9s %9s %9s %9s %9s %9s %9s %8s\n", "sweep", "lambda", "E_trn", "E_val", "F_trn",
            "F_val", "S_trn", "S_val", "", "time_s");
    fprintf(log, "# %5s %9s %9s %9s %9s %9s %9s %9s %9s %8s\n", "", "", "meV/at", "meV/at", "meV/A", "meV/A", "GPa",
            "GPa", "", "");
  }
  const double t0 = now_s();
  double best_loss = INFINITY;
  int best_sweep = 0, since_best = 0;
  tnace_metrics mt, mv;
  for (int sweep = 1; sweep <= o->max_sweeps; sweep++) {
    double frac = o->anneal_sweeps > 0 ? fmin(1.0, (double)(sweep - 1) / o->anneal_sweeps) : 1.0;
    const double lam = o->lambda_start > o->lambda ? o->lambda_start * pow(o->lambda / o->lambda_start, frac) : o->lambda;
    const int nc = F.n_chains, ne = pot->n_el;
    int max_nu = 1;
    for (int c = 0; c < nc; c++)
      for (int a = 0; a < ne; a++) {
        tnace_tn *tn = CHAIN(pot, &F, a, c);
        if (tn->nu > max_nu) max_nu = tn->nu;
        if ((rc = canonicalize_left_end_f(tn, F.Ef[c][a], F.sd[c]))) { snprintf(err, errlen, "QR failed"); goto done; }
      }
    if (cur_chi && cur_chi < chi_max && sweep > 1 && (sweep - 1) % (o->grow_every > 0 ? o->grow_every : 1) == 0) {
      cur_chi = 2 * cur_chi < chi_max ? 2 * cur_chi : chi_max;
      for (int c = 0; c < nc; c++)
        for (int a = 0; a < ne; a++) {
          tnace_tn *tn = CHAIN(pot, &F, a, c);
          int nb[TNACE_MAX_SITES + 1];
          capped_bonds(tn, tb[c][a], cur_chi, F.sd[c], F.Ef[c][a], nb);
          if ((rc = reshape_bonds(tn, nb, F.Ef[c][a], F.sd[c], o->seed + 977u * (unsigned)(c * 64 + a) + (unsigned)sweep))) {
            snprintf(err, errlen, "out of memory (bond growth)");
            goto done;
          }
        }
      if (log) fprintf(log, "# sweep %d: bonds grown to at most %d (subspace expansion; the function is unchanged)\n", sweep, cur_chi);
    }
    /* Copy level p: every chain sits in copy min(p, ν−1); one data pass, then the three sites of the copy
     * (a chain already in its last copy keeps refitting its last site). */
    for (int p = 0; p < max_nu; p++) {
      int kt[TNACE_MAX_CHAINS];
      size_t uoff[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS + 1], D = 0;
      for (int c = 0; c < nc; c++) {
        const int nu = CHAIN(pot, &F, 0, c)->nu;
        kt[c] = p < nu ? p : nu - 1;
        for (int a = 0; a < ne; a++) {
          const tnace_tn *tn = CHAIN(pot, &F, a, c);
          uoff[c][a] = D;
          memcpy(F.Ucat + D, tn->U[kt[c]], U_dim(tn, kt[c]) * sizeof(double));
          D += U_dim(tn, kt[c]);
        }
        uoff[c][ne] = D;
      }
      const size_t e0off = D;
      memcpy(F.Ucat + D, pot->e0, (size_t)ne * sizeof(double));
      D += (size_t)ne;
      const int n_e0 = o->fit_e0 ? ne : 0; /* a fixed E0 moves into the targets */
      for (int q = 0; q < 3; q++) {
        int st[TNACE_MAX_CHAINS], any_f = 0;
        for (int c = 0; c < nc; c++) {
          const int nu = CHAIN(pot, &F, 0, c)->nu;
          st[c] = p < nu ? 3 * p + q : 3 * nu - 1;
          if (st[c] % 3 == 0 && F.Ef[c][0][st[c] / 3] && !F.sfix[c][st[c] / 3]) any_f = 1;
        }
        /* A species site of rank d is solved in two exact linear steps: G with E fixed (S = E G, E
         * orthonormal), then Ẽ with G fixed (S = Ẽ Vᵀ from the SVD of S, V orthonormal). In both the ridge on
         * the unknowns equals the ridge on S. The other chains' cores are re-solved along (same rows). */
        for (int sub = 0; sub < (any_f ? 2 * SP_INNER : 1); sub++) {
        size_t coff[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS + 1], Dc = 0;
        int fm[TNACE_MAX_CHAINS]; /* 0 plain, 1 solve G (E fixed), 2 solve Ẽ (G fixed) */
        for (int c = 0; c < nc; c++) {
          /* a species-blind site (E fixed) only ever solves G */
          fm[c] = st[c] % 3 == 0 && F.Ef[c][0][st[c] / 3] ? (F.sfix[c][st[c] / 3] ? 1 : 1 + sub % 2) : 0;
          for (int a = 0; a < ne; a++) {
            const tnace_tn *tn = CHAIN(pot, &F, a, c);
            const size_t m = (size_t)tn->bond[st[c]] * tn->bond[st[c] + 1];
            coff[c][a] = Dc;
            const int d = F.sd[c][st[c] / 3];
            Dc += fm[c] == 1 ? (size_t)d * m : fm[c] == 2 ? (size_t)ne * d : tn_core_size(tn, st[c]);
          }
          coff[c][ne] = Dc;
        }
        const size_t ce0 = Dc;
        Dc += (size_t)n_e0;
        /* E0 is not penalised; the tiny ridge only keeps an element absent from the data at 0 */
        for (size_t c = 0; c < Dc; c++) lamv[c] = c < ce0 ? lam : 1e-10;
        /* Solve for the update δ = x − x_old from the residual, (H + λ) δ = Jᵀ(y − J x_old) − λ x_old:
         * the normal equations' rounding error then scales with |δ|, not |x| (iterative refinement). */
        for (int c = 0; c < nc; c++)
          for (int a = 0; a < ne; a++) {
            const tnace_tn *tn = CHAIN(pot, &F, a, c);
            const int d = F.sd[c][st[c] / 3];
            const size_t m = (size_t)tn->bond[st[c]] * tn->bond[st[c] + 1];
            if (fm[c] == 1) {
              sp_project(F.Ef[c][a][st[c] / 3], ne, d, tn->core[st[c]], m, xold + coff[c][a]);
            } else if (fm[c] == 2) { /* S = U Σ Vᵀ: Ẽ = U Σ (ne × d), Gt[c] = Vᵀ rows (d × m) */
              double *A = Sbuf, *U = Sbuf + (size_t)ne * m, *sv = U + (size_t)ne * ne, *sup = sv + ne;
              memcpy(A, tn->core[st[c]], (size_t)ne * m * sizeof(double));
              const int kk = ne < (int)m ? ne : (int)m;
              if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', ne, (int)m, A, (int)m, sv, U, kk, Gt[c][a], (int)m, sup)) {
                rc = TNACE_ERR_NUMERIC;
                snprintf(err, errlen, "SVD of a species core failed");
                goto done;
              }
              for (int i = 0; i < ne; i++)
                for (int j = 0; j < d; j++) xold[coff[c][a] + (size_t)i * d + j] = U[(size_t)i * kk + j] * sv[j];
            } else {
              memcpy(xold + coff[c][a], tn->core[st[c]], (coff[c][a + 1] - coff[c][a]) * sizeof(double));
            }
          }
        for (int a = 0; a < n_e0; a++) xold[ce0 + a] = pot->e0[a];
        for (int c = 0; c < n_chunks; c++) {
          const int s0 = chunk_s0[c], s1 = chunk_s0[c + 1];
          const int nr = (s1 < train->n ? F.sr[s1].row0 : F.n_rows) - F.sr[s0].row0;
          if (n_chunks > 1 || (q == 0 && sub == 0)) {
            /* the targets use the current maps: refresh them (site q−1 of every term changed U) */
            if ((q > 0 || sub > 0) && c == 0) {
              for (int ch = 0; ch < nc; ch++)
                for (int a = 0; a < ne; a++) {
                  const tnace_tn *tn = CHAIN(pot, &F, a, ch);
                  memcpy(F.Ucat + uoff[ch][a], tn->U[kt[ch]], U_dim(tn, kt[ch]) * sizeof(double));
                }
              memcpy(F.Ucat + e0off, pot->e0, (size_t)ne * sizeof(double));
            }
            if ((rc = copy_pass(&F, kt, uoff, e0off, D, s0, s1, rows, y, err, errlen))) goto done;
            if (!o->fit_e0)
              for (int r = 0; r < nr; r++)
                for (int a = 0; a < ne; a++) y[r] -= rows[(size_t)r * D + e0off + a] * pot->e0[a];
          }
          for (int ch = 0; ch < nc; ch++)
            for (int a = 0; a < ne; a++) {
              const tnace_tn *tn = CHAIN(pot, &F, a, ch);
              if (!fm[ch]) {
                map_rows(tn, kt[ch], st[ch], rows + uoff[ch][a], D, nr, J + coff[ch][a], Dc, F.nthreads);
                continue;
              }
              /* rows of S, then by the chain rule those of G (Eᵀ J_S per row) or Ẽ (J_S Gtᵀ) */
              const int d = F.sd[ch][st[ch] / 3];
              const size_t m = (size_t)tn->bond[st[ch]] * tn->bond[st[ch] + 1], w = (size_t)ne * m;
              map_rows(tn, kt[ch], st[ch], rows + uoff[ch][a], D, nr, Jsp, w, F.nthreads);
              for (int r = 0; r < nr; r++) {
                double *dst = J + (size_t)r * Dc + coff[ch][a];
                if (fm[ch] == 1)
                  sp_project(F.Ef[ch][a][st[ch] / 3], ne, d, Jsp + (size_t)r * w, m, dst);
                else
                  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ne, d, (int)m, 1.0, Jsp + (size_t)r * w, (int)m,
                              Gt[ch][a], (int)m, 0.0, dst, d);
              }
            }
          for (int r = 0; r < nr; r++)
            for (int a = 0; a < n_e0; a++) J[(size_t)r * Dc + ce0 + a] = rows[(size_t)r * D + e0off + a];
          memcpy(resid, y, (size_t)nr * sizeof(double));
          cblas_dgemv(CblasRowMajor, CblasNoTrans, nr, (int)Dc, -1.0, J, (int)Dc, xold, 1, 1.0, resid, 1);
          cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)Dc, nr, 1.0, J, (int)Dc, c ? 1.0 : 0.0, H, (int)Dc);
          cblas_dgemv(CblasRowMajor, CblasTrans, nr, (int)Dc, 1.0, J, (int)Dc, resid, 1, c ? 1.0 : 0.0, b, 1);
        }
        for (size_t c = 0; c < Dc; c++) b[c] -= lamv[c] * xold[c];
        if ((rc = ridge_solve((int)Dc, H, b, lamv))) {
          snprintf(err, errlen, "least-squares solve failed (copy %d, site %d)", p, q);
          goto done;
        }
        for (size_t c = 0; c < Dc; c++) b[c] += xold[c];
        for (int c = 0; c < nc; c++)
          for (int a = 0; a < ne; a++) {
            tnace_tn *tn = CHAIN(pot, &F, a, c);
            const int d = F.sd[c][st[c] / 3];
            const size_t m = (size_t)tn->bond[st[c]] * tn->bond[st[c] + 1];
            if (fm[c] == 1) {
              sp_expand(F.Ef[c][a][st[c] / 3], ne, d, b + coff[c][a], m, tn->core[st[c]]);
            } else if (fm[c] == 2) { /* S = Ẽ Gt, then E = orth(Ẽ) (S = E Eᵀ S still holds) */
              double *E = F.Ef[c][a][st[c] / 3];
              sp_expand(b + coff[c][a], ne, d, Gt[c][a], m, tn->core[st[c]]);
              memcpy(E, b + coff[c][a], (size_t)ne * d * sizeof(double));
              if ((rc = sp_orthonormalize(E, ne, d))) { snprintf(err, errlen, "QR failed"); goto done; }
            } else {
              memcpy(tn->core[st[c]], b + coff[c][a], (coff[c][a + 1] - coff[c][a]) * sizeof(double));
            }
            tn_prepare(tn);
          }
        for (int a = 0; a < n_e0; a++) pot->e0[a] = b[ce0 + a];
        }
        for (int c = 0; c < nc; c++)
          for (int a = 0; a < ne; a++) {
            tnace_tn *tn = CHAIN(pot, &F, a, c);
            const double *E = st[c] % 3 == 0 ? F.Ef[c][a][st[c] / 3] : NULL;
            if (st[c] < 3 * tn->nu - 1 && (rc = move_right_f(tn, st[c], E, F.sd[c][st[c] / 3]))) {
              snprintf(err, errlen, "QR failed");
              goto done;
            }
            tn_prepare(tn);
          }
      }
    }
    /* MPO terms: E = Σ_b J_b J'_b does not change when the ket layer is scaled by s and the bra by 1/s.
     * Fix that flat direction by giving both layers the same norm (each layer's norm sits in its centre
     * core, the last site after a sweep). */
    for (int t = 0; t < pot->n_terms; t++)
      if (tnace_n_layers(pot, t) == 2)
        for (int a = 0; a < ne; a++) {
          tnace_tn *ket = tnace_layer(pot, a, t, 0), *bra = tnace_layer(pot, a, t, 1);
          const int last = 3 * ket->nu - 1;
          const double nk = cblas_dnrm2((int)tn_core_size(ket, last), ket->core[last], 1);
          const double nb = cblas_dnrm2((int)tn_core_size(bra, last), bra->core[last], 1);
          if (nk > 0 && nb > 0) {
            const double sc = sqrt(nb / nk);
            cblas_dscal((int)tn_core_size(ket, last), sc, ket->core[last], 1);
            cblas_dscal((int)tn_core_size(bra, last), 1.0 / sc, bra->core[last], 1);
            tn_prepare(ket);
            tn_prepare(bra);
          }
        }
    if ((rc = tnace_metrics_compute(pot, train, F.nthreads, &mt, err, errlen))) goto done;
    memset(&mv, 0, sizeof mv);
    if (valid && valid->n && (rc = tnace_metrics_compute(pot, valid, F.nthreads, &mv, err, errlen))) goto done;
    const double L = loss_of(o, (valid && valid->n) ? &mv : &mt);
    const int improved = L < best_loss * (1.0 - 1e-4);
    if (L < best_loss) { best_loss = L; best_sweep = sweep; snap_save(&best, pot); }
    since_best = improved ? 0 : since_best + 1;
    if (o->on_sweep) {
      tnace_sweep_info si = {sweep, 0, L == best_loss, lam, now_s() - t0, &mt, &mv};
      o->on_sweep(&si, o->on_sweep_ctx);
    }
    if (log) {
      fprintf(log, "  %5d %9.2e %9.3f %9.3f %9.2f %9.2f %9.4f %9.4f %9s %8.1f\n", sweep, lam, mt.e_rmse, mv.e_rmse,
              1000 * mt.f_rmse, 1000 * mv.f_rmse, mt.s_rmse, mv.s_rmse, L == best_loss ? "*" : "", now_s() - t0);
      fflush(log);
    }
    if (since_best >= o->patience && sweep > o->anneal_sweeps && cur_chi >= chi_max) break;
  }
  snap_restore(&best, pot);
  if (log) fprintf(log, "# kept sweep %d (lowest %s loss)\n", best_sweep, (valid && valid->n) ? "validation" : "training");
  if (train_m && (rc = tnace_metrics_compute(pot, train, F.nthreads, train_m, err, errlen))) goto done;
  if (valid_m) {
    memset(valid_m, 0, sizeof *valid_m);
    if (valid && valid->n && (rc = tnace_metrics_compute(pot, valid, F.nthreads, valid_m, err, errlen))) goto done;
  }
  if (o->on_sweep) {
    tnace_metrics kt, kv;
    memset(&kv, 0, sizeof kv);
    if ((rc = tnace_metrics_compute(pot, train, F.nthreads, &kt, err, errlen))) goto done;
    if (valid && valid->n && (rc = tnace_metrics_compute(pot, valid, F.nthreads, &kv, err, errlen))) goto done;
    tnace_sweep_info si = {best_sweep, 1, 1, o->lambda, now_s() - t0, &kt, &kv};
    o->on_sweep(&si, o->on_sweep_ctx);
  }
done:
  snap_free(&best);
  free(rows); free(y); free(J); free(H); free(b); free(F.Ucat); free(lamv); free(xold); free(resid); free(F.chunk_s0);
  free(Jsp); free(Sbuf); free(tb);
  for (int c = 0; c < TNACE_MAX_CHAINS; c++)
    for (int a = 0; a < TNACE_MAX_ELEMENTS; a++) {
      free(Gt[c][a]);
      for (int k = 0; k < TNACE_MAX_NU; k++) free(F.Ef[c][a][k]);
    }
  if (F.sel)
    for (int i = 0; i < train->n; i++) free(F.sel[i]);
  if (F.sel_row)
    for (int i = 0; i < train->n; i++) free(F.sel_row[i]);
  free(F.sel); free(F.sel_row); free(F.sr);
  return rc;
}
