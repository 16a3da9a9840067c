/*
 * bench_common.h — helpers shared by the C micro-benchmarks in bench/ (abasis_floor.c, cost_model.c):
 * perfect crystals with a small random displacement, neighbour lists through libtnace (nlist.h), a
 * monotonic clock, medians, and per-atom timing loops that call libtnace's own functions (no physics is
 * reimplemented here).
 *
 * The phase breakdown replays the call sequence of tnace_atom_energy() in src/tnace/potential.c (basis → per
 * term: channels, forward, backward, grad_A → force pass) stage by stage (see bench_pass).
 */
#ifndef TNACE_BENCH_COMMON_H
#define TNACE_BENCH_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "nlist.h"
#include "tn.h"
#include "tnace.h"

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Small deterministic generator (xorshift64*) and a Gaussian. */
static unsigned long long bench_rng_state = 88172645463325252ULL;
static inline void bench_seed(unsigned long long s) { bench_rng_state = s ? s : 88172645463325252ULL; }
static inline double bench_uniform(void) {
  bench_rng_state ^= bench_rng_state >> 12;
  bench_rng_state ^= bench_rng_state << 25;
  bench_rng_state ^= bench_rng_state >> 27;
  return ((bench_rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
static inline double bench_gauss(void) {
  double u = bench_uniform(), v = bench_uniform();
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Cubic crystal `kind` (fcc, bcc, diamond, sc) with lattice constant a (Å), nc×nc×nc conventional cells,
 * each coordinate displaced by a Gaussian of width `jitter` (Å; thermal-like, so that nothing cancels
 * exactly as in a perfect lattice). Returns the number of atoms (−1: unknown kind); *pos is malloc'ed. */
static int bench_crystal(const char *kind, double a, int nc, double jitter, unsigned long long seed,
                         double (**pos)[3], double cell[3][3]) {
  static const double fcc[4][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}};
  static const double bcc[2][3] = {{0, 0, 0}, {.5, .5, .5}};
  static const double dia[8][3] = {{0, 0, 0},       {0, .5, .5},       {.5, 0, .5},       {.5, .5, 0},
                                   {.25, .25, .25}, {.25, .75, .75},   {.75, .25, .75},   {.75, .75, .25}};
  static const double sc[1][3] = {{0, 0, 0}};
  const double(*basis)[3];
  int nb;
  if (!strcmp(kind, "fcc")) { basis = fcc; nb = 4; }
  else if (!strcmp(kind, "bcc")) { basis = bcc; nb = 2; }
  else if (!strcmp(kind, "diamond")) { basis = dia; nb = 8; }
  else if (!strcmp(kind, "sc")) { basis = sc; nb = 1; }
  else return -1;
  const int n = nb * nc * nc * nc;
  double(*p)[3] = malloc((size_t)n * sizeof *p);
  if (!p) return -1;
  bench_seed(seed);
  int k = 0;
  for (int i = 0; i < nc; i++)
    for (int j = 0; j < nc; j++)
      for (int l = 0; l < nc; l++)
        for (int b = 0; b < nb; b++, k++) {
          p[k][0] = a * (i + basis[b][0]) + jitter * bench_gauss();
          p[k][1] = a * (j + basis[b][1]) + jitter * bench_gauss();
          p[k][2] = a * (l + basis[b][2]) + jitter * bench_gauss();
        }
  memset(cell, 0, 9 * sizeof(double));
  cell[0][0] = cell[1][1] = cell[2][2] = a * nc;
  *pos = p;
  return n;
}

/* Build the full neighbour list within rc of a periodic crystal; exits on error. */
static void bench_nlist(tnace_nlist *nl, int n, double (*pos)[3], double cell[3][3], double rc) {
  char err[256];
  const int pbc[3] = {1, 1, 1};
  if (tnace_nlist_build(nl, n, (const double(*)[3])pos, (const double(*)[3])cell, pbc, rc, err, sizeof err)) {
    fprintf(stderr, "tnace_nlist_build: %s\n", err);
    exit(1);
  }
}

/* Mean number of neighbours strictly inside r over the list. */
static double bench_mean_neigh(const tnace_nlist *nl, double r) {
  long c = 0;
  for (int i = 0; i < nl->n; i++)
    for (int k = nl->offset[i]; k < nl->offset[i + 1]; k++) {
      const double *d = nl->d[k];
      if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r * r) c++;
    }
  return nl->n ? (double)c / nl->n : 0.0;
}

/* Passes over all atoms (species 0). BENCH_ENERGY / BENCH_FORCES: tnace_atom_energy without / with
 * forces. BENCH_BASIS .. BENCH_GRADA: the call sequence of tnace_atom_energy with forces (src/tnace/potential.c)
 * up to and including that stage: tnace_atom_basis, then for every term tn_channels, tn_forward,
 * tn_backward, tn_grad_A (for a term in pair form, tn.h, tn_pair_energy instead: energy only in the
 * forward and backward stages, with ∂E/∂A in the grad_A stage, which thus holds only the extra cost of
 * ∂E/∂A). Phase times are differences of successive stages; the force pass (with the ZBL core and
 * bookkeeping) is BENCH_FORCES minus BENCH_GRADA. Timing whole passes with the thread's CPU clock
 * keeps the numbers meaningful on a machine shared with other processes (preemption is not counted) and
 * puts no timer inside the per-atom loop. */
enum { BENCH_BASIS = 0, BENCH_CHAN, BENCH_FWD, BENCH_BWD, BENCH_GRADA, BENCH_ENERGY, BENCH_FORCES, BENCH_NMODE };
enum { PH_BASIS, PH_CHAN, PH_FWD, PH_BWD, PH_GRADA, PH_FORCE, PH_N };
static const char *const bench_phase_name[PH_N] = {"basis", "channels", "forward", "backward", "grad_A",
                                                   "force_pass"};

/* 1 if every term is a plain MPS term, i.e. the stage replay of bench_pass matches tnace_atom_energy
 * (other term models, e.g. MPO, take other calls: their phase split is not measured). */
static inline int bench_replay_ok(const tnace_potential *pot) {
  for (int t = 0; t < pot->n_terms; t++)
    if (pot->spec[t].model != TNACE_MODEL_MPS) return 0;
  return 1;
}

static inline double bench_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One pass; returns CPU seconds. Exits on a library error. */
static double bench_pass(const tnace_potential *pot, tnace_workspace *ws, const tnace_nlist *nl, const int *spec_j,
                         double (*dEdr)[3], int mode) {
  volatile double sink = 0.0;
  const int nmax = pot->nmax, lmax = pot->lmax;
  const double t0 = bench_cpu();
  for (int i = 0; i < nl->n; i++) {
    const int o = nl->offset[i], cnt = nl->offset[i + 1] - o;
    const double(*rij)[3] = (const double(*)[3])(nl->d + o);
    int rc;
    if (mode == BENCH_ENERGY || mode == BENCH_FORCES) {
      double e;
      rc = tnace_atom_energy(pot, ws, 0, cnt, rij, spec_j, &e, mode == BENCH_FORCES ? dEdr : NULL);
      sink += e;
    } else {
      rc = tnace_atom_basis(pot, ws, 0, cnt, rij, spec_j);
      if (mode >= BENCH_GRADA) memset(ws->dEdA, 0, ws->A_size * sizeof(double));
      for (int k = 0; !rc && mode >= BENCH_CHAN && k < pot->n_terms; k++) {
        const tnace_tn *tn = &pot->tn[k];
        if (tn->S) { /* pair form (tn.h): no channels; E counts as forward, the ∂E/∂A extra as grad_A */
          if (mode >= BENCH_FWD)
            sink += tn_pair_energy(tn, ws->A, nmax, lmax, &ws->tw, mode >= BENCH_GRADA ? ws->dEdA : NULL);
          continue;
        }
        const tnace_tn *ev = tn->rev ? tn->rev : tn; /* as tnace_atom_energy: right to left if cheaper */
        tn_channels(ev, ws->A, nmax, lmax, &ws->tw, 0);
        if (mode >= BENCH_FWD) sink += tn_forward(ev, &ws->tw);
        if (mode >= BENCH_BWD) tn_backward(ev, &ws->tw);
        if (mode >= BENCH_GRADA) tn_grad_A(ev, &ws->tw, ws->dEdA, nmax, lmax);
      }
      sink += ws->A[0];
    }
    if (rc) {
      fprintf(stderr, "atom %d: %s\n", i, tnace_workspace_error(ws));
      exit(1);
    }
  }
  return bench_cpu() - t0;
}

/* Per-atom CPU time of each mode (seconds): median (and minimum) over `reps` passes after one warm-up
 * pass; the modes are interleaved within each repetition. */
static void bench_time_all(const tnace_potential *pot, tnace_workspace *ws, const tnace_nlist *nl, const int *spec_j,
                           double (*dEdr)[3], int reps, double med[BENCH_NMODE], double mn[BENCH_NMODE]) {
  double *t = calloc((size_t)reps * BENCH_NMODE, sizeof *t), col[256];
  /* without a valid replay only the library's own calls are timed (stages read as 0) */
  const int m0 = bench_replay_ok(pot) ? 0 : BENCH_ENERGY;
  for (int m = m0; m < BENCH_NMODE; m++) bench_pass(pot, ws, nl, spec_j, dEdr, m);
  for (int r = 0; r < reps; r++)
    for (int m = m0; m < BENCH_NMODE; m++) t[r * BENCH_NMODE + m] = bench_pass(pot, ws, nl, spec_j, dEdr, m) / nl->n;
  for (int m = 0; m < BENCH_NMODE; m++) {
    for (int r = 0; r < reps; r++) col[r] = t[r * BENCH_NMODE + m];
    med[m] = bench_median(col, reps);
    mn[m] = col[0];
  }
  free(t);
}

/* Phase times from stage times (differences; clipped at 0 against noise). */
static void bench_phases(const double st[BENCH_NMODE], double ph[PH_N]) {
  ph[PH_BASIS] = st[BENCH_BASIS];
  for (int m = BENCH_CHAN; m <= BENCH_GRADA; m++) ph[m] = st[m] - st[m - 1] > 0 ? st[m] - st[m - 1] : 0.0;
  ph[PH_FORCE] = st[BENCH_FORCES] - st[BENCH_GRADA] > 0 ? st[BENCH_FORCES] - st[BENCH_GRADA] : 0.0;
}

/* Cost-model features of a potential for a centre of species 0 (see bench/cost_model.py):
 *   chan  = Σ_terms Σ_k n_el·nmax_t·n_chan[k]·bond[3k]·bond[3k+3]   (channels c = U·A, and grad_A: each once)
 *   trie  = Σ_terms Σ_{k≥1} n_nodes[k]·bond[3k]·bond[3k+3]           (forward; backward is twice that)
 *   nodes = Σ_terms Σ_k n_nodes[k]                                   (per-node overhead) */
static void bench_features(const tnace_potential *pot, double *chan, double *trie, double *nodes) {
  *chan = *trie = *nodes = 0.0;
  for (int t = 0; t < pot->n_terms; t++) {
    const tnace_tn *tn = &pot->tn[t];
    for (int k = 0; k < tn->nu; k++) {
      const double bb = (double)tn->bond[3 * k] * tn->bond[3 * k + 3];
      *chan += (double)tn->n_el * tn->nmax * tn->fus.n_chan[k] * bb;
      if (k >= 1) *trie += (double)tn->fus.n_nodes[k] * bb;
      *nodes += tn->fus.n_nodes[k];
    }
  }
}

#endif
