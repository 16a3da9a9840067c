/*
 * nlist.c — binned full neighbour lists for arbitrary periodic cells (see nlist.h).
 *
 * tnace_nlist_build runs five steps, each its own function:
 *   check_input        arguments, cutoff, the offset array, finite positions
 *   lattice_frame      the basis (periodic vectors completed along non-periodic directions), its inverse
 *                      and perpendicular heights
 *   to_fractional      fractional coordinates, wrapped along periodic directions
 *   choose_bins        the bin grid and how many bins (periodic images) each atom must visit
 *   sort_into_bins     atoms in bin order, with their wrapped Cartesian positions
 * and then gather_atom collects the neighbours of each atom in turn into the CSR arrays.
 */
#include "nlist.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything one build derives from its input. The arrays are allocated once per build (work_alloc,
 * work_alloc_bins) and freed by work_free. */
typedef struct {
  int n;
  const double (*pos)[3]; /* [n][3] the positions as given (Å) */
  double rc;
  /* lattice */
  int per[3];             /* periodic along a, b, c */
  double C[3][3];         /* lattice with the non-periodic rows zeroed (they may hold anything) */
  double Minv[3][3];      /* fractional f[k] = Σ_l r[l]·Minv[l][k] */
  double h[3];            /* perpendicular heights of the basis (Å) */
  /* bins */
  int nb[3];              /* bins along each direction */
  int m[3];               /* bins visited on either side of an atom's own bin */
  int nbins;
  double fmin[3], fmax[3]; /* fractional extent: [0, 1] along periodic directions, the atoms' range otherwise */
  /* workspace */
  double (*fr)[3];        /* [n] fractional coordinates, wrapped along periodic directions */
  int (*wr)[3];           /* [n] cells subtracted by the wrapping */
  int *bin;               /* [n] bin of each atom */
  int *order;             /* [n] atoms in bin order */
  double (*wp)[3];        /* [n] wrapped Cartesian positions, in bin order */
  int *bstart;            /* [nbins+1] bin b holds order[bstart[b] .. bstart[b+1]-1] */
  int *fill;              /* [nbins] counting-sort cursor */
} nl_work;

static int nfail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int nomem(char *err, size_t errlen) {
  return nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory");
}

static void cross(const double a[3], const double b[3], double c[3]) {
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}
static double dot(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static double norm(const double a[3]) { return sqrt(dot(a, a)); }

static int floordiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void tnace_nlist_free(tnace_nlist *nl) {
  if (!nl) return;
  free(nl->offset);
  free(nl->j);
  free(nl->d);
  free(nl->shift);
  memset(nl, 0, sizeof *nl);
}

static int grow_pairs(tnace_nlist *nl, long need) {
  if (need <= nl->cap) return 0;
  if (need > 0x7fffffffL) return -1;
  long nc = nl->cap ? 2L * nl->cap : 1024;
  while (nc < need) nc *= 2;
  if (nc > 0x7fffffffL) nc = 0x7fffffffL;
  void *p;
  if (!(p = realloc(nl->j, (size_t)nc * sizeof *nl->j))) return -1;
  nl->j = p;
  if (!(p = realloc(nl->d, (size_t)nc * sizeof *nl->d))) return -1;
  nl->d = p;
  if (!(p = realloc(nl->shift, (size_t)nc * sizeof *nl->shift))) return -1;
  nl->shift = p;
  nl->cap = (int)nc;
  return 0;
}

/* ---- input -------------------------------------------------------------------------------------- */

/* Arguments and cutoff, room for offset[n+1] (offset[0] = 0), then finite positions. */
static int check_input(tnace_nlist *nl, int n, const double (*pos)[3], const double cell[3][3], const int pbc[3],
                       double rc, char *err, size_t errlen) {
  if (n < 0 || (n > 0 && !pos) || !cell || !pbc)
    return nfail(err, errlen, TNACE_ERR_ARG, "neighbour list: bad arguments (n = %d)", n);
  if (!(rc > 0) || !isfinite(rc)) return nfail(err, errlen, TNACE_ERR_ARG, "neighbour list: cutoff %g must be > 0", rc);
  if (n + 1 > nl->cap_n) {
    int *p = realloc(nl->offset, (size_t)(n + 1) * sizeof *p);
    if (!p) return nomem(err, errlen);
    nl->offset = p;
    nl->cap_n = n + 1;
  }
  nl->offset[0] = 0;
  for (int i = 0; i < n; i++)
    if (!isfinite(pos[i][0]) || !isfinite(pos[i][1]) || !isfinite(pos[i][2]))
      return nfail(err, errlen, TNACE_ERR_VALUE, "neighbour list: atom %d has a non-finite position", i);
  return 0;
}

/* ---- lattice ------------------------------------------------------------------------------------ */

/* Rows M[q[0]], M[q[1]]: an orthonormal pair perpendicular to the one periodic vector a. */
static void complete_1d(const double a[3], double la, const int q[2], double M[3][3]) {
  double u[3] = {a[0] / la, a[1] / la, a[2] / la}, e[3] = {0, 0, 0}, v1[3], v2[3];
  int kmin = 0;
  for (int k = 1; k < 3; k++)
    if (fabs(u[k]) < fabs(u[kmin])) kmin = k;
  e[kmin] = 1;
  double eu = dot(e, u);
  for (int k = 0; k < 3; k++) v1[k] = e[k] - eu * u[k];
  double l1 = norm(v1);
  for (int k = 0; k < 3; k++) v1[k] /= l1;
  cross(u, v1, v2);
  memcpy(M[q[0]], v1, sizeof v1);
  memcpy(M[q[1]], v2, sizeof v2);
}

/* Basis M: the periodic lattice vectors, completed by orthonormal vectors along non-periodic directions.
 * Fails (TNACE_ERR_VALUE) for a degenerate periodic lattice. */
static int basis(const double cell[3][3], const int per[3], double M[3][3], char *err, size_t errlen) {
  int np = 0, nq = 0, pidx[3], qidx[3];
  for (int k = 0; k < 3; k++) {
    if (per[k]) pidx[np++] = k;
    else qidx[nq++] = k;
  }
  memset(M, 0, 9 * sizeof M[0][0]);
  for (int q = 0; q < np; q++) memcpy(M[pidx[q]], cell[pidx[q]], sizeof M[0]);
  if (np == 3) {
    double c[3];
    cross(cell[1], cell[2], c);
    double vol = fabs(dot(cell[0], c)), scale = norm(cell[0]) * norm(cell[1]) * norm(cell[2]);
    if (!(scale > 0) || !(vol > 1e-10 * scale) || !(vol > 1e-12))
      return nfail(err, errlen, TNACE_ERR_VALUE,
                   "neighbour list: periodic cell has (near-)zero volume %.3g Å^3 (lattice vectors %.3g %.3g %.3g Å)",
                   vol, norm(cell[0]), norm(cell[1]), norm(cell[2]));
  } else if (np == 2) {
    double c[3];
    const double *a = cell[pidx[0]], *b = cell[pidx[1]];
    cross(a, b, c);
    double area = norm(c);
    if (!(norm(a) > 1e-6) || !(norm(b) > 1e-6) || !(area > 1e-10 * norm(a) * norm(b)))
      return nfail(err, errlen, TNACE_ERR_VALUE,
                   "neighbour list: periodic lattice vectors %c and %c are zero or parallel (area %.3g Å^2)", 'a' + pidx[0],
                   'a' + pidx[1], area);
    for (int k = 0; k < 3; k++) M[qidx[0]][k] = c[k] / area;
  } else if (np == 1) {
    double la = norm(cell[pidx[0]]);
    if (!(la > 1e-6))
      return nfail(err, errlen, TNACE_ERR_VALUE, "neighbour list: periodic lattice vector %c has zero length",
                   'a' + pidx[0]);
    complete_1d(cell[pidx[0]], la, qidx, M);
  } else {
    for (int k = 0; k < 3; k++) M[k][k] = 1;
  }
  return 0;
}

/* Periodicity, finite periodic vectors, the zeroed lattice C, the basis inverse and its heights. */
static int lattice_frame(nl_work *w, const double cell[3][3], const int pbc[3], char *err, size_t errlen) {
  for (int k = 0; k < 3; k++) {
    w->per[k] = pbc[k] != 0;
    if (w->per[k] && (!isfinite(cell[k][0]) || !isfinite(cell[k][1]) || !isfinite(cell[k][2])))
      return nfail(err, errlen, TNACE_ERR_VALUE, "neighbour list: lattice vector %c is not finite", 'a' + k);
  }
  for (int k = 0; k < 3; k++)
    for (int l = 0; l < 3; l++) w->C[k][l] = w->per[k] ? cell[k][l] : 0.0;
  double M[3][3];
  int rc = basis(cell, w->per, M, err, errlen);
  if (rc) return rc;
  /* inverse: fractional f = r · Minv (r = f · M, rows of M are the basis vectors) */
  double cof[3][3];
  cross(M[1], M[2], cof[0]);
  cross(M[2], M[0], cof[1]);
  cross(M[0], M[1], cof[2]);
  double det = dot(M[0], cof[0]);
  for (int l = 0; l < 3; l++)
    for (int k = 0; k < 3; k++) w->Minv[l][k] = cof[k][l] / det; /* Minv[l][k] = (column k of inverse) */
  for (int k = 0; k < 3; k++) w->h[k] = fabs(det) / norm(cof[k]);
  return 0;
}

/* ---- workspace ---------------------------------------------------------------------------------- */

static void work_free(nl_work *w) {
  free(w->fr);
  free(w->wr);
  free(w->bin);
  free(w->order);
  free(w->wp);
  free(w->bstart);
  free(w->fill);
}

/* The per-atom arrays. */
static int work_alloc(nl_work *w, char *err, size_t errlen) {
  const size_t n = (size_t)w->n;
  w->fr = malloc(n * sizeof *w->fr);
  w->wr = malloc(n * sizeof *w->wr);
  w->bin = malloc(n * sizeof *w->bin);
  w->order = malloc(n * sizeof *w->order);
  w->wp = malloc(n * sizeof *w->wp);
  if (!w->fr || !w->wr || !w->bin || !w->order || !w->wp) return nomem(err, errlen);
  return 0;
}

/* The per-bin arrays (once nbins is known); bstart zeroed. */
static int work_alloc_bins(nl_work *w, char *err, size_t errlen) {
  w->bstart = calloc((size_t)w->nbins + 1, sizeof *w->bstart);
  w->fill = malloc((size_t)w->nbins * sizeof *w->fill);
  if (!w->bstart || !w->fill) return nomem(err, errlen);
  return 0;
}

/* ---- binning ------------------------------------------------------------------------------------ */

/* Fractional coordinates, wrapped into [0, 1) along periodic directions (cells removed in wr), and the
 * atoms' fractional range along the others. */
static int to_fractional(nl_work *w, char *err, size_t errlen) {
  for (int k = 0; k < 3; k++) {
    w->fmin[k] = w->per[k] ? 0.0 : HUGE_VAL;
    w->fmax[k] = w->per[k] ? 1.0 : -HUGE_VAL;
  }
  for (int i = 0; i < w->n; i++) {
    const double *r = w->pos[i];
    for (int k = 0; k < 3; k++) {
      double f = r[0] * w->Minv[0][k] + r[1] * w->Minv[1][k] + r[2] * w->Minv[2][k];
      if (w->per[k]) {
        double fl = floor(f);
        if (!(fabs(fl) < 1e9))
          return nfail(err, errlen, TNACE_ERR_VALUE,
                       "neighbour list: atom %d lies %.3g cells away from the unit cell along %c", i, fl, 'a' + k);
        w->wr[i][k] = (int)fl;
        f -= fl;
      } else {
        w->wr[i][k] = 0;
        if (f < w->fmin[k]) w->fmin[k] = f;
        if (f > w->fmax[k]) w->fmax[k] = f;
      }
      w->fr[i][k] = f;
    }
  }
  return 0;
}

/* Bin grid: bins at least rc wide along each perpendicular height, at most about 2n + 8 of them; m[k]
 * bins on either side cover the cutoff (at most one along a non-periodic direction, where there are no
 * images). Fails for a cell so thin that the images needed are absurd. */
static int choose_bins(nl_work *w, char *err, size_t errlen) {
  const double rc = w->rc;
  for (int k = 0; k < 3; k++) {
    double L = (w->fmax[k] - w->fmin[k]) * w->h[k];
    double q = floor(L / (rc * (1 + 1e-9)));
    w->nb[k] = q < 1 ? 1 : (q > 1e6 ? 1000000 : (int)q);
  }
  const double limit = 2.0 * w->n + 8;
  while ((double)w->nb[0] * w->nb[1] * w->nb[2] > limit) {
    int k = 0;
    for (int q = 1; q < 3; q++)
      if (w->nb[q] > w->nb[k]) k = q;
    w->nb[k] = (w->nb[k] + 1) / 2;
  }
  for (int k = 0; k < 3; k++) {
    if (!w->per[k]) {
      w->m[k] = w->nb[k] - 1 < 1 ? w->nb[k] - 1 : 1;
      continue;
    }
    double mm = floor(rc / (w->h[k] / w->nb[k]) * (1 + 1e-9)) + 1;
    if (mm > 1000)
      return nfail(err, errlen, TNACE_ERR_VALUE,
                   "neighbour list: cell height %.3g Å along %c is too small for the cutoff %g Å (%.0f images)",
                   w->h[k], 'a' + k, rc, mm);
    w->m[k] = (int)mm;
  }
  const int *m = w->m;
  if ((2.0 * m[0] + 1) * (2.0 * m[1] + 1) * (2.0 * m[2] + 1) > 1e6)
    return nfail(err, errlen, TNACE_ERR_VALUE,
                 "neighbour list: cell too thin for the cutoff %g Å (heights %.3g %.3g %.3g Å need %d x %d x %d images)",
                 rc, w->h[0], w->h[1], w->h[2], 2 * m[0] + 1, 2 * m[1] + 1, 2 * m[2] + 1);
  w->nbins = w->nb[0] * w->nb[1] * w->nb[2];
  return 0;
}

/* Counting sort of the atoms by bin (stable: index order within a bin), and their wrapped Cartesian
 * positions in that order, contiguous per bin for the distance pre-test. */
static void sort_into_bins(nl_work *w) {
  const int n = w->n, *nb = w->nb;
  for (int i = 0; i < n; i++) {
    int b[3];
    for (int k = 0; k < 3; k++) {
      double span = w->fmax[k] - w->fmin[k];
      double f = w->per[k] ? w->fr[i][k] : (span > 0 ? (w->fr[i][k] - w->fmin[k]) / span : 0.0);
      int bk = (int)(f * nb[k]);
      b[k] = bk < 0 ? 0 : (bk >= nb[k] ? nb[k] - 1 : bk);
    }
    w->bin[i] = b[0] + nb[0] * (b[1] + nb[1] * b[2]);
    w->bstart[w->bin[i] + 1]++;
  }
  for (int b = 0; b < w->nbins; b++) w->bstart[b + 1] += w->bstart[b];
  memcpy(w->fill, w->bstart, (size_t)w->nbins * sizeof *w->fill);
  for (int i = 0; i < n; i++) w->order[w->fill[w->bin[i]]++] = i;
  for (int q = 0; q < n; q++) {
    const int j = w->order[q];
    for (int k = 0; k < 3; k++)
      w->wp[q][k] = w->pos[j][k] - (w->wr[j][0] * w->C[0][k] + w->wr[j][1] * w->C[1][k] + w->wr[j][2] * w->C[2][k]);
  }
}

/* ---- pairs -------------------------------------------------------------------------------------- */

/* Bin coordinate B along one direction → the bin inside the grid (*wb) and the image shift (*s).
 * Returns 0 when B lies outside the grid along a non-periodic direction (no such bin). */
static int image_bin(int B, int nb, int per, int *wb, int *s) {
  if (per) {
    *s = floordiv(B, nb);
    *wb = B - *s * nb;
    return 1;
  }
  *s = 0;
  *wb = B;
  return B >= 0 && B < nb;
}

/* Neighbours of atom i in bin b seen through image shift s (of the wrapped positions), appended at
 * *tot. The pre-test on wrapped positions uses a slightly larger cutoff; a candidate passing it is then
 * tested exactly with the documented formula, so the result does not depend on the wrapping's rounding. */
static int scan_bin(tnace_nlist *nl, const nl_work *w, int i, const double wpi[3], int b, const int s[3], long *tot) {
  const double(*C)[3] = w->C;
  const double *ri = w->pos[i];
  const int *wri = w->wr[i];
  const double rc2 = w->rc * w->rc, rcl = w->rc * (1 + 1e-9) + 1e-9, rcl2 = rcl * rcl;
  double base[3];
  for (int k = 0; k < 3; k++) base[k] = (s[0] * C[0][k] + s[1] * C[1][k] + s[2] * C[2][k]) - wpi[k];
  for (int q = w->bstart[b]; q < w->bstart[b + 1]; q++) {
    double x = w->wp[q][0] + base[0], y = w->wp[q][1] + base[1], z = w->wp[q][2] + base[2];
    if (!(x * x + y * y + z * z < rcl2)) continue;
    const int j = w->order[q];
    const int *wrj = w->wr[j];
    int sh0 = s[0] - wrj[0] + wri[0], sh1 = s[1] - wrj[1] + wri[1], sh2 = s[2] - wrj[2] + wri[2];
    double dv[3];
    for (int k = 0; k < 3; k++) dv[k] = (w->pos[j][k] - ri[k]) + (sh0 * C[0][k] + sh1 * C[1][k] + sh2 * C[2][k]);
    double r2 = dv[0] * dv[0] + dv[1] * dv[1] + dv[2] * dv[2];
    if (!(r2 < rc2)) continue;
    if (j == i && sh0 == 0 && sh1 == 0 && sh2 == 0) continue;
    if (*tot >= nl->cap && grow_pairs(nl, *tot + 1)) return -1;
    nl->j[*tot] = j;
    memcpy(nl->d[*tot], dv, sizeof dv);
    nl->shift[*tot][0] = sh0;
    nl->shift[*tot][1] = sh1;
    nl->shift[*tot][2] = sh2;
    (*tot)++;
  }
  return 0;
}

/* All neighbours of atom i, appended at *tot: the bins within m[k] of its own along each direction,
 * c outermost, then b, then a. Fails only when the pair arrays cannot grow. */
static int gather_atom(tnace_nlist *nl, const nl_work *w, int i, long *tot, char *err, size_t errlen) {
  const int *nb = w->nb, *m = w->m, *per = w->per;
  const int bi[3] = {w->bin[i] % nb[0], (w->bin[i] / nb[0]) % nb[1], w->bin[i] / (nb[0] * nb[1])};
  double wpi[3];
  for (int k = 0; k < 3; k++)
    wpi[k] = w->pos[i][k] - (w->wr[i][0] * w->C[0][k] + w->wr[i][1] * w->C[1][k] + w->wr[i][2] * w->C[2][k]);
  int s[3], c[3];
  for (int d2 = -m[2]; d2 <= m[2]; d2++) {
    if (!image_bin(bi[2] + d2, nb[2], per[2], &c[2], &s[2])) continue;
    for (int d1 = -m[1]; d1 <= m[1]; d1++) {
      if (!image_bin(bi[1] + d1, nb[1], per[1], &c[1], &s[1])) continue;
      for (int d0 = -m[0]; d0 <= m[0]; d0++) {
        if (!image_bin(bi[0] + d0, nb[0], per[0], &c[0], &s[0])) continue;
        int b = c[0] + nb[0] * (c[1] + nb[1] * c[2]);
        if (scan_bin(nl, w, i, wpi, b, s, tot))
          return nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory (%ld pairs)", *tot + 1);
      }
    }
  }
  return 0;
}

/* ---- build -------------------------------------------------------------------------------------- */

/* The binned search on validated input: fills offset[1..n], j, d, shift and max_neigh. */
static int build_binned(tnace_nlist *nl, nl_work *w, const double cell[3][3], const int pbc[3], char *err,
                        size_t errlen) {
  int rc = lattice_frame(w, cell, pbc, err, errlen);
  if (!rc) rc = work_alloc(w, err, errlen);
  if (!rc) rc = to_fractional(w, err, errlen);
  if (!rc) rc = choose_bins(w, err, errlen);
  if (!rc) rc = work_alloc_bins(w, err, errlen);
  if (rc) return rc;
  sort_into_bins(w);
  long tot = 0;
  int maxn = 0;
  for (int i = 0; i < w->n; i++) {
    const long start = tot;
    rc = gather_atom(nl, w, i, &tot, err, errlen);
    if (rc) return rc;
    nl->offset[i + 1] = (int)tot;
    if (tot - start > maxn) maxn = (int)(tot - start);
  }
  nl->max_neigh = maxn;
  return 0;
}

int tnace_nlist_build(tnace_nlist *nl, int n, const double (*pos)[3], const double cell[3][3], const int pbc[3],
                      double rc, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (!nl) return nfail(err, errlen, TNACE_ERR_ARG, "neighbour list: NULL list");
  nl->n = 0;
  nl->max_neigh = 0;
  int code = check_input(nl, n, pos, cell, pbc, rc, err, errlen);
  if (code || n == 0) return code;
  nl_work w;
  memset(&w, 0, sizeof w);
  w.n = n;
  w.pos = pos;
  w.rc = rc;
  code = build_binned(nl, &w, cell, pbc, err, errlen);
  work_free(&w);
  if (code) {
    nl->max_neigh = 0;
    return code;
  }
  nl->n = n;
  return 0;
}
