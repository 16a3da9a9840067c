/*
 * fit_gauge.c — the gauge of the tensor trains during a fit: QR / LQ moves of the orthogonality centre,
 * the species factors of rank-constrained species sites, random initial cores, bond-dimension growth by
 * subspace expansion, and the norm balance of MPO layers. Nothing here changes a potential's function
 * except tnace_fit_init (which sets it to zero) and fit_capped_bonds' shrinking of fresh random cores.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_priv.h"

/* Seed offsets keep the random streams of initial cores and species factors apart (any fixed values). */
#define SEED_CORE_STRIDE 64     /* streams per (species, term, layer) index: one per site, ν ≤ 4 → 12 */
#define SEED_SPECIES 0x5eedULL  /* stream of a species factor started without data */
#define SEED_GROWTH_ROW 4096    /* streams per site for the new rows of a grown bond */

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
void fit_sp_project(const double *E, int ne, int d, const double *S, size_t m, double *G) {
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, (int)m, ne, 1.0, E, d, S, (int)m, 0.0, G, (int)m);
}
/* S (ne × m) = E G. */
void fit_sp_expand(const double *E, int ne, int d, const double *G, size_t m, double *S) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ne, (int)m, d, 1.0, E, d, G, (int)m, 0.0, S, (int)m);
}

/* Move the centre right through core s: with E (species factor) or plainly. */
int fit_move_right(tnace_tn *t, int s, const double *E, int d) {
  if (!E) return qr_right(t->core[s], t->phys[s], t->bond[s], t->bond[s + 1], t->core[s + 1], t->phys[s + 1],
                          t->bond[s + 2]);
  const size_t m = (size_t)t->bond[s] * t->bond[s + 1];
  double *G = malloc((size_t)d * m * sizeof(double));
  if (!G) return TNACE_ERR_NOMEM;
  fit_sp_project(E, t->n_el, d, t->core[s], m, G);
  int rc = qr_right(G, d, t->bond[s], t->bond[s + 1], t->core[s + 1], t->phys[s + 1], t->bond[s + 2]);
  if (!rc) fit_sp_expand(E, t->n_el, d, G, m, t->core[s]);
  free(G);
  return rc;
}
static int move_left(tnace_tn *t, int s, const double *E, int d) {
  if (!E) return lq_left(t->core[s], t->phys[s], t->bond[s], t->bond[s + 1], t->core[s - 1], t->phys[s - 1],
                         t->bond[s - 1]);
  const size_t m = (size_t)t->bond[s] * t->bond[s + 1];
  double *G = malloc((size_t)d * m * sizeof(double));
  if (!G) return TNACE_ERR_NOMEM;
  fit_sp_project(E, t->n_el, d, t->core[s], m, G);
  int rc = lq_left(G, d, t->bond[s], t->bond[s + 1], t->core[s - 1], t->phys[s - 1], t->bond[s - 1]);
  if (!rc) fit_sp_expand(E, t->n_el, d, G, m, t->core[s]);
  free(G);
  return rc;
}

/* Right-canonical form with the centre at site 0; E[k]: the species factor of copy k (NULL: plain). */
int fit_canonicalize(tnace_tn *t, double *const *E, const int *d) {
  for (int s = 3 * t->nu - 1; s >= 1; s--) {
    int rc = move_left(t, s, E && s % 3 == 0 ? E[s / 3] : NULL, d ? d[s / 3] : 0);
    if (rc) return rc;
  }
  return tn_prepare(t);
}

/* Orthonormal basis (ne × d, columns) of the columns of X (ne × d), by QR; X is overwritten by it. */
int fit_sp_orthonormalize(double *X, int ne, int d) {
  double tau[TNACE_MAX_ELEMENTS];
  int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, ne, d, X, d, tau);
  if (!info) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, ne, d, d, X, d, tau);
  return info ? TNACE_ERR_NUMERIC : 0;
}

/* Start the species factor of copy k of t for rank d: E = the d leading left singular vectors of S (a
 * seeded random orthonormal E when S = 0, e.g. the zeroed centre of a fresh ket), then S ← E Eᵀ S (the
 * best rank-d approximation). *E_out = NULL when d does not constrain this site (d ≥ min(n_el, bl·br)).
 * blind: a species-blind copy (model.h, scopies): d = 1 and E = (1, …, 1)/√n_el, kept fixed. */
int fit_sp_factor_init(tnace_tn *t, int k, int d, int blind, unsigned long long seed, double **E_out) {
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
    for (int q = 0; q < ne * d; q++) E[q] = 2.0 * fit_hash_uniform(seed, SEED_SPECIES + (unsigned)k, (unsigned)q) - 1.0;
    if ((rc = fit_sp_orthonormalize(E, ne, d))) goto out;
  }
  fit_sp_project(E, ne, d, t->core[s], m, G);
  fit_sp_expand(E, ne, d, G, m, t->core[s]);
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
              t->core[s][q] = 2.0 * fit_hash_uniform(seed, ((unsigned)i * 2 + layer) * SEED_CORE_STRIDE + s, q) - 1.0;
      int rc = fit_canonicalize(t, NULL, NULL);
      /* Only the ket (or MPS) starts at zero: an MPO bra keeps its normalised random centre, else both
       * layers' rows (seeded by the other layer's J) would vanish and the term could never start. */
      if (!rc && layer == 0) memset(t->core[0], 0, tn_core_size(t, 0) * sizeof(double));
      if (!rc) rc = tn_prepare(t);
      if (rc) {
        snprintf(err, errlen, "initialising the cores of term %d, species %d: %s", i % pot->n_terms,
                 i / pot->n_terms, rc == TNACE_ERR_NOMEM ? "out of memory" : "QR failed");
        return rc;
      }
    }
  /* a term shared by all centre species starts from species 0's cores everywhere */
  for (int t = 0; t < pot->n_terms; t++)
    for (int a = 1; pot->spec[t].shared && a < pot->n_el; a++)
      for (int layer = 0; layer < tnace_n_layers(pot, t); layer++) {
        tnace_tn *dst = tnace_layer(pot, a, t, layer);
        const tnace_tn *src = tnace_layer(pot, 0, t, layer);
        for (int s = 0; s < 3 * dst->nu; s++) memcpy(dst->core[s], src->core[s], tn_core_size(dst, s) * sizeof(double));
        int rc = tn_prepare(dst);
        if (rc) { snprintf(err, errlen, "out of memory"); return rc; }
      }
  return 0;
}

/* ---- bond-dimension growth (subspace expansion) ---------------------------------------------- */

/* Re-shape term t to bonds nb (same boundary bonds), in right-canonical form with the centre at site 0:
 * every old entry keeps its place; core 0 gets zero columns, and each core s ≥ 1 gets zero columns and
 * new rows that complete its rows to an orthonormal set (random directions, Gram–Schmidt). The new rows
 * only ever meet the zero columns of the core on their left, so the function is unchanged and the cores
 * stay right-canonical; the following one-site refits can use the new directions. A species site with a
 * factor E is padded in G-space (S = E G, E an isometry), which keeps its rank. Shrinking (nb ≤ old) keeps
 * the leading block — used only on fresh random cores. */
int fit_reshape_bonds(tnace_tn *t, const int *nb, double *const *E, const int *dk, unsigned long long seed) {
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
      fit_sp_project(E[s / 3], ne, d, t->core[s], (size_t)bl * br, old);
    }
    /* M[i][p·nbr + j] = core[p][i][j] */
    for (int p = 0; p < ph; p++)
      for (int i = 0; i < bl && i < nbl; i++)
        for (int j = 0; j < br && j < nbr; j++) M[(size_t)i * n + (size_t)p * nbr + j] = old[((size_t)p * bl + i) * br + j];
    if (s > 0)
      for (int i = bl; i < nbl; i++) {
        double *r = M + (size_t)i * n;
        for (size_t q = 0; q < n; q++) r[q] = 2.0 * fit_hash_uniform(seed, (unsigned long long)s * SEED_GROWTH_ROW + i, q) - 1.0;
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
      fit_sp_expand(E[s / 3], ne, d, dst, (size_t)nbl * nbr, nt.core[s]);
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
void fit_capped_bonds(const tnace_tn *t, const int *target, int chi, const int *dk, double *const *E, int *nb) {
  const int ns = 3 * t->nu;
  int ph[TNACE_MAX_SITES];
  for (int s = 0; s < ns; s++) ph[s] = s % 3 == 0 && E && E[s / 3] ? dk[s / 3] : t->phys[s];
  for (int s = 0; s <= ns; s++) nb[s] = (s == 0 || s == ns || target[s] < chi) ? target[s] : chi;
  tn_clamp_bonds(ns, ph, nb);
}

/* MPO terms: E = Σ_b J_b J'_b does not change when the ket layer is scaled by s and the bra by 1/s. Fix
 * that flat direction by giving both layers the same norm (each layer's norm sits in its centre core, the
 * last site after a sweep): per centre species, or, for a pooled term (N J̄·J̄', the means mixing the species),
 * with one factor for all species — per-species factors would change the pooled energy. */
static double norm2_last(const tnace_tn *t) {
  const int last = 3 * t->nu - 1;
  const double n = cblas_dnrm2((int)tn_core_size(t, last), t->core[last], 1);
  return n * n;
}
/* Balance the layers of term t for centre species a0 ≤ a < a1 with one factor: kets × s, bras / s. */
static int balance_layers(tnace_potential *pot, int t, int a0, int a1) {
  double nk = 0.0, nb = 0.0;
  for (int a = a0; a < a1; a++) {
    nk += norm2_last(tnace_layer(pot, a, t, 0));
    nb += norm2_last(tnace_layer(pot, a, t, 1));
  }
  if (!(nk > 0 && nb > 0)) return 0;
  const double sc = sqrt(sqrt(nb / nk));
  for (int a = a0; a < a1; a++)
    for (int layer = 0; layer < 2; layer++) {
      tnace_tn *l = tnace_layer(pot, a, t, layer);
      const int last = 3 * l->nu - 1;
      cblas_dscal((int)tn_core_size(l, last), layer ? 1.0 / sc : sc, l->core[last], 1);
      int rc = tn_prepare(l);
      if (rc) return rc;
    }
  return 0;
}
int fit_balance_mpo(tnace_potential *pot) {
  for (int t = 0; t < pot->n_terms; t++) {
    if (tnace_n_layers(pot, t) != 2) continue;
    int rc = 0;
    if (pot->spec[t].pool) rc = balance_layers(pot, t, 0, pot->n_el);
    for (int a = 0; !pot->spec[t].pool && !rc && a < pot->n_el; a++) rc = balance_layers(pot, t, a, a + 1);
    if (rc) return rc;
  }
  return 0;
}
