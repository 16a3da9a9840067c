/*
 * potential.c — the per-atom evaluator: atomic base A_{αnlm} (Sommer & Dunham eq. 9–10), the MPS terms
 * (tn.c), the ZBL core, and analytic forces by the adjoint (∂E/∂A once, then one neighbour pass).
 */
#include "kern.h"
#include "model.h"
#include "radial.h"
#include "util.h"
#include "ylm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TNACE_PI 3.14159265358979323846

void tnace_potential_free(tnace_potential *pot) {
  if (!pot) return;
  if (pot->tn)
    for (int i = 0; i < pot->n_el * pot->n_terms; i++) tn_free(&pot->tn[i]);
  if (pot->tn_bra)
    for (int i = 0; i < pot->n_el * pot->n_terms; i++) tn_free(&pot->tn_bra[i]);
  free(pot->tn);
  free(pot->tn_bra);
  tnace_meta_free(pot->meta);
  tnace_potential_clear_grade(pot);
  free(pot);
}

/* Re-allocate term tn with the bonds next to its species sites capped for species rank d (model.h):
 * bond[3k+1] ≤ d·bond[3k] and bond[3k] ≤ d·bond[3k+1], applied left to right then right to left. */
static int cap_species_bonds(tnace_tn *tn, int d, int scopies, char *err, size_t errlen) {
  int bond[TNACE_MAX_SITES + 1], ph[TNACE_MAX_SITES];
  const int nu = tn->nu, ns = 3 * nu, lmax = tn->lmax, nmax = tn->nmax, ne = tn->n_el;
  memcpy(bond, tn->bond, sizeof bond);
  /* a species site acts as a site of physical dimension d; keep every bond within the TT ranks that the
   * (effective) site dimensions allow on either side, so QR/LQ gauge moves stay full rank */
  if (d <= 0 || d > ne) d = ne;
  for (int s = 0; s < ns; s++) ph[s] = s % 3 == 0 ? (scopies > 0 && s / 3 >= scopies ? 1 : d) : tn->phys[s];
  tn_clamp_bonds(ns, ph, bond);
  tn_free(tn);
  return tn_init_bonds(tn, nu, lmax, nmax, ne, bond, err, errlen);
}

int tnace_potential_create(tnace_potential **out, int n_el, const char *const *elem, int n_terms,
                           const tnace_term_spec *spec, double rcut, double lambda, char *err, size_t errlen) {
  *out = NULL;
  if (n_el < 1 || n_el > TNACE_MAX_ELEMENTS) {
    snprintf(err, errlen, "elements: %d elements (allowed 1..%d)", n_el, TNACE_MAX_ELEMENTS);
    return TNACE_ERR_VALUE;
  }
  if (n_terms < 0 || n_terms > TNACE_MAX_TERMS) {
    snprintf(err, errlen, "terms: %d terms (allowed 0..%d)", n_terms, TNACE_MAX_TERMS);
    return TNACE_ERR_VALUE;
  }
  if (!(rcut > 0.0) || !(rcut <= TNACE_MAX_CUTOFF) || !(lambda > 0.0) || !isfinite(lambda)) {
    snprintf(err, errlen, "cutoff %g (0..%g Å) and radial lambda %g (> 0, finite) out of range", rcut, TNACE_MAX_CUTOFF,
             lambda);
    return TNACE_ERR_VALUE;
  }
  tnace_potential *p = calloc(1, sizeof *p);
  if (!p) { snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
  p->n_el = n_el;
  for (int a = 0; a < n_el; a++) {
    int z = tnace_atomic_number(elem[a]);
    if (!z) {
      snprintf(err, errlen, "elements: unknown chemical element '%s'", elem[a]);
      free(p);
      return TNACE_ERR_ELEMENT;
    }
    for (int b = 0; b < a; b++)
      if (strcmp(p->elem[b], elem[a]) == 0) {
        snprintf(err, errlen, "elements: '%s' listed twice", elem[a]);
        free(p);
        return TNACE_ERR_VALUE;
      }
    snprintf(p->elem[a], sizeof p->elem[a], "%s", elem[a]);
    p->Z[a] = z;
    for (int b = 0; b < n_el; b++) p->rcut[a][b] = rcut;
  }
  p->lambda = lambda;
  p->n_terms = n_terms;
  p->tn = calloc((size_t)(n_el * (n_terms ? n_terms : 1)), sizeof(tnace_tn));
  p->tn_bra = calloc((size_t)(n_el * (n_terms ? n_terms : 1)), sizeof(tnace_tn));
  if (!p->tn || !p->tn_bra) { free(p->tn); free(p->tn_bra); free(p); snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
  for (int t = 0; t < n_terms; t++) {
    p->spec[t] = spec[t];
    const int mpo = spec[t].model == TNACE_MODEL_MPO, emb = spec[t].model == TNACE_MODEL_EMB;
    if (spec[t].model != TNACE_MODEL_MPS && !mpo && !emb) {
      snprintf(err, errlen, "terms[%d]: unknown model %d", t, spec[t].model);
      tnace_potential_free(p);
      return TNACE_ERR_VALUE;
    }
    if (emb && (spec[t].rank < 2 || !(spec[t].escale >= 0 && spec[t].escale <= TNACE_MAX_EMBED_SCALE) || spec[t].pool)) {
      snprintf(err, errlen, "terms[%d]: an embed term needs rank ≥ 2 (got %d), 0 ≤ scale ≤ %g eV (got %g) and no pool",
               t, spec[t].rank, TNACE_MAX_EMBED_SCALE, spec[t].escale);
      tnace_potential_free(p);
      return TNACE_ERR_VALUE;
    }
    const int K = mpo ? (spec[t].rank > 0 ? spec[t].rank : spec[t].chi) : emb ? spec[t].rank : 1;
    p->spec[t].rank = mpo || emb ? K : 0;
    p->spec[t].escale = emb ? (spec[t].escale > 0 ? spec[t].escale : 1.0) : 0.0;
    for (int a = 0; a < n_el; a++)
      for (int layer = 0; layer < (mpo ? 2 : 1); layer++) {
        tnace_tn *tn = tnace_layer(p, a, t, layer);
        int rc = tn_init_open(tn, spec[t].nu, spec[t].lmax, spec[t].nmax, n_el, spec[t].chi, K, err, errlen);
        if (!rc && ((spec[t].srank > 0 && spec[t].srank < n_el) || (spec[t].scopies > 0 && spec[t].scopies < spec[t].nu)))
          rc = cap_species_bonds(tn, spec[t].srank, spec[t].scopies, err, errlen);
        if (rc) { tnace_potential_free(p); return rc; }
      }
  }
  int rc = tnace_potential_prepare(p, err, errlen);
  if (rc) { tnace_potential_free(p); return rc; }
  *out = p;
  return 0;
}

int tnace_potential_prepare(tnace_potential *pot, char *err, size_t errlen) {
  pot->nmax = 1;
  pot->lmax = 0;
  pot->rcut_max = 0.0;
  for (int a = 0; a < pot->n_el; a++)
    for (int b = 0; b < pot->n_el; b++)
      if (pot->rcut[a][b] > pot->rcut_max) pot->rcut_max = pot->rcut[a][b];
  for (int l = 0; l <= TNACE_LMAX_LIMIT; l++) pot->nmax_l[l] = 0;
  for (int t = 0; t < pot->n_terms; t++) {
    for (int a = 0; a < pot->n_el; a++) {
      tnace_tn *tn = &pot->tn[a * pot->n_terms + t];
      if (tn->nmax > pot->nmax) pot->nmax = tn->nmax;
      if (tn->lmax > pot->lmax) pot->lmax = tn->lmax;
      for (int l = 0; l <= tn->lmax && l <= TNACE_LMAX_LIMIT; l++)
        if (tn->nmax > pot->nmax_l[l]) pot->nmax_l[l] = tn->nmax;
      if (tn_prepare(tn)) { snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
      if (pot->spec[t].model == TNACE_MODEL_MPO && tn_prepare(&pot->tn_bra[a * pot->n_terms + t])) {
        snprintf(err, errlen, "out of memory");
        return TNACE_ERR_NOMEM;
      }
    }
  }
  pot->pool_size = 0;
  for (int t = 0; t < pot->n_terms; t++) {
    pot->pool_off[t] = pot->pool_size;
    if (pot->spec[t].pool) pot->pool_size += 2 * pot->tn[t].bond[3 * pot->tn[t].nu];
  }
  if (pot->lmax > TNACE_LMAX_LIMIT) {
    snprintf(err, errlen, "lmax %d exceeds the supported %d", pot->lmax, TNACE_LMAX_LIMIT);
    return TNACE_ERR_VALUE;
  }
  return 0;
}

int tnace_potential_n_elements(const tnace_potential *pot) { return pot ? pot->n_el : 0; }

const char *tnace_potential_property(const tnace_potential *pot) {
  return pot && pot->prop.set ? pot->prop.name : NULL;
}

const char *tnace_potential_element(const tnace_potential *pot, int s) {
  return (pot && s >= 0 && s < pot->n_el) ? pot->elem[s] : NULL;
}

int tnace_potential_element_index(const tnace_potential *pot, const char *sym) {
  if (pot && sym)
    for (int a = 0; a < pot->n_el; a++)
      if (strcmp(pot->elem[a], sym) == 0) return a;
  return TNACE_ERR_ELEMENT;
}

double tnace_potential_cutoff(const tnace_potential *pot, int a, int b) {
  if (!pot || a < 0 || b < 0 || a >= pot->n_el || b >= pot->n_el) return 0.0;
  return pot->rcut[a][b];
}

double tnace_potential_cutoff_max(const tnace_potential *pot) { return pot ? pot->rcut_max : 0.0; }

double tnace_potential_e0(const tnace_potential *pot, int s) {
  return (pot && s >= 0 && s < pot->n_el) ? pot->e0[s] : 0.0;
}

long tnace_potential_n_params(const tnace_potential *pot) {
  long n = 0;
  for (int i = 0; pot && i < pot->n_el * pot->n_terms; i++) {
    if (pot->spec[i % pot->n_terms].shared && i >= pot->n_terms) continue; /* one set of cores for all centres */
    n += (long)tn_n_params(&pot->tn[i]);
    if (pot->spec[i % pot->n_terms].model == TNACE_MODEL_MPO) n += (long)tn_n_params(&pot->tn_bra[i]);
  }
  return n;
}

/* ---- workspace ------------------------------------------------------------------------------ */

tnace_workspace *tnace_workspace_new(const tnace_potential *pot, int max_neigh) {
  tnace_workspace *ws = calloc(1, sizeof *ws);
  if (!ws) return NULL;
  ws->pot = pot;
  const int nlm = (pot->lmax + 1) * (pot->lmax + 1);
  ws->A_size = (size_t)pot->n_el * pot->nmax * nlm;
  /* calloc: the entries of A and dEdA outside the basis mask are never written and must read as 0 */
  ws->A = calloc(ws->A_size, sizeof(double));
  ws->dEdA = calloc(ws->A_size, sizeof(double));
  ws->lm_end = malloc((size_t)pot->nmax * sizeof(int));
  ws->rblk = malloc(3 * (size_t)pot->nmax * sizeof(int));
  ws->cblk = malloc(3 * (size_t)nlm * sizeof(int));
  int bad = !ws->A || !ws->dEdA || !ws->lm_end || !ws->rblk || !ws->cblk;
  /* lm_end[n]: the (l, m) with n < nmax_l[l] form a prefix lm < lm_end[n] when nmax_l decreases with l;
   * otherwise fall back to the full row (values outside the mask are then computed but unused) */
  int prefix_all = 1;
  for (int n = 0; !bad && n < pot->nmax; n++) {
    int lend = -1;
    for (int l = 0; l <= pot->lmax; l++)
      if (n < pot->nmax_l[l]) lend = l;
    int prefix = 1;
    for (int l = 0; l <= lend; l++) prefix &= n < pot->nmax_l[l];
    ws->lm_end[n] = prefix ? (lend + 1) * (lend + 1) : nlm;
    if (n > 0 && ws->lm_end[n] > ws->lm_end[n - 1]) prefix_all = 0;
  }
  if (!prefix_all) /* the column blocks below need lm_end non-increasing in n */
    for (int n = 0; !bad && n < pot->nmax; n++) ws->lm_end[n] = nlm;
  /* row blocks (runs of equal lm_end) and column blocks (runs of equal row count) of the mask */
  ws->n_rblk = ws->n_cblk = 0;
  for (int n = 0; !bad && n < pot->nmax; n++) {
    if (ws->n_rblk && ws->rblk[3 * ws->n_rblk - 2] == n && ws->rblk[3 * ws->n_rblk - 1] == ws->lm_end[n]) {
      ws->rblk[3 * ws->n_rblk - 2] = n + 1;
      continue;
    }
    int *b = ws->rblk + 3 * ws->n_rblk++;
    b[0] = n; b[1] = n + 1; b[2] = ws->lm_end[n];
  }
  for (int c = 0; !bad && c < nlm; c++) {
    int rows = 0;
    while (rows < pot->nmax && ws->lm_end[rows] > c) rows++;
    if (!rows) break;
    if (ws->n_cblk && ws->cblk[3 * ws->n_cblk - 1] == rows) {
      ws->cblk[3 * ws->n_cblk - 2] = c + 1;
      continue;
    }
    int *b = ws->cblk + 3 * ws->n_cblk++;
    b[0] = c; b[1] = c + 1; b[2] = rows;
  }
  int kmax = 1;
  for (int i = 0; !bad && i < pot->n_el * pot->n_terms; i++) {
    bad = tn_ws_reserve(&ws->tw, &pot->tn[i]) != 0;
    if (!bad && pot->spec[i % pot->n_terms].model == TNACE_MODEL_MPO)
      bad = tn_ws_reserve(&ws->tw2, &pot->tn_bra[i]) != 0;
    if (pot->spec[i % pot->n_terms].rank > kmax) kmax = pot->spec[i % pot->n_terms].rank;
  }
  ws->J1 = malloc((size_t)kmax * sizeof(double));
  ws->J2 = malloc((size_t)kmax * sizeof(double));
  /* the extrapolation grade's buffers (grade.c), for any grade the potential may get later */
  ws->gz = malloc(TNACE_MAX_GRADE_SIZE * sizeof(double));
  ws->gc = malloc(TNACE_MAX_GRADE_SIZE * sizeof(double));
  bad = bad || !ws->J1 || !ws->J2 || !ws->gz || !ws->gc;
  if (bad || tnace_workspace_reserve(ws, max_neigh < 16 ? 16 : max_neigh)) {
    tnace_workspace_free(ws);
    return NULL;
  }
  return ws;
}

int tnace_workspace_reserve(tnace_workspace *ws, int max_neigh) {
  if (max_neigh <= ws->cap) return 0;
  const tnace_potential *pot = ws->pot;
  const size_t c = (size_t)max_neigh, nlm = (size_t)(pot->lmax + 1) * (pot->lmax + 1);
  int *idx = realloc(ws->idx, c * sizeof(int));
  if (idx) ws->idx = idx;
  int *sp = realloc(ws->spec, c * sizeof(int));
  if (sp) ws->spec = sp;
  double *r = realloc(ws->r, c * sizeof(double));
  if (r) ws->r = r;
  double *rh = realloc(ws->rhat, 3 * c * sizeof(double));
  if (rh) ws->rhat = rh;
  double *g = realloc(ws->g, c * pot->nmax * sizeof(double));
  if (g) ws->g = g;
  double *dg = realloc(ws->dg, c * pot->nmax * sizeof(double));
  if (dg) ws->dg = dg;
  double *Y = realloc(ws->Y, c * nlm * sizeof(double));
  if (Y) ws->Y = Y;
  double *dY = realloc(ws->dY, (3 * c * nlm + 1) * sizeof(double)); /* +1: tnace_dot_grad reads one past */
  if (dY) ws->dY = dY;
  double *W = realloc(ws->W, c * nlm * sizeof(double));
  if (W) ws->W = W;
  double *Wd = realloc(ws->Wd, c * nlm * sizeof(double));
  if (Wd) ws->Wd = Wd;
  int *go = realloc(ws->goff, c * sizeof(int));
  if (go) ws->goff = go;
  int *yo = realloc(ws->yoff, c * sizeof(int));
  if (yo) ws->yoff = yo;
  if (!idx || !sp || !r || !rh || !g || !dg || !Y || !dY || !W || !Wd || !go || !yo) return TNACE_ERR_NOMEM;
  ws->cap = max_neigh;
  return 0;
}

void tnace_workspace_free(tnace_workspace *ws) {
  if (!ws) return;
  free(ws->idx); free(ws->spec); free(ws->r); free(ws->rhat); free(ws->g); free(ws->dg);
  free(ws->Y); free(ws->dY); free(ws->A); free(ws->dEdA); free(ws->lm_end); free(ws->rblk); free(ws->cblk);
  free(ws->W); free(ws->Wd); free(ws->goff); free(ws->yoff);
  free(ws->J1); free(ws->J2);
  free(ws->gz); free(ws->gc);
  tn_ws_free(&ws->tw);
  tn_ws_free(&ws->tw2);
  free(ws);
}

const char *tnace_workspace_error(const tnace_workspace *ws) { return ws ? ws->err : ""; }

/* ---- per-atom evaluation -------------------------------------------------------------------- */

/* The neighbours (of the last tnace_atom_basis) of species b as rows of g and Y: returns their count; *go
 * and *yo get tables of offsets into g and Y (ws->goff, ws->yoff), or NULL for a single-species potential,
 * whose neighbours are all rows (strides nmax and (lmax+1)²). */
static int species_rows(const tnace_potential *pot, tnace_workspace *ws, int b, const int **go, const int **yo) {
  if (pot->n_el == 1) {
    *go = *yo = NULL;
    return ws->n_in;
  }
  const int nmax = pot->nmax, nlm = (pot->lmax + 1) * (pot->lmax + 1);
  int c = 0;
  for (int m = 0; m < ws->n_in; m++)
    if (ws->spec[m] == b) {
      ws->goff[c] = m * nmax;
      ws->yoff[c] = m * nlm;
      c++;
    }
  *go = ws->goff;
  *yo = ws->yoff;
  return c;
}

int tnace_atom_basis(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                     const int *sj) {
  ws->err[0] = '\0';
  ws->n_in = 0;
  if (si < 0 || si >= pot->n_el) {
    snprintf(ws->err, sizeof ws->err, "centre species index %d out of range 0..%d", si, pot->n_el - 1);
    return TNACE_ERR_ARG;
  }
  if (n > ws->cap) {
    snprintf(ws->err, sizeof ws->err, "%d neighbours exceed the workspace capacity %d (call tnace_workspace_reserve)",
             n, ws->cap);
    return TNACE_ERR_CAPACITY;
  }
  const int nmax = pot->nmax, lmax = pot->lmax, nlm = (lmax + 1) * (lmax + 1);
  const double inv_el = 1.0 / expm1(pot->lambda); /* the radial basis' constant (radial.h), once per atom */
  int m = 0;
  for (int j = 0; j < n; j++) {
    const int b = sj[j];
    if (b < 0) continue;
    if (b >= pot->n_el) {
      snprintf(ws->err, sizeof ws->err, "neighbour %d: species index %d out of range 0..%d", j, b, pot->n_el - 1);
      return TNACE_ERR_ARG;
    }
    const double x = rij[j][0], y = rij[j][1], z = rij[j][2];
    if (!isfinite(x) || !isfinite(y) || !isfinite(z)) {
      snprintf(ws->err, sizeof ws->err, "neighbour %d: non-finite displacement (%g, %g, %g)", j, x, y, z);
      return TNACE_ERR_NUMERIC;
    }
    const double r2 = x * x + y * y + z * z;
    const double rc = pot->rcut[si][b];
    if (r2 >= rc * rc) continue;
    const double r = sqrt(r2);
    if (r <= pot->r_min || r == 0.0) {
      snprintf(ws->err, sizeof ws->err,
               "atoms %s–%s at %.6g Å, closer than the potential's r_min = %g Å", pot->elem[si], pot->elem[b], r,
               pot->r_min);
      return TNACE_ERR_TOO_CLOSE;
    }
    ws->idx[m] = j;
    ws->spec[m] = b;
    ws->r[m] = r;
    ws->rhat[3 * m] = x / r; ws->rhat[3 * m + 1] = y / r; ws->rhat[3 * m + 2] = z / r;
    tnace_radial_eval_el(nmax, rc, pot->lambda, inv_el, r, ws->g + (size_t)m * nmax, ws->dg + (size_t)m * nmax);
    tnace_ylm(lmax, rij[j], ws->Y + (size_t)m * nlm, (double(*)[3])(ws->dY + (size_t)m * nlm * 3));
    m++;
  }
  ws->n_in = m;
  /* A_{b n lm} = Σ_{j of species b} g_jn Y_jlm, one product over the neighbours per species and per block
   * of rows with the same mask (row n reaches up to lm_end[n]); this also zeroes the previous atom's A */
  for (int b = 0; b < pot->n_el; b++) {
    const int *go, *yo;
    const int cnt = species_rows(pot, ws, b, &go, &yo);
    double *A = ws->A + (size_t)b * nmax * nlm;
    for (int k = 0; k < ws->n_rblk; k++) {
      const int *rb = ws->rblk + 3 * k;
      tnace_mm_tn(rb[1] - rb[0], rb[2], cnt, ws->g + rb[0], nmax, go, ws->Y, nlm, yo, A + (size_t)rb[0] * nlm, nlm, 0);
    }
  }
  return 0;
}

/* ZBL universal screened Coulomb pair energy φ(r) (eV) and dφ/dr. */
static void zbl(int Z1, int Z2, double r, double *phi, double *dphi) {
  static const double c[4] = {0.18175, 0.50986, 0.28022, 0.02817};
  static const double d[4] = {3.19980, 0.94229, 0.40290, 0.20162};
  const double ke = 14.399645478425668; /* e²/(4πε0) in eV·Å */
  const double a = 0.46850 / (pow(Z1, 0.23) + pow(Z2, 0.23));
  double s = 0.0, ds = 0.0;
  for (int k = 0; k < 4; k++) {
    const double e = c[k] * exp(-d[k] * r / a);
    s += e;
    ds += -d[k] / a * e;
  }
  const double pre = ke * Z1 * Z2;
  *phi = pre * s / r;
  *dphi = pre * (ds / r - s / (r * r));
}

/* E_i and ∂E_i/∂r_ij (tnace_atom_energy); pooled terms use the structure means `mean` (tnace_atom_energy_pooled). */
static int atom_energy(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                       const int *sj, const double *mean, double *energy, double (*dEdr)[3]) {
  int rc = tnace_atom_basis(pot, ws, si, n, rij, sj);
  if (rc) return rc;
  const int nmax = pot->nmax, lmax = pot->lmax, nlm = (lmax + 1) * (lmax + 1);
  double E = pot->e0[si];
  if (dEdr) memset(ws->dEdA, 0, ws->A_size * sizeof(double));
  for (int t = 0; t < pot->n_terms; t++) {
    const tnace_tn *tn = &pot->tn[si * pot->n_terms + t];
    /* an MPS term is contracted right to left when that trie is cheaper (tn.h: rev) */
    const tnace_tn *ev = pot->spec[t].model != TNACE_MODEL_MPO && tn->rev ? tn->rev : tn;
    if (!tn->S) tn_channels(ev, ws->A, nmax, lmax, &ws->tw, 0);
    if (pot->spec[t].model == TNACE_MODEL_MPO) {
      /* E_t = Σ_b J_b J'_b; each layer's adjoint is seeded with the other layer's J */
      const tnace_tn *br = &pot->tn_bra[si * pot->n_terms + t];
      const int K = tn->bond[3 * tn->nu];
      tn_forward_vec(tn, &ws->tw, ws->J1);
      tn_channels(br, ws->A, nmax, lmax, &ws->tw2, 0);
      tn_forward_vec(br, &ws->tw2, ws->J2);
      /* pooled: E_i = ½ (J_i·J̄' + J̄·J'_i), Σ_i E_i = N J̄·J̄'; the adjoints are seeded with the means, so that
       * Σ_i ∂E_i/∂r is the gradient of the structure's term (each atom's J enters both means) */
      const double *sk = pot->spec[t].pool ? mean + pot->pool_off[t] + K : ws->J2;
      const double *sb = pot->spec[t].pool ? mean + pot->pool_off[t] : ws->J1;
      if (pot->spec[t].pool)
        for (int b = 0; b < K; b++) E += 0.5 * (ws->J1[b] * sk[b] + sb[b] * ws->J2[b]);
      else
        for (int b = 0; b < K; b++) E += ws->J1[b] * ws->J2[b];
      if (dEdr) {
        tn_backward_seed(tn, &ws->tw, sk);
        tn_grad_A(tn, &ws->tw, ws->dEdA, nmax, lmax);
        tn_backward_seed(br, &ws->tw2, sb);
        tn_grad_A(br, &ws->tw2, ws->dEdA, nmax, lmax);
      }
      continue;
    }
    if (pot->spec[t].model == TNACE_MODEL_EMB) { /* E_t = J_0 + Σ_b f(J_b), adjoint seeded with f'(J) */
      tn_forward_vec(tn, &ws->tw, ws->J1);
      E += tn_embed(tn->bond[3 * tn->nu], pot->spec[t].escale, ws->J1, ws->J2, NULL);
      if (dEdr) {
        tn_backward_seed(tn, &ws->tw, ws->J2);
        tn_grad_A(tn, &ws->tw, ws->dEdA, nmax, lmax);
      }
      continue;
    }
    if (tn->S) { /* pair form (tn.h): cheaper than channels, trie and ∂E/∂A for this ν = 2 term */
      E += tn_pair_energy(tn, ws->A, nmax, lmax, &ws->tw, dEdr ? ws->dEdA : NULL);
      continue;
    }
    E += tn_forward(ev, &ws->tw);
    if (dEdr) {
      tn_backward(ev, &ws->tw);
      tn_grad_A(ev, &ws->tw, ws->dEdA, nmax, lmax);
    }
  }
  if (dEdr) {
    for (int j = 0; j < n; j++) dEdr[j][0] = dEdr[j][1] = dEdr[j][2] = 0.0;
    /* ∂E/∂r_j = Σ_{n,lm} ∂E/∂A_{b n lm} (g_n' r̂ Y_lm + g_n ∇Y_lm): contract over n first, for all
     * neighbours of a species at once, W_j = Σ_n g_jn ∂E/∂A_{b n ·} and Wd_j = Σ_n g'_jn ∂E/∂A_{b n ·}
     * (per column block of the mask: columns used by the first `rows` radial functions) */
    for (int b = 0; b < pot->n_el; b++) {
      const int *go, *yo;
      const int cnt = species_rows(pot, ws, b, &go, &yo);
      const double *dA = ws->dEdA + (size_t)b * nmax * nlm;
      for (int k = 0; k < ws->n_cblk; k++) {
        const int *cb = ws->cblk + 3 * k, w = cb[1] - cb[0];
        tnace_mm_nn(cnt, w, cb[2], ws->g, nmax, go, dA + cb[0], nlm, ws->W + cb[0], nlm, yo, 0);
        tnace_mm_nn(cnt, w, cb[2], ws->dg, nmax, go, dA + cb[0], nlm, ws->Wd + cb[0], nlm, yo, 0);
      }
    }
    const int nlm_used = ws->n_cblk ? ws->cblk[3 * ws->n_cblk - 2] : 0;
    for (int m = 0; m < ws->n_in; m++) {
      double d[4]; /* Σ_lm Wd_lm Y_lm (radial part), Σ_lm W_lm ∇Y_lm */
      tnace_dot_grad(nlm_used, ws->W + (size_t)m * nlm, ws->Wd + (size_t)m * nlm, ws->Y + (size_t)m * nlm,
                     ws->dY + (size_t)m * nlm * 3, d);
      const double *rh = ws->rhat + 3 * m;
      double *o = dEdr[ws->idx[m]];
      o[0] += d[0] * rh[0] + d[1];
      o[1] += d[0] * rh[1] + d[2];
      o[2] += d[0] * rh[2] + d[3];
    }
  }
  /* the repulsive core, pairwise */
  for (int m = 0; pot->rep_type == TNACE_REP_ZBL && m < ws->n_in; m++) {
    const double r = ws->r[m];
    if (r >= pot->rep_outer) continue;
    const double *rh = ws->rhat + 3 * m;
    double phi, dphi, sw = 1.0, dsw = 0.0;
    zbl(pot->Z[si], pot->Z[ws->spec[m]], r, &phi, &dphi);
    if (r > pot->rep_inner) {
      const double w = pot->rep_outer - pot->rep_inner, u = TNACE_PI * (r - pot->rep_inner) / w;
      sw = 0.5 * (1.0 + cos(u));
      dsw = -0.5 * sin(u) * TNACE_PI / w;
    }
    E += 0.5 * phi * sw;
    if (dEdr) {
      const double de = 0.5 * (dphi * sw + phi * dsw);
      double *o = dEdr[ws->idx[m]];
      o[0] += de * rh[0]; o[1] += de * rh[1]; o[2] += de * rh[2];
    }
  }
  double dsum = 0.0;   /* one NaN or Inf anywhere makes the sum non-finite */
  for (int j = 0; dEdr && j < n; j++) dsum += dEdr[j][0] + dEdr[j][1] + dEdr[j][2];
  if (!isfinite(E) || !isfinite(dsum)) {
    snprintf(ws->err, sizeof ws->err, "non-finite %s for a %s atom with %d neighbours",
             isfinite(E) ? "forces" : "energy", pot->elem[si], ws->n_in);
    return TNACE_ERR_NUMERIC;
  }
  *energy = E;
  return 0;
}

int tnace_atom_energy(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                      const int *sj, double *energy, double (*dEdr)[3]) {
  if (pot->pool_size > 0) {
    snprintf(ws->err, sizeof ws->err, "the potential has terms pooled over the structure (pool: true): an atom's "
                                      "energy needs the structure's means (tnace_atom_energy_pooled)");
    return TNACE_ERR_ARG;
  }
  return atom_energy(pot, ws, si, n, rij, sj, NULL, energy, dEdr);
}

int tnace_potential_pool_size(const tnace_potential *pot) { return pot ? pot->pool_size : 0; }

int tnace_atom_pool(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                    const int *sj, double *acc) {
  if (pot->pool_size == 0) return 0;
  int rc = tnace_atom_basis(pot, ws, si, n, rij, sj);
  if (rc) return rc;
  for (int t = 0; t < pot->n_terms; t++) {
    if (!pot->spec[t].pool) continue;
    const tnace_tn *tn = tnace_layer(pot, si, t, 0), *br = tnace_layer(pot, si, t, 1);
    const int K = tn->bond[3 * tn->nu];
    double *o = acc + pot->pool_off[t];
    tn_channels(tn, ws->A, pot->nmax, pot->lmax, &ws->tw, 0);
    tn_forward_vec(tn, &ws->tw, ws->J1);
    tn_channels(br, ws->A, pot->nmax, pot->lmax, &ws->tw2, 0);
    tn_forward_vec(br, &ws->tw2, ws->J2);
    for (int b = 0; b < K; b++) { o[b] += ws->J1[b]; o[K + b] += ws->J2[b]; }
  }
  return 0;
}

int tnace_atom_energy_pooled(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                             const int *sj, const double *mean, double *energy, double (*dEdr)[3]) {
  if (pot->pool_size > 0 && !mean) {
    snprintf(ws->err, sizeof ws->err, "pooled terms need the structure means (NULL given)");
    return TNACE_ERR_ARG;
  }
  return atom_energy(pot, ws, si, n, rij, sj, mean, energy, dEdr);
}
