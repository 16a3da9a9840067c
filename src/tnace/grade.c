/*
 * grade.c — the extrapolation grade γ_i of one atomic environment (docs/extrapolation-grade.md).
 *
 * The features of an environment are the tangent features of the fitted model, f = ∂E_i/∂θ over every core
 * entry θ of the centre species' terms: the model linearised at its fitted cores, as MTP's and PACE's
 * D-optimality grades linearise theirs (Podryabinkin & Shapeev, Comput. Mater. Sci. 140, 171 (2017);
 * Lysogorskiy et al., PRM 7, 043801 (2023)). Each term is contracted by its channel route (never the pair
 * form or the right-to-left view, whose intermediate values differ), its adjoint g^(k) = ∂E/∂c^(k) gives the
 * U-space gradient ∂E/∂U^(k) (tn_grad_U) and that the gradients of the three cores of copy k
 * (tn_grad_cores). The trainer (src/fit/grade_fit.c) keeps m well-conditioned columns of these features and
 * the inverse of their values over a MaxVol active set of training environments; the grade is then
 *   γ_i = max_j |(f_i[col] A⁻¹)_j|,
 * ≤ 1 (up to MaxVol's tolerance) for every training environment and growing as an environment leaves their
 * span. Cost: about one energy-and-adjoint evaluation plus m² multiply-adds per atom.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tn.h"
#include "tnace.h"

static size_t layer_params(const tnace_potential *pot, int a, int t, int layer) {
  return tn_n_params(tnace_layer(pot, a, t, layer));
}

size_t tnace_grade_n_features(const tnace_potential *pot, int a) {
  size_t d = 0;
  for (int t = 0; t < pot->n_terms; t++)
    for (int L = 0; L < tnace_n_layers(pot, t); L++) d += layer_params(pot, a, t, L);
  return d;
}

void tnace_grade_ws_sizes(const tnace_potential *pot, size_t *nf, size_t *nx, size_t *ntmp) {
  *nf = *nx = *ntmp = 1;
  for (int a = 0; a < pot->n_el; a++) {
    const size_t d = tnace_grade_n_features(pot, a);
    if (d > *nf) *nf = d;
    for (int t = 0; t < pot->n_terms; t++)
      for (int L = 0; L < tnace_n_layers(pot, t); L++) {
        const tnace_tn *tn = tnace_layer(pot, a, t, L);
        for (int k = 0; k < tn->nu; k++) {
          const size_t u = (size_t)tn->n_el * tn->nmax * tn->fus.n_lambda[k] * tn->bond[3 * k] * tn->bond[3 * k + 3];
          if (u > *nx) *nx = u;
        }
        if (tn_grad_cores_scratch(tn) > *ntmp) *ntmp = tn_grad_cores_scratch(tn);
      }
  }
}

/* Add the core gradients of one layer whose adjoint is in w (w->g) to f (the layer's cores, in site order). */
static void layer_features(const tnace_potential *pot, tnace_workspace *ws, const tnace_tn *tn, const tnace_tn_ws *w,
                           double *f) {
  size_t off[TNACE_MAX_SITES + 1];
  off[0] = 0;
  for (int s = 0; s < 3 * tn->nu; s++) off[s + 1] = off[s] + tn_core_size(tn, s);
  for (int k = 0; k < tn->nu; k++) {
    const size_t u = (size_t)tn->n_el * tn->nmax * tn->fus.n_lambda[k] * tn->bond[3 * k] * tn->bond[3 * k + 3];
    memset(ws->gX, 0, u * sizeof(double));
    tn_grad_U(tn, k, ws->A, pot->nmax, pot->lmax, w->g[k], 1.0, 0, pot->n_el, ws->gX);
    tn_grad_cores(tn, k, ws->gX, ws->gtmp, f + off[3 * k], f + off[3 * k + 1], f + off[3 * k + 2]);
  }
}

int tnace_atom_grade_features(const tnace_potential *pot, tnace_workspace *ws, int si, int n,
                              const double (*rij)[3], const int *sj, double *f) {
  int rc = tnace_atom_basis(pot, ws, si, n, rij, sj);
  if (rc) return rc;
  const size_t D = tnace_grade_n_features(pot, si);
  memset(f, 0, D * sizeof(double));
  for (int t = 0; t < pot->n_terms; t++) {
    const tnace_tn *tn = tnace_layer(pot, si, t, 0);
    tn_channels(tn, ws->A, pot->nmax, pot->lmax, &ws->tw, 0);
    if (pot->spec[t].model == TNACE_MODEL_MPO) {
      const tnace_tn *br = tnace_layer(pot, si, t, 1);
      tn_forward_vec(tn, &ws->tw, ws->J1);
      tn_channels(br, ws->A, pot->nmax, pot->lmax, &ws->tw2, 0);
      tn_forward_vec(br, &ws->tw2, ws->J2);
      tn_backward_seed(tn, &ws->tw, ws->J2);
      tn_backward_seed(br, &ws->tw2, ws->J1);
      layer_features(pot, ws, tn, &ws->tw, f);
      f += tn_n_params(tn);
      layer_features(pot, ws, br, &ws->tw2, f);
      f += tn_n_params(br);
    } else {
      tn_forward(tn, &ws->tw);
      tn_backward(tn, &ws->tw);
      layer_features(pot, ws, tn, &ws->tw, f);
      f += tn_n_params(tn);
    }
  }
  return 0;
}

int tnace_potential_has_grade(const tnace_potential *pot) { return pot && pot->has_grade; }

int tnace_atom_grade(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                     const int *sj, double *gamma) {
  if (!pot || !ws || !gamma) return TNACE_ERR_ARG;
  if (!pot->has_grade) {
    snprintf(ws->err, sizeof ws->err,
             "the potential has no extrapolation grade (fitted before tnace 0.2, or with grade: {size: 0}; add "
             "one with tnace-fit CONFIG --grade-only)");
    return TNACE_ERR_VALUE;
  }
  int rc = tnace_atom_grade_features(pot, ws, si, n, rij, sj, ws->gf);
  if (rc) return rc;
  const tnace_grade_el *g = &pot->grade[si];
  const int m = g->m;
  memset(ws->gc, 0, (size_t)m * sizeof(double));
  for (int k = 0; k < m; k++) {
    const double x = ws->gf[g->col[k]];
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
  if (m < 1 || (size_t)m > D) {
    snprintf(err, errlen, "grade of %s: %d columns, the model has %zu features (1..%zu allowed)", pot->elem[a], m, D, D);
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
  if (!c || !v) {
    free(c); free(v);
    snprintf(err, errlen, "grade: out of memory");
    return TNACE_ERR_NOMEM;
  }
  memcpy(c, col, (size_t)m * sizeof(int));
  memcpy(v, ainv, (size_t)m * m * sizeof(double));
  free(g->col); free(g->ainv);
  g->col = c; g->ainv = v; g->m = m; g->D = (int)D; g->n_train = n_train;
  int all = 1;
  for (int b = 0; b < pot->n_el; b++) all &= pot->grade[b].m > 0;
  pot->has_grade = all;
  return 0;
}
