/* test_radial.c — ChebExpCos radial basis: values against the formula written out independently (with
 * T_n = cos(n arccos x)), derivatives against finite differences, and the cutoff behaviour. */
#include "radial.h"
#include "testutil.h"

#include <math.h>

#define PI 3.14159265358979323846
#define NMAX 20

/* Direct formula from radial.h, with plain exp and cos: a different route from the library's expm1 and
 * recurrences. */
static double ref_g(int n, double rc, double lam, double r) {
  if (r >= rc) return 0.0;
  const double fc = 0.5 * (1 + cos(PI * r / rc));
  if (n == 0) return fc;
  const double x = 1 - 2 * (exp(-lam * (r / rc - 1)) - 1) / (exp(lam) - 1);
  const double t = cos(n * acos(fmin(1.0, fmax(-1.0, x))));
  return 0.5 * (1 - t) * fc;
}

static const double params[][2] = {{5.0, 5.0}, {4.2, 1.0}, {6.5, 10.0}, {3.0, 0.1}}; /* rcut, λ */
#define NPARAMS ((int)(sizeof params / sizeof params[0]))

static void test_values(void) {
  double g[NMAX], dg[NMAX], g2[NMAX];
  for (int p = 0; p < NPARAMS; p++) {
    const double rc = params[p][0], lam = params[p][1];
    for (int k = 0; k <= 40; k++) {
      const double r = rc * k / 41.0;
      tnace_radial_eval(NMAX, rc, lam, r, g, dg);
      /* n = 0, 1, 2 by the explicit polynomials T_1 = x, T_2 = 2x² − 1 */
      const double fc = 0.5 * (1 + cos(PI * r / rc));
      const double x = 1 - 2 * (exp(-lam * (r / rc - 1)) - 1) / (exp(lam) - 1);
      CHECK_CLOSE(g[0], fc, 1e-14);
      CHECK_CLOSE(g[1], 0.5 * (1 - x) * fc, 1e-13);
      CHECK_CLOSE(g[2], 0.5 * (1 - (2 * x * x - 1)) * fc, 1e-13);
      for (int n = 0; n < NMAX; n++) CHECK_CLOSE(g[n], ref_g(n, rc, lam, r), 1e-12);
      /* dg == NULL path gives the same values */
      tnace_radial_eval(NMAX, rc, lam, r, g2, NULL);
      int differ = 0;
      for (int n = 0; n < NMAX; n++) differ += g2[n] != g[n];
      CHECK(differ == 0, "%d values change with dg == NULL at r = %g", differ, r);
    }
  }
  /* r = 0: x = −1, so g_n = ½ (1 − (−1)^n) = n mod 2 and the cutoff is 1 */
  tnace_radial_eval(NMAX, 5.0, 5.0, 0.0, g, dg);
  for (int n = 0; n < NMAX; n++) CHECK_CLOSE(g[n], n == 0 ? 1.0 : (double)(n & 1), 1e-14);
  /* a hand value: r_c = 5, λ = 5, r = 2.5: x = 1 − 2 (e^{2.5} − 1)/(e^5 − 1) */
  tnace_radial_eval(3, 5.0, 5.0, 2.5, g, dg);
  const double x = 1 - 2 * (exp(2.5) - 1) / (exp(5.0) - 1);
  CHECK_CLOSE(g[0], 0.5, 1e-15);
  CHECK_CLOSE(g[1], 0.25 * (1 - x), 1e-15);
  CHECK_CLOSE(g[2], 0.25 * (2 - 2 * x * x), 1e-15);
  /* x(r) is increasing: with λ = 5, x(r_c / 2) = 1 − 2 (e^{2.5} − 1)/(e^5 − 1) ≈ 0.845 */
  CHECK(x > 0.8 && x < 0.9, "x(rc/2) = %g", x);
}

/* Five-point central difference: near r = 0 the high-n basis functions are steep (T_n^{(k)}(−1) grows
 * like n^{2k}, dx/dr ≈ 2λ/r_c), so the plain 3-point stencil's h² f''' error would reach 1e-7 there. */
static void test_derivatives(void) {
  const double h = 1e-5;
  double g[NMAX], dg[NMAX], gp[NMAX], gm[NMAX], gp2[NMAX], gm2[NMAX];
  for (int p = 0; p < NPARAMS; p++) {
    const double rc = params[p][0], lam = params[p][1];
    int bad = 0;
    for (int k = 0; k < 200; k++) {
      const double r = 2 * h + (rc - 4 * h) * k / 199.0; /* r ± 2h stays in [0, r_c] */
      tnace_radial_eval(NMAX, rc, lam, r, g, dg);
      tnace_radial_eval(NMAX, rc, lam, r + h, gp, NULL);
      tnace_radial_eval(NMAX, rc, lam, r - h, gm, NULL);
      tnace_radial_eval(NMAX, rc, lam, r + 2 * h, gp2, NULL);
      tnace_radial_eval(NMAX, rc, lam, r - 2 * h, gm2, NULL);
      for (int n = 0; n < NMAX; n++) {
        const double fd = (8 * (gp[n] - gm[n]) - (gp2[n] - gm2[n])) / (12 * h);
        if (!test_close(dg[n], fd, 1e-7)) {
          if (bad++ < 5)
            fprintf(stderr, "  rc=%g lam=%g r=%.17g n=%d: dg=%.17g fd=%.17g\n", rc, lam, r, n, dg[n], fd);
        }
      }
    }
    CHECK(bad == 0, "%d derivatives disagree with finite differences (rc %g, lambda %g)", bad, rc, lam);
  }
  /* the analytic derivative of g_1 = ½ (1 − x) f_c, written out */
  const double rc = 5.0, lam = 5.0;
  for (int k = 1; k < 10; k++) {
    const double r = rc * k / 10.0;
    tnace_radial_eval(2, rc, lam, r, g, dg);
    const double e = exp(-lam * (r / rc - 1)), x = 1 - 2 * (e - 1) / (exp(lam) - 1);
    const double dx = 2 * lam * e / (rc * (exp(lam) - 1));
    const double fc = 0.5 * (1 + cos(PI * r / rc)), dfc = -0.5 * PI / rc * sin(PI * r / rc);
    CHECK_CLOSE(dg[0], dfc, 1e-14);
    CHECK_CLOSE(dg[1], -0.5 * dx * fc + 0.5 * (1 - x) * dfc, 1e-13);
  }
}

static void test_cutoff(void) {
  double g[NMAX], dg[NMAX];
  for (int p = 0; p < NPARAMS; p++) {
    const double rc = params[p][0], lam = params[p][1];
    const double beyond[] = {rc, nextafter(rc, 2 * rc), rc + 1e-9, rc + 0.1, 2 * rc, 1e6};
    for (int k = 0; k < (int)(sizeof beyond / sizeof beyond[0]); k++) {
      for (int n = 0; n < NMAX; n++) g[n] = dg[n] = NAN; /* must be overwritten */
      tnace_radial_eval(NMAX, rc, lam, beyond[k], g, dg);
      int nz = 0;
      for (int n = 0; n < NMAX; n++) nz += !(g[n] == 0.0 && dg[n] == 0.0);
      CHECK(nz == 0, "%d nonzero at r = %.17g >= rcut = %g", nz, beyond[k], rc);
    }
    /* continuity: just inside, values and derivatives are already ~0 (f_c ~ δ², f_c' ~ δ) */
    const double inside[] = {nextafter(rc, 0), rc - 1e-12, rc - 1e-8};
    for (int k = 0; k < 3; k++) {
      tnace_radial_eval(NMAX, rc, lam, inside[k], g, dg);
      double gmax = 0, dmax = 0;
      for (int n = 0; n < NMAX; n++) {
        gmax = fmax(gmax, fabs(g[n]));
        dmax = fmax(dmax, fabs(dg[n]));
      }
      CHECK(gmax < 1e-14, "max |g| = %g at rc - %g", gmax, rc - inside[k]);
      CHECK(dmax < 1e-6, "max |dg| = %g at rc - %g", dmax, rc - inside[k]);
    }
    /* smooth approach: |g|, |dg| shrink as δ² and δ, by a factor ~100 and ~10 per decade */
    double g1[NMAX], dg1[NMAX];
    tnace_radial_eval(NMAX, rc, lam, rc - 1e-3 * rc, g, dg);
    tnace_radial_eval(NMAX, rc, lam, rc - 1e-4 * rc, g1, dg1);
    for (int n = 0; n < NMAX; n++) {
      CHECK(fabs(g1[n]) <= 0.011 * fabs(g[n]) + 1e-300, "n %d: %g vs %g", n, g1[n], g[n]);
      CHECK(fabs(dg1[n]) <= 0.11 * fabs(dg[n]) + 1e-300, "n %d: %g vs %g", n, dg1[n], dg[n]);
    }
  }
}

static void test_sizes(void) {
  /* nmax = 1 and nmax = 2 write only their entries; prefixes agree with nmax = 20 */
  double g[NMAX + 1], dg[NMAX + 1], gs[3], dgs[3];
  tnace_radial_eval(NMAX, 5.0, 5.0, 1.7, g, dg);
  for (int nm = 1; nm <= 2; nm++) {
    gs[nm] = dgs[nm] = -7.0;
    tnace_radial_eval(nm, 5.0, 5.0, 1.7, gs, dgs);
    CHECK(gs[nm] == -7.0 && dgs[nm] == -7.0, "nmax %d wrote past the end", nm);
    for (int n = 0; n < nm; n++) {
      CHECK(gs[n] == g[n], "nmax %d: g[%d] = %g vs %g", nm, n, gs[n], g[n]);
      CHECK(dgs[n] == dg[n], "nmax %d: dg[%d] = %g vs %g", nm, n, dgs[n], dg[n]);
    }
  }
  /* the basis functions are distinct and bounded: 0 ≤ g_n ≤ f_c */
  for (int k = 0; k < 50; k++) {
    const double r = 5.0 * k / 50.0;
    tnace_radial_eval(NMAX, 5.0, 5.0, r, g, dg);
    int out = 0;
    for (int n = 1; n < NMAX; n++) out += !(g[n] >= -1e-15 && g[n] <= g[0] + 1e-15);
    CHECK(out == 0, "%d values outside [0, f_c] at r = %g", out, r);
  }
}

int main(void) {
  test_values();
  test_derivatives();
  test_cutoff();
  test_sizes();
  return test_summary("test_radial");
}
