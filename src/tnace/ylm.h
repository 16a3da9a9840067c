/*
 * ylm.h — real spherical harmonics Y_lm(r̂) and their Cartesian gradients.
 *
 * Convention (orthonormal on the sphere, Condon–Shortley phase inside the complex Y_l^m):
 *   Y_{l,m} = √2 (−1)^m Re Y_l^m    (m > 0)
 *   Y_{l,0} = Y_l^0
 *   Y_{l,m} = √2 (−1)^m Im Y_l^{|m|} (m < 0)
 * so that Y_{1,−1} = √(3/4π) y/r, Y_{1,0} = √(3/4π) z/r, Y_{1,1} = √(3/4π) x/r.
 * Flat index: lm = l*l + l + m, size (lmax+1)^2.
 *
 * Computed from the solid harmonics r^l Y_lm (homogeneous polynomials in x, y, z, by recursion), so the
 * gradient has no singularity at the poles (θ = 0, π).
 */
#ifndef TNACE_YLM_H
#define TNACE_YLM_H

#include "tnace_limits.h"

/* Y_lm(r̂) for l = 0..lmax at the direction of the vector r (any length > 0, Å).
 *   Y:  out, [(lmax+1)^2]
 *   dY: out, may be NULL: [(lmax+1)^2][3], ∂Y_lm(r/|r|)/∂r_a (1/Å) — the gradient with respect to the
 *       unnormalised vector, perpendicular to r.
 * lmax ≤ TNACE_LMAX_LIMIT. Allocates nothing. */
void tnace_ylm(int lmax, const double r[3], double *Y, double (*dY)[3]);

#endif
