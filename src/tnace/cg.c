/*
 * cg.c — Wigner 3j / Clebsch–Gordan coefficients by Racah's formula, and the complex→real spherical
 * harmonic map.
 *
 * Racah's formula (integer j's, J = j1 + j2 + j3):
 *   (j1 j2 j3; m1 m2 m3) = (−1)^(j1−j2−m3) √Δ √Π± Σ_k (−1)^k / D_k
 *   Δ   = (j1+j2−j3)! (j1−j2+j3)! (−j1+j2+j3)! / (J+1)!
 *   Π±  = (j1+m1)! (j1−m1)! (j2+m2)! (j2−m2)! (j3+m3)! (j3−m3)!
 *   D_k = k! (j3−j2+k+m1)! (j3−j1+k−m2)! (j1+j2−j3−k)! (j1−k−m1)! (j2−k+m2)!
 * The alternating sum cancels badly for large j (terms exceed the result by many orders of magnitude),
 * so a floating-point sum loses digits even in long double. Instead every factorial is kept as a vector
 * of prime exponents (Legendre's formula): the sum is taken exactly as a big integer
 *   Σ_k (−1)^k G / D_k,   G = gcd-like common factor Π p^min_k(−v_p(D_k)),
 * (each term G/D_k is then a product of primes with non-negative exponents, i.e. an integer), and only
 * the final product S · Π p^(e_p/2) is rounded, once per prime, in long double. The result is exact to
 * a few long-double ulps (≈1e-18 relative) for any supported j, and exact zeros (accidental zeros of
 * the 3j symbol) come out as exactly 0.
 *
 * Supported range: J + 1 ≤ RACAH_JMAX (all primes ≤ 301 tabulated, big integers of BIG_LIMBS 32-bit
 * limbs hold 300! with room for the sum); beyond it tnace_wigner3j returns NaN so that misuse is loud.
 * The library only needs j ≤ 2·TNACE_LMAX_LIMIT.
 */
#include "cg.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RACAH_JMAX 301 /* largest factorial argument (J + 1) */
#define N_PRIMES 62
#define BIG_LIMBS 72   /* 2304 bits ≥ log2(300!) ≈ 2041 plus the sum's carry bits */

static const uint32_t primes[N_PRIMES] = {
    2,   3,   5,   7,   11,  13,  17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,  73,
    79,  83,  89,  97,  101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181,
    191, 193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293};

/* Non-negative big integer, little-endian 32-bit limbs; n = number of limbs in use (0 for zero). */
typedef struct {
  int n;
  uint32_t d[BIG_LIMBS];
} big;

static void big_set_u32(big *a, uint32_t v) {
  a->n = v ? 1 : 0;
  a->d[0] = v;
}

static void big_mul_u32(big *a, uint32_t v) {
  uint64_t carry = 0;
  for (int i = 0; i < a->n; i++) {
    uint64_t t = (uint64_t)a->d[i] * v + carry;
    a->d[i] = (uint32_t)t;
    carry = t >> 32;
  }
  if (carry && a->n < BIG_LIMBS) a->d[a->n++] = (uint32_t)carry;
}

static void big_add(big *a, const big *b) {
  uint64_t carry = 0;
  int n = a->n > b->n ? a->n : b->n;
  for (int i = 0; i < n; i++) {
    uint64_t t = carry + (i < a->n ? a->d[i] : 0) + (i < b->n ? b->d[i] : 0);
    a->d[i] = (uint32_t)t;
    carry = t >> 32;
  }
  a->n = n;
  if (carry && a->n < BIG_LIMBS) a->d[a->n++] = (uint32_t)carry;
}

static int big_cmp(const big *a, const big *b) {
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
  return 0;
}

/* a −= b, requires a ≥ b. */
static void big_sub(big *a, const big *b) {
  int64_t borrow = 0;
  for (int i = 0; i < a->n; i++) {
    int64_t t = (int64_t)a->d[i] - (i < b->n ? b->d[i] : 0) - borrow;
    borrow = t < 0;
    a->d[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
  }
  while (a->n > 0 && a->d[a->n - 1] == 0) a->n--;
}

static long double big_to_ld(const big *a) {
  long double v = 0.0L;
  for (int i = a->n - 1; i >= 0; i--) v = v * 4294967296.0L + (long double)a->d[i];
  return v;
}

/* Exponent of prime p in n! (Legendre). */
static int vfact(int n, int p) {
  int e = 0;
  while (n) {
    n /= p;
    e += n;
  }
  return e;
}

/* Prime exponents of the Racah denominator D_k (negated: D_k is divided), primes[0..np). */
static void denom_exponents(int k, const int a[5], int np, int *e) {
  /* arguments of the six factorials of D_k: k, a0+k, a1+k, a2−k, a3−k, a4−k */
  const int args[6] = {k, a[0] + k, a[1] + k, a[2] - k, a[3] - k, a[4] - k};
  for (int i = 0; i < np; i++) {
    int s = 0;
    for (int f = 0; f < 6; f++) s += vfact(args[f], (int)primes[i]);
    e[i] = -s;
  }
}

double tnace_wigner3j(int j1, int j2, int j3, int m1, int m2, int m3) {
  if (m1 + m2 + m3 != 0) return 0.0;
  if (j1 < 0 || j2 < 0 || j3 < 0) return 0.0;
  if (m1 < -j1 || m1 > j1 || m2 < -j2 || m2 > j2 || m3 < -j3 || m3 > j3) return 0.0;
  if (j3 < abs(j1 - j2) || j3 > j1 + j2) return 0.0;
  const int J = j1 + j2 + j3;
  if (J + 1 > RACAH_JMAX) return NAN;

  /* D_k factorial arguments: k + a0, k + a1, a2 − k, a3 − k, a4 − k */
  const int a[5] = {j3 - j2 + m1, j3 - j1 - m2, j1 + j2 - j3, j1 - m1, j2 + m2};
  int kmin = 0;
  if (-a[0] > kmin) kmin = -a[0];
  if (-a[1] > kmin) kmin = -a[1];
  int kmax = a[2];
  if (a[3] < kmax) kmax = a[3];
  if (a[4] < kmax) kmax = a[4];
  if (kmin > kmax) return 0.0; /* cannot happen inside the selection rules; kept as a guard */

  int np = 0;
  while (np < N_PRIMES && (int)primes[np] <= J + 1) np++;

  /* common factor G: per prime the smallest exponent over all terms */
  int g[N_PRIMES], e[N_PRIMES];
  for (int k = kmin; k <= kmax; k++) {
    denom_exponents(k, a, np, e);
    for (int i = 0; i < np; i++)
      if (k == kmin || e[i] < g[i]) g[i] = e[i];
  }

  /* exact sum of the integers G/D_k, positive and negative parts separately */
  big pos, neg, term;
  big_set_u32(&pos, 0);
  big_set_u32(&neg, 0);
  for (int k = kmin; k <= kmax; k++) {
    denom_exponents(k, a, np, e);
    big_set_u32(&term, 1);
    uint64_t chunk = 1; /* batch small prime powers into one 32-bit multiplier */
    for (int i = 0; i < np; i++)
      for (int r = e[i] - g[i]; r > 0; r--) {
        if (chunk * primes[i] > UINT32_MAX) {
          big_mul_u32(&term, (uint32_t)chunk);
          chunk = 1;
        }
        chunk *= primes[i];
      }
    big_mul_u32(&term, (uint32_t)chunk);
    big_add((k & 1) ? &neg : &pos, &term);
  }
  int sign = 1;
  int c = big_cmp(&pos, &neg);
  if (c == 0) return 0.0; /* an exact accidental zero */
  if (c > 0) {
    big_sub(&pos, &neg);
  } else {
    big_sub(&neg, &pos);
    pos = neg;
    sign = -1;
  }

  /* √(Δ Π±) · G as Π p^(h_p/2): h_p = v_p(Δ Π±) + 2 g_p */
  const int num[9] = {j1 + j2 - j3, j1 - j2 + j3, -j1 + j2 + j3, j1 + m1, j1 - m1, j2 + m2, j2 - m2, j3 + m3, j3 - m3};
  long double mag = big_to_ld(&pos);
  for (int i = 0; i < np; i++) {
    int p = (int)primes[i];
    int h = 2 * g[i] - vfact(J + 1, p);
    for (int f = 0; f < 9; f++) h += vfact(num[f], p);
    if (h == 0) continue;
    /* p^(h/2) = p^q · (√p if h odd), q = floor(h/2) */
    int q = h >= 0 ? h / 2 : -((-h + 1) / 2);
    mag *= powl((long double)p, (long double)q);
    if (h & 1) mag *= sqrtl((long double)p);
  }
  if ((j1 - j2 - m3) & 1) sign = -sign;
  return (double)(sign * mag);
}

double tnace_clebsch_gordan(int l1, int m1, int l2, int m2, int L, int M) {
  double w = tnace_wigner3j(l1, l2, L, m1, m2, -M);
  if (w == 0.0) return 0.0;
  return ((l1 - l2 + M) & 1 ? -1.0 : 1.0) * sqrt(2.0 * L + 1.0) * w;
}

/* Rows of S from the real-Y definitions in ylm.h and Y_l^{−a} = (−1)^a conj(Y_l^a):
 *   m = a > 0:  Y_{l,a}  = √2 (−1)^a Re Y^a = [(−1)^a Y^a + Y^{−a}] / √2
 *   m = 0:      Y_{l,0}  = Y^0
 *   m = −a < 0: Y_{l,−a} = √2 (−1)^a Im Y^a = i [Y^{−a} − (−1)^a Y^a] / √2 */
void tnace_real_from_complex(int l, double complex *S) {
  const int n = 2 * l + 1;
  const double r = 1.0 / sqrt(2.0);
  memset(S, 0, sizeof(double complex) * (size_t)n * (size_t)n);
  S[l * n + l] = 1.0;
  for (int a = 1; a <= l; a++) {
    const double sg = (a & 1) ? -1.0 : 1.0;
    double complex *rp = S + (size_t)(l + a) * n, *rm = S + (size_t)(l - a) * n;
    rp[l + a] = sg * r;
    rp[l - a] = r;
    rm[l - a] = I * r;
    rm[l + a] = -I * sg * r;
  }
}
