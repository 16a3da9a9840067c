/*
 * radial.c — ChebExpCos radial basis (see radial.h for the definition).
 *
 * Derivatives, with e(r) = exp(−λ (r/r_c − 1)):
 *   dx/dr   = 2 λ e(r) / (r_c (exp(λ) − 1))          (x increases from −1 at r = 0 to 1 at r = r_c)
 *   f_c'(r) = −(π / 2 r_c) sin(π r / r_c)
 *   dg_n/dr = −½ n U_{n−1}(x) (dx/dr) f_c + ½ (1 − T_n(x)) f_c'
 * T_n and U_{n−1} come from the three-term recurrence p_{k+1} = 2 x p_k − p_{k−1} (T: 1, x; U: 1, 2x),
 * which is exact at x = ±1 (U_{n−1}(±1) = (±1)^{n−1} n) so there is no trigonometric form and no
 * division by √(1 − x²).
 */
#include "radial.h"

#include <math.h>

/* M_PI is POSIX, not ISO C. */
static const double PI = 3.14159265358979323846;

void tnace_radial_eval(int nmax, double rcut, double lambda, double r, double *g, double *dg) {
  tnace_radial_eval_el(nmax, rcut, lambda, 1.0 / expm1(lambda), r, g, dg);
}

void tnace_radial_eval_el(int nmax, double rcut, double lambda, double inv_el, double r, double *g, double *dg) {
  if (nmax <= 0) return;
  if (!(r < rcut)) { /* also catches NaN r: no contribution rather than NaN forces */
    for (int n = 0; n < nmax; n++) g[n] = 0.0;
    if (dg)
      for (int n = 0; n < nmax; n++) dg[n] = 0.0;
    return;
  }

  const double s = PI / rcut;
  const double fc = 0.5 * (1.0 + cos(s * r));
  g[0] = fc;
  if (dg) dg[0] = -0.5 * s * sin(s * r);
  if (nmax == 1) return;

  /* expm1 keeps e(r) − 1 accurate near r_c, where λ (r/r_c − 1) is small and x → 1. */
  const double em1 = expm1(-lambda * (r / rcut - 1.0));
  const double x = 1.0 - 2.0 * em1 * inv_el;
  const double hfc = 0.5 * fc;

  double tm = 1.0, t = x; /* T_{n−1}, T_n */
  g[1] = hfc * (1.0 - t);
  if (!dg) {
    for (int n = 2; n < nmax; n++) {
      const double tn = 2.0 * x * t - tm;
      tm = t;
      t = tn;
      g[n] = hfc * (1.0 - t);
    }
    return;
  }

  const double dxdr = 2.0 * lambda * (em1 + 1.0) * inv_el / rcut;
  const double hdfc = 0.5 * dg[0];
  const double c = -hfc * dxdr; /* dg_n/dr = c n U_{n−1} + ½ f_c' (1 − T_n) */
  double um = 0.0, u = 1.0;     /* U_{n−2}, U_{n−1} (U_{−1} = 0) */
  dg[1] = c * u + hdfc * (1.0 - t);
  for (int n = 2; n < nmax; n++) {
    const double tn = 2.0 * x * t - tm;
    const double un = 2.0 * x * u - um;
    tm = t;
    t = tn;
    um = u;
    u = un;
    g[n] = hfc * (1.0 - t);
    dg[n] = c * n * u + hdfc * (1.0 - t);
  }
}
