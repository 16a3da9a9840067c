/*
 * grade.c — the extrapolation grade γ_i of one atomic environment (docs/extrapolation-grade.md).
 *
 * The features of an environment are the tangent features of the fitted model in its channel maps,
 * f = ∂E_i/∂U^(k) over every entry of the maps U^(k)[α][n][λ] of the centre species' terms (tn.h) — the rows
 * the trainer fits for one atom, i.e. the model linearised at its fitted cores, as MTP's and PACE's
 * D-optimality grades linearise theirs (Podryabinkin & Shapeev, Comput. Mater. Sci. 140, 171 (2017);
 * Lysogorskiy et al., PRM 7, 043801 (2023)). Each term is contracted by its channel route (never the pair
 * form or the right-to-left view, whose intermediate values differ) and its adjoint g^(k) = ∂E/∂c^(k) gives
 *   ∂E/∂U^(k)[α][n][λ]_q = Σ_m A_{α n l(λ) m} g^(k)_{(λ,m) q}        (tn_grad_U).
 * The trainer (src/fit/grade_fit.c) keeps m well-conditioned columns of these features and the inverse of
 * their values over a MaxVol active set of training environments; the grade is then
 *   γ_i = max_j |(f_i[col] A⁻¹)_j|,
 * ≤ 1 (up to MaxVol's tolerance) for every training environment and growing as an environment leaves their
 * span. Cost: one energy-and-adjoint contraction by the channel route, 2l+1 multiply-adds per selected
 * column and m² for the product with A⁻¹.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tn.h"
#include "tnace.h"

size_t tnace_grade_n_features(const tnace_potential *pot, int a) {
  size_t d = 0;
  for (int t = 0; t < pot->n_terms; t++)
    for (int L = 0; L < tnace_n_layers(pot, t); L++) {
      const tnace_tn *tn = tnace_layer(pot, a, t, L);
      for (int k = 0; k < tn->nu; k++) d += tn_U_size(tn, k);
    }
  return d;
}

/* Contract term t of species si (both layers of an MPO) to its adjoints: ws->tw.g (ket), ws->tw2.g (bra). An embed
 * term's features are its tangent at the fitted cores, as for the trainer's Gauss–Newton rows. */
static void term_adjoint(const tnace_potential *pot, tnace_workspace *ws, int si, int t) {
  const tnace_tn *tn = tnace_layer(pot, si, t, 0);
  tn_channels(tn, ws->A, pot->nmax, pot->lmax, &ws->tw, 0);
  if (pot->spec[t].model == TNACE_MODEL_MPO) {
    const tnace_tn *br = tnace_layer(pot, si, t, 1);
    tn_forward_vec(tn, &ws->tw, ws->J1);
    tn_channels(br, ws->A, pot->nmax, pot->lmax, &ws->tw2, 0);
    tn_forward_vec(br, &ws->tw2, ws->J2);
    tn_backward_seed(tn, &ws->tw, ws->J2);
    tn_backward_seed(br, &ws->tw2, ws->J1);
  } else if (pot->spec[t].model == TNACE_MODEL_EMB) { /* seeded with f'(J) (tn_embed) */
    tn_forward_vec(tn, &ws->tw, ws->J1);
    tn_embed(tn->bond[3 * tn->nu], pot->spec[t].escale, ws->J1, ws->J2, NULL);
    tn_backward_seed(tn, &ws->tw, ws->J2);
  } else {
    tn_forward(tn, &ws->tw);
    tn_backward(tn, &ws->tw);
  }
}

int tnace_atom_grade_features(const tnace_potential *pot, tnace_workspace *ws, int si, int n,
                              const double (*rij)[3], const int *sj, double *f) {
  if (pot->pool_size > 0) {
    snprintf(ws->err, sizeof ws->err, "no extrapolation grade for terms pooled over the structure (pool: true)");
    return TNACE_ERR_ARG;
  }
  int rc = tnace_atom_basis(pot, ws, si, n, rij, sj);
  if (rc) return rc;
  memset(f, 0, tnace_grade_n_features(pot, si) * sizeof(double));
  for (int t = 0; t < pot->n_terms; t++) {
    term_adjoint(pot, ws, si, t);
    for (int L = 0; L < tnace_n_layers(pot, t); L++) {
      const tnace_tn *tn = tnace_layer(pot, si, t, L);
      const tnace_tn_ws *w = L ? &ws->tw2 : &ws->tw;
      for (int k = 0; k < tn->nu; k++) {
        tn_grad_U(tn, k, ws->A, pot->nmax, pot->lmax, w->g[k], 1.0, 0, pot->n_el, f);
        f += tn_U_size(tn, k);
      }
    }
  }
  return 0;
}

/* Where feature c of species a comes from (the inverse of the layout of tnace_grade_n_features). */
static tnace_grade_col decode(const tnace_potential *pot, int a, size_t c) {
  tnace_grade_col d = {0, 0, 0, 1, 0, 0};
  const int nlmA = (pot->lmax + 1) * (pot->lmax + 1);
  for (int t = 0; t < pot->n_terms; t++)
    for (int L = 0; L < tnace_n_layers(pot, t); L++) {
      const tnace_tn *tn = tnace_layer(pot, a, t, L);
      for (int k = 0; k < tn->nu; k++) {
        const size_t u = tn_U_size(tn, k);
        if (c >= u) { c -= u; continue; }
        const int nl = tn->fus.n_lambda[k], bb = tn->bond[3 * k] * tn->bond[3 * k + 3];
        const int q = (int)(c % bb), lam = (int)(c / bb % nl), nn = (int)(c / bb / nl % tn->nmax);
        const int al = (int)(c / bb / nl / tn->nmax);
        d.chain = 2 * t + L;
        d.k = k;
        d.bb = bb;
        d.l = tn->fus.lam_l[k][lam];
        d.aoff = (al * pot->nmax + nn) * nlmA + d.l * d.l;
        d.goff = tn->fus.chan_off[k][lam] * bb + q;
        return d;
      }
    }
  return d;
}

int tnace_potential_has_grade(const tnace_potential *pot) { return pot && pot->has_grade; }

int tnace_atom_grade(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                     const int *sj, double *gamma) {
  if (!pot || !ws || !gamma) return TNACE_ERR_ARG;
  if (!pot->has_grade) {
    snprintf(ws->err, sizeof ws->err,
             "the potential has no extrapolation grade (fitted before the grade existed, or with grade: false; "
             "add one with tnace-fit CONFIG --grade-only)");
    return TNACE_ERR_VALUE;
  }
  int rc = tnace_atom_basis(pot, ws, si, n, rij, sj);
  if (rc) return rc;
  const tnace_grade_el *g = &pot->grade[si];
  const int m = g->m;
  for (int t = 0; t < pot->n_terms; t++) {
    term_adjoint(pot, ws, si, t);
    for (int c = 0; c < m; c++) {
      const tnace_grade_col *d = &g->dec[c];
      if (d->chain >> 1 != t) continue;
      const double *gk = ((d->chain & 1) ? ws->tw2.g : ws->tw.g)[d->k] + d->goff, *A = ws->A + d->aoff;
      double x = 0.0;
      for (int q = 0; q <= 2 * d->l; q++) x += A[q] * gk[(size_t)q * d->bb];
      ws->gz[c] = x;
    }
  }
  memset(ws->gc, 0, (size_t)m * sizeof(double));
  for (int k = 0; k < m; k++) {
    const double x = ws->gz[k];
    const double *row = g->ainv + (size_t)k * m;
    for (int j = 0; j < m; j++) ws->gc[j] += x * row[j];
  }
  double gmax = 0.0;
  for (int j = 0; j < m; j++) gmax = fmax(gmax, fabs(ws->gc[j]));
  if (!isfinite(gmax)) {
    snprintf(ws->err, sizeof ws->err, "non-finite extrapolation grade for a %s atom with %d neighbours",
             pot->elem[si], ws->n_in);
    return TNACE_ERR_NUMERIC;
  }
  *gamma = gmax;
  return 0;
}

void tnace_potential_clear_grade(tnace_potential *pot) {
  for (int a = 0; a < TNACE_MAX_ELEMENTS; a++) {
    free(pot->grade[a].col);
    free(pot->grade[a].ainv);
    free(pot->grade[a].dec);
    memset(&pot->grade[a], 0, sizeof pot->grade[a]);
  }
  pot->has_grade = 0;
}

int tnace_potential_set_grade(tnace_potential *pot, int a, int m, const int *col, const double *ainv, long n_train,
                              char *err, size_t errlen) {
  if (a < 0 || a >= pot->n_el) {
    snprintf(err, errlen, "grade: species index %d out of range", a);
    return TNACE_ERR_ARG;
  }
  const size_t D = tnace_grade_n_features(pot, a);
  if (m < 1 || (size_t)m > D || m > TNACE_MAX_GRADE_SIZE) {
    snprintf(err, errlen, "grade of %s: %d columns; 1..%zu allowed (the model's features, at most %d)", pot->elem[a],
             m, D, TNACE_MAX_GRADE_SIZE);
    return TNACE_ERR_VALUE;
  }
  for (int k = 0; k < m; k++)
    if (col[k] < 0 || (size_t)col[k] >= D) {
      snprintf(err, errlen, "grade of %s: columns[%d] = %d is not a feature index (0..%zu)", pot->elem[a], k, col[k],
               D - 1);
      return TNACE_ERR_VALUE;
    }
  for (size_t i = 0; i < (size_t)m * m; i++)
    if (!isfinite(ainv[i])) {
      snprintf(err, errlen, "grade of %s: active_set_inverse[%zu] is not finite", pot->elem[a], i);
      return TNACE_ERR_VALUE;
    }
  tnace_grade_el *g = &pot->grade[a];
  int *c = malloc((size_t)m * sizeof(int));
  double *v = malloc((size_t)m * m * sizeof(double));
  tnace_grade_col *dec = malloc((size_t)m * sizeof *dec);
  if (!c || !v || !dec) {
    free(c); free(v); free(dec);
    snprintf(err, errlen, "grade: out of memory");
    return TNACE_ERR_NOMEM;
  }
  memcpy(c, col, (size_t)m * sizeof(int));
  memcpy(v, ainv, (size_t)m * m * sizeof(double));
  for (int k = 0; k < m; k++) dec[k] = decode(pot, a, (size_t)col[k]);
  free(g->col); free(g->ainv); free(g->dec);
  g->col = c; g->ainv = v; g->dec = dec; g->m = m; g->D = (int)D; g->n_train = n_train;
  int all = 1;
  for (int b = 0; b < pot->n_el; b++) all &= pot->grade[b].m > 0;
  pot->has_grade = all;
  return 0;
}
