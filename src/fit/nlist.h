/*
 * nlist.h — full neighbour lists for periodic cells of any shape (triclinic, skewed, smaller than the
 * cutoff) with per-direction periodicity.
 *
 * For each atom i the list holds every (j, T) with T = s0·a + s1·b + s2·c (s integer, s_k = 0 along a
 * non-periodic direction) and
 *     d = r_j + T − r_i,   |d| < rc,   (j, s) ≠ (i, 0),
 * where r are the positions as given (they need not lie inside the cell). Periodic images of i itself and
 * several images of the same j appear when the cell is smaller than the cutoff. Each pair appears in both
 * directions (a full list: i→j with d and j→i with −d and −s).
 *
 * d is computed as  d[k] = (r_j[k] − r_i[k]) + (s0·a[k] + s1·b[k] + s2·c[k]).
 *
 * Algorithm: positions are mapped to fractional coordinates and wrapped into the cell along periodic
 * directions; atoms are binned into a grid of cells of perpendicular width ≥ rc (a single bin, i.e. a
 * brute-force search over all images, when the cell is small) and each atom visits the bins within the
 * needed number of periodic images (n_k = ⌊rc / w_k⌋ + 1 bins, w_k the bin width along the perpendicular
 * height h_k = V / |a_i × a_j|). O(N) for a fixed density. Non-periodic directions get no images; the cell
 * vectors along them are not used (they may be zero).
 *
 * Order (deterministic for given input): the neighbours of i come bin by bin, over the bins around i's own
 * with the offset along c outermost, then b, then a (each ascending), and within a bin in atom index order.
 */
#ifndef TNACE_NEIGHBOR_H
#define TNACE_NEIGHBOR_H

#include <stddef.h>
#include "tnace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int n;               /* number of atoms */
  int *offset;         /* [n+1]: neighbours of i are entries offset[i] .. offset[i+1]-1 */
  int *j;              /* [total] neighbour index */
  double (*d)[3];      /* [total] displacement r_j + T − r_i (Å) */
  int (*shift)[3];     /* [total] image shift s: T = s0·a + s1·b + s2·c */
  int max_neigh;       /* largest neighbour count of any atom */
  /* allocated sizes (internal): the list is reused by the next build */
  int cap_n, cap;
} tnace_nlist;

/* Build the list of all neighbours within rc (strictly |d| < rc).
 *   nl     zero-initialise ({0}) before the first build; a later build reuses its memory
 *   n      number of atoms (0 allowed), pos [n][3] Å
 *   cell   rows = lattice vectors a, b, c (Å); only the periodic ones are used
 *   pbc    [3] non-zero = periodic along a, b, c
 *   rc     cutoff (Å), > 0
 * Returns 0; TNACE_ERR_VALUE for a periodic cell of (near-)zero volume (or zero-length / parallel periodic
 * vectors), a non-finite periodic lattice vector, a non-finite position or one ≥ 1e9 cells away, a cell so
 * thin that the images needed are absurd; TNACE_ERR_ARG for bad arguments (rc ≤ 0, n < 0, NULL);
 * TNACE_ERR_NOMEM. The message in err starts with "neighbour list: " and names the atom (0-based index) or
 * lattice vector (a, b, c) at fault: callers add only their own context ("file:line: "). On error the list
 * is empty (n = 0, max_neigh = 0) but keeps its memory (free it with tnace_nlist_free). */
int tnace_nlist_build(tnace_nlist *nl, int n, const double (*pos)[3], const double cell[3][3], const int pbc[3],
                      double rc, char *err, size_t errlen);

/* Number of neighbours of atom i. */
static inline int tnace_nlist_count(const tnace_nlist *nl, int i) { return nl->offset[i + 1] - nl->offset[i]; }

/* Free the arrays and zero *nl (NULL allowed). */
void tnace_nlist_free(tnace_nlist *nl);

#ifdef __cplusplus
}
#endif
#endif
