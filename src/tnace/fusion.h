/*
 * fusion.h — SO(3)-invariant fusion trees of ν copies of the atomic base, precomputed into a prefix trie
 * of (channel, coefficient) terms (Sommer & Dunham Fig. 2–4, eq. 13–15, App. C; Drautz eq. 27–30).
 *
 * A ν-term couples copies k = 0..ν−1 of the channels c^(k)_{λ m}. Each copy k has a list of labels λ:
 *   - for ν ≤ 3 and for the first copy and the last two copies, λ is just l_k;
 *   - for copies 1 ≤ k ≤ ν−3 (ν ≥ 4) λ = (l_k, L_k), L_k the intermediate angular momentum after coupling
 *     copies 0..k (left-to-right coupling tree ((l_0 l_1)L_1 l_2)L_2 … → 0).
 * Copy k's channels are the pairs (λ, m), m = −l..l, flattened as chan = chan_off[k][λ] + (m + l).
 *
 * The invariant (real-Y basis, paper eq. 14–15 for ν = 2, 3) is
 *   B = Σ_{leaves} coef · Π_k c^(k)_{chan_k}
 * with the sum over the allowed tuples: l_k ≤ lmax, l_0 ≤ l_1 ≤ … ≤ l_{ν−1} (ν ≥ 3; for ν = 2 l_0 = l_1;
 * for ν = 1 only l = 0), every coupling triangle-allowed, Σ l_k even, intermediate L_k ≤ lmax.
 * Coefficients are the complex-basis coupling tree (CG products, final coupling to L = 0 by
 * (−1)^(L−M)/√(2L+1)) transformed to the real basis; they come out real (checked at build).
 *
 * Trie: level k holds one node per distinct prefix (chan_0, …, chan_k) that occurs in some term.
 *   parent[k][node]  index of the prefix node at level k−1 (for k = 0: 0, the root)
 *   chan[k][node]    channel of copy k
 * Nodes of a level are sorted by (parent, chan). Level ν−1 nodes are the leaves and carry coef[leaf].
 * Zero coefficients (|coef| < 1e-14) are dropped.
 */
#ifndef TNACE_FUSION_H
#define TNACE_FUSION_H

#include <stddef.h>

#include "tnace_limits.h"

typedef struct {
  int nu;                        /* correlation order, 1..TNACE_MAX_NU */
  int lmax;                      /* largest l of any copy */
  int n_lambda[TNACE_MAX_NU];    /* labels per copy */
  int *lam_l[TNACE_MAX_NU];      /* [n_lambda[k]] l of each label */
  int *lam_L[TNACE_MAX_NU];      /* [n_lambda[k]] intermediate L of each label, or −1 */
  int *chan_off[TNACE_MAX_NU];   /* [n_lambda[k]+1] first channel of each label; chan_off[k][n_lambda] = n_chan */
  int n_chan[TNACE_MAX_NU];      /* Σ_λ (2 l_λ + 1) */
  int *chan_lam[TNACE_MAX_NU];   /* [n_chan[k]] label of each channel */
  int *chan_lm[TNACE_MAX_NU];    /* [n_chan[k]] flat lm index (l*l + l + m) of each channel */
  int n_nodes[TNACE_MAX_NU];     /* trie nodes per level */
  int *parent[TNACE_MAX_NU];     /* [n_nodes[k]] */
  int *chan[TNACE_MAX_NU];       /* [n_nodes[k]] */
  double *coef;                  /* [n_nodes[nu−1]] */
} tnace_fusion;

/* Build the trie for correlation order nu (1..TNACE_MAX_NU) and angular cutoff lmax (0..TNACE_LMAX_LIMIT).
 * Returns 0, or TNACE_ERR_VALUE (also, at once, when tnace_fusion_work_estimate exceeds
 * TNACE_MAX_FUSION_WORK, with the estimated GB and seconds) / TNACE_ERR_NOMEM with a message in err. On
 * failure *f is left freed. */
int tnace_fusion_build(tnace_fusion *f, int nu, int lmax, char *err, size_t errlen);
void tnace_fusion_free(tnace_fusion *f);
/* The work of tnace_fusion_build(nu, lmax) without building it: the number of complex-basis m-tuples over
 * all coupling paths (each m-tuple whose partial projections fit the intermediate L's), O(paths · ν · l_max²),
 * microseconds. The build's time and memory grow in proportion (ν = 4: l_max 9 → 1.0e6, 8 s, 0.24 GB;
 * l_max 11 → 4.0e6, 51 s, 1.65 GB); tnace_fusion_build refuses more than TNACE_MAX_FUSION_WORK at once,
 * before allocating. 0 for arguments out of range. */
double tnace_fusion_work_estimate(int nu, int lmax);
/* 0 if the tree of (nu, lmax) is within TNACE_MAX_FUSION_WORK; else TNACE_ERR_VALUE with "the coupling tree
 * of nu = N, lmax = L would take about X GB and Y s to build ...; reduce lmax" in err. The config reader
 * calls it to name the term's line; tnace_fusion_build calls it before allocating. */
int tnace_fusion_check_size(int nu, int lmax, char *err, size_t errlen);
/* The same invariants with the copies in reverse order: r's copy k is f's copy ν−1−k (labels and channel
 * tables copied), and r's trie holds the leaves (chan_{ν−1}, …, chan_0) of f with the same coefficients, as a
 * prefix trie of the reversed tuples. A contraction right to left (tn.c) walks it; its middle levels can have
 * fewer nodes than f's (e.g. ν = 3, l_max 4: 269 instead of 295). Returns 0 or TNACE_ERR_NOMEM (r freed). */
int tnace_fusion_reverse(const tnace_fusion *f, tnace_fusion *r, char *err, size_t errlen);

#endif
