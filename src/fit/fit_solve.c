/*
 * fit_solve.c — the linear algebra of one sweep step (fit.h): the ridge solve (equilibrated Cholesky with
 * an eigen-decomposition fallback), E0 by least squares, and the joint solve of one site of every chain
 * from the rows of fit_rows.c, including the two-step solve of rank-constrained species sites.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_priv.h"

/* Eigenvalues below this fraction of the largest are dropped when H is not numerically positive definite
 * (about 1000 × machine epsilon: what Cholesky could not resolve either). */
#define EIG_DROP 1e-13
/* Ridge on E0: tiny, only keeps the E0 of an element absent from the energies at 0. */
#define E0_RIDGE 1e-10
/* Alternations G ↔ Ẽ per site step of a rank-constrained species site: the bilinear fit settles in ~3. */
#define SP_INNER 3

/* Solve (H + diag λ) x = b for symmetric H (upper triangle used, row-major). The system is first
 * equilibrated, D (H + λ) D z = D b with D = diag(H_ii + λ_i)^(−1/2), x = D z — the same solution, but
 * Cholesky keeps its precision when column scales differ by orders of magnitude (cores of different
 * terms, E0). Cholesky (dposv); if H is not numerically positive definite, an eigendecomposition
 * (dsyevd) that drops directions with eigenvalues ≤ EIG_DROP·max. */
int fit_ridge_solve(int n, double *H, double *b, const double *lambda) {
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
        if (w[j] > EIG_DROP * wmax)
          for (int i = 0; i < n; i++) c += Hc[(size_t)i * n + j] * b[i];
        bc[j] = w[j] > EIG_DROP * wmax ? c / w[j] : 0.0;
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

int fit_e0(tnace_potential *pot, const tnace_dataset *ds) {
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
  double lam[TNACE_MAX_ELEMENTS];
  for (int p = 0; p < ne; p++) lam[p] = E0_RIDGE;
  int rc = fit_ridge_solve(ne, H, b, lam);
  if (rc) return rc;
  for (int p = 0; p < ne; p++) pot->e0[p] = b[p];
  return 0;
}


/* ---- one site step: the joint solve of site q of every chain at one copy level ---------------------- */

/* Column layout of a site step: chain c solves its site st[c] in mode fm[c] — 0: the plain core; 1: G of a
 * rank-d species site with E fixed (S = E G); 2: Ẽ of that site with G fixed (S = Ẽ Gt) — centre species a
 * at columns [coff[c][a], coff[c][a+1]); then n_e0 E0 columns at ce0; Dc columns in all. */
typedef struct {
  int st[TNACE_MAX_CHAINS], fm[TNACE_MAX_CHAINS];
  const unsigned char *active;   /* the copy level's solved chains: the others have no columns */
  size_t coff[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS + 1];
  size_t ce0, Dc;
  int n_e0;
} site_layout;

/* Site of chain c solved at copy level p, step q (a chain already in its last copy keeps its last site). */
static int site_of(const fit_ctx *F, int c, int p, int q) {
  const int nu = fit_chain(F, 0, c)->nu;
  return p < nu ? 3 * p + q : 3 * nu - 1;
}

/* Does any chain solve a rank-constrained species site (with a free factor E) at this step? */
static int has_free_factor(const fit_ctx *F, const copy_level *L, int q) {
  for (int c = 0; c < F->n_chains; c++) {
    if (!L->active[c]) continue;
    const int st = site_of(F, c, L->p, q);
    if (st % 3 == 0 && F->Ef[c][0][st / 3] && !F->sfix[c][st / 3]) return 1;
  }
  return 0;
}

/* A term whose cores are the same for every centre species (tnace_term_spec.shared): one block of columns. */
static int chain_shared(const fit_ctx *F, int c) { return F->pot->spec[F->chain_t[c]].shared; }

static void layout_site(const fit_ctx *F, const copy_level *L, int q, int sub, site_layout *S) {
  const int ne = F->pot->n_el;
  S->Dc = 0;
  S->active = L->active;
  for (int c = 0; c < F->n_chains; c++) {
    const int st = S->st[c] = site_of(F, c, L->p, q);
    if (!L->active[c]) { /* no columns */
      S->fm[c] = 0;
      for (int a = 0; a <= ne; a++) S->coff[c][a] = S->Dc;
      continue;
    }
    /* a species-blind site (E fixed) only ever solves G; a free factor alternates G and Ẽ */
    S->fm[c] = st % 3 == 0 && F->Ef[c][0][st / 3] ? (F->sfix[c][st / 3] ? 1 : 1 + sub % 2) : 0;
    for (int a = 0; a < ne; a++) {
      const tnace_tn *tn = fit_chain(F, a, c);
      const size_t m = (size_t)tn->bond[st] * tn->bond[st + 1];
      const int d = F->sd[c][st / 3];
      if (a > 0 && chain_shared(F, c)) { S->coff[c][a] = S->coff[c][0]; continue; } /* fm 0: no species sites */
      S->coff[c][a] = S->Dc;
      S->Dc += S->fm[c] == 1 ? (size_t)d * m : S->fm[c] == 2 ? (size_t)ne * d : tn_core_size(tn, st);
    }
    S->coff[c][ne] = S->Dc;
  }
  S->ce0 = S->Dc;
  S->n_e0 = F->o->fit_e0 ? ne : 0; /* a fixed E0 moves into the targets */
  S->Dc += (size_t)S->n_e0;
}

/* The current values x_old of the unknowns. For mode 2 the SVD S = U Σ Vᵀ gives Ẽ = U Σ (ne × d) and
 * Gt[c][a] = the rows of Vᵀ (d × m), fixed in this step. */
static int gather_x(fit_ctx *F, const site_layout *S, double *xold) {
  const int ne = F->pot->n_el;
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; S->active[c] && a < (chain_shared(F, c) ? 1 : ne); a++) {
      const tnace_tn *tn = fit_chain(F, a, c);
      const int st = S->st[c], d = F->sd[c][st / 3];
      const size_t m = (size_t)tn->bond[st] * tn->bond[st + 1];
      double *x = xold + S->coff[c][a];
      if (S->fm[c] == 1) {
        fit_sp_project(F->Ef[c][a][st / 3], ne, d, tn->core[st], m, x);
      } else if (S->fm[c] == 2) {
        double *A = F->Sbuf, *U = F->Sbuf + (size_t)ne * m, *sv = U + (size_t)ne * ne, *sup = sv + ne;
        memcpy(A, tn->core[st], (size_t)ne * m * sizeof(double));
        const int kk = ne < (int)m ? ne : (int)m;
        if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', ne, (int)m, A, (int)m, sv, U, kk, F->Gt[c][a], (int)m, sup))
          return TNACE_ERR_NUMERIC;
        for (int i = 0; i < ne; i++)
          for (int j = 0; j < d; j++) x[(size_t)i * d + j] = U[(size_t)i * kk + j] * sv[j];
      } else {
        memcpy(x, tn->core[st], tn_core_size(tn, st) * sizeof(double));
      }
    }
  for (int a = 0; a < S->n_e0; a++) xold[S->ce0 + a] = F->pot->e0[a];
  return 0;
}

/* The maps of the solved chains (zero for the others: the targets' linear part, row · Ucat, must be what the
 * solved unknowns predict, Σ over solved chains of E_c; a fixed chain's energy stays in the residual). */
void fit_load_Ucat(fit_ctx *F, const copy_level *L) {
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; a < F->pot->n_el; a++) {
      const tnace_tn *tn = fit_chain(F, a, c);
      const size_t n = tn_U_size(tn, L->kt[c]);
      if (L->active[c]) memcpy(F->Ucat + L->uoff[c][a], tn->U[L->kt[c]], n * sizeof(double));
      else memset(F->Ucat + L->uoff[c][a], 0, n * sizeof(double));
    }
  memcpy(F->Ucat + L->e0off, F->pot->e0, (size_t)F->pot->n_el * sizeof(double));
}

/* The site rows J (nr × Dc) from the U-space rows: each block by fit_map_rows, a species site's by the
 * chain rule through its factor (rows of G: Eᵀ J_S; rows of Ẽ: J_S Gtᵀ); then the E0 columns. */
static int site_rows(fit_ctx *F, const copy_level *L, const site_layout *S, int nr) {
  const int ne = F->pot->n_el;
  const size_t D = L->D, Dc = S->Dc;
  for (int ch = 0; ch < F->n_chains; ch++)
    for (int a = 0; S->active[ch] && a < ne; a++) {
      const tnace_tn *tn = fit_chain(F, a, ch);
      const int st = S->st[ch], k = L->kt[ch];
      const double *U = F->rows + L->uoff[ch][a];
      if (!S->fm[ch] && a > 0 && chain_shared(F, ch)) { /* the same cores: add this species' rows to species 0's */
        const size_t w = tn_core_size(tn, st);
        int rc = fit_map_rows(tn, k, st, U, D, nr, F->Jsh, w, F->nthreads);
        if (rc) return rc;
        for (int r = 0; r < nr; r++)
          cblas_daxpy((int)w, 1.0, F->Jsh + (size_t)r * w, 1, F->J + (size_t)r * Dc + S->coff[ch][0], 1);
        continue;
      }
      if (!S->fm[ch]) {
        int rc = fit_map_rows(tn, k, st, U, D, nr, F->J + S->coff[ch][a], Dc, F->nthreads);
        if (rc) return rc;
        continue;
      }
      const int d = F->sd[ch][st / 3];
      const size_t m = (size_t)tn->bond[st] * tn->bond[st + 1], w = (size_t)ne * m;
      int rc = fit_map_rows(tn, k, st, U, D, nr, F->Jsp, w, F->nthreads);
      if (rc) return rc;
      for (int r = 0; r < nr; r++) {
        double *dst = F->J + (size_t)r * Dc + S->coff[ch][a];
        if (S->fm[ch] == 1)
          fit_sp_project(F->Ef[ch][a][st / 3], ne, d, F->Jsp + (size_t)r * w, m, dst);
        else
          cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ne, d, (int)m, 1.0, F->Jsp + (size_t)r * w, (int)m,
                      F->Gt[ch][a], (int)m, 0.0, dst, d);
      }
    }
  for (int r = 0; r < nr; r++)
    for (int a = 0; a < S->n_e0; a++) F->J[(size_t)r * Dc + S->ce0 + a] = F->rows[(size_t)r * D + L->e0off + a];
  return 0;
}

int fit_syrk_ranges(const double *J, size_t Dc, int nrows, const size_t *lo, const size_t *hi, int n_rg, double *H,
                    int nthreads) {
  if (nrows <= 0) return 0;
  int np = 0;
  double w = 0.0;
  for (int g = 0; g < n_rg; g++) {
    np += (int)((hi[g] - lo[g] + FIT_SYRK_PIECE - 1) / FIT_SYRK_PIECE);
    w += (double)(hi[g] - lo[g]);
  }
  size_t *p0 = malloc((size_t)(np > 0 ? np : 1) * 2 * sizeof(size_t)), *p1 = p0 + (np > 0 ? np : 1);
  if (!p0) return TNACE_ERR_NOMEM;
  np = 0;
  for (int g = 0; g < n_rg; g++)
    for (size_t a = lo[g]; a < hi[g]; a += FIT_SYRK_PIECE) {
      p0[np] = a;
      p1[np++] = a + FIT_SYRK_PIECE < hi[g] ? a + FIT_SYRK_PIECE : hi[g];
    }
  const long npp = (long)np * np;
  /* threads only for work worth a parallel region (small runs of structures are many and quick) */
  const int par = npp > 1 && 0.5 * w * w * nrows > 2e7;
#pragma omp parallel for schedule(dynamic) num_threads(nthreads > 0 ? nthreads : 1) if (par)
  for (long k = 0; k < npp; k++) {
    const int p = (int)(k / np), q = (int)(k % np);
    if (q < p) continue;   /* the upper triangle: piece p's columns lie before piece q's */
    const int wp = (int)(p1[p] - p0[p]), wq = (int)(p1[q] - p0[q]);
    double *Hpq = H + p0[p] * Dc + p0[q];
    if (p == q)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, wp, nrows, 1.0, J + p0[p], (int)Dc, 1.0, Hpq, (int)Dc);
    else
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, wp, wq, nrows, 1.0, J + p0[p], (int)Dc, J + p0[q], (int)Dc,
                  1.0, Hpq, (int)Dc);
  }
  free(p0);
  return 0;
}

/* Append the columns [l, h) to the sorted ranges lo/hi (*n of them), joining it to the last when adjacent. */
static void add_range(size_t *lo, size_t *hi, int *n, size_t l, size_t h) {
  if (*n > 0 && hi[*n - 1] == l) hi[*n - 1] = h;
  else lo[*n] = l, hi[(*n)++] = h;
}

/* H += Jᵀ J for the chunk's rows (J: nr × Dc, first structure s0), by runs of consecutive structures that hold
 * the same species: a run's rows only reach the columns of its centre species (the blocks coff[c][a] of each
 * chain, all of a shared chain's block) and their E0 columns, so only those products are formed. */
static int add_normal_matrix(fit_ctx *F, const site_layout *S, int s0, int s1) {
  enum { MAX_RG = TNACE_MAX_CHAINS * TNACE_MAX_ELEMENTS + TNACE_MAX_ELEMENTS };
  const int ne = F->pot->n_el;
  const size_t Dc = S->Dc;
  for (int i = s0; i < s1;) {
    const unsigned m = F->sr[i].species;
    int j = i + 1, nrows = F->sr[i].n_rows;
    for (; j < s1 && F->sr[j].species == m; j++) nrows += F->sr[j].n_rows;
    size_t lo[MAX_RG], hi[MAX_RG];
    int n = 0;
    for (int c = 0; c < F->n_chains; c++) {
      if (S->active[c] && chain_shared(F, c)) {   /* one block for every centre species */
        if (S->coff[c][ne] > S->coff[c][0]) add_range(lo, hi, &n, S->coff[c][0], S->coff[c][ne]);
        continue;
      }
      for (int a = 0; a < ne; a++)
        if (m >> a & 1u && S->coff[c][a + 1] > S->coff[c][a]) add_range(lo, hi, &n, S->coff[c][a], S->coff[c][a + 1]);
    }
    for (int a = 0; a < S->n_e0; a++)
      if (m >> a & 1u) add_range(lo, hi, &n, S->ce0 + (size_t)a, S->ce0 + (size_t)a + 1);
    const double *J = F->J + (size_t)(F->sr[i].row0 - F->sr[s0].row0) * Dc;
    int rc = fit_syrk_ranges(J, Dc, nrows, lo, hi, n, F->H, F->nthreads);
    if (rc) return rc;
    i = j;
  }
  return 0;
}

/* Normal equations of chunk c added to H, b: H += Jᵀ J, b += Jᵀ (y − J x_old) (the first chunk sets them).
 * The rows are rebuilt by a copy pass when they are not at hand: always with several chunks, and at the
 * first step of a copy level with one (the rows of a copy level serve its three sites). */
static int add_chunk(fit_ctx *F, const copy_level *L, const site_layout *S, int c, int first, char *err,
                     size_t errlen) {
  const int s0 = F->chunk_s0[c], s1 = F->chunk_s0[c + 1], ne = F->pot->n_el;
  const int nr = (s1 < F->ds->n ? F->sr[s1].row0 : F->n_rows) - F->sr[s0].row0;
  const size_t D = L->D, Dc = S->Dc;
  if (F->n_chunks > 1 || first) {
    if (!first && c == 0) fit_load_Ucat(F, L); /* a previous site step changed the maps */
    int rc = fit_copy_pass(F, L, s0, s1, F->rows, F->y, err, errlen);
    if (rc) return rc;
    if (!F->o->fit_e0)
      for (int r = 0; r < nr; r++)
        for (int a = 0; a < ne; a++) F->y[r] -= F->rows[(size_t)r * D + L->e0off + a] * F->pot->e0[a];
  }
  int rc = site_rows(F, L, S, nr);
  if (rc) { snprintf(err, errlen, "out of memory mapping rows"); return rc; }
  memcpy(F->resid, F->y, (size_t)nr * sizeof(double));
  cblas_dgemv(CblasRowMajor, CblasNoTrans, nr, (int)Dc, -1.0, F->J, (int)Dc, F->xold, 1, 1.0, F->resid, 1);
  if (c == 0) memset(F->H, 0, Dc * Dc * sizeof(double));
  if ((rc = add_normal_matrix(F, S, s0, s1))) { snprintf(err, errlen, "out of memory (normal equations)"); return rc; }
  cblas_dgemv(CblasRowMajor, CblasTrans, nr, (int)Dc, 1.0, F->J, (int)Dc, F->resid, 1, c ? 1.0 : 0.0, F->b, 1);
  return 0;
}

/* Write the solution x back: cores, species factors (S = E G; or S = Ẽ Gt and E = orth(Ẽ), so that
 * S = E Eᵀ S still holds), E0. */
static int scatter_x(fit_ctx *F, const site_layout *S, const double *x) {
  const int ne = F->pot->n_el;
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; S->active[c] && a < ne; a++) {
      tnace_tn *tn = fit_chain(F, a, c);
      const int st = S->st[c], d = F->sd[c][st / 3];
      const size_t m = (size_t)tn->bond[st] * tn->bond[st + 1];
      int rc = 0;
      if (S->fm[c] == 1) {
        fit_sp_expand(F->Ef[c][a][st / 3], ne, d, x + S->coff[c][a], m, tn->core[st]);
      } else if (S->fm[c] == 2) {
        double *E = F->Ef[c][a][st / 3];
        fit_sp_expand(x + S->coff[c][a], ne, d, F->Gt[c][a], m, tn->core[st]);
        memcpy(E, x + S->coff[c][a], (size_t)ne * d * sizeof(double));
        rc = fit_sp_orthonormalize(E, ne, d);
      } else {
        memcpy(tn->core[st], x + S->coff[c][a], tn_core_size(tn, st) * sizeof(double));
      }
      if (rc || (rc = tn_prepare(tn))) return rc;
    }
  for (int a = 0; a < S->n_e0; a++) F->pot->e0[a] = x[S->ce0 + a];
  return 0;
}

/* ---- shrinkage of the chemical interactions (fit.species_shrink μ, issue #13) --------------------------
 * W_a: the weights of a term for centre species a (its MPS contracted, every physical index open); P_k =
 * I − 11ᵀ/n_el centres the neighbour species of copy k; V_a = P_k W_a. The penalty
 *     μ Σ_k Σ_a ‖V_a − V̄‖²,   V̄ = (1/n_el) Σ_b V_b,
 * is the ridge on the two-way interaction of centre and neighbour species (W_aα − W_a· − W_·α + W_··): the
 * centre species' and the neighbour species' own effects keep the plain ridge λ. A (centre, neighbour) pair
 * the data never shows (Nb around W when the NbW structures are left out) then takes the additive
 * prediction from the pairs it does show (how Nb centres treat neighbours, how W neighbours act on the other
 * centres) instead of 0. Species-blind copies have V_a = 0; a shared term has no interaction.
 * With x_a the centre cores of chain c at site s, ⟨V_a, V_b⟩ = x_aᵀ M_ab x_b, M_ab = D ⊗ L_ab ⊗ R_ab: L_ab
 * and R_ab the mixed environments of the two MPSs left and right of s (P_k applied where site k is), D = P_k
 * when s = k, else I. Σ_a ‖V_a − V̄‖² = Σ_ab (δ_ab − 1/n_el) ⟨V_a, V_b⟩, added to the normal equations of the
 * update δ = x − x_old: H_ab += μ (δ_ab − 1/n_el) M_ab, b_a −= μ Σ_b (δ_ab − 1/n_el) M_ab x_b,old. */

/* One step of a mixed environment through site q of t (centre a) and u (centre b): from the left
 * (E: bl_a × bl_b → br_a × br_b; Σ_pp' D_pp' C_a,pᵀ E C_b,p') or, with right != 0, from the right
 * (E: br_a × br_b → bl_a × bl_b; Σ_pp' D_pp' C_a,p E C_b,p'ᵀ). D = P when centred != 0, else I.
 * w: workspace of 4 · bb doubles (bb ≥ every bond product); E is replaced. */
static void env_step(const tnace_tn *t, const tnace_tn *u, int q, int right, int centred, double *E, double *w,
                     size_t bb) {
  const int ph = t->phys[q], la = t->bond[q], ra = t->bond[q + 1], lb = u->bond[q], rb = u->bond[q + 1];
  const size_t ma = (size_t)la * ra, mb = (size_t)lb * rb;
  const int na = right ? la : ra, nb = right ? lb : rb;
  double *En = w, *tmp = w + bb, *sa = w + 2 * bb, *sb = w + 3 * bb;
  memset(En, 0, (size_t)na * nb * sizeof(double));
  if (centred) { /* Σ_p C_p of both, for the − (1/n) (Σ_p C_a,p) … (Σ_p C_b,p) part of P */
    memset(sa, 0, ma * sizeof(double));
    memset(sb, 0, mb * sizeof(double));
    for (int p = 0; p < ph; p++) {
      cblas_daxpy((int)ma, 1.0, t->core[q] + p * ma, 1, sa, 1);
      cblas_daxpy((int)mb, 1.0, u->core[q] + p * mb, 1, sb, 1);
    }
  }
  for (int p = 0; p <= (centred ? ph : ph - 1); p++) {
    const double *Ca = p < ph ? t->core[q] + p * ma : sa, *Cb = p < ph ? u->core[q] + p * mb : sb;
    const double f = p < ph ? 1.0 : -1.0 / ph;
    if (right) { /* tmp = Ca E (la × rb), En += f tmp Cbᵀ */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, la, rb, ra, 1.0, Ca, ra, E, rb, 0.0, tmp, rb);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, la, lb, rb, f, tmp, rb, Cb, rb, 1.0, En, lb);
    } else { /* tmp = E Cb (la × rb), En += f Caᵀ tmp */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, la, rb, lb, 1.0, E, lb, Cb, rb, 0.0, tmp, rb);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ra, rb, la, f, Ca, ra, tmp, rb, 1.0, En, rb);
    }
  }
  memcpy(E, En, (size_t)na * nb * sizeof(double));
}

/* L_ab (bond[s] of t × of u) and R_ab (bond[s+1] × bond[s+1]) of chain pair (t, u) for species site k. */
static void mixed_envs(const tnace_tn *t, const tnace_tn *u, int s, int k, double *L, double *R, double *w,
                       size_t bb) {
  const int nb = t->bond[3 * t->nu];   /* the right boundary: 1, or an MPO layer's open bond (the same for both) */
  L[0] = 1.0;
  for (int q = 0; q < s; q++) env_step(t, u, q, 0, q == k, L, w, bb);
  memset(R, 0, (size_t)nb * nb * sizeof(double));
  for (int i = 0; i < nb; i++) R[i * nb + i] = 1.0;
  for (int q = 3 * t->nu - 1; q > s; q--) env_step(t, u, q, 1, q == k, R, w, bb);
}

/* H_ab += c M_ab (upper triangle only), b_a −= c M_ab x_b and, off the diagonal (a < b: the columns of b
 * after those of a), b_b −= c M_abᵀ x_a; M_ab = D ⊗ L ⊗ R on the core layout [phys][bl][br]. */
static void add_mixed_form(fit_ctx *F, size_t Dc, const tnace_tn *t, const tnace_tn *u, int s, int centred,
                           size_t oa, size_t ob, const double *L, const double *R, double c) {
  const int ph = t->phys[s], la = t->bond[s], ra = t->bond[s + 1], lb = u->bond[s], rb = u->bond[s + 1];
  const size_t ma = (size_t)la * ra, mb = (size_t)lb * rb;
  for (int p = 0; p < ph; p++)
    for (int pp = 0; pp < ph; pp++) {
      const double d = centred ? (p == pp) - 1.0 / ph : (p == pp);
      if (d == 0.0) continue;
      for (int i = 0; i < la; i++)
        for (int j = 0; j < ra; j++) {
          const size_t r = oa + p * ma + (size_t)i * ra + j;
          for (int ii = 0; ii < lb; ii++)
            for (int jj = 0; jj < rb; jj++) {
              const size_t col = ob + pp * mb + (size_t)ii * rb + jj;
              const double v = c * d * L[i * lb + ii] * R[j * rb + jj];
              if (col >= r) F->H[r * Dc + col] += v;
              F->b[r] -= v * F->xold[col];
              if (oa != ob) F->b[col] -= v * F->xold[r];
            }
        }
    }
}

/* The shrinkage of every species site of every (unshared) chain solving a plain core (fm 0: a rank-d
 * species factor's own steps are not shrunk). */
static int add_species_shrink(fit_ctx *F, const site_layout *S, double mu) {
  const int ne = F->pot->n_el;
  if (!(mu > 0) || ne < 2) return 0;
  for (int c = 0; c < F->n_chains; c++) {
    if (!S->active[c] || S->fm[c] || chain_shared(F, c)) continue;
    const int st = S->st[c], nu = fit_chain(F, 0, c)->nu;
    int bmax = 1;
    for (int a = 0; a < ne; a++)
      for (int q = 0; q <= 3 * nu; q++) bmax = fit_chain(F, a, c)->bond[q] > bmax ? fit_chain(F, a, c)->bond[q] : bmax;
    const size_t bb = (size_t)bmax * bmax;
    double *w = malloc(6 * bb * sizeof(double));
    if (!w) return TNACE_ERR_NOMEM;
    for (int k = 0; k < 3 * nu; k += 3)
      for (int a = 0; !F->sfix[c][k / 3] && a < ne; a++)   /* a species-blind copy has P_k W_a = 0 */
        for (int b = a; b < ne; b++) {
          const tnace_tn *t = fit_chain(F, a, c), *u = fit_chain(F, b, c);
          mixed_envs(t, u, st, k, w, w + bb, w + 2 * bb, bb);
          add_mixed_form(F, S->Dc, t, u, st, k == st, S->coff[c][a], S->coff[c][b], w, w + bb,
                         mu * ((a == b) - 1.0 / ne));
        }
    free(w);
  }
  return 0;
}

/* Levenberg–Marquardt damping of the embed chains' columns (fit_ctx.emb_mu): emb_mu · H_cc added to their diagonal
 * only, not to the right-hand side, so it pulls the update δ toward 0 (the current cores), not the cores. */
static void damp_embed(const fit_ctx *F, const site_layout *S) {
  const int ne = F->pot->n_el;
  for (int c = 0; c < F->n_chains; c++) {
    if (!S->active[c] || !fit_chain_emb(F, c)) continue;
    for (size_t q = S->coff[c][0]; q < S->coff[c][ne]; q++) F->lamv[q] += F->emb_mu * F->H[q * S->Dc + q];
  }
}

/* One exact least-squares step of site q of every chain (sub: which half of a species factor's
 * alternation). The unknowns are solved as an update δ = x − x_old from the residual,
 * (H + λ) δ = Jᵀ(y − J x_old) − λ x_old: the normal equations' rounding error then scales with |δ|, not
 * |x| (iterative refinement). E0 is not penalised: its tiny ridge only keeps an absent element at 0. */
static int site_step(fit_ctx *F, const copy_level *L, int q, int sub, double lam, char *err, size_t errlen) {
  site_layout S;
  layout_site(F, L, q, sub, &S);
  for (size_t c = 0; c < S.Dc; c++) F->lamv[c] = c < S.ce0 ? lam : E0_RIDGE;
  int rc = gather_x(F, &S, F->xold);
  if (rc) { snprintf(err, errlen, "SVD of a species core failed"); return rc; }
  for (int c = 0; c < F->n_chunks; c++)
    if ((rc = add_chunk(F, L, &S, c, q == 0 && sub == 0, err, errlen))) return rc;
  for (size_t c = 0; c < S.Dc; c++) F->b[c] -= F->lamv[c] * F->xold[c];
  if ((rc = add_species_shrink(F, &S, F->o->species_shrink))) { snprintf(err, errlen, "out of memory"); return rc; }
  if (F->has_emb) damp_embed(F, &S);
  if ((rc = fit_ridge_solve((int)S.Dc, F->H, F->b, F->lamv))) {
    snprintf(err, errlen, "least-squares solve failed (copy %d, site %d)%s", L->p, q,
             rc == TNACE_ERR_NOMEM ? ": out of memory" : "");
    return rc;
  }
  for (size_t c = 0; c < S.Dc; c++) F->b[c] += F->xold[c];
  if ((rc = scatter_x(F, &S, F->b)))
    snprintf(err, errlen, "copy %d, site %d: %s", L->p, q, rc == TNACE_ERR_NOMEM ? "out of memory" : "QR failed");
  return rc;
}

int fit_solve_site(fit_ctx *F, const copy_level *L, int q, double lam, char *err, size_t errlen) {
  /* A species site of rank d is solved in two exact linear steps: G with E fixed (S = E G, E orthonormal),
   * then Ẽ with G fixed (S = Ẽ Vᵀ from the SVD of S, V orthonormal), SP_INNER times. In both the ridge on
   * the unknowns equals the ridge on S. The other chains' cores are re-solved along (same rows). */
  const int n_sub = has_free_factor(F, L, q) ? 2 * SP_INNER : 1;
  for (int sub = 0; sub < n_sub; sub++) {
    int rc = site_step(F, L, q, sub, lam, err, errlen);
    if (rc) return rc;
  }
  /* the centre moves right past the solved site of every chain */
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; L->active[c] && a < F->pot->n_el; a++) {
      tnace_tn *tn = fit_chain(F, a, c);
      const int st = site_of(F, c, L->p, q);
      const double *E = st % 3 == 0 ? F->Ef[c][a][st / 3] : NULL;
      int rc = st < 3 * tn->nu - 1 ? fit_move_right(tn, st, E, F->sd[c][st / 3]) : 0;
      if (rc || (rc = tn_prepare(tn))) {
        snprintf(err, errlen, "moving the centre (copy %d, site %d): %s", L->p, q,
                 rc == TNACE_ERR_NOMEM ? "out of memory" : "QR failed");
        return rc;
      }
    }
  return 0;
}
