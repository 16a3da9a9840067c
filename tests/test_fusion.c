/* test_fusion.c — the fusion-tree trie (fusion.h): structure, tuple enumeration, normalisation,
 * closed forms for ν = 1, 2, 3, rotation/inversion invariance for ν = 2, 3, 4, linear independence. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "fusion.h"
#include "testutil.h"
#include "tnace.h"
#include "util.h"
#include "ylm.h"

static int parity(int n) { return (n & 1) ? -1 : 1; }
static int tri(int a, int b, int c) { return c >= abs(a - b) && c <= a + b; }

static int build(tnace_fusion *f, int nu, int lmax) {
  char err[256];
  int rc = tnace_fusion_build(f, nu, lmax, err, sizeof err);
  CHECK(rc == 0, "build nu=%d lmax=%d: rc %d: %s", nu, lmax, rc, err);
  return rc;
}

/* Channels of every copy along the path from the root to each leaf: out[leaf*nu + k]. */
static int *leaf_chans(const tnace_fusion *f) {
  const int nu = f->nu, nl = f->n_nodes[nu - 1];
  int *out = malloc(sizeof(int) * (size_t)nl * nu);
  if (!out) return NULL;
  for (int i = 0; i < nl; i++) {
    int node = i;
    for (int k = nu - 1; k >= 0; k--) {
      out[i * nu + k] = f->chan[k][node];
      node = f->parent[k][node];
    }
  }
  return out;
}

/* Path identifier of a leaf: its label tuple (λ_0..λ_{ν−1}) packed in base (max n_lambda). */
static long path_id(const tnace_fusion *f, const int *ch) {
  long id = 0;
  for (int k = 0; k < f->nu; k++) id = id * 1000 + f->chan_lam[k][ch[k]];
  return id;
}

/* Structural invariants of any trie. */
static void check_structure(const tnace_fusion *f) {
  const int nu = f->nu;
  for (int k = 0; k < nu; k++) {
    CHECK(f->n_lambda[k] > 0 && f->n_nodes[k] > 0, "level %d empty", k);
    CHECK(f->chan_off[k][0] == 0 && f->chan_off[k][f->n_lambda[k]] == f->n_chan[k], "chan_off ends, copy %d", k);
    for (int lam = 0; lam < f->n_lambda[k]; lam++) {
      const int l = f->lam_l[k][lam], L = f->lam_L[k][lam];
      CHECK(l >= 0 && l <= f->lmax, "copy %d label %d: l = %d", k, lam, l);
      CHECK(f->chan_off[k][lam + 1] - f->chan_off[k][lam] == 2 * l + 1, "copy %d label %d width", k, lam);
      const int middle = nu >= 4 && k >= 1 && k <= nu - 3;
      CHECK(middle ? (L >= 0 && L <= f->lmax) : L == -1, "copy %d label %d: L = %d", k, lam, L);
      if (lam > 0) { /* labels sorted by (l, L), unique */
        const int pl = f->lam_l[k][lam - 1], pL = f->lam_L[k][lam - 1];
        CHECK(pl < l || (pl == l && pL < L), "copy %d labels not sorted at %d", k, lam);
      }
      for (int m = -l; m <= l; m++) {
        const int c = f->chan_off[k][lam] + m + l;
        CHECK(f->chan_lam[k][c] == lam && f->chan_lm[k][c] == l * l + l + m, "copy %d chan %d tables", k, c);
      }
    }
    int nchild_ok = 1, sorted = 1, inrange = 1;
    for (int i = 0; i < f->n_nodes[k]; i++) {
      const int p = f->parent[k][i], c = f->chan[k][i];
      if (c < 0 || c >= f->n_chan[k]) inrange = 0;
      if (k == 0 ? p != 0 : (p < 0 || p >= f->n_nodes[k - 1])) inrange = 0;
      if (i > 0) {
        const int pp = f->parent[k][i - 1], pc = f->chan[k][i - 1];
        if (!(pp < p || (pp == p && pc < c))) sorted = 0; /* strictly: no duplicate prefixes */
      }
    }
    /* every node of level k < ν−1 has a child (no dangling prefixes) */
    if (k + 1 < nu) {
      char *has = calloc(f->n_nodes[k] > 0 ? (size_t)f->n_nodes[k] : 1, 1);
      for (int i = 0; i < f->n_nodes[k + 1]; i++) has[f->parent[k + 1][i]] = 1;
      for (int i = 0; i < f->n_nodes[k]; i++)
        if (!has[i]) nchild_ok = 0;
      free(has);
    }
    CHECK(inrange, "level %d: parent/chan out of range", k);
    CHECK(sorted, "level %d: nodes not strictly sorted by (parent, chan)", k);
    CHECK(nchild_ok, "level %d: node without children", k);
  }
  for (int i = 0; i < f->n_nodes[nu - 1]; i++)
    CHECK(fabs(f->coef[i]) >= 1e-14 && isfinite(f->coef[i]), "leaf %d coef %g", i, f->coef[i]);
}

/* Number of allowed angular paths, enumerated independently of fusion.c. */
static int count_paths(int nu, int lmax) {
  int n = 0;
  if (nu == 1) return 1;
  if (nu == 2) return lmax + 1;
  for (int a = 0; a <= lmax; a++)
    for (int b = a; b <= lmax; b++)
      for (int c = b; c <= lmax; c++) {
        if (nu == 3) {
          n += ((a + b + c) % 2 == 0) && tri(a, b, c);
          continue;
        }
        for (int d = c; d <= lmax; d++) {
          if ((a + b + c + d) & 1) continue;
          for (int L1 = abs(a - b); L1 <= a + b && L1 <= lmax; L1++) n += tri(L1, c, d);
        }
      }
  return n;
}

typedef struct {
  long id;
  int leaf;
} idleaf;

static int cmp_idleaf(const void *x, const void *y) {
  const idleaf *a = x, *b = y;
  if (a->id != b->id) return a->id < b->id ? -1 : 1;
  return a->leaf - b->leaf;
}

/* Leaves grouped by path: returns the sorted (id, leaf) array and the number of paths. */
static idleaf *group_paths(const tnace_fusion *f, const int *lc, int *npaths) {
  const int nu = f->nu, nl = f->n_nodes[nu - 1];
  idleaf *g = malloc(sizeof(idleaf) * (size_t)nl);
  for (int i = 0; i < nl; i++) {
    g[i].id = path_id(f, lc + (size_t)i * nu);
    g[i].leaf = i;
  }
  qsort(g, (size_t)nl, sizeof(idleaf), cmp_idleaf);
  int np = 0;
  for (int i = 0; i < nl; i++) np += (i == 0 || g[i].id != g[i - 1].id);
  *npaths = np;
  return g;
}

/* Per path: the labels obey the selection rules, and Σ coef² = 1 (each complex coupling tree is a unit
 * vector and S is unitary). Also checks the path count. */
static void check_paths(const tnace_fusion *f) {
  const int nu = f->nu, nl = f->n_nodes[nu - 1];
  int *lc = leaf_chans(f);
  int np;
  idleaf *g = group_paths(f, lc, &np);
  CHECK(np == count_paths(nu, f->lmax), "nu=%d lmax=%d: %d paths, expected %d", nu, f->lmax, np, count_paths(nu, f->lmax));
  double worst_norm = 0.0;
  int bad_rules = 0;
  for (int i = 0; i < nl;) {
    int j = i;
    double s = 0.0;
    while (j < nl && g[j].id == g[i].id) {
      s += f->coef[g[j].leaf] * f->coef[g[j].leaf];
      j++;
    }
    worst_norm = fmax(worst_norm, fabs(s - 1.0));
    const int *ch = lc + (size_t)g[i].leaf * nu;
    int l[TNACE_MAX_NU], L1 = -1, sum = 0;
    for (int k = 0; k < nu; k++) {
      const int lam = f->chan_lam[k][ch[k]];
      l[k] = f->lam_l[k][lam];
      sum += l[k];
      if (nu == 4 && k == 1) L1 = f->lam_L[k][lam];
    }
    if (sum & 1) bad_rules++;
    if (nu == 1 && l[0] != 0) bad_rules++;
    if (nu == 2 && l[0] != l[1]) bad_rules++;
    for (int k = 1; k < nu && nu >= 3; k++)
      if (l[k] < l[k - 1]) bad_rules++;
    if (nu == 3 && !tri(l[0], l[1], l[2])) bad_rules++;
    if (nu == 4 && (!tri(l[0], l[1], L1) || !tri(L1, l[2], l[3]) || L1 > f->lmax)) bad_rules++;
    /* every channel of a leaf lies inside its label, m within −l..l by construction of chan_off */
    i = j;
  }
  CHECK(bad_rules == 0, "nu=%d lmax=%d: %d paths break the selection rules", nu, f->lmax, bad_rules);
  CHECK(worst_norm <= 1e-12, "nu=%d lmax=%d: per-path norm deviates by %.3g", nu, f->lmax, worst_norm);
  free(g);
  free(lc);
}

/* issue #17 item 0: the size of a tree is known before it is built. The work estimate grows with l_max, the
 * built tree has 1–3 × as many leaves, and a tree beyond TNACE_MAX_FUSION_WORK (nu 4, lmax 11: 1.65 GB and
 * 51 s when it was built) is refused at once, with the estimate in the message. */
static void test_size_check(void) {
  double prev = 0.0;
  for (int l = 2; l <= 7; l++) {
    const double w = tnace_fusion_work_estimate(4, l);
    CHECK(w > prev, "estimate grows with lmax (%g at %d)", w, l);
    prev = w;
    if (l % 2) continue;
    tnace_fusion f;
    CHECK(build(&f, 4, l) == 0, "build nu 4 lmax %d", l);
    CHECK(f.n_nodes[3] >= w && f.n_nodes[3] <= 3.0 * w, "nu 4 lmax %d: %d leaves, estimate %g", l, f.n_nodes[3], w);
    tnace_fusion_free(&f);
  }
  CHECK(tnace_fusion_check_size(4, 10, NULL, 0) == 0, "nu 4 lmax 10 allowed");
  CHECK(tnace_fusion_check_size(3, TNACE_LMAX_LIMIT, NULL, 0) == 0, "nu 3 up to the lmax limit allowed");
  char err[400];
  tnace_fusion f;
  const double t0 = tnace_now_s();
  const int rc = tnace_fusion_build(&f, 4, 11, err, sizeof err);
  CHECK(rc == TNACE_ERR_VALUE && strstr(err, "nu = 4, lmax = 11") && strstr(err, "GB") && strstr(err, "reduce lmax"),
        "nu 4 lmax 11 refused: %d %s", rc, err);
  CHECK(tnace_now_s() - t0 < 1.0, "refused at once (%.2f s)", tnace_now_s() - t0);
  CHECK(f.coef == NULL && f.n_nodes[0] == 0, "nothing allocated");
}

static void test_errors(void) {
  tnace_fusion f;
  char err[128];
  const int bad[][2] = {{0, 2}, {5, 2}, {-1, 0}, {2, -1}, {3, TNACE_LMAX_LIMIT + 1}};
  for (int i = 0; i < 5; i++) {
    memset(&f, 0x5a, sizeof f); /* garbage in: build must not read it */
    err[0] = '\0';
    int rc = tnace_fusion_build(&f, bad[i][0], bad[i][1], err, sizeof err);
    CHECK(rc == TNACE_ERR_VALUE, "nu=%d lmax=%d: rc %d", bad[i][0], bad[i][1], rc);
    CHECK(err[0] != '\0', "nu=%d lmax=%d: no message", bad[i][0], bad[i][1]);
    CHECK(f.coef == NULL && f.lam_l[0] == NULL && f.parent[0] == NULL && f.n_nodes[0] == 0, "struct not freed");
    tnace_fusion_free(&f);
  }
  memset(&f, 0, sizeof f);
  tnace_fusion_free(&f); /* zeroed struct */
  tnace_fusion_free(NULL);
  CHECK(build(&f, 3, 2) == 0, "build");
  tnace_fusion_free(&f);
  CHECK(f.coef == NULL && f.chan[2] == NULL, "free zeroes the struct");
  tnace_fusion_free(&f); /* twice is fine */
}

static void test_nu1(void) {
  for (int lmax = 0; lmax <= 6; lmax += 3) {
    tnace_fusion f;
    if (build(&f, 1, lmax)) continue;
    check_structure(&f);
    CHECK(f.n_nodes[0] == 1 && f.n_lambda[0] == 1 && f.n_chan[0] == 1, "nu=1 sizes");
    CHECK(f.lam_l[0][0] == 0 && f.chan[0][0] == 0 && f.chan_lm[0][0] == 0, "nu=1 channel is l=0");
    CHECK(f.coef[0] == 1.0, "nu=1 coef %.17g", f.coef[0]);
    tnace_fusion_free(&f);
  }
}

/* ν = 2 in the real basis. Complex: Qc(μ, −μ) = (−1)^(l−μ)/√(2l+1). With A^c = S^† A^r,
 *   Σ_μ (−1)^μ A^c_μ B^c_{−μ} = Σ_μ A^c_μ conj(B^c_μ) = Σ_m A^r_m B^r_m
 * (the middle step is Y^{−μ} = (−1)^μ conj Y^μ for real inputs, written as an identity of S), so
 *   Qr(m, m') = (−1)^l / √(2l+1) · δ_{m m'}. */
static void test_nu2(void) {
  for (int lmax = 0; lmax <= 8; lmax += 2) {
    tnace_fusion f;
    if (build(&f, 2, lmax)) continue;
    check_structure(&f);
    check_paths(&f);
    CHECK(f.n_nodes[1] == (lmax + 1) * (lmax + 1), "nu=2 lmax=%d: %d leaves", lmax, f.n_nodes[1]);
    int bad = 0;
    for (int i = 0; i < f.n_nodes[1]; i++) {
      const int c0 = f.chan[0][f.parent[1][i]], c1 = f.chan[1][i];
      const int lm0 = f.chan_lm[0][c0], lm1 = f.chan_lm[1][c1];
      const int l = (int)floor(sqrt((double)lm0) + 1e-9);
      if (lm0 != lm1 || fabs(f.coef[i] - parity(l) / sqrt(2.0 * l + 1.0)) > 1e-15) bad++;
    }
    CHECK(bad == 0, "nu=2 lmax=%d: %d leaves differ from (-1)^l/sqrt(2l+1) delta_mm'", lmax, bad);
    tnace_fusion_free(&f);
  }
}

/* ν = 3: transformed back to the complex basis, Qc(μ) = Σ_m Qr(m) Π_k S[m_k][μ_k] must equal the 3j
 * symbol (l0 l1 l2; μ0 μ1 μ2) (the CG product times (−1)^(L−M)/√(2L+1) is (−1)^(l0−l1+l2) 3j, and
 * Σl is even). */
static void test_nu3_is_3j(int lmax) {
  tnace_fusion f;
  if (build(&f, 3, lmax)) return;
  const int n = 2 * lmax + 1;
  double complex *S = malloc(sizeof(double complex) * (size_t)(lmax + 1) * n * n);
  for (int l = 0; l <= lmax; l++) tnace_real_from_complex(l, S + (size_t)l * n * n);
  double *Qr = calloc((size_t)n * n * n, sizeof(double));
  int *lc = leaf_chans(&f);
  int np;
  idleaf *g = group_paths(&f, lc, &np);
  double worst = 0.0;
  const int nl = f.n_nodes[2];
  for (int i = 0; i < nl;) {
    int j = i, l[3];
    for (int k = 0; k < 3; k++) l[k] = f.lam_l[k][f.chan_lam[k][lc[g[i].leaf * 3 + k]]];
    memset(Qr, 0, sizeof(double) * (size_t)n * n * n);
    for (; j < nl && g[j].id == g[i].id; j++) {
      const int *ch = lc + g[j].leaf * 3;
      int m[3];
      for (int k = 0; k < 3; k++) m[k] = f.chan_lm[k][ch[k]] - l[k] * l[k] - l[k];
      Qr[((m[0] + l[0]) * n + m[1] + l[1]) * n + m[2] + l[2]] = f.coef[g[j].leaf];
    }
    const double complex *S0 = S + (size_t)l[0] * n * n, *S1 = S + (size_t)l[1] * n * n, *S2 = S + (size_t)l[2] * n * n;
    const int n0 = 2 * l[0] + 1, n1 = 2 * l[1] + 1, n2 = 2 * l[2] + 1;
    for (int u0 = -l[0]; u0 <= l[0]; u0++)
      for (int u1 = -l[1]; u1 <= l[1]; u1++)
        for (int u2 = -l[2]; u2 <= l[2]; u2++) {
          double complex q = 0.0;
          for (int m0 = -l[0]; m0 <= l[0]; m0++)
            for (int m1 = -l[1]; m1 <= l[1]; m1++)
              for (int m2 = -l[2]; m2 <= l[2]; m2++) {
                const double r = Qr[((m0 + l[0]) * n + m1 + l[1]) * n + m2 + l[2]];
                if (r != 0.0)
                  q += r * S0[(m0 + l[0]) * n0 + u0 + l[0]] * S1[(m1 + l[1]) * n1 + u1 + l[1]] *
                       S2[(m2 + l[2]) * n2 + u2 + l[2]];
              }
          worst = fmax(worst, cabs(q - tnace_wigner3j(l[0], l[1], l[2], u0, u1, u2)));
        }
    i = j;
  }
  CHECK(worst <= 1e-13, "nu=3 lmax=%d: complex-basis coefficients differ from 3j by %.3g", lmax, worst);
  free(g);
  free(lc);
  free(Qr);
  free(S);
  tnace_fusion_free(&f);
}

/* ν = 4: paths with the same (l0..l3) but different L1 are orthogonal coefficient vectors (distinct
 * intermediate couplings), so the L label is carried correctly. */
static void test_nu4_orthogonal(int lmax) {
  tnace_fusion f;
  if (build(&f, 4, lmax)) return;
  int *lc = leaf_chans(&f);
  /* dense coefficient per path over the full channel tuple space is large; instead compare pairs of
   * paths through a hash-free merge: leaves sorted by channels within each path (trie order). */
  int np;
  idleaf *g = group_paths(&f, lc, &np);
  const int nl = f.n_nodes[3];
  int *start = malloc(sizeof(int) * (size_t)(np + 1));
  int p = 0;
  for (int i = 0; i < nl; i++)
    if (i == 0 || g[i].id != g[i - 1].id) start[p++] = i;
  start[np] = nl;
  double worst = 0.0;
  int pairs = 0;
  for (int a = 0; a < np; a++)
    for (int b = a + 1; b < np; b++) {
      const int *ca = lc + g[start[a]].leaf * 4, *cb = lc + g[start[b]].leaf * 4;
      int same_l = 1;
      for (int k = 0; k < 4; k++)
        if (f.lam_l[k][f.chan_lam[k][ca[k]]] != f.lam_l[k][f.chan_lam[k][cb[k]]]) same_l = 0;
      if (!same_l) continue;
      /* overlap Σ_m Qa(m) Qb(m): leaves of a path are in increasing leaf index = lexicographic m order */
      double s = 0.0;
      int i = start[a], j = start[b];
      while (i < start[a + 1] && j < start[b + 1]) {
        int c = 0;
        const int *x = lc + g[i].leaf * 4, *y = lc + g[j].leaf * 4;
        for (int k = 0; k < 4 && !c; k++) {
          const int mx = f.chan_lm[k][x[k]], my = f.chan_lm[k][y[k]];
          c = (mx > my) - (mx < my);
        }
        if (c == 0) s += f.coef[g[i].leaf] * f.coef[g[j].leaf];
        if (c <= 0) i++;
        if (c >= 0) j++;
      }
      worst = fmax(worst, fabs(s));
      pairs++;
    }
  CHECK(pairs > 0, "nu=4 lmax=%d: no paths sharing an l tuple", lmax);
  CHECK(worst <= 1e-12, "nu=4 lmax=%d: paths with equal l but different L1 overlap by %.3g", lmax, worst);
  free(start);
  free(g);
  free(lc);
  tnace_fusion_free(&f);
}

/* ---- invariance ---------------------------------------------------------------------------- */

#define NPTS 6

static double gauss(unsigned long long *st) {
  double u = test_rand(st), v = test_rand(st);
  return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * 3.14159265358979323846 * v);
}

static void random_rotation(unsigned long long *st, double R[3][3]) {
  double q[4], n = 0.0;
  for (int i = 0; i < 4; i++) {
    q[i] = gauss(st);
    n += q[i] * q[i];
  }
  n = sqrt(n);
  const double w = q[0] / n, x = q[1] / n, y = q[2] / n, z = q[3] / n;
  const double M[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
                          {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
                          {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}};
  memcpy(R, M, sizeof M);
}

/* Channels c^(k)_{chan} = Σ_j w[k][λ][j] Y_{lm}(r̂_j) for points pts (different weights per copy and label,
 * so that the copies are independent densities). c: [ν][n_chan]. */
static void channels(const tnace_fusion *f, const double (*pts)[3], int npts, const double *w, double *c) {
  double Y[(TNACE_LMAX_LIMIT + 1) * (TNACE_LMAX_LIMIT + 1)];
  int off = 0, woff = 0;
  for (int k = 0; k < f->nu; k++) {
    for (int ch = 0; ch < f->n_chan[k]; ch++) c[off + ch] = 0.0;
    for (int j = 0; j < npts; j++) {
      tnace_ylm(f->lmax, pts[j], Y, NULL);
      for (int ch = 0; ch < f->n_chan[k]; ch++)
        c[off + ch] += w[woff + f->chan_lam[k][ch] * npts + j] * Y[f->chan_lm[k][ch]];
    }
    off += f->n_chan[k];
    woff += f->n_lambda[k] * npts;
  }
}

/* B on the trie (prefix products, as the evaluator does) and per-path B and Σ|term| scales. */
static double eval_trie(const tnace_fusion *f, const double *c, const idleaf *g, double *Bp, double *scale) {
  const int nu = f->nu;
  double *val[TNACE_MAX_NU];
  int off[TNACE_MAX_NU], o = 0;
  for (int k = 0; k < nu; k++) {
    off[k] = o;
    o += f->n_chan[k];
    val[k] = malloc(sizeof(double) * (size_t)f->n_nodes[k]);
    for (int i = 0; i < f->n_nodes[k]; i++)
      val[k][i] = (k ? val[k - 1][f->parent[k][i]] : 1.0) * c[off[k] + f->chan[k][i]];
  }
  double B = 0.0;
  const int nl = f->n_nodes[nu - 1];
  for (int i = 0; i < nl; i++) B += f->coef[i] * val[nu - 1][i];
  int p = -1;
  for (int i = 0; i < nl; i++) {
    if (i == 0 || g[i].id != g[i - 1].id) {
      p++;
      Bp[p] = 0.0;
      scale[p] = 0.0;
    }
    const double t = f->coef[g[i].leaf] * val[nu - 1][g[i].leaf];
    Bp[p] += t;
    scale[p] += fabs(t);
  }
  for (int k = 0; k < nu; k++) free(val[k]);
  return B;
}

static void test_invariance(int nu, int lmax, unsigned long long seed) {
  tnace_fusion f;
  if (build(&f, nu, lmax)) return;
  check_structure(&f);
  check_paths(&f);
  int *lc = leaf_chans(&f);
  int np;
  idleaf *g = group_paths(&f, lc, &np);
  unsigned long long st = seed;
  int nw = 0, nc = 0;
  for (int k = 0; k < nu; k++) {
    nw += f.n_lambda[k] * NPTS;
    nc += f.n_chan[k];
  }
  double *w = malloc(sizeof(double) * (size_t)nw), *c = malloc(sizeof(double) * (size_t)nc);
  double *B0 = malloc(sizeof(double) * (size_t)np), *B1 = malloc(sizeof(double) * (size_t)np);
  double *s0 = malloc(sizeof(double) * (size_t)np), *s1 = malloc(sizeof(double) * (size_t)np);
  double worst = 0.0, worst_total = 0.0, worst_inv = 0.0, tiny = 0.0;
  for (int rep = 0; rep < 3; rep++) {
    double pts[NPTS][3], rot[NPTS][3], R[3][3];
    for (int i = 0; i < nw; i++) w[i] = 2.0 * test_rand(&st) - 1.0;
    for (int j = 0; j < NPTS; j++)
      for (int a = 0; a < 3; a++) pts[j][a] = gauss(&st);
    random_rotation(&st, R);
    for (int j = 0; j < NPTS; j++)
      for (int a = 0; a < 3; a++) rot[j][a] = R[a][0] * pts[j][0] + R[a][1] * pts[j][1] + R[a][2] * pts[j][2];
    channels(&f, (const double(*)[3])pts, NPTS, w, c);
    const double T0 = eval_trie(&f, c, g, B0, s0);
    channels(&f, (const double(*)[3])rot, NPTS, w, c);
    const double T1 = eval_trie(&f, c, g, B1, s1);
    double stot = 0.0;
    for (int p = 0; p < np; p++) {
      worst = fmax(worst, fabs(B0[p] - B1[p]) / s0[p]);
      stot += s0[p];
      tiny = fmax(tiny, fabs(B0[p]) / s0[p]); /* paths must not be trivially ~0 */
    }
    worst_total = fmax(worst_total, fabs(T0 - T1) / stot);
    /* inversion r → −r: Y_lm picks up (−1)^l, and Σl is even on every path */
    for (int j = 0; j < NPTS; j++)
      for (int a = 0; a < 3; a++) rot[j][a] = -pts[j][a];
    channels(&f, (const double(*)[3])rot, NPTS, w, c);
    eval_trie(&f, c, g, B1, s1);
    for (int p = 0; p < np; p++) worst_inv = fmax(worst_inv, fabs(B0[p] - B1[p]) / s0[p]);
  }
  CHECK(worst <= 1e-12, "nu=%d lmax=%d: per-path rotation variance %.3g", nu, lmax, worst);
  CHECK(worst_total <= 1e-12, "nu=%d lmax=%d: total rotation variance %.3g", nu, lmax, worst_total);
  CHECK(worst_inv <= 1e-12, "nu=%d lmax=%d: inversion variance %.3g", nu, lmax, worst_inv);
  CHECK(tiny > 1e-3, "nu=%d lmax=%d: all paths nearly cancel (%.3g)", nu, lmax, tiny);

  /* control: the same check detects a broken tree (one coefficient of the largest path flipped) */
  if (nu >= 2) {
    int p = 0, best = 0, cnt = 0;
    for (int i = 0; i < f.n_nodes[nu - 1]; i++) {
      if (i > 0 && g[i].id != g[i - 1].id) p++, cnt = 0;
      if (++cnt > 1 && p > 0) best = i; /* some leaf of a path with ≥ 2 leaves and l > 0 */
    }
    f.coef[g[best].leaf] = -f.coef[g[best].leaf];
    double pts[NPTS][3], rot[NPTS][3], R[3][3];
    for (int j = 0; j < NPTS; j++)
      for (int a = 0; a < 3; a++) pts[j][a] = gauss(&st);
    random_rotation(&st, R);
    for (int j = 0; j < NPTS; j++)
      for (int a = 0; a < 3; a++) rot[j][a] = R[a][0] * pts[j][0] + R[a][1] * pts[j][1] + R[a][2] * pts[j][2];
    channels(&f, (const double(*)[3])pts, NPTS, w, c);
    eval_trie(&f, c, g, B0, s0);
    channels(&f, (const double(*)[3])rot, NPTS, w, c);
    eval_trie(&f, c, g, B1, s1);
    double var = 0.0;
    for (int q = 0; q < np; q++) var = fmax(var, fabs(B0[q] - B1[q]) / s0[q]);
    CHECK(var > 1e-6, "nu=%d lmax=%d: invariance check blind to a flipped coefficient (%.3g)", nu, lmax, var);
  }
  free(w);
  free(c);
  free(B0);
  free(B1);
  free(s0);
  free(s1);
  free(g);
  free(lc);
  tnace_fusion_free(&f);
}

/* Linear independence of the per-path invariants as functions of the cluster: evaluate on NCL random
 * clusters, normalise columns, and check the numerical rank by pivoted Gram–Schmidt. */
#define NCL 200
static void test_independent(int nu, int lmax, unsigned long long seed) {
  tnace_fusion f;
  if (build(&f, nu, lmax)) return;
  int *lc = leaf_chans(&f);
  int np;
  idleaf *g = group_paths(&f, lc, &np);
  int nw = 0, nc = 0;
  for (int k = 0; k < nu; k++) {
    nw += f.n_lambda[k] * NPTS;
    nc += f.n_chan[k];
  }
  double *w = malloc(sizeof(double) * (size_t)nw), *c = malloc(sizeof(double) * (size_t)nc);
  double *Bp = malloc(sizeof(double) * (size_t)np), *sc = malloc(sizeof(double) * (size_t)np);
  double *A = malloc(sizeof(double) * (size_t)np * NCL); /* column-major: A[p*NCL + row] */
  unsigned long long st = seed;
  for (int i = 0; i < nw; i++) w[i] = 2.0 * test_rand(&st) - 1.0; /* fixed model, varying clusters */
  for (int r = 0; r < NCL; r++) {
    double pts[NPTS][3];
    for (int j = 0; j < NPTS; j++)
      for (int a = 0; a < 3; a++) pts[j][a] = gauss(&st);
    channels(&f, (const double(*)[3])pts, NPTS, w, c);
    eval_trie(&f, c, g, Bp, sc);
    for (int p = 0; p < np; p++) A[(size_t)p * NCL + r] = Bp[p];
  }
  double first = 0.0, last = 0.0;
  int rank = 0;
  for (int p = 0; p < np; p++) { /* normalise */
    double n = 0.0;
    for (int r = 0; r < NCL; r++) n += A[(size_t)p * NCL + r] * A[(size_t)p * NCL + r];
    n = sqrt(n);
    CHECK(n > 0.0, "path %d identically zero", p);
    for (int r = 0; r < NCL && n > 0.0; r++) A[(size_t)p * NCL + r] /= n;
  }
  char *used = calloc(np > 0 ? (size_t)np : 1, 1);
  for (int it = 0; it < np; it++) {
    int piv = -1;
    double best = -1.0;
    for (int p = 0; p < np; p++) {
      if (used[p]) continue;
      double n = 0.0;
      for (int r = 0; r < NCL; r++) n += A[(size_t)p * NCL + r] * A[(size_t)p * NCL + r];
      if (n > best) best = n, piv = p;
    }
    best = sqrt(best);
    if (it == 0) first = best;
    last = best;
    if (best > 1e-8 * first) rank++;
    used[piv] = 1;
    for (int r = 0; r < NCL; r++) A[(size_t)piv * NCL + r] /= best;
    for (int p = 0; p < np; p++) {
      if (used[p]) continue;
      double d = 0.0;
      for (int r = 0; r < NCL; r++) d += A[(size_t)piv * NCL + r] * A[(size_t)p * NCL + r];
      for (int r = 0; r < NCL; r++) A[(size_t)p * NCL + r] -= d * A[(size_t)piv * NCL + r];
    }
  }
  CHECK(np < NCL, "too many paths for the rank test");
  printf("rank nu=%d lmax=%d: %d paths, smallest pivot %.3g\n", nu, lmax, np, last / first);
  CHECK(rank == np, "nu=%d lmax=%d: rank %d of %d path invariants (last pivot %.3g)", nu, lmax, rank, np, last / first);
  free(used);
  free(A);
  free(w);
  free(c);
  free(Bp);
  free(sc);
  free(g);
  free(lc);
  tnace_fusion_free(&f);
}

static void print_sizes(void) {
  const int cases[][2] = {{2, 6}, {3, 4}, {3, 6}, {4, 4}};
  for (int i = 0; i < 4; i++) {
    tnace_fusion f;
    if (build(&f, cases[i][0], cases[i][1])) continue;
    printf("nu=%d lmax=%d n_nodes:", cases[i][0], cases[i][1]);
    for (int k = 0; k < f.nu; k++) printf(" %d", f.n_nodes[k]);
    printf("\n");
    tnace_fusion_free(&f);
  }
}

int main(void) {
  test_size_check();
  test_errors();
  test_nu1();
  test_nu2();
  for (int lmax = 0; lmax <= 6; lmax++) test_nu3_is_3j(lmax);
  test_nu4_orthogonal(4);
  for (int lmax = 0; lmax <= 3; lmax++) { /* small cutoffs, every ν: structure and path counts */
    for (int nu = 1; nu <= 4; nu++) {
      tnace_fusion f;
      if (build(&f, nu, lmax)) continue;
      check_structure(&f);
      check_paths(&f);
      tnace_fusion_free(&f);
    }
  }
  test_invariance(2, 6, 11);
  test_invariance(3, 4, 12);
  test_invariance(3, 6, 13);
  test_invariance(4, 4, 14);
  test_invariance(4, 5, 15);
  test_independent(3, 4, 21);
  test_independent(4, 3, 22);
  print_sizes();
  return test_summary("test_fusion");
}
