/* test_ylm.c — real spherical harmonics: closed forms, an independent complex-Y_l^m reference (fixes the
 * sign convention beyond l = 3), orthonormality by quadrature, the addition theorem, gradients against
 * finite differences (also at the poles), tangency of the gradient and scale invariance. */
#include "testutil.h"
#include "ylm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define LM(l, m) ((l) * (l) + (l) + (m))
#define NLM(L) (((L) + 1) * ((L) + 1))
#define NMAX NLM(TNACE_LMAX_LIMIT)

static void rand_dir(unsigned long long *s, double r[3], double len) {
  double n2;
  do {
    for (int a = 0; a < 3; a++) r[a] = 2.0 * test_rand(s) - 1.0;
    n2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
  } while (n2 < 1e-4 || n2 > 1.0);
  const double f = len / sqrt(n2);
  for (int a = 0; a < 3; a++) r[a] *= f;
}

/* Legendre P_l(t) by Bonnet's recurrence. */
static double legendre(int l, double t) {
  double p0 = 1.0, p1 = t;
  if (l == 0) return p0;
  for (int k = 2; k <= l; k++) {
    const double p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
    p0 = p1;
    p1 = p2;
  }
  return p1;
}

/* Reference: complex Y_l^m (m ≥ 0, Condon–Shortley phase) from θ, φ with the unnormalised associated
 * Legendre recurrence and factorial normalisation — a different route from the library's. */
static void ref_complex_ylm(int l, int m, double theta, double phi, double *re, double *im) {
  const double c = cos(theta), s = sin(theta);
  double pmm = 1.0;
  for (int k = 1; k <= m; k++) pmm *= -(2 * k - 1) * s;
  double p = pmm;
  if (l > m) {
    double p0 = pmm, p1 = c * (2 * m + 1) * pmm;
    for (int k = m + 2; k <= l; k++) {
      const double p2 = ((2 * k - 1) * c * p1 - (k + m - 1) * p0) / (k - m);
      p0 = p1;
      p1 = p2;
    }
    p = p1;
  }
  const double norm = sqrt((2 * l + 1) / (4 * PI) * exp(lgamma(l - m + 1.0) - lgamma(l + m + 1.0)));
  *re = norm * p * cos(m * phi);
  *im = norm * p * sin(m * phi);
}

static void test_closed_forms(void) {
  unsigned long long s = 0x1234567ULL;
  double Y[16], dY[16][3];
  for (int it = 0; it < 200; it++) {
    double r[3];
    rand_dir(&s, r, 0.3 + 3.0 * test_rand(&s));
    const double n = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    const double x = r[0] / n, y = r[1] / n, z = r[2] / n;
    tnace_ylm(3, r, Y, dY);
    const double c1 = sqrt(3 / (4 * PI)), c2 = 0.5 * sqrt(15 / PI);
    CHECK_CLOSE(Y[LM(0, 0)], 0.5 / sqrt(PI), 1e-14);
    CHECK_CLOSE(Y[LM(1, -1)], c1 * y, 1e-14);
    CHECK_CLOSE(Y[LM(1, 0)], c1 * z, 1e-14);
    CHECK_CLOSE(Y[LM(1, 1)], c1 * x, 1e-14);
    CHECK_CLOSE(Y[LM(2, -2)], c2 * x * y, 1e-14);
    CHECK_CLOSE(Y[LM(2, -1)], c2 * y * z, 1e-14);
    CHECK_CLOSE(Y[LM(2, 0)], 0.25 * sqrt(5 / PI) * (3 * z * z - 1), 1e-14);
    CHECK_CLOSE(Y[LM(2, 1)], c2 * x * z, 1e-14);
    CHECK_CLOSE(Y[LM(2, 2)], 0.5 * c2 * (x * x - y * y), 1e-14);
    const double c33 = 0.25 * sqrt(35 / (2 * PI)), c32 = 0.5 * sqrt(105 / PI);
    const double c31 = 0.25 * sqrt(21 / (2 * PI)), c30 = 0.25 * sqrt(7 / PI);
    CHECK_CLOSE(Y[LM(3, -3)], c33 * y * (3 * x * x - y * y), 1e-14);
    CHECK_CLOSE(Y[LM(3, -2)], c32 * x * y * z, 1e-14);
    CHECK_CLOSE(Y[LM(3, -1)], c31 * y * (5 * z * z - 1), 1e-14);
    CHECK_CLOSE(Y[LM(3, 0)], c30 * (5 * z * z * z - 3 * z), 1e-14);
    CHECK_CLOSE(Y[LM(3, 1)], c31 * x * (5 * z * z - 1), 1e-14);
    CHECK_CLOSE(Y[LM(3, 2)], 0.5 * c32 * (x * x - y * y) * z, 1e-14);
    CHECK_CLOSE(Y[LM(3, 3)], c33 * x * (x * x - 3 * y * y), 1e-14);
    /* closed-form gradient of Y_{1,1} = c1 x/|r|: c1 (e_x − u x)/|r| */
    CHECK_CLOSE(dY[LM(1, 1)][0], c1 * (1 - x * x) / n, 1e-14);
    CHECK_CLOSE(dY[LM(1, 1)][1], -c1 * x * y / n, 1e-14);
    CHECK_CLOSE(dY[LM(1, 1)][2], -c1 * x * z / n, 1e-14);
  }
}

/* The documented convention Y_{l,±m} = √2 (−1)^m {Re, Im} Y_l^m for all l ≤ 20. */
static void test_convention(void) {
  unsigned long long s = 0xabcdefULL;
  double Y[NMAX];
  for (int it = 0; it < 20; it++) {
    const double theta = PI * test_rand(&s), phi = 2 * PI * test_rand(&s);
    const double r[3] = {sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta)};
    tnace_ylm(TNACE_LMAX_LIMIT, r, Y, NULL);
    for (int l = 0; l <= TNACE_LMAX_LIMIT; l++)
      for (int m = 0; m <= l; m++) {
        double re, im;
        ref_complex_ylm(l, m, theta, phi, &re, &im);
        const double sg = (m & 1) ? -1.0 : 1.0;
        if (m == 0) {
          CHECK_CLOSE(Y[LM(l, 0)], re, 1e-12);
        } else {
          CHECK_CLOSE(Y[LM(l, m)], sqrt(2.0) * sg * re, 1e-12);
          CHECK_CLOSE(Y[LM(l, -m)], sqrt(2.0) * sg * im, 1e-12);
        }
      }
  }
}

/* Gauss–Legendre nodes and weights on [−1, 1] by Newton iteration on P_n. */
static void gauss_legendre(int n, double *t, double *w) {
  for (int i = 0; i < n; i++) {
    double x = cos(PI * (i + 0.75) / (n + 0.5)), dp = 0;
    for (int it = 0; it < 100; it++) {
      double p0 = 1.0, p1 = x;
      for (int k = 2; k <= n; k++) {
        const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1);
      const double dx = p1 / dp;
      x -= dx;
      if (fabs(dx) < 1e-16) break;
    }
    t[i] = x;
    w[i] = 2.0 / ((1 - x * x) * dp * dp);
  }
}

/* ∫ Y_i Y_j dΩ = δ_ij for l ≤ 8: products have degree ≤ 16 in cos θ and frequency ≤ 16 in φ, so 12 GL
 * nodes and 24 equispaced φ integrate them exactly. */
static void test_orthonormality(void) {
  enum { L = 8, NT = 12, NP = 24, N = NLM(L) };
  double t[NT], w[NT];
  gauss_legendre(NT, t, w);
  static double G[N][N];
  memset(G, 0, sizeof G);
  double Y[N];
  for (int i = 0; i < NT; i++)
    for (int j = 0; j < NP; j++) {
      const double phi = 2 * PI * (j + 0.31) / NP, st = sqrt(1 - t[i] * t[i]);
      const double r[3] = {st * cos(phi), st * sin(phi), t[i]};
      tnace_ylm(L, r, Y, NULL);
      const double wt = w[i] * 2 * PI / NP;
      for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) G[a][b] += wt * Y[a] * Y[b];
    }
  int bad = 0;
  double worst = 0;
  for (int a = 0; a < N; a++)
    for (int b = 0; b < N; b++) {
      const double e = fabs(G[a][b] - (a == b ? 1.0 : 0.0));
      if (e > worst) worst = e;
      if (e > 1e-12) bad++;
    }
  CHECK(bad == 0, "%d of %d Gram entries off by > 1e-12, worst %g", bad, N * N, worst);
  CHECK(worst < 1e-12, "worst Gram error %g", worst);
}

/* Σ_m Y_lm(a) Y_lm(b) = (2l+1)/(4π) P_l(â·b̂) for every l ≤ 20. */
static void test_addition(void) {
  unsigned long long s = 0x5eedULL;
  double Ya[NMAX], Yb[NMAX];
  for (int it = 0; it < 50; it++) {
    double a[3], b[3];
    rand_dir(&s, a, 0.5 + test_rand(&s));
    rand_dir(&s, b, 1.0 + 2 * test_rand(&s));
    if (it == 0) { a[0] = 0; a[1] = 0; a[2] = 1; } /* at the pole and antipodal */
    if (it == 1) { b[0] = -a[0]; b[1] = -a[1]; b[2] = -a[2]; }
    tnace_ylm(TNACE_LMAX_LIMIT, a, Ya, NULL);
    tnace_ylm(TNACE_LMAX_LIMIT, b, Yb, NULL);
    const double na = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    const double nb = sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
    const double c = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb);
    for (int l = 0; l <= TNACE_LMAX_LIMIT; l++) {
      double sum = 0;
      for (int m = -l; m <= l; m++) sum += Ya[LM(l, m)] * Yb[LM(l, m)];
      CHECK_CLOSE(sum, (2 * l + 1) / (4 * PI) * legendre(l, fabs(c) > 1 ? copysign(1, c) : c), 1e-12);
    }
  }
}

/* Analytic gradient against central differences at r, for all lm ≤ lmax. */
static void check_gradient(int lmax, const double r[3]) {
  const double h = 1e-6;
  double Y[NMAX], dY[NMAX][3], Yp[NMAX], Ym[NMAX];
  const int n = NLM(lmax);
  for (int i = 0; i < n; i++) Y[i] = dY[i][0] = dY[i][1] = dY[i][2] = NAN; /* all must be written */
  tnace_ylm(lmax, r, Y, dY);
  const double rn = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
  int bad = 0;
  for (int a = 0; a < 3; a++) {
    double rp[3] = {r[0], r[1], r[2]}, rm[3] = {r[0], r[1], r[2]};
    rp[a] += h * rn;
    rm[a] -= h * rn;
    tnace_ylm(lmax, rp, Yp, NULL);
    tnace_ylm(lmax, rm, Ym, NULL);
    for (int i = 0; i < n; i++) {
      const double fd = (Yp[i] - Ym[i]) / (2 * h * rn);
      /* relative to the gradient's natural scale 1/|r| */
      if (!test_close(dY[i][a] * rn, fd * rn, 1e-7)) {
        bad++;
        if (bad < 5)
          fprintf(stderr, "  r=(%g,%g,%g) lm=%d a=%d: dY=%.17g fd=%.17g\n", r[0], r[1], r[2], i, a,
                  dY[i][a], fd);
      }
    }
  }
  CHECK(bad == 0, "%d gradient components disagree with finite differences at (%g, %g, %g)", bad, r[0],
        r[1], r[2]);
  /* tangency: dY · r = 0 (Y is invariant under r → (1+ε) r) */
  int nontan = 0;
  for (int i = 0; i < n; i++) {
    const double dot = dY[i][0] * r[0] + dY[i][1] * r[1] + dY[i][2] * r[2];
    const double scale = fabs(dY[i][0]) + fabs(dY[i][1]) + fabs(dY[i][2]);
    if (!(fabs(dot) <= 1e-13 * fmax(1.0, scale * rn))) nontan++;
  }
  CHECK(nontan == 0, "%d gradients not perpendicular to r at (%g, %g, %g)", nontan, r[0], r[1], r[2]);
}

static void test_gradients(void) {
  unsigned long long s = 0xfeedULL;
  for (int it = 0; it < 100; it++) {
    double r[3];
    rand_dir(&s, r, 0.5 + 3 * test_rand(&s));
    check_gradient(12, r);
  }
  const double poles[][3] = {{0, 0, 1},    {0, 0, -2},     {1e-12, 0, 1}, {0, -1e-9, -0.7},
                             {1e-300, 0, 3}, {1, 0, 0},   {0, 2.5, 0},   {3e-8, 4e-8, 1.3}};
  for (size_t p = 0; p < sizeof poles / sizeof poles[0]; p++) check_gradient(12, poles[p]);

  /* At the north pole exactly: Y_l0 = √((2l+1)/4π), every m ≠ 0 vanishes; all gradients finite.
   * The only nonzero gradients there are those of m = ±1 (first order in x, y). */
  double Y[NMAX], dY[NMAX][3];
  const double zp[3] = {0, 0, 2};
  tnace_ylm(TNACE_LMAX_LIMIT, zp, Y, dY);
  for (int l = 0; l <= TNACE_LMAX_LIMIT; l++)
    for (int m = -l; m <= l; m++) {
      const int i = LM(l, m);
      CHECK_CLOSE(Y[i], m == 0 ? sqrt((2 * l + 1) / (4 * PI)) : 0.0, 1e-13);
      CHECK(isfinite(dY[i][0]) && isfinite(dY[i][1]) && isfinite(dY[i][2]), "lm %d", i);
      CHECK(dY[i][2] == 0.0, "dY[%d][z] = %g at the pole", i, dY[i][2]);
      if (m != 1 && m != -1) CHECK(dY[i][0] == 0.0 && dY[i][1] == 0.0, "lm %d", i);
    }
  /* ∂Y_{l,1}/∂x at the pole = √(l(l+1)/2) √((2l+1)/4π) / |r| (from the small-θ expansion of P_l^1) */
  for (int l = 1; l <= TNACE_LMAX_LIMIT; l++) {
    const double e = sqrt(l * (l + 1) / 2.0) * sqrt((2 * l + 1) / (4 * PI)) / 2.0;
    CHECK_CLOSE(dY[LM(l, 1)][0], e, 1e-12);
    CHECK_CLOSE(dY[LM(l, -1)][1], e, 1e-12);
    CHECK_CLOSE(dY[LM(l, 1)][1], 0.0, 1e-15);
  }
  /* Finite differences are also fine for l = 20 at a looser tolerance (h² Y''' ~ l³ h²). */
  for (int it = 0; it < 10; it++) {
    double r[3], Yp[NMAX], Ym[NMAX];
    rand_dir(&s, r, 1.0);
    tnace_ylm(TNACE_LMAX_LIMIT, r, Y, dY);
    int bad = 0;
    for (int a = 0; a < 3; a++) {
      const double h = 1e-6;
      double rp[3] = {r[0], r[1], r[2]}, rm[3] = {r[0], r[1], r[2]};
      rp[a] += h;
      rm[a] -= h;
      tnace_ylm(TNACE_LMAX_LIMIT, rp, Yp, NULL);
      tnace_ylm(TNACE_LMAX_LIMIT, rm, Ym, NULL);
      for (int i = 0; i < NMAX; i++)
        if (!test_close(dY[i][a], (Yp[i] - Ym[i]) / (2 * h), 1e-7)) bad++;
    }
    CHECK(bad == 0, "%d l<=20 gradient components off", bad);
  }
}

static void test_scaling_and_consistency(void) {
  unsigned long long s = 0xc0ffeeULL;
  double Y1[NMAX], Y2[NMAX], dY1[NMAX][3], dY2[NMAX][3], Y3[NMAX], Y4[NMAX], dY4[NMAX][3];
  for (int it = 0; it < 50; it++) {
    double r[3], r2[3];
    rand_dir(&s, r, 0.2 + 2 * test_rand(&s));
    for (int a = 0; a < 3; a++) r2[a] = 3.7 * r[a];
    tnace_ylm(TNACE_LMAX_LIMIT, r, Y1, dY1);
    tnace_ylm(TNACE_LMAX_LIMIT, r2, Y2, dY2);
    tnace_ylm(TNACE_LMAX_LIMIT, r, Y3, NULL);
    tnace_ylm(5, r, Y4, dY4);
    int bad = 0, differ = 0;
    for (int i = 0; i < NMAX; i++) {
      /* r̂ and 3.7 r / |3.7 r| differ in the last bit, and Y_l amplifies that by up to P_l'(1) =
       * l(l+1)/2 (210 at l = 20), so only low l can be held to 1e-14. */
      const int l = (int)sqrt((double)i);
      const double tol = l <= 8 ? 1e-14 : 1e-13;
      if (!test_close(Y1[i], Y2[i], tol)) bad++;
      for (int a = 0; a < 3; a++)
        if (!test_close(dY1[i][a], 3.7 * dY2[i][a], 10 * tol)) bad++;
      if (Y3[i] != Y1[i]) differ++;
      if (i < NLM(5) && (Y4[i] != Y1[i] || memcmp(dY4[i], dY1[i], sizeof dY4[i]) != 0)) differ++;
    }
    CHECK(bad == 0, "%d entries differ between Y(r) and Y(3.7 r)", bad);
    CHECK(differ == 0, "%d entries depend on dY == NULL or on lmax", differ);
  }
  /* lmax = 0 writes one value and a zero gradient */
  double Y0[2] = {0, -7}, dY0[2][3];
  const double r[3] = {0.3, -0.2, 0.9};
  tnace_ylm(0, r, Y0, dY0);
  CHECK_CLOSE(Y0[0], 0.5 / sqrt(PI), 1e-15);
  CHECK(Y0[1] == -7, "wrote past (lmax+1)^2");
  CHECK(dY0[0][0] == 0 && dY0[0][1] == 0 && dY0[0][2] == 0, "dY_00 must vanish");
}

int main(void) {
  test_closed_forms();
  test_convention();
  test_orthonormality();
  test_addition();
  test_gradients();
  test_scaling_and_consistency();
  return test_summary("test_ylm");
}
