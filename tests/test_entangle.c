/*
 * test_entangle.c — entanglement diagnostics (src/fit/entangle.h): the Schmidt values of every cut of
 * random MPS (ν = 2 and 3, two species, also an MPO layer with an open right bond) equal the singular values
 * of the dense weight tensor reshaped at that cut (LAPACK SVD); entropy and capacity follow from them; the
 * Page value matches the closed form for small sizes.
 */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entangle.h"
#include "testutil.h"
#include "tn.h"

/* Dense W [Π phys][K] of tn (row-major over sites 0..3ν−1, then the open right bond K). */
static double *dense(const tnace_tn *t, size_t *dim) {
  const int ns = 3 * t->nu, K = t->bond[ns];
  size_t n = 1;
  for (int s = 0; s < ns; s++) n *= (size_t)t->phys[s];
  double *W = malloc(n * K * sizeof *W), *v = malloc(4096 * sizeof *v), *u = malloc(4096 * sizeof *u);
  for (size_t idx = 0; idx < n; idx++) {
    size_t rem = idx, digit[3 * TNACE_MAX_NU];
    for (int s = ns - 1; s >= 0; s--) { digit[s] = rem % (size_t)t->phys[s]; rem /= (size_t)t->phys[s]; }
    v[0] = 1.0;
    for (int s = 0; s < ns; s++) {   /* v (1 × bl) · core_s[digit] (bl × br) */
      const int bl = t->bond[s], br = t->bond[s + 1];
      const double *C = t->core[s] + digit[s] * (size_t)bl * br;
      for (int b = 0; b < br; b++) {
        double x = 0;
        for (int a = 0; a < bl; a++) x += v[a] * C[a * br + b];
        u[b] = x;
      }
      memcpy(v, u, (size_t)br * sizeof *v);
    }
    for (int k = 0; k < K; k++) W[idx * K + k] = v[k];
  }
  free(v);
  free(u);
  *dim = n;
  return W;
}

static void check_term(int nu, int lmax, int nmax, int n_el, int chi, int kout, unsigned long long seed) {
  tnace_tn t;
  char err[256];
  const int rc = kout ? tn_init_open(&t, nu, lmax, nmax, n_el, chi, kout, err, sizeof err)
                      : tn_init(&t, nu, lmax, nmax, n_el, chi, err, sizeof err);
  CHECK(rc == 0, "tn_init: %s", err);
  if (rc) return;
  for (int s = 0; s < 3 * nu; s++)
    for (size_t q = 0; q < tn_core_size(&t, s); q++) t.core[s][q] = test_rand(&seed) - 0.5;
  tnace_mps_cuts m;
  CHECK(tnace_mps_entanglement(&t, &m, err, sizeof err) == 0, "%s", err);
  size_t n;
  double *W = dense(&t, &n);
  const int K = t.bond[3 * nu];
  for (int i = 0; i < m.n_cuts; i++) {
    const tnace_cut *c = &m.cut[i];
    size_t rows = 1;
    for (int s = 0; s < c->site; s++) rows *= (size_t)t.phys[s];
    const size_t cols = n / rows * K;   /* the open bond belongs to the right part (traced over) */
    const size_t kk = rows < cols ? rows : cols;
    double *A = malloc(rows * cols * sizeof *A), *sv = malloc(kk * sizeof *sv), *sup = malloc(kk * sizeof *sup);
    memcpy(A, W, rows * cols * sizeof *A);
    CHECK(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (int)rows, (int)cols, A, (int)cols, sv, NULL, 1, NULL, 1, sup) == 0,
          "svd");
    double tot = 0, S = 0;
    for (size_t k = 0; k < kk; k++) tot += sv[k] * sv[k];
    for (int k = 0; k < c->chi; k++) {
      const double want = (size_t)k < kk ? sv[k] / sqrt(tot) : 0.0;
      CHECK(fabs(c->schmidt[k] - want) < 1e-6, "nu %d K %d bond %d value %d: %.10g, dense SVD %.10g", nu, kout, c->site,
            k, c->schmidt[k], want);
    }
    for (size_t k = c->chi; k < kk; k++) CHECK(sv[k] / sqrt(tot) < 1e-6, "rank above chi at bond %d", c->site);
    for (size_t k = 0; k < kk; k++) {
      const double p = sv[k] * sv[k] / tot;
      if (p > 1e-14) S -= p * log(p);
    }
    CHECK(fabs(c->entropy - S) < 1e-6, "bond %d: entropy %.10g, dense %.10g", c->site, c->entropy, S);
    CHECK(c->entropy <= c->ln_chi + 1e-12 && c->capacity >= -1e-12, "bounds at bond %d", c->site);
    CHECK(c->between_copies == (c->site % 3 == 0), "label");
    free(A);
    free(sv);
    free(sup);
  }
  free(W);
  tnace_mps_cuts_free(&m);
  tn_free(&t);
}

int main(void) {
  check_term(2, 1, 3, 2, 4, 0, 7);
  check_term(3, 1, 2, 2, 3, 0, 11);
  check_term(2, 1, 2, 1, 3, 2, 13);   /* an MPO layer: open right bond K = 2 */
  CHECK_CLOSE(tnace_page_entropy(2, 2), 1.0 / 3, 1e-15);
  CHECK_CLOSE(tnace_page_entropy(1, 5), 0.0, 1e-15);
  CHECK_CLOSE(tnace_page_entropy(2, 3), 1.0 / 4 + 1.0 / 5 + 1.0 / 6 - 1.0 / 6, 1e-15);
  return test_summary("test_entangle");
}
