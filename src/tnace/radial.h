/*
 * radial.h — radial basis R_n(r) of the atomic base A_{αnlm} (Sommer & Dunham eq. 7; Drautz PRB 99,
 * 014104 eq. 24; the "ChebExpCos" basis of PACE, Lysogorskiy et al. npj Comput Mater 7, 97).
 *
 *   x(r)   = 1 − 2 (exp(−λ (r/r_c − 1)) − 1) / (exp(λ) − 1)      maps [0, r_c] onto [−1, 1]
 *   f_c(r) = ½ (1 + cos(π r / r_c))  for r < r_c, else 0           smooth cutoff: f_c(r_c) = f_c'(r_c) = 0
 *   g_0(r) = f_c(r)
 *   g_n(r) = ½ (1 − T_n(x(r))) f_c(r),  n ≥ 1                      T_n: Chebyshev polynomials, 1st kind
 *
 * Energy and force go continuously to zero at r_c. Units: r and r_c in Å, g dimensionless, dg in 1/Å.
 */
#ifndef TNACE_RADIAL_H
#define TNACE_RADIAL_H

/* Evaluate g_n(r) and dg_n/dr for n = 0..nmax−1 at distance r (Å).
 *   g, dg: out, [nmax] each (dg may be NULL). For r ≥ rcut both are set to 0.
 *   lambda: the exponential scaling λ > 0 (PACE's default 5.0); rcut > 0.
 * Allocates nothing; uses the Chebyshev three-term recurrence for T_n and U_{n-1} (T_n' = n U_{n−1}). */
void tnace_radial_eval(int nmax, double rcut, double lambda, double r, double *g, double *dg);
/* The same with inv_el = 1 / (exp(λ) − 1) given, for callers that evaluate many r with the same λ (the
 * evaluator: once per atom instead of once per neighbour). */
void tnace_radial_eval_el(int nmax, double rcut, double lambda, double inv_el, double r, double *g, double *dg);

#endif
