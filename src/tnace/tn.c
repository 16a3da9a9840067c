/*
 * tn.c — MPS terms over the ACE descriptor indices: channel maps, and the forward / adjoint / tangent
 * contraction on the fusion-tree prefix trie (see tn.h for the formulas).
 *
 * Conventions used throughout: matrices are row-major; a trie node at level k holds the row vector
 * v = c^(0)_{ch0} c^(1)_{ch1} … c^(k)_{chk} of length br_k = bond[3k+3] (the prefix product starts at
 * the 1-dimensional left boundary). Leaves (level ν−1) have br = K = bond[3ν].
 *
 * Every pass over the trie is built from three per-level products, done per channel on the channel-major
 * schedule (tn.h) with the kernels of kern.h:
 *   level_fwd   out_j (+)= v_{par j} C_ch                  (values, and their tangents)
 *   level_grad  G_ch (+)= Σ_j v_{par j}ᵀ a_j               (∂/∂c^(k) from node adjoints a)
 *   level_adj   a_{par j} += a_j C_chᵀ                     (adjoints pushed to the parent level)
 * with v, a of level 0 being rows of c^(0), g^(0) (or their tangents) directly, and the leaf level reduced
 * to per-channel sums of the parents' values (leaf_sums below).
 */
#include "tn.h"
#include "kern.h"
#include "tnace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t mul_cap(size_t a, size_t b, size_t cap) {
  if (a >= cap || b >= cap) return cap;
  size_t p = a * b;
  return p > cap ? cap : p;
}

size_t tn_core_size(const tnace_tn *t, int s) {
  return (size_t)t->phys[s] * (size_t)t->bond[s] * (size_t)t->bond[s + 1];
}

size_t tn_n_params(const tnace_tn *t) {
  size_t n = 0;
  for (int s = 0; s < 3 * t->nu; s++) n += tn_core_size(t, s);
  return n;
}

void tn_free(tnace_tn *t) {
  if (!t) return;
  for (int s = 0; s < TNACE_MAX_SITES; s++) { free(t->core[s]); t->core[s] = NULL; }
  for (int k = 0; k < TNACE_MAX_NU; k++) {
    free(t->U[k]); t->U[k] = NULL;
    free(t->Ut[k]); t->Ut[k] = NULL;
    free(t->grp[k]); t->grp[k] = NULL;
    free(t->voff[k]); t->voff[k] = NULL;
  }
  free(t->coef_cm); t->coef_cm = NULL;
  free(t->S); t->S = NULL;
  if (t->rev) { tn_free(t->rev); free(t->rev); t->rev = NULL; }
  tnace_fusion_free(&t->fus);
}

/* The channel-major schedule of levels 1..ν−1 (tn.h). Counting sort by channel keeps the trie order
 * (increasing parent) within a channel. */
static int build_schedule(tnace_tn *t) {
  const tnace_fusion *f = &t->fus;
  int *pos_prev = NULL, *pos = NULL;
  for (int k = 1; k < t->nu; k++) {
    const int nn = f->n_nodes[k], nch = f->n_chan[k];
    t->grp[k] = calloc((size_t)nch + 1, sizeof(int));
    t->voff[k] = malloc((size_t)(nn ? nn : 1) * sizeof(int));
    pos = malloc((size_t)(nn ? nn : 1) * sizeof(int));
    if (k == t->nu - 1) t->coef_cm = malloc((size_t)(nn ? nn : 1) * sizeof(double));
    if (!t->grp[k] || !t->voff[k] || !pos || (k == t->nu - 1 && !t->coef_cm)) {
      free(pos_prev);
      free(pos);
      return TNACE_ERR_NOMEM;
    }
    int *g = t->grp[k];
    for (int i = 0; i < nn; i++) g[f->chan[k][i] + 1]++;
    for (int ch = 0; ch < nch; ch++) g[ch + 1] += g[ch];
    for (int i = 0; i < nn; i++) pos[i] = g[f->chan[k][i]]++;
    for (int ch = nch; ch > 0; ch--) g[ch] = g[ch - 1]; /* undo the fill: back to start offsets */
    g[0] = 0;
    for (int i = 0; i < nn; i++) {
      const int p = f->parent[k][i];
      t->voff[k][pos[i]] = k == 1 ? f->chan[0][p] * t->bond[3] : pos_prev[p] * t->bond[3 * k];
      if (k == t->nu - 1) t->coef_cm[pos[i]] = f->coef[i];
    }
    free(pos_prev);
    pos_prev = pos;
    pos = NULL;
  }
  free(pos_prev);
  return 0;
}

static int init_reverse(tnace_tn *t);

int tn_init_bonds(tnace_tn *t, int nu, int lmax, int nmax, int n_el, const int *bond, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  if (nu < 1 || nu > TNACE_MAX_NU || nmax < 1 || n_el < 1 || lmax < 0) {
    snprintf(err, errlen, "term: invalid nu=%d lmax=%d nmax=%d n_elements=%d", nu, lmax, nmax, n_el);
    return TNACE_ERR_VALUE;
  }
  int rc = tnace_fusion_build(&t->fus, nu, nu == 1 ? 0 : lmax, err, errlen);
  if (rc) return rc;
  t->nu = nu; t->lmax = nu == 1 ? 0 : lmax; t->nmax = nmax; t->n_el = n_el; t->model = TNACE_MODEL_MPS;
  int ns = 3 * nu;
  for (int k = 0; k < nu; k++) {
    t->phys[3 * k] = n_el;
    t->phys[3 * k + 1] = nmax;
    t->phys[3 * k + 2] = t->fus.n_lambda[k];
  }
  if (bond[0] != 1 || bond[ns] < 1) {
    snprintf(err, errlen, "term: the left boundary bond must be 1 and the right one ≥ 1 (got %d and %d)", bond[0],
             bond[ns]);
    tn_free(t);
    return TNACE_ERR_VALUE;
  }
  for (int s = 0; s <= ns; s++) {
    if (bond[s] < 1 || bond[s] > TNACE_MAX_BOND) {
      snprintf(err, errlen, "term: bond dimension %d out of range at bond %d", bond[s], s);
      tn_free(t);
      return TNACE_ERR_VALUE;
    }
    t->bond[s] = bond[s];
  }
  for (int s = 0; s < ns; s++) {
    t->core[s] = calloc(tn_core_size(t, s), sizeof(double));
    if (!t->core[s]) { tn_free(t); snprintf(err, errlen, "term: out of memory"); return TNACE_ERR_NOMEM; }
  }
  if (build_schedule(t) || init_reverse(t)) {
    tn_free(t);
    snprintf(err, errlen, "term: out of memory");
    return TNACE_ERR_NOMEM;
  }
  return 0; /* the caller fills the cores, then tn_prepare (a prepare of zero cores here would be wasted) */
}

void tn_clamp_bonds(int ns, const int *ph, int *bond) {
  for (int s = 0; s < ns - 1; s++)
    if (bond[s + 1] > ph[s] * bond[s]) bond[s + 1] = ph[s] * bond[s];
  for (int s = ns - 1; s >= 1; s--)
    if (bond[s] > ph[s] * bond[s + 1]) bond[s] = ph[s] * bond[s + 1];
}

int tn_init(tnace_tn *t, int nu, int lmax, int nmax, int n_el, int chi, char *err, size_t errlen) {
  return tn_init_open(t, nu, lmax, nmax, n_el, chi, 1, err, errlen);
}

int tn_init_open(tnace_tn *t, int nu, int lmax, int nmax, int n_el, int chi, int kout, char *err, size_t errlen) {
  /* Bond s can carry at most min(Π_{left} phys, Π_{right} phys · kout) (the TT ranks of a full tensor). The
   * physical dims need the fusion tree, so build a throw-away one first. */
  tnace_fusion f;
  memset(&f, 0, sizeof f);
  int rc = tnace_fusion_build(&f, nu, nu == 1 ? 0 : lmax, err, errlen);
  if (rc) return rc;
  int phys[TNACE_MAX_SITES], bond[TNACE_MAX_SITES + 1];
  int ns = 3 * nu;
  for (int k = 0; k < nu; k++) { phys[3 * k] = n_el; phys[3 * k + 1] = nmax; phys[3 * k + 2] = f.n_lambda[k]; }
  tnace_fusion_free(&f);
  if (kout < 1) kout = 1;
  const size_t CAP = 1u << 20;
  for (int s = 0; s <= ns; s++) {
    size_t left = 1, right = (size_t)kout;
    for (int q = 0; q < s; q++) left = mul_cap(left, (size_t)phys[q], CAP);
    for (int q = s; q < ns; q++) right = mul_cap(right, (size_t)phys[q], CAP);
    size_t b = chi < 1 ? 1 : (size_t)chi;
    if (left < b) b = left;
    if (right < b) b = right;
    bond[s] = (int)b;
  }
  bond[0] = 1;
  bond[ns] = kout;
  return tn_init_bonds(t, nu, lmax, nmax, n_el, bond, err, errlen);
}

/* C (m×p) = A (m×q) · B (q×p), row-major, overwrite. */
static void matmul(int m, int q, int p, const double *A, const double *B, double *C) {
  for (int i = 0; i < m; i++) {
    double *c = C + (size_t)i * p;
    for (int j = 0; j < p; j++) c[j] = 0.0;
    for (int k = 0; k < q; k++) {
      double a = A[(size_t)i * q + k];
      const double *b = B + (size_t)k * p;
      for (int j = 0; j < p; j++) c[j] += a * b[j];
    }
  }
}

/* Whether copy k of t is species-blind: every species block of U^(k) bitwise equal to the first. */
static int copy_blind(const tnace_tn *t, int k) {
  const size_t blk = (size_t)t->nmax * t->fus.n_lambda[k] * t->bond[3 * k] * t->bond[3 * k + 3];
  for (int a = 1; a < t->n_el; a++)
    for (size_t i = 0; i < blk; i++)
      if (t->U[k][(size_t)a * blk + i] != t->U[k][i]) return 0;
  return t->n_el > 1;
}

/* S_λ[i][j] = Σ_q (U0[i] U1[j] + U1[i] U0[j])[q] (full pair form), or with a blind copy b (tn.h)
 * P_λ[i][n] = Σ_q U_r[i][q] V[n][q], V the rows of U_b's first species block. */
static void fill_pair_matrix(tnace_tn *t, int b) {
  const int nl = t->fus.n_lambda[0], Kd = t->n_el * t->nmax, chi = t->bond[3], ncol = b >= 0 ? t->nmax : Kd;
  const double *Ur = t->U[b == 0 ? 1 : 0], *Ub = t->U[b == 0 ? 0 : 1];
  for (int lam = 0; lam < nl; lam++) {
    double *S = t->S + (size_t)lam * Kd * ncol;
    for (int i = 0; i < Kd; i++)
      for (int j = 0; j < ncol; j++) {
        const double *ri = Ur + ((size_t)i * nl + lam) * chi, *bj = Ub + ((size_t)j * nl + lam) * chi;
        double m = 0.0;
        for (int q = 0; q < chi; q++) m += ri[q] * bj[q];
        if (b < 0) {
          const double *bi = Ub + ((size_t)i * nl + lam) * chi, *rj = Ur + ((size_t)j * nl + lam) * chi;
          for (int q = 0; q < chi; q++) m += bi[q] * rj[q];
        }
        S[(size_t)i * ncol + j] = m;
      }
  }
}

/* Pair form of a ν = 2 MPS term (tn.h), when the trie is the plain Σ_ch coef_ch c0_ch·c1_ch (both copies
 * with the same labels, one leaf per channel pairing it with itself) and the quadratic form is cheaper.
 * Operation counts per atom with forces: pair Kd²·(lm entries) for S A (E and ∂E/∂A follow from it), or
 * 2·Kd·nmax·(lm entries) with a blind copy; channel route 2·Kd·(lm entries)·(χ0 + χ1) for the channels of
 * both copies and their ∂E/∂A, plus 3 χ per leaf for the trie. S is stored without the coefficients, which
 * tn_pair_energy applies per channel (coef_cm[ch]: channel ch's leaf is node ch of the schedule). */
static int prepare_pair_form(tnace_tn *t) {
  free(t->S);
  t->S = NULL;
  const tnace_fusion *f = &t->fus;
  if (t->nu != 2 || t->bond[6] != 1 || f->n_lambda[0] != f->n_lambda[1] || f->n_nodes[1] != f->n_chan[1]) return 0;
  const int nl = f->n_lambda[0], Kd = t->n_el * t->nmax, chi = t->bond[3];
  for (int lam = 0; lam < nl; lam++)
    if (f->lam_l[0][lam] != f->lam_l[1][lam] || f->chan_off[0][lam] != f->chan_off[1][lam]) return 0;
  if (f->n_chan[0] != (t->lmax + 1) * (t->lmax + 1)) return 0; /* every lm a channel (species_sum's row width) */
  for (int ch = 0; ch < f->n_chan[0]; ch++) /* channels numbered as lm: tn_pair_energy reads A rows as is */
    if (f->chan_lm[0][ch] != ch) return 0;
  for (int ch = 0; ch < f->n_chan[1]; ch++)
    if (t->grp[1][ch] != ch || t->grp[1][ch + 1] != ch + 1 || t->voff[1][ch] != ch * chi) return 0;
  const int b = t->blind[1] ? 1 : t->blind[0] ? 0 : -1;
  const int ncol = b >= 0 ? t->nmax : Kd;
  const double n_lm = f->n_chan[0];
  const double pair = (b >= 0 ? 2.0 * t->nmax : (double)Kd) * Kd * n_lm,
               route = 2.0 * Kd * n_lm * 2 * chi + 3.0 * chi * f->n_nodes[1];
  if (pair >= route) return 0;
  t->S = malloc((size_t)nl * Kd * ncol * sizeof(double));
  if (!t->S) return TNACE_ERR_NOMEM;
  fill_pair_matrix(t, b);
  return 0;
}

/* Ut: U with (n) and (bond pair) swapped, for ∂E/∂A as a product of width nmax (tn_grad_A). */
static int make_Ut(tnace_tn *t, int k) {
  const int nl = t->fus.n_lambda[k];
  const size_t bb = (size_t)t->bond[3 * k] * t->bond[3 * k + 3], usz = (size_t)t->n_el * t->nmax * nl * bb;
  free(t->Ut[k]);
  t->Ut[k] = malloc(usz * sizeof(double));
  if (!t->Ut[k]) return TNACE_ERR_NOMEM;
  for (int a = 0; a < t->n_el; a++)
    for (int l = 0; l < nl; l++)
      tnace_transpose(t->nmax, (int)bb, t->U[k] + ((size_t)a * t->nmax * nl + l) * bb, nl * (int)bb,
                      t->Ut[k] + ((size_t)a * nl + l) * bb * t->nmax);
  return 0;
}

/* Multiply-adds of the trie levels between the first and the leaves (forward once, backward twice). */
static double trie_cost(const tnace_fusion *f, const int *bond) {
  double c = 0.0;
  for (int k = 1; k < f->nu - 1; k++) c += (double)f->n_nodes[k] * bond[3 * k] * bond[3 * k + 3];
  return c;
}

/* t->rev (tn.h): the structure of the right-to-left view (reversed trie, bonds, schedule), built with the
 * term, since it depends only on the trie and the bonds; kept only when its trie is cheaper. */
static int init_reverse(tnace_tn *t) {
  const int nu = t->nu;
  if (nu < 3 || t->model != TNACE_MODEL_MPS || t->bond[3 * nu] != 1) return 0;
  tnace_tn *r = calloc(1, sizeof *r);
  char err[64];
  if (!r) return TNACE_ERR_NOMEM;
  if (tnace_fusion_reverse(&t->fus, &r->fus, err, sizeof err)) { free(r); return TNACE_ERR_NOMEM; }
  for (int s = 0; s <= 3 * nu; s++) r->bond[s] = t->bond[3 * nu - s]; /* inner site bonds are not used */
  if (trie_cost(&r->fus, r->bond) > 0.97 * trie_cost(&t->fus, t->bond)) {
    tnace_fusion_free(&r->fus);
    free(r);
    return 0;
  }
  r->nu = nu; r->lmax = t->lmax; r->nmax = t->nmax; r->n_el = t->n_el; r->model = TNACE_MODEL_MPS;
  for (int s = 0; s < 3 * nu; s++) r->phys[s] = t->phys[3 * nu - 1 - s];
  for (int k = 0; k < nu; k++) r->c_size[k] = (size_t)r->fus.n_chan[k] * r->bond[3 * k] * r->bond[3 * k + 3];
  t->rev = r;
  if (build_schedule(r)) return TNACE_ERR_NOMEM; /* r is freed with t */
  return 0;
}

/* The channel maps of t->rev from t's: U'^(k)[α][n][λ] = U^(ν−1−k)[α][n][λ]ᵀ. */
static int prepare_reverse(tnace_tn *t) {
  tnace_tn *r = t->rev;
  const int nu = t->nu;
  for (int k = 0; r && k < nu; k++) {
    const int q = nu - 1 - k, nl = t->fus.n_lambda[q], bl = t->bond[3 * q], br = t->bond[3 * q + 3];
    const size_t bb = (size_t)bl * br, n = (size_t)t->n_el * t->nmax * nl;
    free(r->U[k]);
    r->U[k] = malloc(n * bb * sizeof(double));
    if (!r->U[k]) return TNACE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) tnace_transpose(bl, br, t->U[q] + i * bb, br, r->U[k] + i * bb);
    r->blind[k] = t->blind[q];
    if (make_Ut(r, k)) return TNACE_ERR_NOMEM;
  }
  return 0;
}

int tn_prepare(tnace_tn *t) {
  for (int k = 0; k < t->nu; k++) {
    int b0 = t->bond[3 * k], b1 = t->bond[3 * k + 1], b2 = t->bond[3 * k + 2], b3 = t->bond[3 * k + 3];
    int nl = t->fus.n_lambda[k];
    size_t usz = (size_t)t->n_el * t->nmax * nl * b0 * b3;
    free(t->U[k]);
    t->U[k] = malloc(usz * sizeof(double));
    double *SN = malloc((size_t)b0 * b2 * sizeof(double));
    if (!t->U[k] || !SN) { free(SN); return TNACE_ERR_NOMEM; }
    for (int a = 0; a < t->n_el; a++) {
      const double *S = t->core[3 * k] + (size_t)a * b0 * b1;
      for (int n = 0; n < t->nmax; n++) {
        matmul(b0, b1, b2, S, t->core[3 * k + 1] + (size_t)n * b1 * b2, SN);
        for (int l = 0; l < nl; l++) {
          double *U = t->U[k] + (((size_t)a * t->nmax + n) * nl + l) * b0 * b3;
          matmul(b0, b2, b3, SN, t->core[3 * k + 2] + (size_t)l * b2 * b3, U);
        }
      }
    }
    free(SN);
    t->c_size[k] = (size_t)t->fus.n_chan[k] * b0 * b3;
    if (make_Ut(t, k)) return TNACE_ERR_NOMEM;
  }
  for (int k = 0; k < t->nu; k++) t->blind[k] = (unsigned char)copy_blind(t, k);
  int rc = prepare_pair_form(t);
  return rc ? rc : prepare_reverse(t);
}

static int grow(double **p, size_t *cap, size_t n) {
  if (*cap >= n && *p) return 0;
  double *q = realloc(*p, (n ? n : 1) * sizeof(double));
  if (!q) return TNACE_ERR_NOMEM;
  *p = q;
  *cap = n;
  return 0;
}

int tn_ws_reserve(tnace_tn_ws *w, const tnace_tn *t) {
  if (t->rev && tn_ws_reserve(w, t->rev)) return TNACE_ERR_NOMEM; /* either view may be contracted with w */
  /* tmp: the transposed channels of a copy (level_adj), one label block of ∂E/∂A (tn_grad_A), or the pair
   * form's X and T */
  size_t nt = 0;
  for (int k = 0; k < t->nu; k++) {
    if (k >= 1 && t->c_size[k] > nt) nt = t->c_size[k];
    if ((size_t)t->nmax * (2 * t->lmax + 1) > nt) nt = (size_t)t->nmax * (2 * t->lmax + 1);
  }
  const size_t npair = 2 * ((size_t)t->n_el + 1) * t->nmax * t->fus.n_chan[0]; /* X, T (and X̄, Y: blind) */
  if (t->S && npair > nt) nt = npair;
  const size_t nsp = (size_t)t->nmax * (t->lmax + 1) * (t->lmax + 1);
  if (nsp > w->cap_sp || !w->sp) {
    size_t c = w->cap_sp;
    if (grow(&w->sp, &c, nsp)) return TNACE_ERR_NOMEM;
    w->cap_sp = nsp;
  }
  if (nt > w->cap_tmp || !w->tmp) {
    size_t c = w->cap_tmp;
    if (grow(&w->tmp, &c, nt)) return TNACE_ERR_NOMEM;
    w->cap_tmp = nt;
  }
  /* z, dz: the leaf sums (ν ≥ 2); seed: the last seed of tn_backward_seed */
  const size_t nz = t->nu >= 2 ? (size_t)t->fus.n_chan[t->nu - 1] * t->bond[3 * t->nu - 3] : 1, ns = t->bond[3 * t->nu];
  if (nz > w->cap_z || !w->z) {
    size_t c1 = w->cap_z, c2 = w->cap_z;
    if (grow(&w->z, &c1, nz) || grow(&w->dz, &c2, nz)) return TNACE_ERR_NOMEM;
    w->cap_z = nz;
  }
  if (ns > w->cap_seed || !w->seed) {
    size_t c = w->cap_seed;
    if (grow(&w->seed, &c, ns)) return TNACE_ERR_NOMEM;
    w->cap_seed = ns;
  }
  for (int k = 0; k < t->nu; k++) {
    size_t cs = t->c_size[k];
    size_t ns = (size_t)t->fus.n_nodes[k] * t->bond[3 * k + 3];
    size_t cc = w->cap_c[k], cn = w->cap_node[k];
    /* All buffers of a kind share one capacity, so grow each from the same old value. */
    if (cs > cc || !w->c[k]) {
      size_t c1 = cc, c2 = cc, c3 = cc, c4 = cc;
      if (grow(&w->c[k], &c1, cs) || grow(&w->g[k], &c2, cs) || grow(&w->dc[k], &c3, cs) ||
          grow(&w->dg[k], &c4, cs))
        return TNACE_ERR_NOMEM;
      w->cap_c[k] = cs;
    }
    if (ns > cn || !w->val[k]) {
      size_t c1 = cn, c2 = cn, c3 = cn, c4 = cn;
      if (grow(&w->val[k], &c1, ns) || grow(&w->adj[k], &c2, ns) || grow(&w->dval[k], &c3, ns) ||
          grow(&w->dadj[k], &c4, ns))
        return TNACE_ERR_NOMEM;
      w->cap_node[k] = ns;
    }
  }
  return 0;
}

void tn_ws_free(tnace_tn_ws *w) {
  for (int k = 0; k < TNACE_MAX_NU; k++) {
    free(w->c[k]); free(w->g[k]); free(w->dc[k]); free(w->dg[k]);
    free(w->val[k]); free(w->adj[k]); free(w->dval[k]); free(w->dadj[k]);
  }
  free(w->tmp); free(w->z); free(w->dz); free(w->seed); free(w->sp);
  memset(w, 0, sizeof *w);
}

/* Ā[n][lm] = Σ_α A[α][n][lm] for n < t->nmax, lm < (t->lmax+1)² (row stride (t->lmax+1)²): what a species-blind
 * copy sees. */
static void species_sum(const tnace_tn *t, const double *A, int nmaxA, int nlmA, double *Ab) {
  const int nlm = (t->lmax + 1) * (t->lmax + 1);
  for (int n = 0; n < t->nmax; n++) {
    double *r = Ab + (size_t)n * nlm;
    memcpy(r, A + (size_t)n * nlmA, (size_t)nlm * sizeof(double));
    for (int a = 1; a < t->n_el; a++) {
      const double *q = A + ((size_t)a * nmaxA + n) * nlmA;
      for (int lm = 0; lm < nlm; lm++) r[lm] += q[lm];
    }
  }
}

/* The adjoint of species_sum: D[α][n][lm] += G[n][lm] for every species α (D as A in species_sum, G with row
 * stride (t->lmax+1)²): a species-blind copy's ∂E/∂Ā reaches every species. */
static void species_spread(const tnace_tn *t, const double *G, int nmaxA, int nlmA, double *D) {
  const int nlm = (t->lmax + 1) * (t->lmax + 1);
  for (int a = 0; a < t->n_el; a++)
    for (int n = 0; n < t->nmax; n++) {
      double *d = D + ((size_t)a * nmaxA + n) * nlmA;
      const double *g = G + (size_t)n * nlm;
      for (int lm = 0; lm < nlm; lm++) d[lm] += g[lm];
    }
}

void tn_channels(const tnace_tn *t, const double *A, int nmaxA, int lmaxA, tnace_tn_ws *w, int tangent) {
  /* per label λ: c_λ ((2l+1) × bb) = Σ_α A_{α,l}ᵀ (nmax × (2l+1), rows n of A) · U_{αλ} (nmax × bb); a blind
   * copy: Ā_lᵀ U_{0λ} */
  const int nlmA = (lmaxA + 1) * (lmaxA + 1), nlm = (t->lmax + 1) * (t->lmax + 1);
  int summed = 0;
  for (int k = 0; k < t->nu; k++) {
    const int bb = t->bond[3 * k] * t->bond[3 * k + 3], nl = t->fus.n_lambda[k], nsp = t->blind[k] ? 1 : t->n_el;
    if (t->blind[k] && !summed) {
      species_sum(t, A, nmaxA, nlmA, w->sp);
      summed = 1;
    }
    const double *Ak = t->blind[k] ? w->sp : A;
    const int ld = t->blind[k] ? nlm : nlmA;
    double *c = tangent ? w->dc[k] : w->c[k];
    for (int lam = 0; lam < nl; lam++) {
      const int l = t->fus.lam_l[k][lam];
      for (int a = 0; a < nsp; a++)
        tnace_mm_tn(2 * l + 1, bb, t->nmax, Ak + (size_t)a * nmaxA * ld + l * l, ld, NULL,
                    t->U[k] + ((size_t)a * t->nmax * nl + lam) * bb, nl * bb, NULL, c + (size_t)t->fus.chan_off[k][lam] * bb,
                    bb, a > 0);
    }
  }
}

void tn_project_radial(const tnace_tn *t, int b, const double *u, double *const *P) {
  for (int k = 0; k < t->nu; k++) {
    const int bb = t->bond[3 * k] * t->bond[3 * k + 3], nl = t->fus.n_lambda[k];
    double *Pk = P[k];
    memset(Pk, 0, (size_t)nl * bb * sizeof(double));
    for (int n = 0; n < t->nmax; n++) {
      const double x = u[n];
      if (x == 0.0) continue;
      const double *U = t->U[k] + ((size_t)b * t->nmax + n) * nl * bb;
      for (size_t q = 0; q < (size_t)nl * bb; q++) Pk[q] += x * U[q];
    }
  }
}

void tn_channels_pair(const tnace_tn *t, double *const *Pu, const double *y1, int s1, double *const *Pv,
                      const double *y2, int s2, tnace_tn_ws *w) {
  for (int k = 0; k < t->nu; k++) {
    const int bb = t->bond[3 * k] * t->bond[3 * k + 3], nl = t->fus.n_lambda[k];
    double *c = w->dc[k];
    for (int lam = 0; lam < nl; lam++) {
      const int l = t->fus.lam_l[k][lam], ch0 = t->fus.chan_off[k][lam];
      const double *pu = Pu[k] + (size_t)lam * bb, *pv = Pv[k] + (size_t)lam * bb;
      for (int m = 0; m <= 2 * l; m++) {
        const int lm = l * l + m;
        const double a = y1[(size_t)lm * s1], e = y2[(size_t)lm * s2];
        double *cc = c + (size_t)(ch0 + m) * bb;
        for (int q = 0; q < bb; q++) cc[q] = a * pu[q] + e * pv[q];
      }
    }
  }
}

/* level_fwd: out_j (+)= v_{par j} C_ch for the level-k nodes j (rows of `out`); v: c^(0) rows (k = 1) or
 * the level k−1 values; C: the channels c^(k) (or their tangents). One batched product, a group per
 * channel. */
static void level_fwd(const tnace_tn *t, int k, const double *v, const double *C, double *out, int acc) {
  const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
  tnace_mm_nn_batch(t->fus.n_chan[k], t->grp[k], br, bl, v, 0, t->voff[k], C, (size_t)bl * br, br, out, br, NULL, acc);
}

/* level_grad: G_ch (+)= Σ_{j ∈ ch} v_{par j}ᵀ a_j (bl × br) for every channel of copy k (channels without
 * nodes get 0, or nothing added); a: level-k node adjoints (or tangents). */
static void level_grad(const tnace_tn *t, int k, const double *v, const double *a, double *G, int acc) {
  const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
  if (br == 1) /* the same as the row G_ch = Σ_j a_j v_{par j}: one wide row instead of bl narrow ones */
    tnace_mm_tn_batch(t->fus.n_chan[k], t->grp[k], 1, bl, a, 1, NULL, v, 0, t->voff[k], G, bl, bl, acc);
  else
    tnace_mm_tn_batch(t->fus.n_chan[k], t->grp[k], bl, br, v, 0, t->voff[k], a, br, NULL, G, (size_t)bl * br, br, acc);
}

/* level_adj: p_{par j} += a_j C_chᵀ; p: g^(0)-shaped rows (k = 1) or level k−1 adjoints. Uses w->tmp for
 * the transposed channels. */
static void level_adj(const tnace_tn *t, int k, const double *a, const double *C, double *p, double *tmp) {
  const int bl = t->bond[3 * k], br = t->bond[3 * k + 3], bb = bl * br;
  if (br > 1) { /* for br = 1 a row C_ch is its own transpose */
    for (int ch = 0; ch < t->fus.n_chan[k]; ch++)
      if (t->grp[k][ch + 1] > t->grp[k][ch]) tnace_transpose(bl, br, C + (size_t)ch * bb, br, tmp + (size_t)ch * bb);
    C = tmp;
  }
  tnace_mm_nn_batch(t->fus.n_chan[k], t->grp[k], bl, br, a, br, NULL, C, (size_t)bb, bl, p, 0, t->voff[k], 1);
}

/* The leaf level (ν ≥ 2, L = ν−1, bl = bond[3L], K = bond[3ν]). A leaf j's value is v_{par j} C_ch, and J
 * and the leaf gradient only need, per channel, the sums
 *   Z_ch = Σ_{leaves j of ch} coef_j v_{par j}   (n_chan[L] × bl):
 *   J = Σ_ch Z_ch C_ch,  ∂(s·J)/∂C_ch = Z_chᵀ s,  and their tangents from dZ (leaf_sums of dv), dC, ds.
 * So no leaf values are formed; leaf_sums is one batched product of width bl. */
static void leaf_sums(const tnace_tn *t, const double *v, double *Z) {
  const int L = t->nu - 1, bl = t->bond[3 * L];
  tnace_mm_tn_batch(t->fus.n_chan[L], t->grp[L], 1, bl, t->coef_cm, 1, NULL, v, 0, t->voff[L], Z, bl, bl, 0);
}

/* J (+)= Σ_ch Z_ch C_ch: Z as one row of n_chan·bl times C as an (n_chan·bl) × K matrix. */
static void leaf_J(const tnace_tn *t, const double *Z, const double *C, double *J, int acc) {
  const int L = t->nu - 1, K = t->bond[3 * t->nu];
  tnace_mm_nn(1, K, t->fus.n_chan[L] * t->bond[3 * L], Z, 0, NULL, C, K, J, K, NULL, acc);
}

/* G_ch (+)= Z_chᵀ s for every channel of the leaf copy (G: [n_chan][bl][K]). */
static void leaf_grad(const tnace_tn *t, const double *Z, const double *s, double *G, int acc) {
  const int L = t->nu - 1, K = t->bond[3 * t->nu], rows = t->fus.n_chan[L] * t->bond[3 * L];
  for (int r = 0; r < rows; r++)
    for (int b = 0; b < K; b++) G[(size_t)r * K + b] = (acc ? G[(size_t)r * K + b] : 0.0) + Z[r] * s[b];
}

/* ν = 1: the leaves are the channels of copy 0: J[b] = Σ_i coef_i c0_{chan i}[b]. */
static void leaves_nu1(const tnace_tn *t, const double *c0, double *J) {
  const tnace_fusion *f = &t->fus;
  const int K = t->bond[3];
  for (int b = 0; b < K; b++) J[b] = 0.0;
  for (int i = 0; i < f->n_nodes[0]; i++)
    for (int b = 0; b < K; b++) J[b] += f->coef[i] * c0[(size_t)f->chan[0][i] * K + b];
}

/* ν = 1: g^(0)_{chan i} += coef_i s (the leaves are copy 0's channels). */
static void seed_nu1(const tnace_tn *t, const double *s, double *g0) {
  const tnace_fusion *f = &t->fus;
  const int K = t->bond[3];
  for (int i = 0; i < f->n_nodes[0]; i++)
    for (int b = 0; b < K; b++) g0[(size_t)f->chan[0][i] * K + b] += f->coef[i] * s[b];
}

/* Leaf adjoints for the seed s [K]: a_j[b] = coef_j s[b] (ν ≥ 2), pushed to the parents by level_adj. */
static void seed_leaves(const tnace_tn *t, const double *s, double *adj) {
  const int L = t->nu - 1, K = t->bond[3 * t->nu], nl = t->fus.n_nodes[L];
  if (K == 1) {
    for (int j = 0; j < nl; j++) adj[j] = t->coef_cm[j] * s[0];
    return;
  }
  for (int j = 0; j < nl; j++)
    for (int b = 0; b < K; b++) adj[(size_t)j * K + b] = t->coef_cm[j] * s[b];
}

/* Zero the adjoint accumulators that levels kk+1.. push into: g^(0) (or its tangent) if kk = 0, else the
 * level kk node adjoints. */
static double *adj_target(const tnace_tn *t, double *const *lev, double *g0, int kk) {
  if (kk == 0) {
    memset(g0, 0, t->c_size[0] * sizeof(double));
    return g0;
  }
  memset(lev[kk], 0, (size_t)t->fus.n_nodes[kk] * t->bond[3 * kk + 3] * sizeof(double));
  return lev[kk];
}

void tn_forward_vec(const tnace_tn *t, tnace_tn_ws *w, double *J) {
  const int L = t->nu - 1;
  if (L == 0) { leaves_nu1(t, w->c[0], J); return; }
  for (int k = 1; k < L; k++) level_fwd(t, k, k == 1 ? w->c[0] : w->val[k - 1], w->c[k], w->val[k], 0);
  leaf_sums(t, L == 1 ? w->c[0] : w->val[L - 1], w->z);
  leaf_J(t, w->z, w->c[L], J, 0);
}

double tn_forward(const tnace_tn *t, tnace_tn_ws *w) {
  double E = 0.0;
  tn_forward_vec(t, w, &E); /* bond[3ν] = 1 for an MPS term */
  return E;
}

void tn_backward(const tnace_tn *t, tnace_tn_ws *w) {
  const double one = 1.0;
  tn_backward_seed(t, w, &one);
}

void tn_backward_seed(const tnace_tn *t, tnace_tn_ws *w, const double *seed) {
  const int L = t->nu - 1;
  memcpy(w->seed, seed, (size_t)t->bond[3 * t->nu] * sizeof(double)); /* for the tangent passes */
  if (L == 0) {
    adj_target(t, w->adj, w->g[0], 0);
    seed_nu1(t, seed, w->g[0]);
    return;
  }
  leaf_grad(t, w->z, seed, w->g[L], 0);
  seed_leaves(t, seed, w->adj[L]);
  level_adj(t, L, w->adj[L], w->c[L], adj_target(t, w->adj, w->g[0], L - 1), w->tmp);
  for (int k = L - 1; k >= 1; k--) {
    level_grad(t, k, k == 1 ? w->c[0] : w->val[k - 1], w->adj[k], w->g[k], 0);
    level_adj(t, k, w->adj[k], w->c[k], adj_target(t, w->adj, w->g[0], k - 1), w->tmp);
  }
}

/* ∂E/∂A of copy k for species a, added into dA (rows n, stride ld, column lm): per label λ
 * T = g_λ ((2l+1) × bb) · Ut_{aλ} (bb × nmax) = (∂E/∂A_{a,l})ᵀ (this orientation has width nmax; the other
 * would have the narrow, odd width 2l+1), then transposed into dA; for long blocks (bb ≥ 16) dot products
 * along bb (tnace_mm_nt) instead */
static void grad_A_copy(const tnace_tn *t, tnace_tn_ws *w, int k, int a, double *dA, int ld) {
  const int bb = t->bond[3 * k] * t->bond[3 * k + 3], nl = t->fus.n_lambda[k], nmax = t->nmax;
  for (int lam = 0; lam < nl; lam++) {
    const int l = t->fus.lam_l[k][lam], nm = 2 * l + 1;
    const double *g = w->g[k] + (size_t)t->fus.chan_off[k][lam] * bb;
    if (bb >= 16) {
      /* long bond blocks (a middle copy, χ²): ∂E/∂A_{a,n,lm} = ⟨U^(k)[a][n][λ], g_λm⟩ as dot products
       * straight into dA (rows n of U, stride n_lambda·bb), no product buffer and no scatter */
      tnace_mm_nt(nmax, nm, bb, t->U[k] + ((size_t)a * nmax * nl + lam) * bb, nl * bb, g, bb, dA + l * l, ld, 1);
      continue;
    }
    tnace_mm_nn(nm, nmax, bb, g, bb, NULL, t->Ut[k] + ((size_t)a * nl + lam) * bb * nmax, nmax, w->tmp, nmax, NULL, 0);
    for (int n = 0; n < nmax; n++)
      for (int m = 0; m < nm; m++) dA[(size_t)n * ld + l * l + m] += w->tmp[m * nmax + n];
  }
}

void tn_grad_A(const tnace_tn *t, tnace_tn_ws *w, double *dEdA, int nmaxA, int lmaxA) {
  /* species-resolved copies per species; the blind ones once into ∂E/∂Ā (w->sp), added to every species */
  const int nlmA = (lmaxA + 1) * (lmaxA + 1), nlm = (t->lmax + 1) * (t->lmax + 1);
  int any_blind = 0;
  for (int k = 0; k < t->nu; k++) {
    if (!t->blind[k]) {
      for (int a = 0; a < t->n_el; a++) grad_A_copy(t, w, k, a, dEdA + (size_t)a * nmaxA * nlmA, nlmA);
      continue;
    }
    if (!any_blind) memset(w->sp, 0, (size_t)t->nmax * nlm * sizeof(double));
    any_blind = 1;
    grad_A_copy(t, w, k, 0, w->sp, nlm);
  }
  if (any_blind) species_spread(t, w->sp, nmaxA, nlmA, dEdA);
}

/* T = S X for a pair form with a blind copy (tn.h): per label T_λ = P_λ X̄_λ + 1 ⊗ P_λᵀ X_λ, with
 * X̄ = Σ_α X_α (nmax × n_chan) and Y = Pᵀ X in w->tmp after X and T. X, T: Kd × n_chan (n_chan = (lmax+1)²,
 * the layout species_sum and species_spread read with nmaxA = nmax). */
static void pair_blind_products(const tnace_tn *t, const double *X, double *T) {
  const int nm_ = t->nmax, Kd = t->n_el * nm_, nl = t->fus.n_lambda[0], nch = t->fus.n_chan[0];
  double *Xb = T + (size_t)Kd * nch, *Y = Xb + (size_t)nm_ * nch;
  species_sum(t, X, nm_, nch, Xb);
  for (int lam = 0; lam < nl; lam++) {
    const int c0 = t->fus.chan_off[0][lam], nm = t->fus.chan_off[0][lam + 1] - c0;
    const double *P = t->S + (size_t)lam * Kd * nm_;
    tnace_mm_nn(Kd, nm, nm_, P, nm_, NULL, Xb + c0, nch, T + c0, nch, NULL, 0);
    tnace_mm_tn(nm_, nm, Kd, P, nm_, NULL, X + c0, nch, NULL, Y + c0, nch, 0);
  }
  species_spread(t, Y, nm_, nch, T);
}

double tn_pair_energy(const tnace_tn *t, const double *A, int nmaxA, int lmaxA, tnace_tn_ws *w, double *dEdA) {
  /* X[kk][ch] = coef_ch A[kk][lm(ch)] for the rows kk = (α, n) of the term (Kd × n_chan, all labels side
   * by side); per label T_λ = S_λ X_λ, the label's columns of T; then ∂E/∂A = T and
   * E = ½ Σ_ch coef_ch A_chᵀ S_λ A_ch = ½ ⟨A, T⟩ */
  const int nlmA = (lmaxA + 1) * (lmaxA + 1), nm_ = t->nmax, Kd = t->n_el * nm_, nl = t->fus.n_lambda[0];
  const int nch = t->fus.n_chan[0]; /* = (lmax+1)², channel ch is lm = ch (prepare_pair_form) */
  double *X = w->tmp, *T = w->tmp + (size_t)Kd * nch;
  for (int a = 0, kk = 0; a < t->n_el; a++)
    for (int n = 0; n < nm_; n++, kk++) {
      const double *Ar = A + ((size_t)a * nmaxA + n) * nlmA;
      double *Xr = X + (size_t)kk * nch;
      for (int ch = 0; ch < nch; ch++) Xr[ch] = t->coef_cm[ch] * Ar[ch];
    }
  if (tn_pair_blind(t)) pair_blind_products(t, X, T);
  else
    for (int lam = 0; lam < nl; lam++) {
      const int c0 = t->fus.chan_off[0][lam], nm = t->fus.chan_off[0][lam + 1] - c0;
      tnace_mm_nn(Kd, nm, Kd, t->S + (size_t)lam * Kd * Kd, Kd, NULL, X + c0, nch, T + c0, nch, NULL, 0);
    }
  double E[4] = {0.0, 0.0, 0.0, 0.0};
  for (int a = 0, kk = 0; a < t->n_el; a++)
    for (int n = 0; n < nm_; n++, kk++) {
      const size_t o = ((size_t)a * nmaxA + n) * nlmA;
      const double *Tr = T + (size_t)kk * nch, *Ar = A + o;
      int ch = 0;
      for (; ch + 4 <= nch; ch += 4)
        for (int q = 0; q < 4; q++) E[q] += Ar[ch + q] * Tr[ch + q];
      for (; ch < nch; ch++) E[0] += Ar[ch] * Tr[ch];
      if (dEdA)
        for (ch = 0; ch < nch; ch++) dEdA[o + ch] += Tr[ch];
    }
  return 0.5 * ((E[0] + E[1]) + (E[2] + E[3]));
}

/* Forward tangent of the trie levels 1 .. kend−1 below the leaves: dv_k = dv_{k−1} C^(k) + v_{k−1} dC^(k)
 * (the shared first half of every tangent pass; dv of level 0 is dc^(0)); with kend = ν also the leaf
 * sums' tangent dZ (ν ≥ 2). */
static void forward_tangent_levels(const tnace_tn *t, tnace_tn_ws *w, int kend) {
  const int L = t->nu - 1;
  for (int k = 1; k < kend && k < L; k++) {
    level_fwd(t, k, k == 1 ? w->dc[0] : w->dval[k - 1], w->c[k], w->dval[k], 0);
    level_fwd(t, k, k == 1 ? w->c[0] : w->val[k - 1], w->dc[k], w->dval[k], 1);
  }
  if (kend > L && L >= 1) leaf_sums(t, L == 1 ? w->dc[0] : w->dval[L - 1], w->dz);
}

/* Tangent of J from dZ and dC: dJ = Σ_ch (dZ_ch C_ch + Z_ch dC_ch) (ν ≥ 2), Σ_i coef_i dc0 (ν = 1). */
static void tangent_J(const tnace_tn *t, tnace_tn_ws *w, double *dJ) {
  const int L = t->nu - 1;
  if (L == 0) { leaves_nu1(t, w->dc[0], dJ); return; }
  leaf_J(t, w->dz, w->c[L], dJ, 0);
  leaf_J(t, w->z, w->dc[L], dJ, 1);
}

/* Reverse tangent of levels ν−1 .. kstop+1: da_{k−1} += da_k C^(k)ᵀ + a_k dC^(k)ᵀ (da of level 0 is dg^(0))
 * and, if `grads`, dG_k = dv_{k−1}ᵀ a_k + v_{k−1}ᵀ da_k (at the leaves dZᵀ s + Zᵀ ds). `dseed`: the seed's
 * tangent, whose leaf adjoint tangents coef·dseed are put into w->dadj[ν−1]; NULL: a fixed seed, they are 0. */
static void reverse_tangent_levels(const tnace_tn *t, tnace_tn_ws *w, int kstop, const double *dseed, int grads) {
  const int L = t->nu - 1;
  if (L > kstop) {
    if (grads) {
      leaf_grad(t, w->dz, w->seed, w->dg[L], 0);
      if (dseed) leaf_grad(t, w->z, dseed, w->dg[L], 1);
    }
    double *p = adj_target(t, w->dadj, w->dg[0], L - 1);
    if (dseed) {
      seed_leaves(t, dseed, w->dadj[L]);
      level_adj(t, L, w->dadj[L], w->c[L], p, w->tmp);
    }
    level_adj(t, L, w->adj[L], w->dc[L], p, w->tmp);
  }
  for (int k = L - 1; k > kstop; k--) {
    if (grads) {
      level_grad(t, k, k == 1 ? w->dc[0] : w->dval[k - 1], w->adj[k], w->dg[k], 0);
      level_grad(t, k, k == 1 ? w->c[0] : w->val[k - 1], w->dadj[k], w->dg[k], 1);
    }
    double *p = adj_target(t, w->dadj, w->dg[0], k - 1);
    level_adj(t, k, w->dadj[k], w->c[k], p, w->tmp);
    level_adj(t, k, w->adj[k], w->dc[k], p, w->tmp);
  }
}

double tn_tangent(const tnace_tn *t, tnace_tn_ws *w) {
  forward_tangent_levels(t, w, t->nu);
  double dE = 0.0;
  tangent_J(t, w, &dE);
  /* g^(k) depends on c but not on the (fixed) seed: the leaf adjoint tangents are zero */
  if (t->nu == 1) memset(w->dg[0], 0, t->c_size[0] * sizeof(double));
  reverse_tangent_levels(t, w, 0, NULL, 1);
  return dE;
}

void tn_tangent_copy(const tnace_tn *t, tnace_tn_ws *w, int k) { tn_tangent_copy_seed(t, w, k, NULL); }

void tn_tangent_copy_seed(const tnace_tn *t, tnace_tn_ws *w, int k, const double *dseed) {
  const int L = t->nu - 1;
  if (L == 0) {
    memset(w->dg[0], 0, t->c_size[0] * sizeof(double));
    if (dseed) seed_nu1(t, dseed, w->dg[0]);
    return;
  }
  if (k == L) { /* the leaf copy: dG = dZᵀ s + Zᵀ ds */
    forward_tangent_levels(t, w, t->nu);
    leaf_grad(t, w->dz, w->seed, w->dg[L], 0);
    if (dseed) leaf_grad(t, w->z, dseed, w->dg[L], 1);
    return;
  }
  forward_tangent_levels(t, w, k); /* levels 1..k−1 */
  /* adjoint tangents down to level k (into dg^(0) when k = 0), then dG_k = dv_{k−1}ᵀ a_k + v_{k−1}ᵀ da_k */
  reverse_tangent_levels(t, w, k, dseed, 0);
  if (k >= 1) {
    level_grad(t, k, k == 1 ? w->dc[0] : w->dval[k - 1], w->adj[k], w->dg[k], 0);
    level_grad(t, k, k == 1 ? w->c[0] : w->val[k - 1], w->dadj[k], w->dg[k], 1);
  }
}

void tn_forward_tangent_vec(const tnace_tn *t, tnace_tn_ws *w, double *dJ) {
  forward_tangent_levels(t, w, t->nu);
  tangent_J(t, w, dJ);
}

/* ---- the gradient with respect to the channel maps (trainer rows, extrapolation grade) ---- */

size_t tn_U_size(const tnace_tn *t, int k) {
  return (size_t)t->n_el * t->nmax * t->fus.n_lambda[k] * t->bond[3 * k] * t->bond[3 * k + 3];
}

void tn_grad_U(const tnace_tn *t, int k, const double *A, int nmaxA, int lmaxA, const double *g, double scale,
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

double tn_embed(int K, double s, const double *J, double *d1, double *d2) {
  double E = J[0];
  d1[0] = 1.0;
  if (d2) d2[0] = 0.0;
  for (int b = 1; b < K; b++) {
    const double sig = s / b, u = J[b] / sig, q = 1.0 + u * u, r = pow(q, -0.25); /* r = q^(−1/4) */
    E += J[b] * r;
    d1[b] = (1.0 + 0.5 * u * u) * r / q;                                        /* (1 + u²/2) q^(−5/4) */
    if (d2) d2[b] = -u * (6.0 + u * u) * r / (4.0 * sig * q * q);                /* −u(6 + u²) / (4σ q^(9/4)) */
  }
  return E;
}
