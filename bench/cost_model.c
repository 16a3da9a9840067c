/*
 * cost_model.c — per-atom time of a tnace potential of a given shape, with random cores, for the cost
 * model fitted by bench/cost_model.py. The potential is built in memory (tnace_potential_create, random
 * Gaussian cores, tnace_potential_prepare) or loaded from a file; nothing is fitted.
 *
 *   bench/build/cost_model KIND A NCELLS RCUT [--reps R] [--jitter J] [--lambda L] [--save PATH]
 *                          TERM [TERM ...]          TERM = nu:lmax:nmax:chi
 *   bench/build/cost_model KIND A NCELLS RCUT [--reps R] --load POT.yaml
 *     (--load: the file's own cutoff is replaced by RCUT only if RCUT > 0)
 *
 * Prints one JSON line: neighbours, basis size, the features of bench_features(), and median CPU times
 * per atom (µs) of tnace_atom_basis, tnace_atom_energy with forces, and the phases of the latter.
 */
#include "bench_common.h"

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr,
            "usage: %s fcc|bcc|diamond|sc A NCELLS RCUT [--reps R] [--jitter J] [--lambda L] [--save P] "
            "nu:lmax:nmax:chi ... | --load POT.yaml\n",
            argv[0]);
    return 2;
  }
  const char *kind = argv[1];
  const double a = atof(argv[2]);
  const int nc = atoi(argv[3]);
  double rc = atof(argv[4]);
  int reps = 5;
  double jitter = 0.05, lambda = 5.0;
  const char *load = NULL, *save = NULL;
  tnace_term_spec spec[TNACE_MAX_TERMS];
  int nt = 0;
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--jitter") && i + 1 < argc) jitter = atof(argv[++i]);
    else if (!strcmp(argv[i], "--lambda") && i + 1 < argc) lambda = atof(argv[++i]);
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
    const char *elem[1] = {"Cu"};
    if (tnace_potential_create(&pot, 1, elem, nt, spec, rc, lambda, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    bench_seed(2024);
    for (int t = 0; t < pot->n_terms; t++) {
      tnace_tn *tn = &pot->tn[t];
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

  double st[BENCH_NMODE], stmin[BENCH_NMODE], ph[PH_N];
  bench_time_all(pot, ws, &nl, spec_j, dEdr, reps, st, stmin);
  bench_phases(st, ph);
  const double t_basis = st[BENCH_BASIS], t_total = st[BENCH_FORCES];
  double chan, trie, nodes;
  bench_features(pot, &chan, &trie, &nodes);
  /* basis entries actually used: Σ_l (2l+1) · max nmax of the terms reaching l */
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
  printf("], \"rcut\": %.6g, \"atoms\": %d, \"neigh\": %.4f, \"nmax\": %d, \"lmax\": %d, \"nlm\": %d, "
         "\"basis_used\": %ld, \"params\": %ld, \"feat_chan\": %.6g, \"feat_trie\": %.6g, \"feat_nodes\": %.6g, "
         "\"basis_us\": %.6g, \"total_us\": %.6g, \"total_min_us\": %.6g, \"energy_us\": %.6g, \"phases_us\": {\"basis\": %.6g, \"channels\": %.6g, "
         "\"forward\": %.6g, \"backward\": %.6g, \"grad_A\": %.6g, \"force_pass\": %.6g}}\n",
         rc, n, nneigh, pot->nmax, pot->lmax, (pot->lmax + 1) * (pot->lmax + 1), used, tnace_potential_n_params(pot),
         chan, trie, nodes, t_basis * us, t_total * us, stmin[BENCH_FORCES] * us, st[BENCH_ENERGY] * us,
         ph[PH_BASIS] * us, ph[PH_CHAN] * us, ph[PH_FWD] * us, ph[PH_BWD] * us, ph[PH_GRADA] * us, ph[PH_FORCE] * us);
  tnace_workspace_free(ws);
  tnace_potential_free(pot);
  tnace_nlist_free(&nl);
  free(pos); free(spec_j); free(dEdr);
  return 0;
}
