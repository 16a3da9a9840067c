/*
 * cost_model.c — per-atom time of a tnace potential of a given shape, with random cores, for the cost
 * model fitted by bench/cost_model.py. The potential is built in memory (tnace_potential_create, random
 * Gaussian cores, tnace_potential_prepare) or loaded from a file; nothing is fitted.
 *
 *   bench/build/cost_model KIND A NCELLS RCUT [--reps R] [--jitter J] [--lambda L] [--elements E] [--save PATH]
 *                          TERM [TERM ...]          TERM = nu:lmax:nmax:chi
 *   bench/build/cost_model KIND A NCELLS RCUT [--reps R] --load POT.yaml
 *     (--load: the file's own cutoff is replaced by RCUT only if RCUT > 0)
 *
 * --elements E: a potential of E elements (Cu, Ni, Ag, Au, …; default 1). Every centre is of species 0;
 * with more than one element the neighbours' species cycle through the elements (neighbour j of every
 * atom has species j mod E), so that every species block of the atomic base is filled.
 *
 * Prints one JSON line: neighbours, basis size, which terms the evaluator runs in pair form (tn.h: t->S,
 * set by tnace_potential_prepare), their bonds and trie sizes, the operation counts of cost_features()
 * below, and per-atom CPU times (µs) of tnace_atom_basis and of tnace_atom_energy with forces (median and
 * minimum over the passes) and of the phases of the latter (from the median and from the minimum passes).
 */
#include "bench_common.h"

/* Operation counts of tnace_atom_energy with forces for a centre of species 0, beyond the per-neighbour
 * work (src/tnace/potential.c, src/tnace/tn.c). Per term, with χ_l·χ_r = bond[3k]·bond[3k+3] copy k's bond block,
 * L = ν−1 the leaf copy, K = bond[3ν] (1 for an MPS term):
 * a term NOT in pair form (t->S == NULL) runs tn_channels, tn_forward, tn_backward, tn_grad_A:
 *   chan   Σ_k n_el·nmax·n_chan[k]·χ_l·χ_r       multiply-adds of the channels c = U·A; ∂E/∂A = ⟨U, g⟩
 *                                                 (tn_grad_A) is the same count again
 *   trie   Σ_{1≤k<L} 3·n_nodes[k]·χ_l·χ_r        multiply-adds of the trie levels: a middle level once
 *          + 2·(n_nodes[L] + n_chan[L])·χ_l·K      forward (level_fwd) and twice backward (level_grad,
 *                                                 level_adj); the leaf level once each way (leaf_sums +
 *                                                 leaf_J, level_adj + leaf_grad); ν = 1: 2·n_nodes[0]·K
 *   rows   Σ_{1≤k<L} 3·n_nodes[k] + 2·n_nodes[L]  trie node rows those products visit (ν = 1: 2·n_nodes[0])
 *   calls  Σ_k 2·n_el·n_lambda[k]                 product-kernel calls of tn_channels and tn_grad_A: one
 *                                                 per label and species each
 * a term in pair form runs tn_pair_energy only (Kd = n_el·nmax):
 *   pair   n_chan[0]·Kd²                          multiply-adds of T = S·X (E and ∂E/∂A follow from T), or
 *          n_chan[0]·2·Kd·nmax                    with a species-blind copy (tn_pair_blind: P·X̄, Pᵀ·X)
 *   calls  n_lambda[0]                            one product per label (two with a blind copy)
 * and the model's feature A = 2·chan + pair counts every multiply-add of a product with the atomic base:
 * channels, ∂E/∂A and the pair form's S·X (the comparison tn_prepare makes, tn.c prepare_pair_form, is
 * between these counts). An MPO term counts both of its layers by the channel route. */
typedef struct {
  double chan, pair, A, trie, rows, calls;
} cost_feat;

static void cost_add_route(const tnace_tn *tn, cost_feat *f) {
  const tnace_fusion *fu = &tn->fus;
  const double ne = tn->n_el, nm = tn->nmax, K = tn->bond[3 * tn->nu];
  const int L = tn->nu - 1;
  for (int k = 0; k < tn->nu; k++) {
    const double bl = tn->bond[3 * k], br = tn->bond[3 * k + 3];
    f->chan += ne * nm * fu->n_chan[k] * bl * br;
    f->calls += 2 * ne * fu->n_lambda[k];
    if (L == 0) {
      f->trie += 2.0 * fu->n_nodes[0] * K;
      f->rows += 2.0 * fu->n_nodes[0];
    } else if (k >= 1 && k < L) {
      f->trie += 3.0 * fu->n_nodes[k] * bl * br;
      f->rows += 3.0 * fu->n_nodes[k];
    } else if (k == L) {
      f->trie += 2.0 * ((double)fu->n_nodes[k] + fu->n_chan[k]) * bl * K;
      f->rows += 2.0 * fu->n_nodes[k];
    }
  }
}

static void cost_features(const tnace_potential *pot, cost_feat *f) {
  memset(f, 0, sizeof *f);
  for (int t = 0; t < pot->n_terms; t++) {
    const tnace_tn *tn = &pot->tn[t]; /* species 0's term */
    if (tn->S) {
      const double kd = (double)tn->n_el * tn->nmax;
      const int blind = tn_pair_blind(tn);
      f->pair += tn->fus.n_chan[0] * kd * (blind ? 2.0 * tn->nmax : kd);
      f->calls += (blind ? 2 : 1) * tn->fus.n_lambda[0];
      continue;
    }
    cost_add_route(tn->rev && pot->spec[t].model != TNACE_MODEL_MPO ? tn->rev : tn, f); /* the trie evaluated */
    if (pot->spec[t].model == TNACE_MODEL_MPO) cost_add_route(&pot->tn_bra[t], f);
  }
  f->A = 2 * f->chan + f->pair;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr,
            "usage: %s fcc|bcc|diamond|sc A NCELLS RCUT [--reps R] [--jitter J] [--lambda L] [--elements E] "
            "[--save P] nu:lmax:nmax:chi ... | --load POT.yaml\n",
            argv[0]);
    return 2;
  }
  const char *kind = argv[1];
  const double a = atof(argv[2]);
  const int nc = atoi(argv[3]);
  double rc = atof(argv[4]);
  int reps = 5, n_el = 1;
  double jitter = 0.05, lambda = 5.0;
  const char *load = NULL, *save = NULL;
  tnace_term_spec spec[TNACE_MAX_TERMS];
  int nt = 0;
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--jitter") && i + 1 < argc) jitter = atof(argv[++i]);
    else if (!strcmp(argv[i], "--lambda") && i + 1 < argc) lambda = atof(argv[++i]);
    else if (!strcmp(argv[i], "--elements") && i + 1 < argc) n_el = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--load") && i + 1 < argc) load = argv[++i];
    else if (!strcmp(argv[i], "--save") && i + 1 < argc) save = argv[++i];
    else {
      tnace_term_spec s = {0};
      if (nt >= TNACE_MAX_TERMS || sscanf(argv[i], "%d:%d:%d:%d", &s.nu, &s.lmax, &s.nmax, &s.chi) != 4) {
        fprintf(stderr, "bad argument %s (want nu:lmax:nmax:chi)\n", argv[i]);
        return 2;
      }
      s.model = TNACE_MODEL_MPS;
      spec[nt++] = s;
    }
  }
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  static const char *const ELEM[] = {"Cu", "Ni", "Ag", "Au", "Pd", "Pt", "Al", "Fe"};
  if (n_el < 1 || n_el > (int)(sizeof ELEM / sizeof ELEM[0])) {
    fprintf(stderr, "--elements: 1..%d\n", (int)(sizeof ELEM / sizeof ELEM[0]));
    return 2;
  }

  char err[512];
  tnace_potential *pot;
  if (load) {
    if (tnace_potential_load(load, &pot, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (rc > 0) {
      for (int i = 0; i < pot->n_el; i++)
        for (int j = 0; j < pot->n_el; j++) pot->rcut[i][j] = rc;
      if (tnace_potential_prepare(pot, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    }
    rc = pot->rcut_max;
  } else {
    if (tnace_potential_create(&pot, n_el, (const char *const *)ELEM, nt, spec, rc, lambda, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    bench_seed(2024);
    for (int i = 0; i < pot->n_el * pot->n_terms; i++) {
      tnace_tn *tn = &pot->tn[i];
      for (int s = 0; s < 3 * tn->nu; s++) {
        /* entries ~ N(0, 1/bond): keeps the chain products O(1) */
        const double sc = 1.0 / sqrt((double)tn->bond[s + 1]);
        for (size_t q = 0; q < tn_core_size(tn, s); q++) tn->core[s][q] = sc * bench_gauss();
      }
    }
    if (tnace_potential_prepare(pot, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (save && tnace_potential_save(pot, save, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
  }

  double(*pos)[3], cell[3][3];
  const int n = bench_crystal(kind, a, nc, jitter, 12345, &pos, cell);
  if (n < 0) { fprintf(stderr, "unknown crystal %s\n", kind); return 2; }
  tnace_nlist nl = {0};
  bench_nlist(&nl, n, pos, cell, rc);
  const double nneigh = bench_mean_neigh(&nl, rc);
  int *spec_j = calloc((size_t)nl.max_neigh + 1, sizeof(int));
  double(*dEdr)[3] = malloc(((size_t)nl.max_neigh + 1) * sizeof *dEdr);
  tnace_workspace *ws = tnace_workspace_new(pot, nl.max_neigh);
  if (!spec_j || !dEdr || !ws) { fprintf(stderr, "out of memory\n"); return 1; }
  for (int j = 0; j <= nl.max_neigh; j++) spec_j[j] = j % pot->n_el;

  double st[BENCH_NMODE], stmin[BENCH_NMODE], ph[PH_N];
  bench_time_all(pot, ws, &nl, spec_j, dEdr, reps, st, stmin);
  bench_phases(st, ph);
  double phm[PH_N]; /* the same from the fastest pass of each stage (less disturbed by other load) */
  bench_phases(stmin, phm);
  const double t_basis = st[BENCH_BASIS], t_total = st[BENCH_FORCES];
  cost_feat f;
  cost_features(pot, &f);
  /* basis entries actually used: Σ_l (2l+1) · max nmax of the terms reaching l (per neighbour: the basis
   * product A += g Y and the force pass touch these, whatever the number of species) */
  long used = 0;
  for (int l = 0; l <= pot->lmax; l++) {
    int nm = 0;
    for (int t = 0; t < pot->n_terms; t++)
      if (pot->spec[t].lmax >= l && pot->spec[t].nmax > nm) nm = pot->spec[t].nmax;
    if (pot->n_terms == 0 && l == 0) nm = 1;
    used += (long)(2 * l + 1) * nm;
  }
  const double us = 1e6;
  printf("{\"terms\": [");
  for (int t = 0; t < pot->n_terms; t++)
    printf("%s[%d, %d, %d, %d]", t ? ", " : "", pot->spec[t].nu, pot->spec[t].lmax, pot->spec[t].nmax,
           pot->spec[t].chi);
  printf("], \"pair_form\": [");
  for (int t = 0; t < pot->n_terms; t++) printf("%s%d", t ? ", " : "", pot->tn[t].S != NULL);
  printf("], \"bonds\": [");
  for (int t = 0; t < pot->n_terms; t++) {
    printf("%s[", t ? ", " : "");
    for (int s = 0; s <= 3 * pot->tn[t].nu; s++) printf("%s%d", s ? ", " : "", pot->tn[t].bond[s]);
    printf("]");
  }
  printf("], \"trie\": [");
  for (int t = 0; t < pot->n_terms; t++) {
    const tnace_fusion *fu = &pot->tn[t].fus;
    printf("%s{\"n_lambda\": [", t ? ", " : "");
    for (int k = 0; k < fu->nu; k++) printf("%s%d", k ? ", " : "", fu->n_lambda[k]);
    printf("], \"n_chan\": [");
    for (int k = 0; k < fu->nu; k++) printf("%s%d", k ? ", " : "", fu->n_chan[k]);
    printf("], \"n_nodes\": [");
    for (int k = 0; k < fu->nu; k++) printf("%s%d", k ? ", " : "", fu->n_nodes[k]);
    printf("]}");
  }
  printf("], \"n_el\": %d, \"rcut\": %.6g, \"atoms\": %d, \"neigh\": %.4f, \"nmax\": %d, \"lmax\": %d, \"nlm\": %d, "
         "\"basis_used\": %ld, \"params\": %ld, \"feat_A\": %.6g, \"feat_chan\": %.6g, \"feat_pair\": %.6g, "
         "\"feat_trie\": %.6g, \"feat_rows\": %.6g, \"feat_calls\": %.6g, \"basis_us\": %.6g, \"total_us\": %.6g, "
         "\"total_min_us\": %.6g, \"energy_us\": %.6g, \"phases_us\": {\"basis\": %.6g, \"channels\": %.6g, "
         "\"forward\": %.6g, \"backward\": %.6g, \"grad_A\": %.6g, \"force_pass\": %.6g}, "
         "\"phases_min_us\": {\"basis\": %.6g, \"channels\": %.6g, \"forward\": %.6g, \"backward\": %.6g, "
         "\"grad_A\": %.6g, \"force_pass\": %.6g}}\n",
         pot->n_el, rc, n, nneigh, pot->nmax, pot->lmax, (pot->lmax + 1) * (pot->lmax + 1), used,
         tnace_potential_n_params(pot), f.A, f.chan, f.pair, f.trie, f.rows, f.calls, t_basis * us, t_total * us,
         stmin[BENCH_FORCES] * us, st[BENCH_ENERGY] * us, ph[PH_BASIS] * us, ph[PH_CHAN] * us, ph[PH_FWD] * us,
         ph[PH_BWD] * us, ph[PH_GRADA] * us, ph[PH_FORCE] * us, phm[PH_BASIS] * us, phm[PH_CHAN] * us,
         phm[PH_FWD] * us, phm[PH_BWD] * us, phm[PH_GRADA] * us, phm[PH_FORCE] * us);
  tnace_workspace_free(ws);
  tnace_potential_free(pot);
  tnace_nlist_free(&nl);
  free(pos); free(spec_j); free(dEdr);
  return 0;
}
