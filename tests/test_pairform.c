/*
 * test_pairform.c — the evaluator's alternative contractions against the channel route (tn_channels,
 * tn_forward, tn_backward, tn_grad_A) of the term itself: energy and ∂E/∂A on random A, for one and two species.
 *   - the pair form of ν = 2 terms (tn.h: tn_pair_energy, used by tnace_atom_energy when tn_prepare set
 *     t->S), and its cost rule: the pair form for few radial functions per bond dimension, the channel
 *     route otherwise; with a species-blind copy (two species), the pair form through P_λ = U_r V_λᵀ;
 *   - the right-to-left view of ν ≥ 3 terms (tn.h: t->rev, tnace_fusion_reverse), which tnace_atom_energy
 *     uses when its trie is cheaper; also after the cores change and tn_prepare runs again.
 *   - species-blind copies on the channel route (tn_channels and tn_grad_A through the species sum Ā).
 * (The evaluator's energies and forces are also checked against dense references and finite differences in
 * test_potential.)
 */
#include "model.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 0x5DEECE66DULL;
static double urand(void) { return 2.0 * test_rand(&rng) - 1.0; }

/* blind: -1 all species cores random; k = 0, 1: copy k's species core the same for every species (a
 * species-blind copy, model.h scopies), so that the pair form keeps P_λ instead of S_λ (tn.h). */
static void check_pair_form(int ne, int blind) {
  const char *el[] = {"Cu", "Ni"};
  tnace_term_spec spec[3];
  memset(spec, 0, sizeof spec);
  /* (nu, lmax, nmax, chi): pair form expected for the first two, not for χ = 1 */
  const int shape[3][4] = {{2, 6, 6, 6}, {2, 4, 5, 8}, {2, 3, 8, 1}};
  for (int t = 0; t < 3; t++) {
    spec[t].nu = shape[t][0];
    spec[t].lmax = shape[t][1];
    spec[t].nmax = shape[t][2];
    spec[t].chi = shape[t][3];
  }
  char err[256];
  tnace_potential *p = NULL;
  if (tnace_potential_create(&p, ne, el, 3, spec, 5.0, 5.0, err, sizeof err)) {
    CHECK(0, "create: %s", err);
    return;
  }
  for (int i = 0; i < ne * 3; i++)
    for (int s = 0; s < 3 * p->tn[i].nu; s++)
      for (size_t q = 0; q < tn_core_size(&p->tn[i], s); q++) p->tn[i].core[s][q] = 0.6 * urand();
  for (int i = 0; blind >= 0 && i < ne * 3; i++) { /* species core [n_el][bond][bond]: copy species 0's block */
    tnace_tn *tn = &p->tn[i];
    const size_t blk = tn_core_size(tn, 3 * blind) / (size_t)ne;
    for (int a = 1; a < ne; a++) memcpy(tn->core[3 * blind] + a * blk, tn->core[3 * blind], blk * sizeof(double));
  }
  CHECK(tnace_potential_prepare(p, err, sizeof err) == 0, "prepare: %s", err);
  const int nmax = p->nmax, lmax = p->lmax, nlm = (lmax + 1) * (lmax + 1);
  const size_t Asz = (size_t)ne * nmax * nlm;
  double *A = malloc(Asz * sizeof(double)), *g1 = malloc(Asz * sizeof(double)), *g2 = malloc(Asz * sizeof(double));
  for (size_t i = 0; i < Asz; i++) A[i] = urand();
  for (int t = 0; t < 3; t++) {
    const tnace_tn *tn = &p->tn[t];
    CHECK((tn->S != NULL) == (t < 2), "pair form %s for term %d (n_el %d)", tn->S ? "chosen" : "not chosen", t, ne);
    CHECK(tn_pair_blind(tn) == (tn->S && blind >= 0 && ne > 1), "pair form with a blind copy %s (copy %d, n_el %d)",
          tn_pair_blind(tn) ? "chosen" : "not chosen", blind, ne);
    if (!tn->S) continue;
    tnace_tn_ws w;
    memset(&w, 0, sizeof w);
    CHECK(tn_ws_reserve(&w, tn) == 0, "reserve");
    memset(g1, 0, Asz * sizeof(double));
    memset(g2, 0, Asz * sizeof(double));
    const double Ep = tn_pair_energy(tn, A, nmax, lmax, &w, g1);
    const double Ep0 = tn_pair_energy(tn, A, nmax, lmax, &w, NULL);
    tn_channels(tn, A, nmax, lmax, &w, 0);
    const double Er = tn_forward(tn, &w);
    tn_backward(tn, &w);
    tn_grad_A(tn, &w, g2, nmax, lmax);
    CHECK(fabs(Ep - Er) <= 1e-12 * fmax(1.0, fabs(Er)) && Ep == Ep0, "pair energy %.17g, channel route %.17g", Ep, Er);
    double d = 0.0, mx = 0.0;
    for (size_t i = 0; i < Asz; i++) { d = fmax(d, fabs(g1[i] - g2[i])); mx = fmax(mx, fabs(g2[i])); }
    CHECK(d <= 1e-12 * fmax(1.0, mx) && mx > 0, "pair dE/dA differs by %g (max %g), n_el %d term %d blind %d", d, mx,
          ne, t, blind);
    tn_ws_free(&w);
  }
  free(A); free(g1); free(g2);
  tnace_potential_free(p);
}

/* E and ∂E/∂A of term tn through the channel route of `ev` (tn itself or tn->rev). */
static double route(const tnace_tn *ev, const double *A, int nmax, int lmax, double *g, size_t Asz) {
  tnace_tn_ws w;
  memset(&w, 0, sizeof w);
  CHECK(tn_ws_reserve(&w, ev) == 0, "reserve");
  memset(g, 0, Asz * sizeof(double));
  tn_channels(ev, A, nmax, lmax, &w, 0);
  const double E = tn_forward(ev, &w);
  tn_backward(ev, &w);
  tn_grad_A(ev, &w, g, nmax, lmax);
  tn_ws_free(&w);
  return E;
}

static void check_reverse(int ne) {
  const char *el[] = {"Cu", "Ni"};
  /* (nu, lmax, nmax, chi) and whether the reversed trie is expected to be cheaper (tn_prepare's 3 % rule):
   * ν = 3, l_max 4: 269 middle nodes right to left against 295 */
  const int shape[3][5] = {{3, 4, 6, 5, 1}, {3, 6, 4, 3, 1}, {4, 3, 3, 3, -1}};
  for (int t = 0; t < 3; t++) {
    tnace_term_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.nu = shape[t][0]; spec.lmax = shape[t][1]; spec.nmax = shape[t][2]; spec.chi = shape[t][3];
    char err[256];
    tnace_potential *p = NULL;
    if (tnace_potential_create(&p, ne, el, 1, &spec, 5.0, 5.0, err, sizeof err)) {
      CHECK(0, "create: %s", err);
      continue;
    }
    const int nmax = p->nmax, lmax = p->lmax, nlm = (lmax + 1) * (lmax + 1);
    const size_t Asz = (size_t)ne * nmax * nlm;
    double *A = malloc(Asz * sizeof(double)), *g1 = malloc(Asz * sizeof(double)), *g2 = malloc(Asz * sizeof(double));
    for (size_t i = 0; i < Asz; i++) A[i] = urand();
    for (int round = 0; round < 2; round++) { /* round 1: new cores, prepare again (rev refreshed in place) */
      const tnace_tn *tn = &p->tn[0];
      for (int s = 0; s < 3 * tn->nu; s++)
        for (size_t q = 0; q < tn_core_size(tn, s); q++) tn->core[s][q] = 0.6 * urand();
      CHECK(tnace_potential_prepare(p, err, sizeof err) == 0, "prepare: %s", err);
      if (shape[t][4] >= 0)
        CHECK((tn->rev != NULL) == shape[t][4], "shape %d: right-to-left view %s", t, tn->rev ? "built" : "not built");
      if (!tn->rev) continue;
      const double E1 = route(tn, A, nmax, lmax, g1, Asz), E2 = route(tn->rev, A, nmax, lmax, g2, Asz);
      CHECK(fabs(E1 - E2) <= 1e-12 * fmax(1.0, fabs(E1)), "reversed energy %.17g, forward %.17g (shape %d, n_el %d)",
            E2, E1, t, ne);
      double d = 0.0, mx = 0.0;
      for (size_t i = 0; i < Asz; i++) { d = fmax(d, fabs(g1[i] - g2[i])); mx = fmax(mx, fabs(g1[i])); }
      CHECK(d <= 1e-12 * fmax(1.0, mx) && mx > 0, "reversed dE/dA differs by %g (max %g), shape %d n_el %d", d, mx, t, ne);
    }
    free(A); free(g1); free(g2);
    tnace_potential_free(p);
  }
}

/* Species-blind copies on the channel route (tn.h, blind): a ν = 3 term of two species whose copies 1 and 2
 * have one species core for both species; tn_prepare must flag exactly those copies, and tn_channels /
 * tn_grad_A through Ā must give the per-species route's channels, E and ∂E/∂A (the same term with the flags
 * cleared). */
static void check_blind_route(void) {
  const char *el[] = {"Cu", "Ni"};
  tnace_term_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.nu = 3; spec.lmax = 3; spec.nmax = 4; spec.chi = 5;
  char err[256];
  tnace_potential *p = NULL;
  if (tnace_potential_create(&p, 2, el, 1, &spec, 5.0, 5.0, err, sizeof err)) {
    CHECK(0, "create: %s", err);
    return;
  }
  tnace_tn *tn = &p->tn[0];
  for (int s = 0; s < 3 * tn->nu; s++)
    for (size_t q = 0; q < tn_core_size(tn, s); q++) tn->core[s][q] = 0.6 * urand();
  for (int k = 1; k < 3; k++) {
    const size_t blk = tn_core_size(tn, 3 * k) / 2;
    memcpy(tn->core[3 * k] + blk, tn->core[3 * k], blk * sizeof(double));
  }
  CHECK(tnace_potential_prepare(p, err, sizeof err) == 0, "prepare: %s", err);
  CHECK(!tn->blind[0] && tn->blind[1] && tn->blind[2], "blind copies flagged %d %d %d (expected 0 1 1)", tn->blind[0],
        tn->blind[1], tn->blind[2]);
  tnace_tn plain = *tn; /* shares the arrays: not freed */
  memset(plain.blind, 0, sizeof plain.blind);
  const int nmax = p->nmax, lmax = p->lmax, nlm = (lmax + 1) * (lmax + 1);
  const size_t Asz = (size_t)2 * nmax * nlm;
  double *A = malloc(Asz * sizeof(double)), *g1 = malloc(Asz * sizeof(double)), *g2 = malloc(Asz * sizeof(double));
  for (size_t i = 0; i < Asz; i++) A[i] = urand();
  const double E1 = route(tn, A, nmax, lmax, g1, Asz), E2 = route(&plain, A, nmax, lmax, g2, Asz);
  CHECK(fabs(E1 - E2) <= 1e-12 * fmax(1.0, fabs(E2)), "blind route energy %.17g, per-species %.17g", E1, E2);
  double d = 0.0, mx = 0.0;
  for (size_t i = 0; i < Asz; i++) { d = fmax(d, fabs(g1[i] - g2[i])); mx = fmax(mx, fabs(g2[i])); }
  CHECK(d <= 1e-12 * fmax(1.0, mx) && mx > 0, "blind route dE/dA differs by %g (max %g)", d, mx);
  free(A); free(g1); free(g2);
  tnace_potential_free(p);
}

int main(void) {
  for (int blind = -1; blind < 2; blind++) {
    check_pair_form(1, blind);
    check_pair_form(2, blind);
  }
  check_reverse(1);
  check_reverse(2);
  check_blind_route();
  return test_summary("test_pairform");
}
