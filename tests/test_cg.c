/* test_cg.c — Wigner 3j / Clebsch–Gordan against exact values, closed forms, orthogonality and
 * symmetry relations; the complex→real harmonic map S against its definition (ylm.h). */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cg.h"
#include "testutil.h"
#include "ylm.h"

/* Relative comparison (the library's CHECK_CLOSE is absolute for |values| < 1, too loose for 3j's). */
#define CHECK_REL(a, b, tol) do { double _a = (a), _b = (b); \
    CHECK(fabs(_a - _b) <= (tol) * fmax(fabs(_a), fabs(_b)) && (_a == 0.0) == (_b == 0.0), \
          "%s = %.17g, %s = %.17g, rel tol %g", #a, _a, #b, _b, (double)(tol)); } while (0)

/* value = sign · √(num/den) */
typedef struct {
  int a, b, c, d, e, f, sign;
  unsigned long long num, den;
} exact_entry;

/* (l1 l2 l3; m1 m2 m3). Hand/table values: (1 1 0;000) = −1/√3, (1 1 2;1 −1 0) = 1/√30,
 * (2 2 2;000) = −√(2/35), (1 1 2;000) = √(2/15), (1 1 1;1 −1 0) = 1/√6, (l l 0;m −m 0) = (−1)^(l−m)/√(2l+1),
 * (4 4 4;000) = √(18/1001); the rest from exact rational arithmetic (Racah's formula in fractions). */
static const exact_entry w3j_table[] = {
    {1, 1, 0, 0, 0, 0, -1, 1ULL, 3ULL},
    {1, 1, 2, 1, -1, 0, 1, 1ULL, 30ULL},
    {2, 2, 2, 0, 0, 0, -1, 2ULL, 35ULL},
    {1, 1, 1, 1, -1, 0, 1, 1ULL, 6ULL},
    {1, 1, 2, 0, 0, 0, 1, 2ULL, 15ULL},
    {2, 1, 1, 0, 1, -1, 1, 1ULL, 30ULL},
    {2, 2, 0, 1, -1, 0, -1, 1ULL, 5ULL},
    {3, 2, 1, 0, 0, 0, -1, 3ULL, 35ULL},
    {3, 3, 2, 2, -1, -1, 1, 1ULL, 28ULL},
    {2, 2, 2, 2, -1, -1, -1, 3ULL, 35ULL},
    {4, 4, 4, 0, 0, 0, 1, 18ULL, 1001ULL},
    {3, 2, 1, -2, 1, 1, -1, 2ULL, 21ULL},
    {4, 3, 1, 3, -3, 0, -1, 1ULL, 36ULL},
    {5, 3, 2, -2, 1, 1, -1, 1ULL, 22ULL},
    {6, 6, 6, 0, 0, 0, -1, 400ULL, 46189ULL},
    {4, 2, 2, 1, -1, 0, -1, 1ULL, 21ULL},
    {3, 3, 0, -3, 3, 0, 1, 1ULL, 7ULL},
    {6, 4, 2, 3, -2, -1, -1, 28ULL, 715ULL},
    {5, 5, 2, 2, -2, 0, 1, 6ULL, 715ULL},
    {7, 5, 2, 4, -3, -1, -1, 3ULL, 91ULL},
    {8, 6, 4, -3, 2, 1, 1, 320ULL, 29393ULL},
    {3, 2, 3, 1, 0, -1, -1, 3ULL, 140ULL},
    {10, 10, 10, 0, 0, 0, -1, 111132ULL, 33393355ULL},
    {10, 8, 6, 5, -3, -2, -1, 55112ULL, 8580495ULL},
    {2, 2, 4, 2, -1, -1, -1, 1ULL, 126ULL},
    {12, 12, 12, 4, -4, 0, -1, 167281ULL, 363398275ULL},
    {4, 4, 2, 2, -2, 0, -1, 16ULL, 3465ULL},
    /* accidental zeros inside the selection rules */
    {3, 2, 3, 2, 0, -2, 0, 0ULL, 1ULL},
    {3, 2, 3, -2, 0, 2, 0, 0ULL, 1ULL},
};

/* ⟨l1 m1 l2 m2 | L M⟩ as {l1, m1, l2, m2, L, M, sign, num, den} */
static const exact_entry cg_table[] = {
    {1, 1, 1, -1, 0, 0, 1, 1ULL, 3ULL},
    {1, 0, 1, 0, 0, 0, -1, 1ULL, 3ULL},
    {1, 1, 1, 0, 1, 1, 1, 1ULL, 2ULL},
    {1, 1, 1, -1, 1, 0, 1, 1ULL, 2ULL},
    {1, 0, 1, 0, 2, 0, 1, 2ULL, 3ULL},
    {2, 1, 1, 0, 2, 1, 1, 1ULL, 6ULL},
    {2, -1, 1, 1, 1, 0, 1, 3ULL, 10ULL},
    {3, 2, 2, -1, 3, 1, 1, 1ULL, 4ULL},
    {2, 2, 2, -2, 2, 0, 1, 2ULL, 7ULL},
    {4, 0, 4, 0, 4, 0, 1, 162ULL, 1001ULL},
    {3, -2, 2, 2, 2, 0, -1, 5ULL, 14ULL},
    {5, 3, 4, -1, 6, 2, 1, 1ULL, 462ULL},
    {1, 0, 1, 0, 1, 0, 0, 0ULL, 1ULL}, /* ⟨1 0 1 0|1 0⟩ = 0 */
};

static double exact_value(const exact_entry *e) {
  return e->sign * sqrt((double)e->num / (double)e->den);
}

static const double PI = 3.14159265358979323846;

static int parity(int n) { return (n & 1) ? -1 : 1; }

/* n! in long double (exact to n = 25, then rounded once per factor; fine for 1e-14 comparisons). */
static long double factl(int n) {
  long double r = 1.0L;
  for (int i = 2; i <= n; i++) r *= i;
  return r;
}

static void test_tables(void) {
  for (size_t i = 0; i < sizeof w3j_table / sizeof w3j_table[0]; i++) {
    const exact_entry *e = &w3j_table[i];
    CHECK_REL(tnace_wigner3j(e->a, e->b, e->c, e->d, e->e, e->f), exact_value(e), 2e-15);
  }
  for (size_t i = 0; i < sizeof cg_table / sizeof cg_table[0]; i++) {
    const exact_entry *e = &cg_table[i];
    CHECK_REL(tnace_clebsch_gordan(e->a, e->b, e->c, e->d, e->e, e->f), exact_value(e), 2e-15);
  }
}

static void test_selection_rules(void) {
  CHECK(tnace_wigner3j(2, 2, 2, 1, 1, 0) == 0.0, "m1+m2+m3 != 0");
  CHECK(tnace_wigner3j(1, 1, 3, 0, 0, 0) == 0.0, "triangle");
  CHECK(tnace_wigner3j(4, 1, 2, 0, 0, 0) == 0.0, "triangle");
  CHECK(tnace_wigner3j(2, 2, 2, 3, -3, 0) == 0.0, "|m| > l");
  CHECK(tnace_wigner3j(1, 1, 1, 0, 0, 0) == 0.0, "odd J with all m = 0");
  CHECK(tnace_wigner3j(3, 2, 2, 0, 0, 0) == 0.0, "odd J with all m = 0");
  CHECK(tnace_clebsch_gordan(1, 1, 1, 0, 1, 0) == 0.0, "M != m1 + m2");
}

/* Closed forms valid at any l: accuracy check far beyond the tabulated range. */
static void test_closed_forms(void) {
  /* (l l 0; m −m 0) = (−1)^(l−m)/√(2l+1), l ≤ 40 */
  for (int l = 0; l <= 40; l++)
    for (int m = -l; m <= l; m++) CHECK_REL(tnace_wigner3j(l, l, 0, m, -m, 0), parity(l - m) / sqrt(2.0 * l + 1), 2e-15);
  /* stretched: (l1 l2 L; m1 m2 −M), L = l1 + l2:
   *   (−1)^(l1−l2+M) √[(2l1)!(2l2)!(L+M)!(L−M)! / ((2L+1)!(l1+m1)!(l1−m1)!(l2+m2)!(l2−m2)!)] */
  for (int l1 = 0; l1 <= 20; l1 += 3)
    for (int l2 = 0; l2 <= 20; l2 += 4)
      for (int m1 = -l1; m1 <= l1; m1++)
        for (int m2 = -l2; m2 <= l2; m2 += 3) {
          const int L = l1 + l2, M = m1 + m2;
          long double r = factl(2 * l1) * factl(2 * l2) / factl(2 * L + 1) * factl(L + M) / factl(l1 + m1) *
                          factl(L - M) / factl(l1 - m1) / factl(l2 + m2) / factl(l2 - m2);
          CHECK_REL(tnace_wigner3j(l1, l2, L, m1, m2, -M), parity(l1 - l2 + M) * (double)sqrtl(r), 1e-14);
        }
  /* all m = 0, J = 2g even: (−1)^g √[(2g−2a)!(2g−2b)!(2g−2c)!/(2g+1)!] g!/((g−a)!(g−b)!(g−c)!), l ≤ 40 */
  for (int a = 0; a <= 40; a += 5)
    for (int b = a; b <= 40; b += 3)
      for (int c = b - a; c <= a + b && c <= 40; c++) {
        if ((a + b + c) & 1) continue;
        const int g = (a + b + c) / 2;
        long double r = factl(2 * g - 2 * a) / factl(2 * g + 1) * factl(2 * g - 2 * b) * factl(2 * g - 2 * c);
        long double s = factl(g) / factl(g - a) / factl(g - b) / factl(g - c);
        CHECK_REL(tnace_wigner3j(a, b, c, 0, 0, 0), parity(g) * (double)(sqrtl(r) * s), 1e-14);
      }
}

static void test_symmetries(void) {
  unsigned long long st = 12345;
  for (int l1 = 0; l1 <= 7; l1++)
    for (int l2 = 0; l2 <= 7; l2++)
      for (int l3 = abs(l1 - l2); l3 <= l1 + l2; l3++)
        for (int rep = 0; rep < 6; rep++) {
          const int m1 = (int)(test_rand(&st) * (2 * l1 + 1)) - l1;
          const int m2 = (int)(test_rand(&st) * (2 * l2 + 1)) - l2;
          const int m3 = -m1 - m2;
          if (abs(m3) > l3) continue;
          const double w = tnace_wigner3j(l1, l2, l3, m1, m2, m3);
          const int ph = parity(l1 + l2 + l3);
          CHECK_REL(tnace_wigner3j(l2, l3, l1, m2, m3, m1), w, 1e-15);      /* cyclic */
          CHECK_REL(tnace_wigner3j(l3, l1, l2, m3, m1, m2), w, 1e-15);
          CHECK_REL(tnace_wigner3j(l2, l1, l3, m2, m1, m3), ph * w, 1e-15); /* odd permutation */
          CHECK_REL(tnace_wigner3j(l1, l3, l2, m1, m3, m2), ph * w, 1e-15);
          CHECK_REL(tnace_wigner3j(l1, l2, l3, -m1, -m2, -m3), ph * w, 1e-15); /* m → −m */
          /* CG exchange: ⟨l1 m1 l2 m2|L M⟩ = (−1)^(l1+l2−L) ⟨l2 m2 l1 m1|L M⟩ */
          CHECK_REL(tnace_clebsch_gordan(l1, m1, l2, m2, l3, m1 + m2),
                    parity(l1 + l2 - l3) * tnace_clebsch_gordan(l2, m2, l1, m1, l3, m1 + m2), 1e-15);
        }
}

/* Σ_{m1 m2} ⟨l1 m1 l2 m2|L M⟩⟨l1 m1 l2 m2|L' M'⟩ = δ_LL' δ_MM' and
 * Σ_{L M} ⟨l1 m1 l2 m2|L M⟩⟨l1 m1' l2 m2'|L M⟩ = δ_m1m1' δ_m2m2'. */
static void test_orthogonality(void) {
  enum { LO = 8, N1 = 2 * LO + 1, NL = 2 * LO + 1 };
  static double cg[NL][N1][N1]; /* ⟨l1 m1 l2 m2 | L, m1+m2⟩ of one (l1, l2), computed once */
  double worst = 0.0;
  for (int l1 = 0; l1 <= LO; l1++)
    for (int l2 = 0; l2 <= LO; l2++) {
      for (int L = abs(l1 - l2); L <= l1 + l2; L++)
        for (int m1 = -l1; m1 <= l1; m1++)
          for (int m2 = -l2; m2 <= l2; m2++)
            cg[L][m1 + l1][m2 + l2] = abs(m1 + m2) <= L ? tnace_clebsch_gordan(l1, m1, l2, m2, L, m1 + m2) : 0.0;
      for (int L = abs(l1 - l2); L <= l1 + l2; L++)
        for (int Lp = abs(l1 - l2); Lp <= l1 + l2; Lp++)
          for (int M = -L; M <= L; M++) {
            double s = 0.0;
            for (int m1 = -l1; m1 <= l1; m1++) {
              const int m2 = M - m1;
              if (abs(m2) > l2) continue;
              s += cg[L][m1 + l1][m2 + l2] * cg[Lp][m1 + l1][m2 + l2];
            }
            worst = fmax(worst, fabs(s - (L == Lp)));
          }
      for (int m1 = -l1; m1 <= l1; m1++)
        for (int m2 = -l2; m2 <= l2; m2++)
          for (int m1p = -l1; m1p <= l1; m1p++) {
            const int m2p = m1 + m2 - m1p; /* M must agree */
            if (abs(m2p) > l2) continue;
            double s = 0.0;
            for (int L = abs(l1 - l2); L <= l1 + l2; L++) s += cg[L][m1 + l1][m2 + l2] * cg[L][m1p + l1][m2p + l2];
            worst = fmax(worst, fabs(s - (m1 == m1p)));
          }
    }
  CHECK(worst <= 1e-13, "CG orthogonality/completeness l <= 8: worst deviation %.3g", worst);

  /* sanity at large l: normalisation Σ_{m1} ⟨l1 m1 l2 M−m1|L M⟩² = 1 and orthogonality to L+2 */
  worst = 0.0;
  const int big[][2] = {{20, 17}, {20, 20}, {33, 40}, {40, 40}};
  for (int i = 0; i < 4; i++) {
    const int l1 = big[i][0], l2 = big[i][1];
    for (int L = abs(l1 - l2); L <= l1 + l2; L += 7)
      for (int M = -L; M <= L; M += (L > 10 ? L / 3 : 1)) {
        double s = 0.0, o = 0.0;
        for (int m1 = -l1; m1 <= l1; m1++) {
          const int m2 = M - m1;
          if (abs(m2) > l2) continue;
          const double c = tnace_clebsch_gordan(l1, m1, l2, m2, L, M);
          s += c * c;
          if (L + 2 <= l1 + l2) o += c * tnace_clebsch_gordan(l1, m1, l2, m2, L + 2, M);
        }
        worst = fmax(worst, fmax(fabs(s - 1.0), fabs(o)));
      }
  }
  CHECK(worst <= 1e-13, "CG orthonormality at l <= 40: worst deviation %.3g", worst);
}

static void test_S_unitary(void) {
  static double complex S[41 * 41];
  double worst = 0.0;
  for (int l = 0; l <= TNACE_LMAX_LIMIT; l++) {
    const int n = 2 * l + 1;
    tnace_real_from_complex(l, S);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double complex s = 0.0;
        for (int k = 0; k < n; k++) s += S[i * n + k] * conj(S[j * n + k]);
        worst = fmax(worst, cabs(s - (i == j)));
      }
  }
  CHECK(worst <= 1e-15, "S S^dagger = 1: worst deviation %.3g", worst);
}

/* Complex Y_l^m(θ, φ) with the Condon–Shortley phase, m ≥ 0, from the associated Legendre recurrence
 *   P_m^m = (−1)^m (2m−1)!! sin^m θ,  P_{m+1}^m = (2m+1) cos θ P_m^m,
 *   (l−m) P_l^m = (2l−1) cos θ P_{l−1}^m − (l+m−1) P_{l−2}^m;
 * and Y_l^{−m} = (−1)^m conj(Y_l^m). Written here, independent of ylm.c. */
static double complex ylm_complex(int l, int m, double theta, double phi) {
  const int a = abs(m);
  const double x = cos(theta), s = sin(theta);
  double pmm = 1.0;
  for (int k = 1; k <= a; k++) pmm *= -(2.0 * k - 1.0) * s;
  double p = pmm;
  if (l > a) {
    double pm2 = pmm, pm1 = (2.0 * a + 1.0) * x * pmm;
    for (int ll = a + 2; ll <= l; ll++) {
      const double pn = ((2.0 * ll - 1.0) * x * pm1 - (ll + a - 1.0) * pm2) / (ll - a);
      pm2 = pm1;
      pm1 = pn;
    }
    p = pm1;
  }
  double norm = (2.0 * l + 1.0) / (4.0 * PI);
  for (int k = l - a + 1; k <= l + a; k++) norm /= k;
  double complex y = sqrt(norm) * p * cexp(I * a * phi);
  if (m < 0) y = parity(a) * conj(y);
  return y;
}

static void test_S_maps_Y(void) {
  /* the complex Y above against closed forms (l ≤ 2) so that the reference itself is pinned down */
  const double th = 0.7, ph = -2.1, ct = cos(th), st = sin(th);
  CHECK(cabs(ylm_complex(0, 0, th, ph) - 0.5 / sqrt(PI)) < 1e-15, "Y00");
  CHECK(cabs(ylm_complex(1, 1, th, ph) + sqrt(3 / (8 * PI)) * st * cexp(I * ph)) < 1e-15, "Y11");
  CHECK(cabs(ylm_complex(1, -1, th, ph) - sqrt(3 / (8 * PI)) * st * cexp(-I * ph)) < 1e-15, "Y1-1");
  CHECK(cabs(ylm_complex(2, 1, th, ph) + sqrt(15 / (8 * PI)) * st * ct * cexp(I * ph)) < 1e-15, "Y21");
  CHECK(cabs(ylm_complex(2, 2, th, ph) - 0.25 * sqrt(15 / (2 * PI)) * st * st * cexp(2 * I * ph)) < 1e-15, "Y22");
  CHECK(cabs(ylm_complex(2, 0, th, ph) - 0.25 * sqrt(5 / PI) * (3 * ct * ct - 1)) < 1e-15, "Y20");

  /* S Y^complex = Y^real: explicit l = 1 (y, z, x) and tnace_ylm up to l = 10 */
  enum { LM = 10 };
  static double complex S[(2 * LM + 1) * (2 * LM + 1)];
  double Yr[(LM + 1) * (LM + 1)];
  unsigned long long st_ = 99;
  double worst = 0.0, worst_im = 0.0;
  for (int rep = 0; rep < 20; rep++) {
    const double theta = acos(2 * test_rand(&st_) - 1), phi = 2 * PI * test_rand(&st_);
    const double r[3] = {sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta)};
    tnace_ylm(LM, r, Yr, NULL);
    for (int l = 0; l <= LM; l++) {
      const int n = 2 * l + 1;
      tnace_real_from_complex(l, S);
      for (int m = -l; m <= l; m++) {
        double complex y = 0.0;
        for (int mu = -l; mu <= l; mu++) y += S[(m + l) * n + (mu + l)] * ylm_complex(l, mu, theta, phi);
        worst_im = fmax(worst_im, fabs(cimag(y)));
        worst = fmax(worst, fabs(creal(y) - Yr[l * l + l + m]));
        if (l == 1) {
          const double c1 = sqrt(3 / (4 * PI));
          const double want = m == -1 ? c1 * r[1] : (m == 0 ? c1 * r[2] : c1 * r[0]);
          CHECK(fabs(creal(y) - want) < 1e-14, "l=1 m=%d: %.17g vs %.17g", m, creal(y), want);
        }
      }
    }
  }
  CHECK(worst_im <= 1e-13, "S Y^c has imaginary part %.3g", worst_im);
  CHECK(worst <= 1e-12, "S Y^c vs tnace_ylm: worst deviation %.3g", worst);
}

int main(void) {
  test_tables();
  test_selection_rules();
  test_closed_forms();
  test_symmetries();
  test_orthogonality();
  test_S_unitary();
  test_S_maps_Y();
  return test_summary("test_cg");
}
