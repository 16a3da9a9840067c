/*
 * test_potential.c — the per-atom evaluator against independent references:
 *  - each MPS term's energy equals the explicit contraction ⟨W|B⟩ with W formed from the cores and B
 *    formed densely from A and the fusion-tree coefficients (test-only reference), ν = 1..4;
 *  - energy invariant under random rotations and permutations of same-species neighbours;
 *  - analytic ∂E/∂r_ij against central finite differences; virial against finite strain derivatives;
 *  - energy and force continuous and zero at r_cut; ZBL core switched smoothly.
 */
#include "model.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static double urand(void) { return test_rand(&rng); }

static tnace_potential *make_pot(int n_el, const char *const *el, int n_terms, const tnace_term_spec *spec,
                                 double rcut, double scale) {
  char err[512];
  tnace_potential *p = NULL;
  int rc = tnace_potential_create(&p, n_el, el, n_terms, spec, rcut, 5.0, err, sizeof err);
  CHECK(rc == 0, "create: %s", err);
  if (rc) exit(1);
  for (int i = 0; i < n_el * n_terms; i++)
    for (int layer = 0; layer < tnace_n_layers(p, i % n_terms); layer++) {
      tnace_tn *t = tnace_layer(p, i / n_terms, i % n_terms, layer);
      for (int s = 0; s < 3 * t->nu; s++)
        for (size_t q = 0; q < tn_core_size(t, s); q++) t->core[s][q] = scale * (2.0 * urand() - 1.0);
    }
  for (int a = 0; a < n_el; a++) p->e0[a] = -1.0 - a;
  rc = tnace_potential_prepare(p, err, sizeof err);
  CHECK(rc == 0, "prepare: %s", err);
  return p;
}

/* n random neighbours with distances in [rmin, rmax). */
static void random_cluster(int n, int n_el, double rmin, double rmax, double (*r)[3], int *sp) {
  for (int j = 0; j < n; j++) {
    double v[3], d;
    do {
      for (int a = 0; a < 3; a++) v[a] = 2.0 * urand() - 1.0;
      d = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    } while (d < 0.1 || d > 1.0);
    const double len = rmin + (rmax - rmin) * urand();
    for (int a = 0; a < 3; a++) r[j][a] = v[a] / d * len;
    sp[j] = (int)(urand() * n_el);
  }
}

static void random_rotation(double R[3][3]) {
  /* Gram–Schmidt on a random matrix, then fix the determinant to +1. */
  double M[3][3];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) M[i][j] = 2.0 * urand() - 1.0;
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < i; k++) {
      double d = 0;
      for (int j = 0; j < 3; j++) d += M[i][j] * R[k][j];
      for (int j = 0; j < 3; j++) M[i][j] -= d * R[k][j];
    }
    double nn = sqrt(M[i][0] * M[i][0] + M[i][1] * M[i][1] + M[i][2] * M[i][2]);
    for (int j = 0; j < 3; j++) R[i][j] = M[i][j] / nn;
  }
  double det = R[0][0] * (R[1][1] * R[2][2] - R[1][2] * R[2][1]) - R[0][1] * (R[1][0] * R[2][2] - R[1][2] * R[2][0]) +
               R[0][2] * (R[1][0] * R[2][1] - R[1][1] * R[2][0]);
  if (det < 0)
    for (int j = 0; j < 3; j++) R[2][j] = -R[2][j];
}

static double energy(const tnace_potential *p, tnace_workspace *ws, int si, int n, double (*r)[3], int *sp,
                     double (*dE)[3]) {
  double E = 0.0;
  int rc = tnace_atom_energy(p, ws, si, n, (const double(*)[3])r, sp, &E, dE);
  CHECK(rc == 0, "tnace_atom_energy: %s", tnace_workspace_error(ws));
  return E;
}

/* Dense reference of one term: Σ_leaves coef Σ_{α_k n_k} W(α,n,λ) Π_k A[α_k][n_k][lm_k]. */
/* The weight W(α,n,λ)_b of all copies' cores (b: the open right bond, K = bond[3ν]). */
static void chain_weight(const tnace_tn *t, const int *al, const int *nn, const int *la, double *out) {
  double v[512], w[512];
  int bl = 1;
  v[0] = 1.0;
  for (int k = 0; k < t->nu; k++) {
    const int idx[3] = {al[k], nn[k], la[k]};
    for (int s3 = 0; s3 < 3; s3++) {
      const int s = 3 * k + s3, b0 = t->bond[s], b1 = t->bond[s + 1];
      const double *C = t->core[s] + (size_t)idx[s3] * b0 * b1;
      for (int q = 0; q < b1; q++) {
        double acc = 0.0;
        for (int p = 0; p < b0; p++) acc += v[p] * C[p * b1 + q];
        w[q] = acc;
      }
      memcpy(v, w, b1 * sizeof(double));
      bl = b1;
    }
  }
  memcpy(out, v, (size_t)bl * sizeof(double));
}

/* J_b = Σ_leaves coef Σ_{α_k n_k} W(α,n,λ)_b Π_k A[α_k][n_k][lm_k]: B formed densely, contracted with W. */
static void dense_J(const tnace_tn *t, const double *A, int nmaxA, int lmaxA, double *J) {
  const tnace_fusion *f = &t->fus;
  const int nu = t->nu, nlmA = (lmaxA + 1) * (lmaxA + 1), K = t->bond[3 * nu];
  for (int b = 0; b < K; b++) J[b] = 0.0;
  for (int leaf = 0; leaf < f->n_nodes[nu - 1]; leaf++) {
    int ch[TNACE_MAX_NU], la[TNACE_MAX_NU], lm[TNACE_MAX_NU];
    int node = leaf;
    for (int k = nu - 1; k >= 0; k--) {
      ch[k] = f->chan[k][node];
      node = f->parent[k][node];
    }
    for (int k = 0; k < nu; k++) { la[k] = f->chan_lam[k][ch[k]]; lm[k] = f->chan_lm[k][ch[k]]; }
    /* enumerate (α_k, n_k) for all copies */
    const int per = t->n_el * t->nmax;
    long total = 1;
    for (int k = 0; k < nu; k++) total *= per;
    double sum[64] = {0};
    for (long code = 0; code < total; code++) {
      int al[TNACE_MAX_NU], nn[TNACE_MAX_NU];
      long c = code;
      double prodA = 1.0;
      for (int k = 0; k < nu; k++) {
        int x = (int)(c % per);
        c /= per;
        al[k] = x / t->nmax;
        nn[k] = x % t->nmax;
        prodA *= A[((size_t)al[k] * nmaxA + nn[k]) * nlmA + lm[k]];
      }
      if (prodA == 0.0) continue;
      double wv[64];
      chain_weight(t, al, nn, la, wv);
      for (int b = 0; b < K; b++) sum[b] += wv[b] * prodA;
    }
    for (int b = 0; b < K; b++) J[b] += f->coef[leaf] * sum[b];
  }
}

/* The embedding read-out of tn.h written out on its own: J_0 + Σ_{b≥1} J_b (1 + (b J_b/s)²)^(−1/4). */
static double embed_ref(int K, double s, const double *J) {
  double E = J[0];
  for (int b = 1; b < K; b++) E += J[b] * pow(1.0 + (b * J[b] / s) * (b * J[b] / s), -0.25);
  return E;
}

/* Energies of MPS terms equal ⟨W|B⟩, of MPO terms Σ_b ⟨F_b|B⟩⟨F'_b|B⟩ and of embed terms the read-out of the
 * ⟨F_b|B⟩, with B formed densely; the embed scales are small enough that the read-out is far from linear. */
static void test_dense_reference(void) {
  const char *el[] = {"Nb", "Mo", "Ta"};
  const tnace_term_spec spec[] = {{1, 0, 4, 3, 0, 0, 0, 0, 0, 0, 0}, {2, 4, 3, 4, 0, 0, 0, 0, 0, 0, 0}, {3, 3, 2, 3, 0, 0, 0, 0, 0, 0, 0}, {4, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0},
                                  {2, 3, 2, 3, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0}, {3, 2, 3, 3, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0},
                                  {1, 0, 3, 2, TNACE_MODEL_MPO, 3, 0, 0, 0, 0, 0}, {1, 0, 4, 2, TNACE_MODEL_EMB, 4, 0, 0, 0, 0, 0.01}};
  tnace_potential *p = make_pot(3, el, 8, spec, 4.5, 0.7);
  CHECK(p->spec[0].escale == 0.0 && p->spec[7].escale == 0.01, "embed scales %g %g", p->spec[0].escale,
        p->spec[7].escale);
  CHECK(p->tn[4].bond[6] == 2 && p->tn_bra[4].bond[6] == 2, "MPO rank bonds %d %d", p->tn[4].bond[6],
        p->tn_bra[4].bond[6]);
  tnace_workspace *ws = tnace_workspace_new(p, 32);
  double r[20][3];
  int sp[20];
  random_cluster(20, 3, 1.5, 5.0, r, sp);
  for (int si = 0; si < 3; si++) {
    double E = energy(p, ws, si, 20, r, sp, NULL);
    double Eref = p->e0[si];
    for (int t = 0; t < p->n_terms; t++) {
      const tnace_tn *tn = &p->tn[si * p->n_terms + t];
      double J[64], Jb[64], Et_dense = 0.0;
      dense_J(tn, ws->A, p->nmax, p->lmax, J);
      if (p->spec[t].model == TNACE_MODEL_MPO) {
        dense_J(&p->tn_bra[si * p->n_terms + t], ws->A, p->nmax, p->lmax, Jb);
        for (int b = 0; b < tn->bond[3 * tn->nu]; b++) Et_dense += J[b] * Jb[b];
        CHECK(fabs(Et_dense) > 1e-6, "MPO term %d (nu %d) suspiciously zero: %g", t, tn->nu, Et_dense);
      } else if (p->spec[t].model == TNACE_MODEL_EMB) {
        const int K = tn->bond[3 * tn->nu];
        Et_dense = embed_ref(K, p->spec[t].escale, J);
        double lin = 0.0;
        for (int b = 0; b < K; b++) lin += J[b];
        CHECK(fabs(lin - Et_dense) > 0.1 * fabs(lin), "embed term %d (nu %d) barely nonlinear: %g vs linear %g", t,
              tn->nu, Et_dense, lin);
      } else {
        Et_dense = J[0];
        tn_channels(tn, ws->A, p->nmax, p->lmax, &ws->tw, 0);
        double Et = tn_forward(tn, &ws->tw);
        CHECK(fabs(Et - Et_dense) <= 1e-12 * fmax(1.0, fabs(Et_dense)), "term nu=%d: MPS %.17g dense %.17g",
              tn->nu, Et, Et_dense);
      }
      Eref += Et_dense;
    }
    CHECK(fabs(E - Eref) <= 1e-12 * fmax(1.0, fabs(Eref)), "total %.17g vs dense %.17g", E, Eref);
  }
  tnace_workspace_free(ws);
  tnace_potential_free(p);
}

static void test_invariance_and_forces(int with_zbl) {
  const char *el[] = {"Cu", "Ni"};
  const tnace_term_spec spec[] = {{1, 0, 6, 2, 0, 0, 0, 0, 0, 0, 0}, {2, 6, 6, 6, 0, 0, 0, 0, 0, 0, 0}, {3, 4, 4, 5, 0, 0, 0, 0, 0, 0, 0}, {4, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0},
                                  {2, 4, 4, 4, TNACE_MODEL_MPO, 3, 0, 0, 0, 0, 0}, {3, 3, 3, 3, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0},
                                  {1, 0, 4, 2, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0}, {2, 3, 4, 3, TNACE_MODEL_EMB, 3, 0, 0, 0, 0, 0.05}};
  tnace_potential *p = make_pot(2, el, 8, spec, 5.0, 0.5);
  if (with_zbl) { p->rep_type = TNACE_REP_ZBL; p->rep_inner = 1.2; p->rep_outer = 2.0; }
  enum { N = 24 };
  tnace_workspace *ws = tnace_workspace_new(p, N);
  double r[N][3], r2[N][3], dE[N][3], dE2[N][3];
  int sp[N], sp2[N];
  random_cluster(N, 2, with_zbl ? 1.0 : 1.6, 5.3, r, sp);
  for (int si = 0; si < 2; si++) {
    const double E = energy(p, ws, si, N, r, sp, dE);
    /* rotation */
    for (int trial = 0; trial < 3; trial++) {
      double R[3][3];
      random_rotation(R);
      for (int j = 0; j < N; j++)
        for (int a = 0; a < 3; a++) r2[j][a] = R[a][0] * r[j][0] + R[a][1] * r[j][1] + R[a][2] * r[j][2];
      const double Er = energy(p, ws, si, N, r2, sp, dE2);
      CHECK(fabs(Er - E) <= 1e-12 * fmax(1.0, fabs(E)), "rotation: %.17g vs %.17g", Er, E);
      /* forces rotate covariantly */
      double worst = 0.0;
      for (int j = 0; j < N; j++)
        for (int a = 0; a < 3; a++) {
          double rot = R[a][0] * dE[j][0] + R[a][1] * dE[j][1] + R[a][2] * dE[j][2];
          worst = fmax(worst, fabs(rot - dE2[j][a]));
        }
      CHECK(worst < 1e-10, "force covariance error %g", worst);
    }
    /* permutation of neighbours (species travel with their vectors) */
    int perm[N];
    for (int j = 0; j < N; j++) perm[j] = j;
    for (int j = N - 1; j > 0; j--) {
      int k = (int)(urand() * (j + 1));
      int t = perm[j]; perm[j] = perm[k]; perm[k] = t;
    }
    for (int j = 0; j < N; j++) { memcpy(r2[j], r[perm[j]], sizeof r2[j]); sp2[j] = sp[perm[j]]; }
    const double Ep = energy(p, ws, si, N, r2, sp2, NULL);
    CHECK(fabs(Ep - E) <= 1e-12 * fmax(1.0, fabs(E)), "permutation: %.17g vs %.17g", Ep, E);
    /* finite differences */
    const double h = 1e-5;
    double maxerr = 0.0, maxf = 0.0;
    for (int j = 0; j < N; j++)
      for (int a = 0; a < 3; a++) {
        memcpy(r2, r, sizeof r2);
        r2[j][a] += h;
        const double Ep1 = energy(p, ws, si, N, r2, sp, NULL);
        r2[j][a] -= 2 * h;
        const double Em1 = energy(p, ws, si, N, r2, sp, NULL);
        const double fd = (Ep1 - Em1) / (2 * h);
        maxerr = fmax(maxerr, fabs(fd - dE[j][a]));
        maxf = fmax(maxf, fabs(dE[j][a]));
      }
    CHECK(maxf > 1e-3, "forces suspiciously small: %g", maxf);
    CHECK(maxerr <= 1e-6 * maxf, "finite-difference force error %g (max |dE/dr| %g)", maxerr, maxf);
    /* virial: dE/dε_ab = Σ_j dEdr_j,a r_j,b under r → (I+ε) r */
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) {
        double an = 0.0;
        for (int j = 0; j < N; j++) an += dE[j][a] * r[j][b];
        for (int j = 0; j < N; j++) { memcpy(r2[j], r[j], sizeof r2[j]); r2[j][a] += h * r[j][b]; }
        const double Ep1 = energy(p, ws, si, N, r2, sp, NULL);
        for (int j = 0; j < N; j++) { memcpy(r2[j], r[j], sizeof r2[j]); r2[j][a] -= h * r[j][b]; }
        const double Em1 = energy(p, ws, si, N, r2, sp, NULL);
        const double fd = (Ep1 - Em1) / (2 * h);
        CHECK(fabs(fd - an) <= 1e-6 * fmax(1.0, fabs(an)), "strain derivative %d%d: fd %.12g analytic %.12g", a, b, fd,
              an);
      }
  }
  tnace_workspace_free(ws);
  tnace_potential_free(p);
}

static void test_cutoff(void) {
  const char *el[] = {"Cu"};
  const tnace_term_spec spec[] = {{1, 0, 6, 1, 0, 0, 0, 0, 0, 0, 0}, {2, 4, 5, 4, 0, 0, 0, 0, 0, 0, 0}, {3, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0}};
  const double rc = 4.0;
  tnace_potential *p = make_pot(1, el, 3, spec, rc, 1.0);
  enum { N = 10 };
  tnace_workspace *ws = tnace_workspace_new(p, N);
  double r[N][3], dE[N][3];
  int sp[N];
  random_cluster(N, 1, 2.0, 3.5, r, sp);
  double Ebase = energy(p, ws, 0, N - 1, r, sp, NULL); /* without the last neighbour */
  const double dir[3] = {0.48, -0.6, 0.64};
  for (int s = 0; s < 3; s++) {
    const double eps = s == 0 ? 1e-3 : (s == 1 ? 1e-5 : 0.0);
    for (int a = 0; a < 3; a++) r[N - 1][a] = dir[a] * (rc - eps);
    double E = energy(p, ws, 0, N, r, sp, dE);
    double f = sqrt(dE[N - 1][0] * dE[N - 1][0] + dE[N - 1][1] * dE[N - 1][1] + dE[N - 1][2] * dE[N - 1][2]);
    if (s == 2) {
      CHECK(E == Ebase, "a neighbour exactly at r_cut must contribute nothing: %.17g vs %.17g", E, Ebase);
      CHECK(f == 0.0, "force at r_cut %g", f);
    } else {
      /* f_c and g_n vanish quadratically: energy change O(eps^2), force O(eps) */
      CHECK(fabs(E - Ebase) < 50 * eps * eps * fmax(1.0, fabs(Ebase)), "energy jump at r_cut - %g: %g", eps, E - Ebase);
      CHECK(f < 50 * eps * fmax(1.0, fabs(Ebase)), "force at r_cut - %g: %g", eps, f);
    }
  }
  for (int a = 0; a < 3; a++) r[N - 1][a] = dir[a] * (rc + 1e-9);
  CHECK(energy(p, ws, 0, N, r, sp, NULL) == Ebase, "neighbour beyond the cutoff changed the energy");
  tnace_workspace_free(ws);
  tnace_potential_free(p);
}

static void test_errors(void) {
  const char *el[] = {"Cu"};
  const tnace_term_spec spec[] = {{2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0}};
  tnace_potential *p = make_pot(1, el, 1, spec, 4.0, 1.0);
  p->r_min = 0.5;
  tnace_workspace *ws = tnace_workspace_new(p, 16);
  double r[20][3] = {{1, 0, 0}, {0.3, 0, 0}};
  int sp[20] = {0};
  double E;
  CHECK(tnace_atom_energy(p, ws, 0, 2, (const double(*)[3])r, sp, &E, NULL) == TNACE_ERR_TOO_CLOSE, "too close");
  CHECK(strstr(tnace_workspace_error(ws), "r_min") != NULL, "message: %s", tnace_workspace_error(ws));
  r[1][0] = NAN;
  CHECK(tnace_atom_energy(p, ws, 0, 2, (const double(*)[3])r, sp, &E, NULL) == TNACE_ERR_NUMERIC, "NaN");
  r[1][0] = 2.0;
  sp[1] = 3;
  CHECK(tnace_atom_energy(p, ws, 0, 2, (const double(*)[3])r, sp, &E, NULL) == TNACE_ERR_ARG, "species");
  sp[1] = 0;
  CHECK(tnace_atom_energy(p, ws, 0, 20, (const double(*)[3])r, sp, &E, NULL) == TNACE_ERR_CAPACITY, "capacity");
  CHECK(tnace_workspace_reserve(ws, 20) == 0, "reserve");
  CHECK(tnace_atom_energy(p, ws, 0, 20, (const double(*)[3])r, sp, &E, NULL) == TNACE_ERR_TOO_CLOSE,
        "zero vectors are too close");
  CHECK(tnace_potential_element_index(p, "Xx") == TNACE_ERR_ELEMENT, "unknown element");
  /* absurd cores: an overflowing energy or a NaN is an error naming the atom, never a number (issue #17/4) */
  double rr[3][3] = {{2.1, 0.2, 0}, {0, 2.3, 0.4}, {-0.3, 0.1, 2.2}}, dE[3][3];
  int ss[3] = {0, 0, 0};
  CHECK(tnace_atom_energy(p, ws, 0, 3, (const double(*)[3])rr, ss, &E, dE) == 0, "plain: %s", tnace_workspace_error(ws));
  tnace_tn *t = &p->tn[0];
  const double keep1 = t->core[1][0], keep4 = t->core[4][0];
  t->core[1][0] = t->core[4][0] = 1e200;   /* two radial cores: E ~ 1e400 */
  char perr[256];
  CHECK(tnace_potential_prepare(p, perr, sizeof perr) == 0, "%s", perr);   /* derived forms (pair form, trie) */
  CHECK(tnace_atom_energy(p, ws, 0, 3, (const double(*)[3])rr, ss, &E, dE) == TNACE_ERR_NUMERIC, "overflow: E = %g", E);
  CHECK(strstr(tnace_workspace_error(ws), "non-finite") && strstr(tnace_workspace_error(ws), "Cu atom"), "message: %s",
        tnace_workspace_error(ws));
  t->core[1][0] = NAN;
  t->core[4][0] = keep4;
  tnace_potential_prepare(p, perr, sizeof perr);
  CHECK(tnace_atom_energy(p, ws, 0, 3, (const double(*)[3])rr, ss, &E, dE) == TNACE_ERR_NUMERIC, "NaN core");
  t->core[1][0] = keep1;
  CHECK(tnace_potential_prepare(p, perr, sizeof perr) == 0, "%s", perr);
  CHECK(tnace_atom_energy(p, ws, 0, 3, (const double(*)[3])rr, ss, &E, dE) == 0, "restored");
  tnace_workspace_free(ws);
  tnace_potential_free(p);
}

/* The trainer's shortcuts agree with the general passes: tn_tangent_copy with tn_tangent, and
 * tn_channels_pair (rank-2 neighbour tangent) with tn_channels on the same dense ΔA; and tn_tangent
 * with central finite differences of tn_backward. */
static void test_tangents(void) {
  const char *el[] = {"Cu", "Ag"};
  const tnace_term_spec spec[] = {{2, 3, 3, 4, 0, 0, 0, 0, 0, 0, 0}, {3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0}, {4, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0}};
  tnace_potential *p = make_pot(2, el, 3, spec, 4.0, 0.8);
  const int nmax = p->nmax, nlm = (p->lmax + 1) * (p->lmax + 1);
  const size_t Asz = (size_t)2 * nmax * nlm;
  double *A = malloc(Asz * sizeof(double)), *dA = calloc(Asz, sizeof(double)), *A2 = malloc(Asz * sizeof(double));
  double u[8], v[8], y1[64], y2[64 * 3];
  for (size_t i = 0; i < Asz; i++) A[i] = 2 * urand() - 1;
  for (int n = 0; n < nmax; n++) { u[n] = 2 * urand() - 1; v[n] = 2 * urand() - 1; }
  for (int lm = 0; lm < nlm; lm++) { y1[lm] = 2 * urand() - 1; for (int x = 0; x < 3; x++) y2[3 * lm + x] = 2 * urand() - 1; }
  const int b = 1;
  for (int n = 0; n < nmax; n++)
    for (int lm = 0; lm < nlm; lm++) dA[((size_t)b * nmax + n) * nlm + lm] = u[n] * y1[lm] + v[n] * y2[3 * lm + 2];
  for (int t = 0; t < 3; t++) {
    const tnace_tn *tn = &p->tn[t];
    tnace_tn_ws w, w2;
    memset(&w, 0, sizeof w);
    memset(&w2, 0, sizeof w2);
    tn_ws_reserve(&w, tn);
    tn_ws_reserve(&w2, tn);
    tn_channels(tn, A, nmax, p->lmax, &w, 0);
    const double E = tn_forward(tn, &w);
    tn_backward(tn, &w);
    tn_channels(tn, dA, nmax, p->lmax, &w, 1);
    const double dE = tn_tangent(tn, &w);
    /* rank-2 channels */
    double *Pu[TNACE_MAX_NU], *Pv[TNACE_MAX_NU];
    for (int k = 0; k < tn->nu; k++) {
      const size_t sz = (size_t)tn->fus.n_lambda[k] * tn->bond[3 * k] * tn->bond[3 * k + 3];
      Pu[k] = malloc(sz * sizeof(double));
      Pv[k] = malloc(sz * sizeof(double));
    }
    tn_project_radial(tn, b, u, Pu);
    tn_project_radial(tn, b, v, Pv);
    tn_channels(tn, A, nmax, p->lmax, &w2, 0);
    tn_forward(tn, &w2);
    tn_backward(tn, &w2);
    tn_channels_pair(tn, Pu, y1, 1, Pv, y2 + 2, 3, &w2);
    double worst = 0.0;
    for (int k = 0; k < tn->nu; k++)
      for (size_t q = 0; q < tn->c_size[k]; q++) worst = fmax(worst, fabs(w2.dc[k][q] - w.dc[k][q]));
    CHECK(worst < 1e-13, "tn_channels_pair differs from tn_channels by %g (nu=%d)", worst, tn->nu);
    for (int k = 0; k < tn->nu; k++) {
      tn_tangent_copy(tn, &w2, k);
      double d = 0.0, mx = 0.0;
      for (size_t q = 0; q < tn->c_size[k]; q++) { d = fmax(d, fabs(w2.dg[k][q] - w.dg[k][q])); mx = fmax(mx, fabs(w.dg[k][q])); }
      CHECK(d <= 1e-13 * fmax(1.0, mx) && mx > 0, "tn_tangent_copy(k=%d) differs by %g (nu=%d)", k, d, tn->nu);
    }
    /* finite differences of the adjoint along dA */
    const double h = 1e-6;
    double *gp[TNACE_MAX_NU];
    for (size_t i = 0; i < Asz; i++) A2[i] = A[i] + h * dA[i];
    tn_channels(tn, A2, nmax, p->lmax, &w2, 0);
    const double Ep = tn_forward(tn, &w2);
    tn_backward(tn, &w2);
    for (int k = 0; k < tn->nu; k++) { gp[k] = malloc(tn->c_size[k] * sizeof(double)); memcpy(gp[k], w2.g[k], tn->c_size[k] * sizeof(double)); }
    for (size_t i = 0; i < Asz; i++) A2[i] = A[i] - h * dA[i];
    tn_channels(tn, A2, nmax, p->lmax, &w2, 0);
    const double Em = tn_forward(tn, &w2);
    tn_backward(tn, &w2);
    CHECK(fabs((Ep - Em) / (2 * h) - dE) <= 1e-7 * fmax(1.0, fabs(dE)), "tangent dE %.12g vs fd %.12g", dE, (Ep - Em) / (2 * h));
    for (int k = 0; k < tn->nu; k++) {
      double d = 0.0, mx = 0.0;
      for (size_t q = 0; q < tn->c_size[k]; q++) {
        d = fmax(d, fabs((gp[k][q] - w2.g[k][q]) / (2 * h) - w.dg[k][q]));
        mx = fmax(mx, fabs(w.dg[k][q]));
      }
      CHECK(d <= 1e-7 * fmax(1.0, mx), "tangent of g^(%d) vs fd: %g (nu=%d)", k, d, tn->nu);
      free(gp[k]);
      free(Pu[k]);
      free(Pv[k]);
    }
    (void)E;
    tn_ws_free(&w);
    tn_ws_free(&w2);
  }
  free(A); free(dA); free(A2);
  tnace_potential_free(p);
}

int main(void) {
  test_tangents();
  test_dense_reference();
  test_invariance_and_forces(0);
  test_invariance_and_forces(1);
  test_cutoff();
  test_errors();
  return test_summary("test_potential");
}
