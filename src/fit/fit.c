/*
 * fit.c — the trainer's driver: alternating least-squares sweeps (one-site DMRG) of the MPS cores against
 * energies, forces and stresses (fit.h for the method). Setting up the chains and buffers, the sweep loop
 * (λ annealing, bond growth, copy levels, MPO balance), keeping the best sweep, reporting. The rows are
 * built in fit_rows.c, solved in fit_solve.c, and the gauge is kept in fit_gauge.c.
 */
#include "fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "fit_priv.h"
#include "util.h"

/* A sweep counts as an improvement (resetting patience) only when it lowers the selection loss by more
 * than this fraction: ties within round-off do not keep a fit going. */
#define IMPROVE_REL 1e-4
/* Å³ per atom: the typical V/N that turns a stress error (GPa) into a virial-per-atom error in the
 * selection loss, so that κ_σ weighs it as in the fitted loss. */
#define VOL_PER_ATOM 12.0
/* Seed streams per (chain, species) pair of species factors and bond growth (any fixed values). */
#define SEED_CHAIN_STRIDE 64
#define SEED_GROWTH 977u

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

static unsigned long long mix64(unsigned long long x) { return tnace_splitmix64(&x); }
double fit_hash_uniform(unsigned long long seed, unsigned long long a, unsigned long long b) {
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

/* ---- the best sweep so far -------------------------------------------------------------------------- */

typedef struct {
  double *core[2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS][TNACE_MAX_SITES];
  int bond[2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS][TNACE_MAX_SITES + 1]; /* bonds when saved (they grow) */
  double e0[TNACE_MAX_ELEMENTS];
} snapshot;

/* Snapshot slot of layer `layer` of (species, term) index i. */
static tnace_tn *snap_tn(const tnace_potential *pot, int i, int layer) {
  return tnace_layer(pot, i / pot->n_terms, i % pot->n_terms, layer);
}

static int snap_save(snapshot *sn, const tnace_potential *pot) {
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
        if (!*dst && !(*dst = malloc(sz))) return TNACE_ERR_NOMEM;
        memcpy(*dst, t->core[s], sz);
      }
    }
  return 0;
}

static int snap_restore(const snapshot *sn, tnace_potential *pot) {
  memcpy(pot->e0, sn->e0, sizeof sn->e0);
  for (int i = 0; i < pot->n_el * pot->n_terms; i++)
    for (int layer = 0; layer < tnace_n_layers(pot, i % pot->n_terms); layer++) {
      tnace_tn *t = snap_tn(pot, i, layer);
      if (!sn->core[2 * i + layer][0]) continue; /* never saved: no sweep ran */
      if (memcmp(sn->bond[2 * i + layer], t->bond, sizeof t->bond)) {
        /* saved before the bonds grew: back to the saved shapes */
        tnace_tn nt;
        char e[128];
        int rc = tn_init_bonds(&nt, t->nu, t->lmax, t->nmax, t->n_el, sn->bond[2 * i + layer], e, sizeof e);
        if (rc) return rc;
        tn_free(t);
        *t = nt;
      }
      for (int s = 0; s < 3 * t->nu; s++)
        memcpy(t->core[s], sn->core[2 * i + layer][s], tn_core_size(t, s) * sizeof(double));
      int rc = tn_prepare(t);
      if (rc) return rc;
    }
  return 0;
}

static void snap_free(snapshot *sn) {
  for (int i = 0; i < 2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS; i++)
    for (int s = 0; s < TNACE_MAX_SITES; s++) free(sn->core[i][s]);
}

/* ---- set-up ------------------------------------------------------------------------------------------ */

/* One chain per MPS term and layer of an MPO term (and per embed term). */
static void list_chains(fit_ctx *F) {
  const tnace_potential *pot = F->pot;
  for (int t = 0; t < pot->n_terms; t++)
    for (int layer = 0; layer < tnace_n_layers(pot, t); layer++) {
      const int c = F->n_chains++;
      F->chain_t[c] = t;
      F->chain_layer[c] = layer;
      F->chain_mate[c] = tnace_n_layers(pot, t) == 2 ? (layer ? c - 1 : c + 1) : -1;
    }
}

/* The chains with their species sites: rank d, blind copies, and the species factors E started from the
 * current cores. */
static int setup_chains(fit_ctx *F, char *err, size_t errlen) {
  tnace_potential *pot = F->pot;
  list_chains(F);
  for (int c = 0; c < F->n_chains; c++) {
    const int t = F->chain_t[c], layer = F->chain_layer[c];
    const int nu = pot->spec[t].nu, sc = pot->spec[t].scopies, d = pot->spec[t].srank;
    for (int k = 0; k < nu; k++) {
      const int blind = pot->n_el > 1 && sc > 0 && k >= sc;
      F->sfix[c][k] = (unsigned char)blind;
      F->sd[c][k] = blind ? 1 : d > 0 && d < pot->n_el ? d : 0;
    }
    for (int a = 0; a < pot->n_el; a++) {
      tnace_tn *tn = tnace_layer(pot, a, t, layer);
      for (int k = 0; k < tn->nu; k++) {
        const int s3 = 3 * k, dk = F->sd[c][k];
        if (!dk) continue;
        if (dk * tn->bond[s3] < tn->bond[s3 + 1] || (k > 0 && dk * tn->bond[s3 + 1] < tn->bond[s3])) {
          snprintf(err, errlen, "terms[%d]: bonds %d, %d around species site %d exceed species_rank %d times the "
                   "other bond (create the potential with species_rank / species_copies set)", t, tn->bond[s3],
                   tn->bond[s3 + 1], s3, dk);
          return TNACE_ERR_VALUE;
        }
        int rc = fit_sp_factor_init(tn, k, dk, F->sfix[c][k], F->o->seed + (unsigned long long)(c * SEED_CHAIN_STRIDE + a),
                                    &F->Ef[c][a][k]);
        if (rc) {
          snprintf(err, errlen, "initialising species factors: %s", rc == TNACE_ERR_NOMEM ? "out of memory" : "SVD failed");
          return rc;
        }
      }
      int rc = tn_prepare(tn);
      if (rc) { snprintf(err, errlen, "out of memory"); return rc; }
    }
  }
  return 0;
}

/* Largest numbers of U-space columns (Dmax) and site columns (Dc_max) over the copy levels, E0 included. */
static void column_bounds(fit_ctx *F) {
  const tnace_potential *pot = F->pot;
  F->Dmax = F->Dc_max = (size_t)pot->n_el;
  int max_nu = 1;
  for (int q = 0; q < pot->n_el * pot->n_terms; q++)
    if (pot->tn[q].nu > max_nu) max_nu = pot->tn[q].nu;
  for (int p = 0; p < max_nu; p++) {
    size_t du = 0, dc[3] = {0, 0, 0};
    for (int ch = 0; ch < F->n_chains; ch++)
      for (int a = 0; a < pot->n_el; a++) {
        const tnace_tn *tn = fit_chain(F, a, ch);
        const int k = p < tn->nu ? p : tn->nu - 1;
        du += tn_U_size(tn, k);
        for (int c = 0; c < 3; c++) dc[c] += tn_core_size(tn, p < tn->nu ? 3 * k + c : 3 * tn->nu - 1);
      }
    if (du + pot->n_el > F->Dmax) F->Dmax = du + pot->n_el;
    for (int c = 0; c < 3; c++)
      if (dc[c] + pot->n_el > F->Dc_max) F->Dc_max = dc[c] + pot->n_el;
  }
}

/* Bytes of one stored row: U-space columns, site columns, target and weight. */
static double row_bytes_of(const fit_ctx *F) { return (double)(F->Dmax + F->Dc_max + 2) * sizeof(double); }

double tnace_fit_row_bytes(const tnace_potential *pot) {
  fit_ctx F;
  memset(&F, 0, sizeof F);
  F.pot = (tnace_potential *)pot;   /* read only: list_chains and column_bounds do not write the potential */
  list_chains(&F);
  column_bounds(&F);
  return row_bytes_of(&F);
}

/* Rows are built in chunks of structures that fit the memory budget together. With one chunk the rows of
 * a copy level serve its three sites; with several, each site streams the chunks again and accumulates its
 * normal equations (the rows do not change between the sites of a copy, so this is exact). */
static int plan_chunks(fit_ctx *F, char *err, size_t errlen) {
  const tnace_dataset *ds = F->ds;
  const double row_bytes = row_bytes_of(F);
  const double budget = F->o->max_rows_mb * 1048576.0 - (double)F->Dc_max * F->Dc_max * sizeof(double);
  if (!(F->chunk_s0 = malloc((size_t)(ds->n + 1) * sizeof(int)))) {
    snprintf(err, errlen, "out of memory");
    return TNACE_ERR_NOMEM;
  }
  for (int i = 0; i < ds->n;) {
    int rows_c = 0, j = i;
    while (j < ds->n && (j == i || (rows_c + F->sr[j].n_rows) * row_bytes <= budget)) rows_c += F->sr[j++].n_rows;
    if (rows_c * row_bytes > budget) {
      snprintf(err, errlen,
               "the least-squares rows of one structure (%s: %d rows × %zu columns) exceed the budget of %.0f MB: "
               "lower force_fraction, the basis (nmax, lmax) or chi, or raise max_rows_mb",
               ds->s[i].source, rows_c, F->Dmax, F->o->max_rows_mb);
      return TNACE_ERR_NOMEM;
    }
    F->chunk_s0[F->n_chunks++] = i;
    if (rows_c > F->max_chunk_rows) F->max_chunk_rows = rows_c;
    i = j;
  }
  F->chunk_s0[F->n_chunks] = ds->n;
  return 0;
}

/* Width of the largest rank-constrained species site's rows (n_el · b_l · b_r), 0 if there is none. */
static size_t species_width(const fit_ctx *F) {
  size_t wmax = 0;
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; a < F->pot->n_el; a++)
      for (int k = 0; k < TNACE_MAX_NU; k++)
        if (F->Ef[c][a][k]) {
          const tnace_tn *tn = fit_chain(F, a, c);
          const size_t w = (size_t)F->pot->n_el * tn->bond[3 * k] * tn->bond[3 * k + 1];
          if (w > wmax) wmax = w;
        }
  return wmax;
}

static int alloc_buffers(fit_ctx *F, char *err, size_t errlen) {
  const size_t R = (size_t)(F->max_chunk_rows ? F->max_chunk_rows : 1), Dc = F->Dc_max;
  F->rows = malloc((size_t)F->max_chunk_rows * F->Dmax * sizeof(double));
  F->y = malloc(R * sizeof(double));
  F->J = malloc((size_t)F->max_chunk_rows * Dc * sizeof(double));
  F->H = malloc(Dc * Dc * sizeof(double));
  F->b = malloc(Dc * sizeof(double));
  F->Ucat = malloc(F->Dmax * sizeof(double));
  F->lamv = malloc(Dc * sizeof(double));
  F->xold = malloc(Dc * sizeof(double));
  F->resid = malloc(R * sizeof(double));
  int ok = F->rows && F->y && F->J && F->H && F->b && F->Ucat && F->lamv && F->xold && F->resid;
  const size_t wmax = species_width(F), ne = (size_t)F->pot->n_el;
  if (ok && wmax) {
    for (int c = 0; c < F->n_chains; c++)
      for (size_t a = 0; a < ne; a++) ok = ok && (F->Gt[c][a] = malloc(wmax * sizeof(double)));
    F->Jsp = malloc(R * wmax * sizeof(double));
    F->Sbuf = malloc((wmax + ne * (ne + 2)) * sizeof(double));
    ok = ok && F->Jsp && F->Sbuf;
  }
  size_t shmax = 0;
  for (int c = 0; ok && c < F->n_chains; c++)
    if (F->pot->spec[F->chain_t[c]].shared)
      for (int s = 0; s < 3 * fit_chain(F, 0, c)->nu; s++)
        if (tn_core_size(fit_chain(F, 0, c), s) > shmax) shmax = tn_core_size(fit_chain(F, 0, c), s);
  if (ok && shmax) ok = (F->Jsh = malloc(R * shmax * sizeof(double))) != NULL;
  if (!ok)
    snprintf(err, errlen, "out of memory (%.0f MB of rows)",
             (double)F->max_chunk_rows * (F->Dmax + Dc + 2) * sizeof(double) / 1048576.0);
  return ok ? 0 : TNACE_ERR_NOMEM;
}

static void fit_ctx_free(fit_ctx *F) {
  free(F->rows); free(F->y); free(F->J); free(F->H); free(F->b); free(F->Ucat); free(F->lamv); free(F->xold);
  free(F->resid); free(F->chunk_s0); free(F->Jsp); free(F->Sbuf); free(F->Jsh);
  for (int c = 0; c < TNACE_MAX_CHAINS; c++)
    for (int a = 0; a < TNACE_MAX_ELEMENTS; a++) {
      free(F->Gt[c][a]);
      for (int k = 0; k < TNACE_MAX_NU; k++) free(F->Ef[c][a][k]);
    }
  fit_free_rows(F);
}

/* ---- bond growth ------------------------------------------------------------------------------------- */

/* Bond growth: the buffers are sized for the target bonds (those the potential was created with); the fit
 * starts from bonds capped at chi_start and doubles them every grow_every sweeps. */
typedef struct {
  int (*target)[TNACE_MAX_ELEMENTS][TNACE_MAX_SITES + 1]; /* [chain][species] target bonds; NULL: no growth */
  int cur, max;                                            /* current and final bond cap */
} growth;

/* Every chain's bonds capped at g->cur (a seeded subspace expansion, or the first shrink of fresh cores). */
static int apply_cap(fit_ctx *F, const growth *g, unsigned long long seed_add) {
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; a < F->pot->n_el; a++) {
      tnace_tn *tn = fit_chain(F, a, c);
      int nb[TNACE_MAX_SITES + 1];
      fit_capped_bonds(tn, g->target[c][a], g->cur, F->sd[c], F->Ef[c][a], nb);
      int rc = fit_reshape_bonds(tn, nb, F->Ef[c][a], F->sd[c],
                                 F->o->seed + SEED_GROWTH * (unsigned)(c * SEED_CHAIN_STRIDE + a) + seed_add);
      if (rc) return rc;
    }
  return 0;
}

static int growth_start(fit_ctx *F, growth *g) {
  memset(g, 0, sizeof *g);
  if (F->o->chi_start <= 0) return 0;
  if (!(g->target = calloc(TNACE_MAX_CHAINS, sizeof *g->target))) return TNACE_ERR_NOMEM;
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; a < F->pot->n_el; a++) {
      const tnace_tn *tn = fit_chain(F, a, c);
      memcpy(g->target[c][a], tn->bond, sizeof g->target[c][a]);
      for (int s3 = 1; s3 < 3 * tn->nu; s3++)
        if (tn->bond[s3] > g->max) g->max = tn->bond[s3];
    }
  g->cur = F->o->chi_start < g->max ? F->o->chi_start : g->max;
  return apply_cap(F, g, 0);
}

/* Double the cap at the sweeps the schedule says; *grown = 1 when it did. */
static int growth_step(fit_ctx *F, growth *g, int sweep, int *grown) {
  const int every = F->o->grow_every > 0 ? F->o->grow_every : 1;
  *grown = 0;
  if (!g->cur || g->cur >= g->max || sweep <= 1 || (sweep - 1) % every != 0) return 0;
  g->cur = 2 * g->cur < g->max ? 2 * g->cur : g->max;
  *grown = 1;
  return apply_cap(F, g, (unsigned)sweep);
}

/* ---- one sweep ----------------------------------------------------------------------------------------- */

/* Column layout of copy level p, and the current maps in F->Ucat; layer < 0: every chain is solved, else only
 * the chains of that layer (0: MPS terms and the kets of MPO terms, 1: the bras). */
static void level_setup(fit_ctx *F, int p, int layer, copy_level *L) {
  const int ne = F->pot->n_el;
  L->p = p;
  L->D = 0;
  for (int c = 0; c < F->n_chains; c++) {
    L->active[c] = layer < 0 || F->chain_layer[c] == layer;
    const int nu = fit_chain(F, 0, c)->nu;
    L->kt[c] = p < nu ? p : nu - 1;
    for (int a = 0; a < ne; a++) {
      L->uoff[c][a] = L->D;
      L->D += tn_U_size(fit_chain(F, a, c), L->kt[c]);
    }
    L->uoff[c][ne] = L->D;
  }
  L->e0off = L->D;
  L->D += (size_t)ne;
  fit_load_Ucat(F, L);
}

/* One sweep at ridge lam: every chain canonical with the centre at site 0, then copy level p (every chain
 * in copy min(p, ν−1): one data pass, then the three sites of the copy), then the MPO balance. */
static int sweep_once(fit_ctx *F, double lam, char *err, size_t errlen) {
  int max_nu = 1;
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; a < F->pot->n_el; a++) {
      tnace_tn *tn = fit_chain(F, a, c);
      if (tn->nu > max_nu) max_nu = tn->nu;
    }
  /* An MPO term's energy Σ_b J_b J'_b is bilinear in its two layers: solving a ket and a bra site in one linear
   * step is a Gauss–Newton step that can overshoot and diverge (issue #16). With MPO terms each copy level is
   * solved twice, kets (with the MPS terms) and then bras, each an exact least-squares step on fresh rows. */
  int has_mpo = 0;
  for (int c = 0; c < F->n_chains; c++) has_mpo |= F->chain_mate[c] >= 0;
  for (int p = 0; p < max_nu; p++)
    for (int layer = has_mpo ? 0 : -1; layer <= (has_mpo ? 1 : -1); layer++) {
      copy_level L;
      level_setup(F, p, layer, &L);
      for (int q = 0; q < 3; q++) {
        int rc = fit_solve_site(F, &L, q, lam, err, errlen);
        if (rc) return rc;
      }
    }
  int rc = fit_balance_mpo(F->pot);
  if (rc) snprintf(err, errlen, "out of memory");
  return rc;
}

static int canonicalize_all(fit_ctx *F, char *err, size_t errlen) {
  for (int c = 0; c < F->n_chains; c++)
    for (int a = 0; a < F->pot->n_el; a++) {
      int rc = fit_canonicalize(fit_chain(F, a, c), F->Ef[c][a], F->sd[c]);
      if (rc) {
        snprintf(err, errlen, "%s", rc == TNACE_ERR_NOMEM ? "out of memory" : "QR failed");
        return rc;
      }
    }
  return 0;
}

/* ---- the fit ---------------------------------------------------------------------------------------- */

static double loss_of(const tnace_fit_opts *o, const tnace_metrics *m) {
  /* same units as the fitted loss: eV/atom, eV/Å, virial per atom ≈ stress · V/N */
  const double e = m->e_rmse * 1e-3, f = m->f_rmse, s = m->s_rmse / TNACE_EV_A3_TO_GPA * VOL_PER_ATOM;
  return o->kappa_e * e * e + o->kappa_f * f * f + (m->n_stress ? o->kappa_s * s * s : 0.0);
}

/* λ of a sweep: annealed geometrically from lambda_start to lambda over anneal_sweeps. */
static double lambda_of(const tnace_fit_opts *o, int sweep) {
  const double frac = o->anneal_sweeps > 0 ? fmin(1.0, (double)(sweep - 1) / o->anneal_sweeps) : 1.0;
  return o->lambda_start > o->lambda ? o->lambda_start * pow(o->lambda / o->lambda_start, frac) : o->lambda;
}

static void log_header(const fit_ctx *F, FILE *log, const tnace_dataset *valid) {
  const tnace_fit_opts *o = F->o;
  long ne = 0, nf = 0, ns = 0;
  for (int i = 0; i < F->ds->n; i++) {
    ne += F->sr[i].e_row >= 0;
    nf += F->sr[i].f_row >= 0 ? 3L * F->sr[i].n_sel : 0;
    ns += F->sr[i].s_row >= 0 ? 6 : 0;
  }
  fprintf(log, "# tnace-fit: %d training structures (%d rows: %ld %s, %ld force components, %ld stress components), "
               "%d validation, %ld parameters, %d threads\n",
          F->ds->n, F->n_rows, ne, F->pot->prop.set ? F->pot->prop.name : "energies", nf, ns, valid ? valid->n : 0,
          tnace_potential_n_params(F->pot), F->nthreads);
  if (F->n_chunks > 1)
    fprintf(log, "# rows streamed in %d chunks of up to %d rows (%.0f MB each; budget max_rows_mb = %.0f)\n",
            F->n_chunks, F->max_chunk_rows,
            (double)F->max_chunk_rows * row_bytes_of(F) / 1048576.0, o->max_rows_mb);
  fprintf(log, "# %5s %9s %9s %9s %9s %9s %9s %9s %9s %8s\n", "sweep", "lambda", "E_trn", "E_val", "F_trn", "F_val",
          "S_trn", "S_val", "", "time_s");
  fprintf(log, "# %5s %9s %9s %9s %9s %9s %9s %9s %9s %8s\n", "", "", "meV/at", "meV/at", "meV/A", "meV/A", "GPa",
          "GPa", "", "");
}

/* Errors on the training and (if any) validation data; mt_done: the training errors when already computed for
 * the current cores (copied instead), or NULL. */
static int both_metrics(const fit_ctx *F, const tnace_dataset *valid, const tnace_metrics *mt_done, tnace_metrics *mt,
                        tnace_metrics *mv, char *err, size_t errlen) {
  memset(mv, 0, sizeof *mv);
  int rc = 0;
  if (mt_done) *mt = *mt_done;
  else rc = tnace_metrics_compute(F->pot, F->ds, F->nthreads, mt, err, errlen);
  if (!rc && valid && valid->n) rc = tnace_metrics_compute(F->pot, valid, F->nthreads, mv, err, errlen);
  return rc;
}

/* Progress of the sweeps and the best one so far. */
typedef struct {
  double best_loss, t0;
  int best_sweep, since_best;
  snapshot best;
} sweep_track;

/* After a sweep: errors, best-so-far snapshot, callback and log line. *stop = 1 when patience ran out.
 * mt_done: the training errors of the current cores when already computed (damped_sweep), else NULL. */
static int after_sweep(fit_ctx *F, const tnace_dataset *valid, FILE *log, int sweep, double lam, const growth *g,
                       const tnace_metrics *mt_done, sweep_track *tr, int *stop, char *err, size_t errlen) {
  const tnace_fit_opts *o = F->o;
  tnace_metrics mt, mv;
  int rc = both_metrics(F, valid, mt_done, &mt, &mv, err, errlen);
  if (rc) return rc;
  const double L = loss_of(o, (valid && valid->n) ? &mv : &mt);
  const int improved = L < tr->best_loss * (1.0 - IMPROVE_REL);
  if (L < tr->best_loss) {
    tr->best_loss = L;
    tr->best_sweep = sweep;
    if ((rc = snap_save(&tr->best, F->pot))) { snprintf(err, errlen, "out of memory (best-sweep snapshot)"); return rc; }
  }
  tr->since_best = improved ? 0 : tr->since_best + 1;
  if (o->on_sweep) {
    tnace_sweep_info si = {sweep, 0, L == tr->best_loss, lam, tnace_now_s() - tr->t0, &mt, &mv};
    o->on_sweep(&si, o->on_sweep_ctx);
  }
  if (log) {
    fprintf(log, "  %5d %9.2e %9.3f %9.3f %9.2f %9.2f %9.4f %9.4f %9s %8.1f\n", sweep, lam, mt.e_rmse, mv.e_rmse,
            1000 * mt.f_rmse, 1000 * mv.f_rmse, mt.s_rmse, mv.s_rmse, L == tr->best_loss ? "*" : "",
            tnace_now_s() - tr->t0);
    fflush(log);
  }
  *stop = tr->since_best >= o->patience && sweep > o->anneal_sweeps && g->cur >= g->max;
  return 0;
}

/* With embed terms a sweep is a sequence of Gauss–Newton steps and may raise the training loss: such a sweep is
 * undone and redone with 10× the damping (at most EMB_TRIES times, then kept: the best-sweep snapshot still
 * guards the result); an accepted one lowers the damping 3×, down to EMB_MU_MIN. *L_prev: the training loss of
 * the cores the sweep started from, updated; *mt: the training errors of the kept sweep. */
#define EMB_MU0 1e-3
#define EMB_MU_MIN 1e-6
#define EMB_TRIES 4
static int damped_sweep(fit_ctx *F, FILE *log, int sweep, double lam, snapshot *prev, double *L_prev,
                        tnace_metrics *mt, char *err, size_t errlen) {
  int rc = snap_save(prev, F->pot);
  if (rc) { snprintf(err, errlen, "out of memory (sweep snapshot)"); return rc; }
  for (int tries = 0;; tries++) {
    if ((rc = sweep_once(F, lam, err, errlen))) return rc;
    if ((rc = tnace_metrics_compute(F->pot, F->ds, F->nthreads, mt, err, errlen))) return rc;
    const double L = loss_of(F->o, mt);
    if (L <= *L_prev * (1.0 + 1e-9) || tries == EMB_TRIES) {
      *L_prev = L;
      F->emb_mu = fmax(F->emb_mu / 3.0, EMB_MU_MIN);
      return 0;
    }
    if (log)
      fprintf(log, "# sweep %d: the training loss rose (%.4g -> %.4g): undone, embed damping %.1e -> %.1e\n", sweep,
              *L_prev, L, F->emb_mu, 10.0 * F->emb_mu);
    if ((rc = snap_restore(prev, F->pot))) { snprintf(err, errlen, "out of memory (sweep snapshot)"); return rc; }
    F->emb_mu *= 10.0;
  }
}

/* The sweeps, then the best one restored. */
static int run_sweeps(fit_ctx *F, const tnace_dataset *valid, FILE *log, growth *g, sweep_track *tr, char *err,
                      size_t errlen) {
  const int first = F->o->first_sweep > 1 ? F->o->first_sweep : 1;
  if (F->o->start_is_candidate) {   /* the given cores are the best so far until a sweep beats them */
    int stop = 0, rc = after_sweep(F, valid, log, first - 1, lambda_of(F->o, first > 1 ? first - 1 : 1), g, NULL, tr, &stop,
                                   err, errlen);
    if (rc) return rc;
    tr->since_best = 0;
  }
  snapshot prev = {0};
  double L_prev = INFINITY;
  F->has_emb = 0;
  for (int t = 0; t < F->pot->n_terms; t++) F->has_emb |= F->pot->spec[t].model == TNACE_MODEL_EMB;
  F->emb_mu = F->has_emb ? EMB_MU0 : 0.0;
  int rc = 0;
  if (F->has_emb) {
    tnace_metrics m0;
    if ((rc = tnace_metrics_compute(F->pot, F->ds, F->nthreads, &m0, err, errlen))) return rc;
    L_prev = loss_of(F->o, &m0);
  }
  for (int sweep = first; !rc && sweep <= F->o->max_sweeps; sweep++) {
    const double lam = lambda_of(F->o, sweep);
    int grown = 0, stop = 0;
    rc = canonicalize_all(F, err, errlen);
    if (!rc && (rc = growth_step(F, g, sweep, &grown))) snprintf(err, errlen, "out of memory (bond growth)");
    if (rc) break;
    if (grown && log)
      fprintf(log, "# sweep %d: bonds grown to at most %d (subspace expansion; the function is unchanged)\n", sweep,
              g->cur);
    tnace_metrics mt;
    if (F->has_emb) rc = damped_sweep(F, log, sweep, lam, &prev, &L_prev, &mt, err, errlen);
    else rc = sweep_once(F, lam, err, errlen);
    if (!rc) rc = after_sweep(F, valid, log, sweep, lam, g, F->has_emb ? &mt : NULL, tr, &stop, err, errlen);
    if (stop) break;
  }
  snap_free(&prev);
  if (rc) return rc;
  rc = snap_restore(&tr->best, F->pot);
  if (rc) snprintf(err, errlen, "out of memory restoring the best sweep");
  return rc;
}

/* The kept potential's metrics for the caller and the final callback. */
static int report_kept(fit_ctx *F, const tnace_dataset *valid, FILE *log, const sweep_track *tr,
                       tnace_metrics *train_m, tnace_metrics *valid_m, char *err, size_t errlen) {
  if (log)
    fprintf(log, "# kept sweep %d (lowest %s loss)\n", tr->best_sweep, (valid && valid->n) ? "validation" : "training");
  if (!train_m && !valid_m && !F->o->on_sweep) return 0;
  tnace_metrics kt, kv;
  int rc = both_metrics(F, valid, NULL, &kt, &kv, err, errlen);
  if (rc) return rc;
  if (train_m) *train_m = kt;
  if (valid_m) *valid_m = kv;
  if (F->o->on_sweep) {
    tnace_sweep_info si = {tr->best_sweep, 1, 1, F->o->lambda, tnace_now_s() - tr->t0, &kt, &kv};
    F->o->on_sweep(&si, F->o->on_sweep_ctx);
  }
  return 0;
}

int tnace_fit(tnace_potential *pot, const tnace_dataset *train, const tnace_dataset *valid, const tnace_fit_opts *o,
              FILE *log, tnace_metrics *train_m, tnace_metrics *valid_m, char *err, size_t errlen) {
  if (!train || train->n == 0) { snprintf(err, errlen, "no training structures"); return TNACE_ERR_VALUE; }
  fit_ctx F;
  memset(&F, 0, sizeof F);
  F.pot = pot;
  F.ds = train;
  F.o = o;
  F.nthreads = n_threads_of(o);
  growth g;
  memset(&g, 0, sizeof g);
  sweep_track tr;
  memset(&tr, 0, sizeof tr);
  tr.best_loss = INFINITY;
  int rc = fit_plan_rows(&F);
  if (rc) snprintf(err, errlen, "out of memory planning rows");
  if (!rc) rc = setup_chains(&F, err, errlen);
  if (!rc && o->fit_e0 && !o->start_is_candidate && (rc = fit_e0(pot, train))) snprintf(err, errlen, "fitting E0 failed");
  if (!rc) {
    column_bounds(&F);
    rc = plan_chunks(&F, err, errlen);
  }
  if (!rc) rc = alloc_buffers(&F, err, errlen);
  if (!rc && (rc = growth_start(&F, &g))) snprintf(err, errlen, "out of memory (bond growth)");
  if (!rc) {
    if (log) log_header(&F, log, valid);
    tr.t0 = tnace_now_s();
    rc = run_sweeps(&F, valid, log, &g, &tr, err, errlen);
  }
  if (!rc) rc = report_kept(&F, valid, log, &tr, train_m, valid_m, err, errlen);
  snap_free(&tr.best);
  free(g.target);
  fit_ctx_free(&F);
  return rc;
}
