/*
 * abasis_floor.c — the A-basis floor of a tnace potential: how long one atom's atomic base
 * A_{αnlm} = Σ_j R_n(r_ij) Y_lm(r̂_ij) and its gradients take, against the full per-atom energy and forces.
 *
 *   bench/build/abasis_floor POT.yaml KIND A NCELLS [--reps R] [--jitter J] [--seed S] [--profile P]
 *     KIND = fcc | bcc | diamond | sc, A = lattice constant (Å), NCELLS conventional cells per side.
 *     --profile P: only run P passes of tnace_atom_energy with forces (for perf record), print the time.
 *
 * Neighbour lists are those the LAMMPS plugin hands to libtnace: every neighbour inside the potential's
 * cutoff (the plugin drops the skin before calling tnace_atom_energy). Times are the thread's CPU time
 * per atom, median of R passes over all atoms, one thread. Everything physical is done by libtnace:
 *   basis    tnace_atom_basis: radial g_n, g_n', Y_lm, ∇Y_lm per neighbour and the sum into A
 *   floor    basis + the force pass ∂E/∂r_ij = Σ ∂E/∂A (g' r̂ Y + g ∇Y): measured as tnace_atom_energy
 *            with forces on a "proxy" potential with the same terms (ν, l_max, n_max: the same A-basis mask)
 *            but χ = 1, minus the proxy's own contraction stages (channels, forward, backward, grad_A). This is the part any ACE-type
 *            potential with this basis and neighbour count must pay.
 *   total    tnace_atom_energy with forces on the real potential (what pair_style tnace calls per atom)
 *   energy   tnace_atom_energy without forces
 * plus the phase breakdown of the total (bench_common.h). The last line is the result as JSON.
 */
#include "bench_common.h"

static tnace_potential *make_proxy(const tnace_potential *pot) {
  tnace_term_spec spec[TNACE_MAX_TERMS];
  const char *elem[TNACE_MAX_ELEMENTS];
  char err[256];
  for (int t = 0; t < pot->n_terms; t++) { spec[t] = pot->spec[t]; spec[t].chi = 1; }
  for (int a = 0; a < pot->n_el; a++) elem[a] = pot->elem[a];
  tnace_potential *px;
  if (tnace_potential_create(&px, pot->n_el, elem, pot->n_terms, spec, pot->rcut_max, pot->lambda, err, sizeof err)) {
    fprintf(stderr, "proxy potential: %s\n", err);
    exit(1);
  }
  memcpy(px->rcut, pot->rcut, sizeof px->rcut);
  memcpy(px->e0, pot->e0, sizeof px->e0);
  px->r_min = pot->r_min;
  px->rep_type = pot->rep_type;
  px->rep_inner = pot->rep_inner;
  px->rep_outer = pot->rep_outer;
  bench_seed(7);
  for (int i = 0; i < px->n_el * px->n_terms; i++)
    for (int s = 0; s < 3 * px->tn[i].nu; s++)
      for (size_t q = 0; q < tn_core_size(&px->tn[i], s); q++) px->tn[i].core[s][q] = 0.5 * bench_gauss();
  if (tnace_potential_prepare(px, err, sizeof err)) {
    fprintf(stderr, "proxy potential: %s\n", err);
    exit(1);
  }
  return px;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s POT.yaml fcc|bcc|diamond|sc A NCELLS [--reps R] [--jitter J] [--seed S] [--profile P]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1], *kind = argv[2];
  const double a = atof(argv[3]);
  const int nc = atoi(argv[4]);
  int reps = 5;
  double jitter = 0.05;
  unsigned long long seed = 12345;
  int profile = 0;
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--jitter") && i + 1 < argc) jitter = atof(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--profile") && i + 1 < argc) profile = atoi(argv[++i]);
    else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
  }
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;

  char err[512];
  tnace_potential *pot;
  if (tnace_potential_load(path, &pot, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
  if (pot->n_el != 1) fprintf(stderr, "note: %d elements; every atom is given species 0 (%s)\n", pot->n_el, pot->elem[0]);
  const double rc = pot->rcut_max;

  double(*pos)[3], cell[3][3];
  const int n = bench_crystal(kind, a, nc, jitter, seed, &pos, cell);
  if (n < 0) { fprintf(stderr, "unknown crystal %s\n", kind); return 2; }
  tnace_nlist nl = {0};
  bench_nlist(&nl, n, pos, cell, rc);
  const double nneigh = bench_mean_neigh(&nl, rc);

  int *spec_j = calloc((size_t)nl.max_neigh + 1, sizeof(int));
  double(*dEdr)[3] = malloc(((size_t)nl.max_neigh + 1) * sizeof *dEdr);
  tnace_workspace *ws = tnace_workspace_new(pot, nl.max_neigh);
  tnace_potential *px = make_proxy(pot);
  tnace_workspace *wx = tnace_workspace_new(px, nl.max_neigh);
  if (!spec_j || !dEdr || !ws || !wx) { fprintf(stderr, "out of memory\n"); return 1; }

  if (profile > 0) {
    /* only `profile` passes of tnace_atom_energy with forces, e.g. under perf record */
    double t = 0.0;
    for (int r = 0; r < profile; r++) t += bench_pass(pot, ws, &nl, spec_j, dEdr, BENCH_FORCES);
    printf("%d passes of tnace_atom_energy with forces: %.3f us/atom (CPU)\n", profile, 1e6 * t / profile / n);
    return 0;
  }
  double st[BENCH_NMODE], stmin[BENCH_NMODE], sx[BENCH_NMODE], sxmin[BENCH_NMODE], ph[PH_N], phx[PH_N];
  bench_time_all(pot, ws, &nl, spec_j, dEdr, reps, st, stmin);
  bench_time_all(px, wx, &nl, spec_j, dEdr, reps, sx, sxmin);
  bench_phases(st, ph);
  bench_phases(sx, phx);
  const double t_basis = st[BENCH_BASIS], t_total = st[BENCH_FORCES], t_energy = st[BENCH_ENERGY];
  const double t_proxy = sx[BENCH_FORCES];
  const double proxy_contr = phx[PH_CHAN] + phx[PH_FWD] + phx[PH_BWD] + phx[PH_GRADA];
  /* floor = the proxy's basis + force pass (+ZBL), i.e. its total minus its contraction */
  const double t_floor = phx[PH_BASIS] + phx[PH_FORCE];
  double chan, trie, nodes;
  bench_features(pot, &chan, &trie, &nodes);

  const double us = 1e6;
  printf("potential      %s (%s, %ld parameters, cutoff %.3g A, nmax %d, lmax %d)\n", path, pot->elem[0],
         tnace_potential_n_params(pot), rc, pot->nmax, pot->lmax);
  for (int t = 0; t < pot->n_terms; t++)
    printf("  term %d       nu %d lmax %d nmax %d chi %d\n", t, pot->spec[t].nu, pot->spec[t].lmax, pot->spec[t].nmax,
           pot->spec[t].chi);
  printf("crystal        %s a = %.4f A, %d^3 cells, %d atoms, jitter %.3f A\n", kind, a, nc, n, jitter);
  printf("neighbours     %.2f per atom inside the cutoff\n", nneigh);
  printf("timing         thread CPU time per atom, median of %d passes over all atoms (min in brackets)\n", reps);
  printf("A basis only   %9.3f us/atom [%.3f]  (tnace_atom_basis: R_n, R_n', Y_lm, dY_lm, sum into A)\n", t_basis * us,
         stmin[BENCH_BASIS] * us);
  printf("A-basis floor  %9.3f us/atom          (basis + force pass: chi=1 proxy %.3f minus its contraction %.3f)\n",
         t_floor * us, t_proxy * us, proxy_contr * us);
  printf("tnace total    %9.3f us/atom [%.3f]  (tnace_atom_energy with forces)\n", t_total * us,
         stmin[BENCH_FORCES] * us);
  printf("tnace energy   %9.3f us/atom [%.3f]  (tnace_atom_energy, no forces)\n", t_energy * us,
         stmin[BENCH_ENERGY] * us);
  printf("total / floor  %9.2f\n", t_total / t_floor);
  printf("total / basis  %9.2f\n", t_total / t_basis);
  printf("phases of the total (us/atom, %% of total; differences of cumulative stages):\n");
  for (int p = 0; p < PH_N; p++)
    printf("  %-12s %9.3f  %5.1f%%%s\n", bench_phase_name[p], ph[p] * us, 100.0 * ph[p] / t_total,
           p == PH_FORCE ? "   (total minus the stages above: dE/dr pass, ZBL, bookkeeping)" : "");
  if (!bench_replay_ok(pot))
    printf("NOTE: the potential has non-MPS terms: the phase split (and the basis-only time) is not measured\n");
  else if (st[BENCH_GRADA] > 1.1 * t_total)
    printf("WARNING: the stage replay (bench_common.h) costs more than tnace_atom_energy itself: the evaluator's\n"
           "         call sequence has probably changed; the phase split above is not reliable\n");
  printf("JSON {\"terms\": [");
  for (int t = 0; t < pot->n_terms; t++)
    printf("%s[%d, %d, %d, %d, %d]", t ? ", " : "", pot->spec[t].nu, pot->spec[t].lmax, pot->spec[t].nmax,
           pot->spec[t].chi, pot->spec[t].model);
  printf("], \"potential\": \"%s\", \"element\": \"%s\", \"crystal\": \"%s\", \"a\": %.6g, \"ncells\": %d, "
         "\"atoms\": %d, \"neigh\": %.4f, \"rcut\": %.6g, \"nmax\": %d, \"lmax\": %d, \"params\": %ld, \"reps\": %d, "
         "\"basis_us\": %.6g, \"floor_us\": %.6g, \"total_us\": %.6g, \"total_min_us\": %.6g, \"energy_us\": %.6g, "
         "\"proxy_us\": %.6g, \"proxy_contraction_us\": %.6g, "
         "\"phases_us\": {\"basis\": %.6g, \"channels\": %.6g, \"forward\": %.6g, \"backward\": %.6g, "
         "\"grad_A\": %.6g, \"force_pass\": %.6g}, \"feat_chan\": %.6g, \"feat_trie\": %.6g, \"feat_nodes\": %.6g}\n",
         path, pot->elem[0], kind, a, nc, n, nneigh, rc, pot->nmax, pot->lmax, tnace_potential_n_params(pot), reps,
         t_basis * us, t_floor * us, t_total * us, stmin[BENCH_FORCES] * us, t_energy * us, t_proxy * us,
         proxy_contr * us, ph[PH_BASIS] * us, ph[PH_CHAN] * us, ph[PH_FWD] * us, ph[PH_BWD] * us, ph[PH_GRADA] * us,
         ph[PH_FORCE] * us, chan, trie, nodes);

  tnace_workspace_free(ws);
  tnace_workspace_free(wx);
  tnace_potential_free(pot);
  tnace_potential_free(px);
  tnace_nlist_free(&nl);
  free(pos); free(spec_j); free(dEdr);
  return 0;
}
