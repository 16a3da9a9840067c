/*
 * entangle.h — entanglement diagnostics of the MPS weight tensors of a fitted potential (Sommer & Dunham,
 * "Entangling Solid Solutions", Sec. IV.B): at every bond of every (element, term) MPS, the Schmidt values
 * of the weight tensor W cut there, and what they say about the bond dimension χ.
 *
 * A cut at bond s (1 ≤ s < 3ν) splits the sites into 0..s−1 and s..3ν−1. With the left and right Gram
 * (transfer) matrices
 *     G_L = Σ_{left indices} Lᵀ L,   G_R = Σ_{right indices} R Rᵀ        (both bond[s] × bond[s])
 * of the left and right partial products L, R, the squared Schmidt values are the eigenvalues of
 * G_L^{1/2} G_R G_L^{1/2}. Normalised, p_k = λ_k / Σ λ, they give
 *     entropy          S = −Σ p ln p                 (≤ ln χ; S = ln χ: the cut is saturated by χ)
 *     capacity         C = Σ p (ln p)² − S²           (the variance of the entanglement spectrum −ln p)
 *     spacing ratio    ⟨r⟩ over the sorted spectrum ξ_k = −ln p_k, r_k = min(δ_k, δ_k+1) / max(δ_k, δ_k+1)
 *                      (Poisson ≈ 0.386, GOE ≈ 0.536; NaN with fewer than 3 levels)
 *     Page value       S_Page = Σ_{k=χ+1}^{χ²} 1/k − (χ−1)/(2χ): the mean entropy of a random state of a
 *                      χ × χ bipartite system, i.e. of a random bond matrix of this size
 *     s_min / s_max    the smallest Schmidt value relative to the largest: below 1e-3 the bond can shrink
 * Cuts at s = 3k (k = 1..ν−1) lie between copies (body-order channels), the others inside a copy (between
 * the species, radial and angular sites). The Gram route squares the condition number: Schmidt values
 * below ~1e-7 of the largest are round-off and reported as 0.
 *
 * MPO terms are inspected layer by layer (ket and bra as MPS with an open right bond K, which is then
 * summed over as part of the right environment). No global state.
 */
#ifndef TNACE_ENTANGLE_H
#define TNACE_ENTANGLE_H

#include <stdio.h>
#include "model.h"

/* One cut. */
typedef struct {
  int site;                /* bond index s: the cut between sites s−1 and s */
  int chi;                 /* bond dimension there */
  int between_copies;      /* s is a multiple of 3 */
  double entropy, capacity, r_mean, page, ln_chi;
  double s_ratio;          /* smallest / largest Schmidt value */
  int n_small;             /* Schmidt values below 1e-3 of the largest */
  double *schmidt;         /* [chi] Schmidt values, descending, normalised so that Σ s² = 1 */
} tnace_cut;

/* The cuts of one MPS (one layer of one element's term). */
typedef struct {
  int element, term, layer;
  int n_cuts;
  tnace_cut cut[3 * TNACE_MAX_NU];
} tnace_mps_cuts;

/* Schmidt spectra and statistics of every internal bond of tn (any model; an MPO layer's open right
 * bond is traced). Fills *out (free with tnace_mps_cuts_free). Returns 0, TNACE_ERR_NOMEM, or
 * TNACE_ERR_NUMERIC when an eigensolver fails or the tensor is zero, with a message. */
int tnace_mps_entanglement(const tnace_tn *tn, tnace_mps_cuts *out, char *err, size_t errlen);
void tnace_mps_cuts_free(tnace_mps_cuts *c);

/* S_Page for a random state of an m × n bipartite system (m ≤ n): Σ_{k=n+1}^{mn} 1/k − (m−1)/(2n). */
double tnace_page_entropy(int m, int n);

/* The whole potential: one table row per (element, term, layer, cut) — element, term, layer, cut, χ,
 * between/inside a copy, S, ln χ, S/ln χ, S_Page, C, ⟨r⟩, s_min/s_max, Schmidt values < 1e-3 — or, with
 * json, one JSON object {"potential", "mps": [{"element", "term", "layer", "nu", "cuts": [{...,
 * "schmidt": [...]}]}]}. Returns 0 or an error code with a message. */
int tnace_entanglement_report(FILE *f, const tnace_potential *pot, const char *name, int json, char *err,
                              size_t errlen);

#endif
