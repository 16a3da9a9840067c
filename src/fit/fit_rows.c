/*
 * fit_rows.c — the rows of the least-squares problem of one sweep step (fit.h): which atoms give force
 * rows and with what weights (fit_plan_rows), the U-space rows of every structure for one copy level by
 * the forward, adjoint and tangent contractions of tn.h (fit_copy_pass), and their map to one core's
 * coordinates (fit_map_rows). The physics (A basis, contractions) is the evaluator's, used through the same
 * functions (tnace_atom_energy, tn_channels, ...).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_priv.h"
#include "util.h"

#define WS_NEIGH0 64 /* initial neighbour capacity of a pass workspace; grown per structure as needed */

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


static const double one3[3] = {1.0, 1.0, 1.0};

int fit_plan_rows(fit_ctx *F) {
  const tnace_dataset *ds = F->ds;
  const tnace_fit_opts *o = F->o;
  F->sr = calloc((size_t)ds->n, sizeof *F->sr);
  F->sel = calloc((size_t)ds->n, sizeof *F->sel);
  F->sel_row = calloc((size_t)ds->n, sizeof *F->sel_row);
  if (!F->sr || !F->sel || !F->sel_row) return TNACE_ERR_NOMEM;
  double we_sum = 0, wf_sum = 0, ws_sum = 0;
  for (int i = 0; i < ds->n; i++) {
    const tnace_struct *s = &ds->s[i];
    const double *ct = one3;   /* per-config_type factors of energy, forces, stress */
    for (int c = 0; c < o->n_ct; c++)
      if (strcmp(o->ct_name[c], s->config_type) == 0) ct = o->ct_weight[c];
    struct_rows *r = &F->sr[i];
    r->e_row = r->f_row = r->s_row = -1;
    int nr = 0;
    if (s->has_energy && o->kappa_e > 0) { r->e_row = nr++; r->w_e = s->weight * s->energy_weight * ct[0]; we_sum += r->w_e; }
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
      for (int a = 0; a < s->n; a++) h[a] = fit_hash_uniform(o->seed, (unsigned long long)i, (unsigned long long)a);
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
      r->w_f = s->weight * s->forces_weight * ct[1] * ((double)s->n / want);
      wf_sum += r->w_f * 3 * want;
    }
    int q = 0;
    for (int a = 0; a < s->n; a++) F->sel_row[i][a] = F->sel[i][a] ? q++ : -1;
    if (s->has_stress && s->volume > 0 && o->kappa_s > 0) {
      r->s_row = nr;
      nr += 6;
      r->w_s = s->weight * s->stress_weight * ct[2];
      ws_sum += 6 * r->w_s;
    }
    r->n_rows = nr;
    r->row0 = F->n_rows;
    r->species = 0;
    for (int a = 0; a < s->n; a++) r->species |= 1u << s->species[a];
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


/* ---- the copy pass: rows of every structure for one copy level --------------------------------- */

/* Per-thread scratch of a copy pass: the evaluator's workspace, every chain's contraction state (its
 * forward/adjoint state stays for the tangents) and the tangent buffers, allocated once per pass and
 * thread; only the per-structure force and neighbour buffers grow, per structure, never per atom. */
typedef struct {
  tnace_workspace *ws;
  tnace_tn_ws tw[TNACE_MAX_CHAINS];
  double *dA;                                        /* ∂A along one direction or strain, [n_el][nmax][nlm] */
  double *T;                                         /* one chain's tangent block in U space */
  double *u, *Qbuf;                                  /* pair tangents: radial factor, Σ_m y g products */
  double (*dEdr)[3], (*Fp)[3];                       /* per neighbour, per atom of the structure */
  int cap_n, cap_at;
  double *G[TNACE_MAX_CHAINS];                       /* adjoint g of the fitted copy */
  double *Pdg[TNACE_MAX_CHAINS][TNACE_MAX_NU], *Pg[TNACE_MAX_CHAINS][TNACE_MAX_NU];
  double *Pu[TNACE_MAX_CHAINS][TNACE_MAX_NU];        /* radial projections of one neighbour */
  double *Jv[TNACE_MAX_CHAINS], *dJv[TNACE_MAX_CHAINS]; /* MPO layers' J and its tangent */
  double *Ev[TNACE_MAX_CHAINS], *E2[TNACE_MAX_CHAINS];  /* embed chains: f'(J) and f''(J) (tn_embed) */
  double *pool;                                      /* the structure means of pooled terms (tnace_atom_pool) */
} pass_ws;

/* Largest n_λ(k) · b_{3k} · b_{3k+3} over the species of chain c (copy k), or over all copies (k < 0). */
static size_t lam_block_max(const fit_ctx *F, int c, int k) {
  size_t mx = 1;
  for (int a = 0; a < F->pot->n_el; a++) {
    const tnace_tn *tn = fit_chain(F, a, c);
    for (int kk = k < 0 ? 0 : k; kk < tn->nu && (k < 0 || kk == k); kk++) {
      const size_t sz = (size_t)tn->fus.n_lambda[kk] * tn->bond[3 * kk] * tn->bond[3 * kk + 3];
      if (sz > mx) mx = sz;
    }
  }
  return mx;
}

static void pass_ws_free(const fit_ctx *F, pass_ws *P) {
  free(P->dA); free(P->T); free(P->dEdr); free(P->Fp); free(P->u); free(P->Qbuf); free(P->pool);
  for (int c = 0; c < F->n_chains; c++) {
    free(P->G[c]); free(P->Jv[c]); free(P->dJv[c]); free(P->Ev[c]); free(P->E2[c]);
    for (int k = 0; k < TNACE_MAX_NU; k++) { free(P->Pdg[c][k]); free(P->Pg[c][k]); free(P->Pu[c][k]); }
    tn_ws_free(&P->tw[c]);
  }
  tnace_workspace_free(P->ws);
}

/* 0, or TNACE_ERR_NOMEM (P is then partly allocated: free it with pass_ws_free). */
static int pass_ws_init(const fit_ctx *F, const copy_level *L, size_t D, pass_ws *P) {
  const tnace_potential *pot = F->pot;
  const size_t Asz = (size_t)pot->n_el * pot->nmax * (pot->lmax + 1) * (pot->lmax + 1);
  memset(P, 0, sizeof *P);
  P->ws = tnace_workspace_new(pot, WS_NEIGH0);
  P->dA = malloc(Asz * sizeof(double));
  P->T = malloc(D * sizeof(double)); /* ≥ any one block */
  P->u = malloc((size_t)pot->nmax * sizeof(double));
  size_t qmax = 1;
  for (int c = 0; c < F->n_chains; c++) {
    const size_t q = 2 * lam_block_max(F, c, -1);
    if (q > qmax) qmax = q;
  }
  P->Qbuf = malloc(qmax * sizeof(double));
  P->pool = malloc((size_t)(pot->pool_size ? pot->pool_size : 1) * sizeof(double));
  int ok = P->ws && P->dA && P->T && P->u && P->Qbuf && P->pool;
  for (int c = 0; c < F->n_chains; c++) {
    size_t mg = 1;
    int K = 1;
    for (int a = 0; a < pot->n_el; a++) {
      const tnace_tn *tn = fit_chain(F, a, c);
      if (tn->c_size[L->kt[c]] > mg) mg = tn->c_size[L->kt[c]];
      if (tn->bond[3 * tn->nu] > K) K = tn->bond[3 * tn->nu];
      ok = ok && tn_ws_reserve(&P->tw[c], tn) == 0;
    }
    P->G[c] = malloc(mg * sizeof(double));
    P->Jv[c] = malloc((size_t)K * sizeof(double));
    P->dJv[c] = malloc((size_t)K * sizeof(double));
    P->Ev[c] = malloc((size_t)K * sizeof(double));
    P->E2[c] = malloc((size_t)K * sizeof(double));
    ok = ok && P->G[c] && P->Jv[c] && P->dJv[c] && P->Ev[c] && P->E2[c];
    for (int k = 0; k < TNACE_MAX_NU; k++) {
      const size_t mx = lam_block_max(F, c, k);
      P->Pdg[c][k] = malloc(mx * sizeof(double));
      P->Pg[c][k] = malloc(mx * sizeof(double));
      P->Pu[c][k] = malloc(mx * sizeof(double));
      ok = ok && P->Pdg[c][k] && P->Pg[c][k] && P->Pu[c][k];
    }
  }
  return ok ? 0 : TNACE_ERR_NOMEM;
}

/* Room for a structure of n atoms with at most max_neigh neighbours per atom. */
static int pass_ws_fit(pass_ws *P, int n, int max_neigh) {
  if (max_neigh > P->cap_n) {
    free(P->dEdr);
    P->cap_n = max_neigh;
    P->dEdr = malloc((size_t)max_neigh * sizeof *P->dEdr);
    if (!P->dEdr || tnace_workspace_reserve(P->ws, max_neigh)) return TNACE_ERR_NOMEM;
  }
  if (n > P->cap_at) {
    free(P->Fp);
    P->cap_at = n;
    P->Fp = malloc((size_t)n * sizeof *P->Fp);
    if (!P->Fp) return TNACE_ERR_NOMEM;
  }
  return 0;
}

/* The direct part of a tangent row: ∂A (in P->dA) contracted with the adjoint G (centre force and virial
 * rows), or the rank-2 pair form of one neighbour b (u[n] y1[lm] + g[n] y2[lm], neighbour force rows). */
typedef struct {
  int pair, b;
  const double *u, *y1, *g, *y2; /* y1 with stride 1 (Y), y2 with stride 3 (one component of ∇Y) */
} tangent_src;

/* Add sign × (the tangent of every chain's U-space gradient) to the row Rrow of centre species a. The
 * tangent of g^(k) of chain c is within the chain (other copies; none for ν = 1) and, for an MPO layer,
 * through the seed (the other layer's dJ), for an embed chain through its own seed f'(J), whose tangent is
 * f''(J) dJ (these rows are then the exact Jacobian of the forces at the current cores: a Gauss–Newton step);
 * the channels' tangents (tn_channels / tn_channels_pair with tangent = 1) must be set first. */
static void tangent_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int a, const tangent_src *src,
                         double *Rrow, double sign) {
  const tnace_potential *pot = F->pot;
  for (int c = 0; c < F->n_chains; c++) {
    const int mate = F->chain_mate[c];
    if (mate >= 0) tn_forward_tangent_vec(fit_chain(F, a, mate), &P->tw[mate], P->dJv[mate]);
    if (fit_chain_emb(F, c)) { /* dseed = f''(J) dJ */
      const tnace_tn *tn = fit_chain(F, a, c);
      tn_forward_tangent_vec(tn, &P->tw[c], P->dJv[c]);
      for (int b = 0; b < tn->bond[3 * tn->nu]; b++) P->dJv[c][b] *= P->E2[c][b];
    }
  }
  for (int c = 0; c < F->n_chains; c++) {
    const tnace_tn *tn = fit_chain(F, a, c);
    const int k = L->kt[c], mate = F->chain_mate[c], emb = fit_chain_emb(F, c);
    const int moves = tn->nu > 1 || mate >= 0 || emb;
    if (moves) tn_tangent_copy_seed(tn, &P->tw[c], k, mate >= 0 ? P->dJv[mate] : emb ? P->dJv[c] : NULL);
    const size_t Da = tn_U_size(tn, k);
    memset(P->T, 0, Da * sizeof(double));
    if (src->pair)
      accum_U_pair(tn, k, src->b, src->u, src->y1, 1, src->g, src->y2, 3, P->G[c], 1.0, P->Qbuf, P->T);
    else
      tn_grad_U(tn, k, P->dA, pot->nmax, pot->lmax, P->G[c], 1.0, 0, pot->n_el, P->T);
    if (moves) tn_grad_U(tn, k, P->ws->A, pot->nmax, pot->lmax, P->tw[c].dg[k], 1.0, 0, pot->n_el, P->T);
    cblas_daxpy((int)Da, sign, P->T, 1, Rrow + L->uoff[c][a], 1);
  }
}

/* Rows of the tangent along the ∂A held in P->dA (a direction of the centre, or a strain): every chain's
 * channel tangents, then tangent_rows into Rrow. */
static void dA_tangent_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int a, double *Rrow) {
  static const tangent_src src = {0, 0, NULL, NULL, NULL, NULL};
  for (int c = 0; c < F->n_chains; c++)
    tn_channels(fit_chain(F, a, c), P->dA, F->pot->nmax, F->pot->lmax, &P->tw[c], 1);
  tangent_rows(F, L, P, a, &src, Rrow, 1.0);
}

/* Centre atom of species a: every chain's channels and forward pass, then the adjoints (an MPO layer is
 * seeded with the other layer's J, an embed chain with f'(J) (its rows are linearised at the current cores),
 * a pooled one with the structure mean of the other layer's J: its energy
 * N J̄·J̄' is Σ_i J_i·J̄' in the ket's cores), and its energy row (U-space gradient, plus its E0 column). */
static void energy_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int a, double *Erow) {
  const tnace_potential *pot = F->pot;
  if (Erow) Erow[L->e0off + a] += 1.0;
  for (int c = 0; c < F->n_chains; c++) {
    const tnace_tn *tn = fit_chain(F, a, c);
    tn_channels(tn, P->ws->A, pot->nmax, pot->lmax, &P->tw[c], 0);
    tn_forward_vec(tn, &P->tw[c], P->Jv[c]);
  }
  for (int c = 0; c < F->n_chains; c++) {
    const tnace_tn *tn = fit_chain(F, a, c);
    const int mate = F->chain_mate[c], t = F->chain_t[c];
    if (mate >= 0 && pot->spec[t].pool)
      tn_backward_seed(tn, &P->tw[c], P->pool + pot->pool_off[t] + (F->chain_layer[c] ? 0 : tn->bond[3 * tn->nu]));
    else if (mate >= 0) tn_backward_seed(tn, &P->tw[c], P->Jv[mate]);
    else if (fit_chain_emb(F, c)) {
      tn_embed(tn->bond[3 * tn->nu], pot->spec[t].escale, P->Jv[c], P->Ev[c], P->E2[c]);
      tn_backward_seed(tn, &P->tw[c], P->Ev[c]);
    } else tn_backward(tn, &P->tw[c]);
    memcpy(P->G[c], P->tw[c].g[L->kt[c]], tn->c_size[L->kt[c]] * sizeof(double));
    if (Erow) tn_grad_U(tn, L->kt[c], P->ws->A, pot->nmax, pot->lmax, P->G[c], 1.0, 0, pot->n_el, Erow + L->uoff[c][a]);
  }
}

/* Centre force rows of a sampled atom: F_i = −∂E/∂r_i gets +Σ_j T_ij, one tangent of the summed
 * A-derivative per direction x. Rrow: the atom's x row. */
static void centre_force_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int a, double *Rrow, size_t D) {
  const tnace_potential *pot = F->pot;
  const tnace_workspace *ws = P->ws;
  const int nmax = pot->nmax, nlm = (pot->lmax + 1) * (pot->lmax + 1);
  for (int x = 0; x < 3; x++) {
    memset(P->dA, 0, (size_t)pot->n_el * nmax * nlm * sizeof(double));
    for (int m = 0; m < ws->n_in; m++) {
      const double *g = ws->g + (size_t)m * nmax, *dg = ws->dg + (size_t)m * nmax;
      const double *Yv = ws->Y + (size_t)m * nlm, *dY = ws->dY + (size_t)m * nlm * 3;
      const double rx = ws->rhat[3 * m + x];
      double *dAb = P->dA + (size_t)ws->spec[m] * nmax * nlm;
      for (int n = 0; n < nmax; n++)
        for (int lm = 0; lm < nlm; lm++) dAb[(size_t)n * nlm + lm] += dg[n] * rx * Yv[lm] + g[n] * dY[3 * lm + x];
    }
    dA_tangent_rows(F, L, P, a, Rrow + (size_t)x * D);
  }
}

/* Neighbour force rows: centre i (species a) gives −T_ij to the row of each sampled neighbour J, one
 * rank-2 pair tangent per neighbour and direction (tn_channels_pair). */
static void neighbour_force_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, const tnace_struct *s, int si,
                                 int i, double *Frows, size_t D) {
  const tnace_potential *pot = F->pot;
  const tnace_workspace *ws = P->ws;
  const int nmax = pot->nmax, nlm = (pot->lmax + 1) * (pot->lmax + 1), a = s->species[i];
  for (int m = 0; m < ws->n_in; m++) {
    const int J = s->nj[s->off[i] + ws->idx[m]];
    if (!F->sel[si][J]) continue;
    const int b = ws->spec[m];
    const double *g = ws->g + (size_t)m * nmax, *dg = ws->dg + (size_t)m * nmax;
    const double *Yv = ws->Y + (size_t)m * nlm, *dY = ws->dY + (size_t)m * nlm * 3;
    for (int c = 0; c < F->n_chains; c++) {
      const tnace_tn *tn = fit_chain(F, a, c);
      tn_project_radial(tn, b, dg, P->Pdg[c]);
      tn_project_radial(tn, b, g, P->Pg[c]);
    }
    for (int x = 0; x < 3; x++) {
      const double rx = ws->rhat[3 * m + x];
      for (int n = 0; n < nmax; n++) P->u[n] = dg[n] * rx;
      for (int c = 0; c < F->n_chains; c++) {
        const tnace_tn *tn = fit_chain(F, a, c);
        for (int kk = 0; kk < tn->nu; kk++) { /* Pu = Σ_n U dg_n r̂_x = r̂_x Pdg */
          const size_t sz = (size_t)tn->fus.n_lambda[kk] * tn->bond[3 * kk] * tn->bond[3 * kk + 3];
          for (size_t z = 0; z < sz; z++) P->Pu[c][kk][z] = rx * P->Pdg[c][kk][z];
        }
        tn_channels_pair(tn, P->Pu[c], Yv, 1, P->Pg[c], dY + x, 3, &P->tw[c]);
      }
      const tangent_src src = {1, b, P->u, Yv, g, dY + x};
      tangent_rows(F, L, P, a, &src, Frows + (size_t)(3 * F->sel_row[si][J] + x) * D, -1.0);
    }
  }
}

/* Virial rows: one strain tangent per centre and Voigt component, ½ (r_p ∂/∂r_q + r_q ∂/∂r_p) of g_n Y_lm. */
static void virial_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int a, double *Srows, size_t D) {
  const tnace_potential *pot = F->pot;
  const tnace_workspace *ws = P->ws;
  const int nmax = pot->nmax, nlm = (pot->lmax + 1) * (pot->lmax + 1);
  for (int cc = 0; cc < 6; cc++) {
    const int p = tnace_voigt[cc][0], qq = tnace_voigt[cc][1];
    memset(P->dA, 0, (size_t)pot->n_el * nmax * nlm * sizeof(double));
    for (int m = 0; m < ws->n_in; m++) {
      const double rr = ws->r[m], *rh = ws->rhat + 3 * m;
      const double *g = ws->g + (size_t)m * nmax, *dg = ws->dg + (size_t)m * nmax;
      const double *Yv = ws->Y + (size_t)m * nlm, *dY = ws->dY + (size_t)m * nlm * 3;
      double *dAb = P->dA + (size_t)ws->spec[m] * nmax * nlm;
      const double rp = rr * rh[p], rq = rr * rh[qq];
      for (int n = 0; n < nmax; n++)
        for (int lm = 0; lm < nlm; lm++)
          dAb[(size_t)n * nlm + lm] += 0.5 * (rp * (dg[n] * rh[qq] * Yv[lm] + g[n] * dY[3 * lm + qq]) +
                                              rq * (dg[n] * rh[p] * Yv[lm] + g[n] * dY[3 * lm + p]));
    }
    dA_tangent_rows(F, L, P, a, Srows + (size_t)cc * D);
  }
}

/* Evaluate atom i (energy, forces, virial into P->Fp, *Ep, De) and add its rows. */
static int atom_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int si, int i, double *R, double *Ep,
                     double De[6]) {
  const tnace_struct *s = &F->ds->s[si];
  const struct_rows *r = &F->sr[si];
  const size_t D = L->D;
  const int n_i = s->off[i + 1] - s->off[i];
  const double(*d)[3] = (const double(*)[3])s->d + s->off[i];
  double Ei;
  int rc = tnace_atom_energy_pooled(F->pot, P->ws, s->species[i], n_i, d, s->nsp + s->off[i], P->pool, &Ei, P->dEdr);
  if (rc) return rc;
  *Ep += Ei;
  for (int q = 0; q < n_i; q++) {
    const int J = s->nj[s->off[i] + q];
    for (int x = 0; x < 3; x++) { P->Fp[J][x] -= P->dEdr[q][x]; P->Fp[i][x] += P->dEdr[q][x]; }
    for (int c = 0; c < 6; c++) {
      const int p = tnace_voigt[c][0], qq = tnace_voigt[c][1];
      De[c] += 0.5 * (P->dEdr[q][p] * d[q][qq] + P->dEdr[q][qq] * d[q][p]);
    }
  }
  const int a = s->species[i];
  energy_rows(F, L, P, a, r->e_row >= 0 ? R + (size_t)r->e_row * D : NULL);
  if (r->f_row >= 0 && F->sel[si][i]) centre_force_rows(F, L, P, a, R + (size_t)(r->f_row + 3 * F->sel_row[si][i]) * D, D);
  if (r->f_row >= 0) neighbour_force_rows(F, L, P, s, si, i, R + (size_t)r->f_row * D, D);
  if (r->s_row >= 0) virial_rows(F, L, P, a, R + (size_t)r->s_row * D, D);
  return 0;
}

/* One row's target and scale: y' = ref − (pred − row·vec U), then the row and y' times sc. */
static void scale_row(double *row, size_t D, const double *U, double ref, double pred, double sc, double *y) {
  const double yv = ref - (pred - cblas_ddot((int)D, row, 1, U, 1));
  cblas_dscal((int)D, sc, row, 1);
  *y = sc * yv;
}

/* Targets of structure si and the √w (and per-atom) scaling of its rows; vec U stacks the species. */
static void structure_targets(const fit_ctx *F, const copy_level *L, const pass_ws *P, int si, double Ep,
                              const double De[6], double *R, double *Y) {
  const tnace_struct *s = &F->ds->s[si];
  const struct_rows *r = &F->sr[si];
  const size_t D = L->D;
  if (r->e_row >= 0) scale_row(R + (size_t)r->e_row * D, D, F->Ucat, s->energy, Ep, sqrt(r->w_e) / (s->n_count > 0 ? s->n_count : s->n), Y + r->e_row);
  if (r->f_row >= 0)
    for (int J = 0; J < s->n; J++) {
      if (!F->sel[si][J]) continue;
      for (int x = 0; x < 3; x++) {
        const int lr = r->f_row + 3 * F->sel_row[si][J] + x;
        scale_row(R + (size_t)lr * D, D, F->Ucat, s->forces[J][x], P->Fp[J][x], sqrt(r->w_f), Y + lr);
      }
    }
  if (r->s_row >= 0)
    for (int c = 0; c < 6; c++) {
      const int lr = r->s_row + c;
      const double ref = s->volume * s->stress[tnace_voigt[c][0]][tnace_voigt[c][1]];
      scale_row(R + (size_t)lr * D, D, F->Ucat, ref, De[c], sqrt(r->w_s) / s->n, Y + lr);
    }
}

/* All rows of structure si into R (its first row) and Y. */
static int structure_rows(const fit_ctx *F, const copy_level *L, pass_ws *P, int si, double *R, double *Y,
                          int *bad_atom) {
  const tnace_struct *s = &F->ds->s[si];
  memset(R, 0, (size_t)F->sr[si].n_rows * L->D * sizeof(double));
  int rc = pass_ws_fit(P, s->n, s->max_neigh);
  if (rc) return rc;
  memset(P->Fp, 0, (size_t)s->n * sizeof *P->Fp);
  double Ep = 0.0, De[6] = {0};
  /* pooled terms: the structure means first (no force or stress rows: property models) */
  if ((rc = tnace_struct_pool(F->pot, P->ws, s, P->pool, bad_atom))) return rc;
  for (int i = 0; i < s->n; i++)
    if ((rc = atom_rows(F, L, P, si, i, R, &Ep, De))) { *bad_atom = i; return rc; }
  structure_targets(F, L, P, si, Ep, De, R, Y);
  return 0;
}

/* Build, for every training structure in [s0, s1), the rows of the joint least-squares problem of one
 * sweep step: for each chain c (an MPS term, or one layer of an MPO term; L->kt[c] = its current copy) and
 * centre species a, the U-space columns of its copy (block at L->uoff[c][a], width tn_U_size), then one
 * column per species for E0 (at L->e0off); L->D columns in all. Targets y[row] are the reference minus the
 * prediction of everything but these maps and E0; rows and targets are scaled by √w. Each chain's rows
 * depend only on its own other copies (and, for an MPO layer, on the other layer), so all chains and
 * species are solved jointly: total energies and forces couple them, and alternating between them (block
 * coordinate descent) is slow. The rows of structure s0 start at row 0 of `rows`.
 * Returns 0, TNACE_ERR_NOMEM, or the evaluator's error for the first failing atom, with a message. */
int fit_copy_pass(fit_ctx *F, const copy_level *L, int s0, int s1, double *rows, double *y, char *err,
                  size_t errlen) {
  const int row_base = s0 < s1 ? F->sr[s0].row0 : 0;
  int fail = 0;
  char msg[512] = "";
#ifdef _OPENMP
#pragma omp parallel num_threads(F->nthreads)
#endif
  {
    pass_ws P;
    int rc = pass_ws_init(F, L, L->D, &P);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int si = s0; si < s1; si++) {
      if (rc || fail || F->sr[si].n_rows == 0) continue;
      const int row = F->sr[si].row0 - row_base;
      int bad = -1;
      rc = structure_rows(F, L, &P, si, rows + (size_t)row * L->D, y + row, &bad);
      if (rc && bad >= 0) {
#ifdef _OPENMP
#pragma omp critical
#endif
        if (!fail) {
          snprintf(msg, sizeof msg, "%s: atom %d: %s", F->ds->s[si].source, bad + 1, tnace_workspace_error(P.ws));
          fail = rc;
        }
      }
    }
    if (rc == TNACE_ERR_NOMEM) {
#ifdef _OPENMP
#pragma omp critical
#endif
      if (!fail) { snprintf(msg, sizeof msg, "out of memory in a fitting pass"); fail = rc; }
    }
    pass_ws_free(F, &P);
  }
  if (fail) snprintf(err, errlen, "%s", msg);
  return fail;
}


/* Map U-space rows (n_rows × D_U) to the coordinates of core s of copy k: vec U = M_s vec core_s, so
 * J_s = J_U M_s. out: n_rows × |core_s|. Returns 0 or TNACE_ERR_NOMEM. */
int fit_map_rows(const tnace_tn *t, int k, int s, const double *rows, size_t ld_rows, int n_rows, double *out,
                     size_t ld_out, int nthreads) {
  const int b0 = t->bond[3 * k], b1 = t->bond[3 * k + 1], b2 = t->bond[3 * k + 2], b3 = t->bond[3 * k + 3];
  const int ne = t->n_el, nm = t->nmax, nl = t->fus.n_lambda[k];
  const double *S = t->core[3 * k], *N = t->core[3 * k + 1], *L = t->core[3 * k + 2];
  const size_t Dc = tn_core_size(t, s);
  const int site = s - 3 * k;
  /* precomputed products of the two fixed cores */
  double *P = NULL;
  if (site == 0) { /* NL[n][λ] = N[n] L[λ] : b1 × b3 */
    if (!(P = malloc((size_t)nm * nl * b1 * b3 * sizeof(double)))) return TNACE_ERR_NOMEM;
    for (int n = 0; n < nm; n++)
      for (int l = 0; l < nl; l++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b1, b3, b2, 1.0, N + (size_t)n * b1 * b2, b2,
                    L + (size_t)l * b2 * b3, b3, 0.0, P + ((size_t)n * nl + l) * b1 * b3, b3);
  } else if (site == 2) { /* SN[α][n] = S[α] N[n] : b0 × b2 */
    if (!(P = malloc((size_t)ne * nm * b0 * b2 * sizeof(double)))) return TNACE_ERR_NOMEM;
    for (int a = 0; a < ne; a++)
      for (int n = 0; n < nm; n++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b0, b2, b1, 1.0, S + (size_t)a * b0 * b1, b1,
                    N + (size_t)n * b1 * b2, b2, 0.0, P + ((size_t)a * nm + n) * b0 * b2, b2);
  }
  int nomem = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#else
  (void)nthreads;
#endif
  {
    double *tmp = malloc((size_t)b1 * b3 * sizeof(double));
    if (!tmp) nomem = 1; /* every thread that fails writes the same value */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int r = 0; r < n_rows; r++) {
      if (!tmp) continue;
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
  return nomem ? TNACE_ERR_NOMEM : 0;
}

void fit_free_rows(fit_ctx *F) {
  if (F->sel)
    for (int i = 0; i < F->ds->n; i++) free(F->sel[i]);
  if (F->sel_row)
    for (int i = 0; i < F->ds->n; i++) free(F->sel_row[i]);
  free(F->sel);
  free(F->sel_row);
  free(F->sr);
  F->sel = NULL;
  F->sel_row = NULL;
  F->sr = NULL;
}
