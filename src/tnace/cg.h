/*
 * cg.h — Clebsch–Gordan coefficients and Wigner 3j symbols (Racah's formula), and the unitary map between
 * complex and real spherical harmonics (ylm.h convention). Used once, at potential load, to build the
 * fusion trees (fusion.h); never in per-atom loops.
 */
#ifndef TNACE_CG_H
#define TNACE_CG_H

#include <complex.h>

/* Wigner 3j symbol (l1 l2 l3; m1 m2 m3) for integer l's, by Racah's formula evaluated with exact
 * integer factorial ratios in long double (exact to double precision for l ≤ 40). Returns 0 when the
 * selection rules (m1+m2+m3 = 0, triangle, |m_k| ≤ l_k) fail. */
double tnace_wigner3j(int l1, int l2, int l3, int m1, int m2, int m3);

/* Clebsch–Gordan coefficient ⟨l1 m1 l2 m2 | L M⟩ (Condon–Shortley convention):
 *   = (−1)^(l1−l2+M) √(2L+1) (l1 l2 L; m1 m2 −M). */
double tnace_clebsch_gordan(int l1, int m1, int l2, int m2, int L, int M);

/* The (2l+1)×(2l+1) unitary matrix S with Y^real_{l,m} = Σ_μ S[m+l][μ+l] Y^complex_{l,μ}, row-major.
 * S: out, [(2l+1)*(2l+1)]. */
void tnace_real_from_complex(int l, double complex *S);

#endif
