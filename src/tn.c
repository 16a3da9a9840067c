/*
 * tn.c — MPS terms over the ACE descriptor indices: channel maps, and the forward / adjoint / tangent
 * contraction on the fusion-tree prefix trie (see tn.h for the formulas).
 *
 * Conventions used throughout: matrices are row-major; a trie node at level k holds the row vector
 * v = c^(0)_{ch0} c^(1)_{ch1} … c^(k)_{chk} of length br_k = bond[3k+3] (the prefix product starts at
 * the 1-dimensional left boundary). Leaves (level ν−1) have br = 1.
 */
#include "tn.h"
#include "tnace.h"

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
  for (int k = 0; k < TNACE_MAX_NU; k++) { free(t->U[k]); t->U[k] = NULL; }
  tnace_fusion_free(&t->fus);
}

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
    if (bond[s] < 1 || bond[s] > 4096) {
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
  return 0; /* the caller fills the cores, then tn_prepare (a prepare of zero cores here would be wasted) */
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
  }
  return 0;
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
  memset(w, 0, sizeof *w);
}

void tn_channels(const tnace_tn *t, const double *A, int nmaxA, int lmaxA, tnace_tn_ws *w, int tangent) {
  const int nlmA = (lmaxA + 1) * (lmaxA + 1);
  for (int k = 0; k < t->nu; k++) {
    const int bb = t->bond[3 * k] * t->bond[3 * k + 3];
    const int nl = t->fus.n_lambda[k];
    double *c = tangent ? w->dc[k] : w->c[k];
    memset(c, 0, t->c_size[k] * sizeof(double));
    for (int a = 0; a < t->n_el; a++) {
      for (int n = 0; n < t->nmax; n++) {
        const double *An = A + ((size_t)a * nmaxA + n) * nlmA;
        const double *Ub = t->U[k] + ((size_t)a * t->nmax + n) * nl * bb;
        for (int lam = 0; lam < nl; lam++) {
          const int l = t->fus.lam_l[k][lam];
          const double *U = Ub + (size_t)lam * bb;
          const int ch0 = t->fus.chan_off[k][lam];
          for (int m = 0; m <= 2 * l; m++) {
            const double x = An[l * l + m];
            if (x == 0.0) continue;
            double *cc = c + (size_t)(ch0 + m) * bb;
            for (int q = 0; q < bb; q++) cc[q] += x * U[q];
          }
        }
      }
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

void tn_forward_vec(const tnace_tn *t, tnace_tn_ws *w, double *J) {
  const tnace_fusion *f = &t->fus;
  const int nu = t->nu;
  {
    const int br = t->bond[3];
    for (int i = 0; i < f->n_nodes[0]; i++)
      memcpy(w->val[0] + (size_t)i * br, w->c[0] + (size_t)f->chan[0][i] * br, br * sizeof(double));
  }
  for (int k = 1; k < nu; k++) {
    const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
    const int *par = f->parent[k], *ch = f->chan[k];
    const double *restrict vals = w->val[k - 1], *restrict cs = w->c[k];
    double *restrict out = w->val[k];
    if (br == 1) { /* leaves: a dot product each */
      for (int i = 0; i < f->n_nodes[k]; i++) {
        const double *restrict v = vals + (size_t)par[i] * bl, *restrict C = cs + (size_t)ch[i] * bl;
        double acc = 0.0;
        for (int p = 0; p < bl; p++) acc += v[p] * C[p];
        out[i] = acc;
      }
      continue;
    }
    for (int i = 0; i < f->n_nodes[k]; i++) {
      const double *restrict v = vals + (size_t)par[i] * bl;
      const double *restrict C = cs + (size_t)ch[i] * bl * br;
      double *restrict o = out + (size_t)i * br;
      for (int q = 0; q < br; q++) o[q] = 0.0;
      for (int p = 0; p < bl; p++) {
        const double vp = v[p];
        const double *restrict Cr = C + (size_t)p * br;
        for (int q = 0; q < br; q++) o[q] += vp * Cr[q];
      }
    }
  }
  const int K = t->bond[3 * nu];
  const double *leaf = w->val[nu - 1];
  for (int b = 0; b < K; b++) J[b] = 0.0;
  for (int i = 0; i < f->n_nodes[nu - 1]; i++)
    for (int b = 0; b < K; b++) J[b] += f->coef[i] * leaf[(size_t)i * K + b];
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
  const tnace_fusion *f = &t->fus;
  const int nu = t->nu;
  for (int k = 0; k < nu; k++) memset(w->g[k], 0, t->c_size[k] * sizeof(double));
  for (int k = 0; k < nu - 1; k++)
    memset(w->adj[k], 0, (size_t)f->n_nodes[k] * t->bond[3 * k + 3] * sizeof(double));
  {
    const int K = t->bond[3 * nu];
    for (int i = 0; i < f->n_nodes[nu - 1]; i++)
      for (int b = 0; b < K; b++) w->adj[nu - 1][(size_t)i * K + b] = f->coef[i] * seed[b];
  }
  for (int k = nu - 1; k >= 1; k--) {
    const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
    const int *par = f->parent[k], *ch = f->chan[k];
    const double *restrict adjk = w->adj[k], *restrict vals = w->val[k - 1], *restrict cs = w->c[k];
    double *restrict gs = w->g[k], *restrict adjp = w->adj[k - 1];
    if (br == 1) { /* leaves: scalar adjoint */
      for (int i = 0; i < f->n_nodes[k]; i++) {
        const double a = adjk[i];
        const double *restrict v = vals + (size_t)par[i] * bl, *restrict C = cs + (size_t)ch[i] * bl;
        double *restrict G = gs + (size_t)ch[i] * bl, *restrict ap = adjp + (size_t)par[i] * bl;
        for (int p = 0; p < bl; p++) { ap[p] += a * C[p]; G[p] += a * v[p]; }
      }
      continue;
    }
    for (int i = 0; i < f->n_nodes[k]; i++) {
      const double *restrict a = adjk + (size_t)i * br;
      const double *restrict v = vals + (size_t)par[i] * bl;
      const double *restrict C = cs + (size_t)ch[i] * bl * br;
      double *restrict G = gs + (size_t)ch[i] * bl * br;
      double *restrict ap = adjp + (size_t)par[i] * bl;
      for (int p = 0; p < bl; p++) {
        const double *restrict Cr = C + (size_t)p * br;
        double *restrict Gr = G + (size_t)p * br;
        double s = 0.0;
        const double vp = v[p];
        for (int q = 0; q < br; q++) { s += a[q] * Cr[q]; Gr[q] += vp * a[q]; }
        ap[p] += s;
      }
    }
  }
  const int br = t->bond[3];
  for (int i = 0; i < f->n_nodes[0]; i++) {
    double *G = w->g[0] + (size_t)f->chan[0][i] * br;
    const double *a = w->adj[0] + (size_t)i * br;
    for (int q = 0; q < br; q++) G[q] += a[q];
  }
}

void tn_grad_A(const tnace_tn *t, const tnace_tn_ws *w, double *dEdA, int nmaxA, int lmaxA) {
  const int nlmA = (lmaxA + 1) * (lmaxA + 1);
  for (int k = 0; k < t->nu; k++) {
    const int bb = t->bond[3 * k] * t->bond[3 * k + 3];
    const int nl = t->fus.n_lambda[k];
    const double *g = w->g[k];
    for (int a = 0; a < t->n_el; a++) {
      for (int n = 0; n < t->nmax; n++) {
        double *dA = dEdA + ((size_t)a * nmaxA + n) * nlmA;
        const double *Ub = t->U[k] + ((size_t)a * t->nmax + n) * nl * bb;
        for (int lam = 0; lam < nl; lam++) {
          const int l = t->fus.lam_l[k][lam];
          const double *U = Ub + (size_t)lam * bb;
          const int ch0 = t->fus.chan_off[k][lam];
          for (int m = 0; m <= 2 * l; m++) {
            const double *G = g + (size_t)(ch0 + m) * bb;
            double s = 0.0;
            for (int q = 0; q < bb; q++) s += U[q] * G[q];
            dA[l * l + m] += s;
          }
        }
      }
    }
  }
}

/* Forward tangent of the trie levels 0 .. kend−1: dv_0 = dc^(0), dv_k = dv_{k−1} C^(k) + v_{k−1} dC^(k)
 * (the shared first half of every tangent pass). */
static void forward_tangent_levels(const tnace_tn *t, tnace_tn_ws *w, int kend) {
  const tnace_fusion *f = &t->fus;
  if (kend >= 1) {
    const int br = t->bond[3];
    for (int i = 0; i < f->n_nodes[0]; i++)
      memcpy(w->dval[0] + (size_t)i * br, w->dc[0] + (size_t)f->chan[0][i] * br, br * sizeof(double));
  }
  for (int k = 1; k < kend; k++) {
    const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
    const int *par = f->parent[k], *ch = f->chan[k];
    for (int i = 0; i < f->n_nodes[k]; i++) {
      const double *v = w->val[k - 1] + (size_t)par[i] * bl;
      const double *dv = w->dval[k - 1] + (size_t)par[i] * bl;
      const double *C = w->c[k] + (size_t)ch[i] * bl * br;
      const double *dC = w->dc[k] + (size_t)ch[i] * bl * br;
      double *o = w->dval[k] + (size_t)i * br;
      for (int q = 0; q < br; q++) o[q] = 0.0;
      for (int p = 0; p < bl; p++) {
        const double vp = v[p], dvp = dv[p];
        const double *Cr = C + (size_t)p * br, *dCr = dC + (size_t)p * br;
        for (int q = 0; q < br; q++) o[q] += dvp * Cr[q] + vp * dCr[q];
      }
    }
  }
}

double tn_tangent(const tnace_tn *t, tnace_tn_ws *w) {
  const tnace_fusion *f = &t->fus;
  const int nu = t->nu;
  forward_tangent_levels(t, w, nu);
  double dE = 0.0;
  for (int i = 0; i < f->n_nodes[nu - 1]; i++) dE += f->coef[i] * w->dval[nu - 1][i];
  /* reverse tangent: da_{k−1} += da_k C^T + a_k dC^T;  dG_k += dv_{k−1}^T a_k + v_{k−1}^T da_k */
  for (int k = 0; k < nu; k++) memset(w->dg[k], 0, t->c_size[k] * sizeof(double));
  for (int k = 0; k < nu; k++)
    memset(w->dadj[k], 0, (size_t)f->n_nodes[k] * t->bond[3 * k + 3] * sizeof(double));
  for (int k = nu - 1; k >= 1; k--) {
    const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
    const int *par = f->parent[k], *ch = f->chan[k];
    for (int i = 0; i < f->n_nodes[k]; i++) {
      const double *a = w->adj[k] + (size_t)i * br;
      const double *da = w->dadj[k] + (size_t)i * br;
      const double *v = w->val[k - 1] + (size_t)par[i] * bl;
      const double *dv = w->dval[k - 1] + (size_t)par[i] * bl;
      const double *C = w->c[k] + (size_t)ch[i] * bl * br;
      const double *dC = w->dc[k] + (size_t)ch[i] * bl * br;
      double *dG = w->dg[k] + (size_t)ch[i] * bl * br;
      double *dap = w->dadj[k - 1] + (size_t)par[i] * bl;
      for (int p = 0; p < bl; p++) {
        const double *Cr = C + (size_t)p * br, *dCr = dC + (size_t)p * br;
        double *dGr = dG + (size_t)p * br;
        const double vp = v[p], dvp = dv[p];
        double s = 0.0;
        for (int q = 0; q < br; q++) {
          s += da[q] * Cr[q] + a[q] * dCr[q];
          dGr[q] += dvp * a[q] + vp * da[q];
        }
        dap[p] += s;
      }
    }
  }
  const int br = t->bond[3];
  for (int i = 0; i < f->n_nodes[0]; i++) {
    double *dG = w->dg[0] + (size_t)f->chan[0][i] * br;
    const double *da = w->dadj[0] + (size_t)i * br;
    for (int q = 0; q < br; q++) dG[q] += da[q];
  }
  return dE;
}

void tn_tangent_copy(const tnace_tn *t, tnace_tn_ws *w, int k) { tn_tangent_copy_seed(t, w, k, NULL); }

void tn_tangent_copy_seed(const tnace_tn *t, tnace_tn_ws *w, int k, const double *dseed) {
  const tnace_fusion *f = &t->fus;
  const int nu = t->nu;
  forward_tangent_levels(t, w, k); /* levels 0..k−1 */
  /* reverse tangent of levels ν−1..k+1: da_{kk−1} += da_kk C^T + a_kk dC^T; at the leaves da = coef·dseed
   * (0 for a fixed seed) */
  for (int kk = k; kk < nu; kk++)
    memset(w->dadj[kk], 0, (size_t)f->n_nodes[kk] * t->bond[3 * kk + 3] * sizeof(double));
  if (dseed) {
    const int K = t->bond[3 * nu];
    for (int i = 0; i < f->n_nodes[nu - 1]; i++)
      for (int b = 0; b < K; b++) w->dadj[nu - 1][(size_t)i * K + b] = f->coef[i] * dseed[b];
  }
  for (int kk = nu - 1; kk > k; kk--) {
    const int bl = t->bond[3 * kk], br = t->bond[3 * kk + 3];
    const int *par = f->parent[kk], *ch = f->chan[kk];
    for (int i = 0; i < f->n_nodes[kk]; i++) {
      const double *a = w->adj[kk] + (size_t)i * br;
      const double *da = w->dadj[kk] + (size_t)i * br;
      const double *C = w->c[kk] + (size_t)ch[i] * bl * br;
      const double *dC = w->dc[kk] + (size_t)ch[i] * bl * br;
      double *dap = w->dadj[kk - 1] + (size_t)par[i] * bl;
      for (int p = 0; p < bl; p++) {
        const double *Cr = C + (size_t)p * br, *dCr = dC + (size_t)p * br;
        double s = 0.0;
        for (int q = 0; q < br; q++) s += da[q] * Cr[q] + a[q] * dCr[q];
        dap[p] += s;
      }
    }
  }
  /* dG_k = dv_{k−1}^T a_k + v_{k−1}^T da_k */
  memset(w->dg[k], 0, t->c_size[k] * sizeof(double));
  const int bl = t->bond[3 * k], br = t->bond[3 * k + 3];
  for (int i = 0; i < f->n_nodes[k]; i++) {
    const double *a = w->adj[k] + (size_t)i * br;
    const double *da = w->dadj[k] + (size_t)i * br;
    double *dG = w->dg[k] + (size_t)f->chan[k][i] * bl * br;
    if (k == 0) {
      for (int q = 0; q < br; q++) dG[q] += da[q];
      continue;
    }
    const int p0 = f->parent[k][i];
    const double *v = w->val[k - 1] + (size_t)p0 * bl, *dv = w->dval[k - 1] + (size_t)p0 * bl;
    for (int p = 0; p < bl; p++) {
      double *dGr = dG + (size_t)p * br;
      const double vp = v[p], dvp = dv[p];
      for (int q = 0; q < br; q++) dGr[q] += dvp * a[q] + vp * da[q];
    }
  }
}

void tn_forward_tangent_vec(const tnace_tn *t, tnace_tn_ws *w, double *dJ) {
  const tnace_fusion *f = &t->fus;
  const int nu = t->nu;
  forward_tangent_levels(t, w, nu);
  const int K = t->bond[3 * nu];
  for (int b = 0; b < K; b++) dJ[b] = 0.0;
  for (int i = 0; i < f->n_nodes[nu - 1]; i++)
    for (int b = 0; b < K; b++) dJ[b] += f->coef[i] * w->dval[nu - 1][(size_t)i * K + b];
}
