/*
 * descriptor.c — the invariant descriptors B^(1) and B^(2) of one atomic environment, written out (tnace.h
 * tnace_atom_descriptor). The potential never forms them (its MPS terms contract A directly, tn.h); they are
 * for the things around a potential: kernel and linear baselines, descriptor compression, and users' own
 * models (issue #16, tnace-desc).
 *
 *   B^(1)_{αn}       = A_{αn00}                                                   (Sommer & Dunham eq. 16, ν = 1)
 *   B^(2)_{pql}      = w_pq (2l+1)^{-1/2} Σ_m A_{p lm} A_{q lm},  p = (α1,n1) ≤ q = (α2,n2)   (ν = 2, the power
 *                                                                                  spectrum; eq. 17 with the CG
 *                                                                                  coupling l ⊗ l → 0)
 * w_pq = 1 for p = q and √2 otherwise, so that the Euclidean dot product of two such vectors equals that of the
 * full symmetric tensors (a SOAP kernel computed on the vectors is the SOAP kernel). Only the (n, l) the
 * potential's basis computes enter (n < nmax_l[l], model.h).
 */
#include <math.h>
#include <stdio.h>

#include "model.h"
#include "tnace.h"

/* Flat radial-species index P = α·nmax + n of the pairs of the ν = 2 descriptor: p = (α1, n1), q = (α2, n2)
 * run over P < n_el·nmax with p ≤ q, then l over those with n1, n2 < nmax_l[l]. One walk, three uses
 * (size, labels, values): visit(k, α1, n1, α2, n2, l) for every entry k in order. */
#define FOR_B2(pot, ...)                                                                       \
  do {                                                                                         \
    const int nm_ = (pot)->nmax, np_ = (pot)->n_el * nm_;                                      \
    long k = 0;                                                                                \
    for (int p = 0; p < np_; p++)                                                              \
      for (int q = p; q < np_; q++)                                                            \
        for (int l = 0; l <= (pot)->lmax; l++) {                                               \
          const int a1 = p / nm_, n1 = p % nm_, a2 = q / nm_, n2 = q % nm_;                    \
          if (n1 >= (pot)->nmax_l[l] || n2 >= (pot)->nmax_l[l]) continue;                      \
          (void)a1; (void)a2;                                                                  \
          __VA_ARGS__;                                                                         \
          k++;                                                                                 \
        }                                                                                      \
  } while (0)

long tnace_descriptor_size(const tnace_potential *pot, int nu) {
  if (!pot) return TNACE_ERR_ARG;
  if (nu == 1) return (long)pot->n_el * pot->nmax_l[0];
  if (nu != 2) return TNACE_ERR_ARG;
  long size = 0;
  FOR_B2(pot, size = k + 1);
  return size;
}

int tnace_descriptor_label(const tnace_potential *pot, int nu, long want, int label[5]) {
  long size = tnace_descriptor_size(pot, nu);
  if (size < 0 || want < 0 || want >= size || !label) return TNACE_ERR_ARG;
  if (nu == 1) {
    label[0] = (int)(want / pot->nmax_l[0]);
    label[1] = (int)(want % pot->nmax_l[0]);
    label[2] = label[3] = -1;
    label[4] = 0;
    return 0;
  }
  FOR_B2(pot, if (k == want) {
    label[0] = a1; label[1] = n1; label[2] = a2; label[3] = n2; label[4] = l;
  }) ;
  return 0;
}

int tnace_atom_descriptor(const tnace_potential *pot, tnace_workspace *ws, int si, int n, const double (*rij)[3],
                          const int *sj, int nu, double *B) {
  if (nu != 1 && nu != 2) {
    snprintf(ws->err, sizeof ws->err, "descriptor order nu = %d: only 1 and 2 are written out", nu);
    return TNACE_ERR_ARG;
  }
  int rc = tnace_atom_basis(pot, ws, si, n, rij, sj);
  if (rc) return rc;
  const int nm = pot->nmax, nlm = (pot->lmax + 1) * (pot->lmax + 1);
  const double *A = ws->A;
  if (nu == 1) {
    long k = 0;
    for (int a = 0; a < pot->n_el; a++)
      for (int r = 0; r < pot->nmax_l[0]; r++) B[k++] = A[((size_t)a * nm + r) * nlm];
    return 0;
  }
  FOR_B2(pot, {
    const double *x = A + (size_t)p * nlm + l * l, *y = A + (size_t)q * nlm + l * l;
    double s = 0.0;
    for (int m = 0; m <= 2 * l; m++) s += x[m] * y[m];
    B[k] = s * (p == q ? 1.0 : M_SQRT2) / sqrt(2.0 * l + 1.0);
  });
  return 0;
}
