/*
 * nlist.c — binned full neighbour lists for arbitrary periodic cells (see nlist.h).
 */
#include "nlist.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nfail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static void cross(const double a[3], const double b[3], double c[3]) {
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}
static double dot(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static double norm(const double a[3]) { return sqrt(dot(a, a)); }

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

static int floordiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int tnace_nlist_build(tnace_nlist *nl, int n, const double (*pos)[3], const double cell[3][3], const int pbc[3],
                      double rc, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (!nl) return nfail(err, errlen, TNACE_ERR_ARG, "neighbour list: NULL list");
  nl->n = 0;
  nl->max_neigh = 0;
  if (n < 0 || (n > 0 && !pos) || !cell || !pbc)
    return nfail(err, errlen, TNACE_ERR_ARG, "neighbour list: bad arguments (n = %d)", n);
  if (!(rc > 0) || !isfinite(rc)) return nfail(err, errlen, TNACE_ERR_ARG, "neighbour list: cutoff %g must be > 0", rc);
  if (n + 1 > nl->cap_n) {
    int *p = realloc(nl->offset, (size_t)(n + 1) * sizeof *p);
    if (!p) return nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory");
    nl->offset = p;
    nl->cap_n = n + 1;
  }
  nl->offset[0] = 0;
  if (n == 0) return 0;
  for (int i = 0; i < n; i++)
    if (!isfinite(pos[i][0]) || !isfinite(pos[i][1]) || !isfinite(pos[i][2]))
      return nfail(err, errlen, TNACE_ERR_VALUE, "neighbour list: atom %d has a non-finite position", i);

  int per[3], np = 0, pidx[3], qidx[3], nq = 0;
  for (int k = 0; k < 3; k++) {
    per[k] = pbc[k] != 0;
    if (per[k]) pidx[np++] = k;
    else qidx[nq++] = k;
    if (per[k] && (!isfinite(cell[k][0]) || !isfinite(cell[k][1]) || !isfinite(cell[k][2])))
      return nfail(err, errlen, TNACE_ERR_VALUE, "neighbour list: lattice vector %c is not finite", 'a' + k);
  }
  /* C: the lattice with non-periodic rows zeroed (never used, may hold anything) */
  double C[3][3];
  for (int k = 0; k < 3; k++)
    for (int l = 0; l < 3; l++) C[k][l] = per[k] ? cell[k][l] : 0.0;
  /* Basis M: the periodic lattice vectors, completed by orthonormal vectors along non-periodic directions. */
  double M[3][3];
  memset(M, 0, sizeof M);
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
    const double *a = cell[pidx[0]];
    double la = norm(a);
    if (!(la > 1e-6))
      return nfail(err, errlen, TNACE_ERR_VALUE, "neighbour list: periodic lattice vector %c has zero length",
                   'a' + pidx[0]);
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
    memcpy(M[qidx[0]], v1, sizeof v1);
    memcpy(M[qidx[1]], v2, sizeof v2);
  } else {
    for (int k = 0; k < 3; k++) M[k][k] = 1;
  }
  /* inverse: fractional f = r · Minv (r = f · M, rows of M are the basis vectors) */
  double cof[3][3], Minv[3][3];
  cross(M[1], M[2], cof[0]);
  cross(M[2], M[0], cof[1]);
  cross(M[0], M[1], cof[2]);
  double det = dot(M[0], cof[0]);
  for (int l = 0; l < 3; l++)
    for (int k = 0; k < 3; k++) Minv[l][k] = cof[k][l] / det; /* Minv[l][k] = (column k of inverse) */
  double h[3];
  for (int k = 0; k < 3; k++) h[k] = fabs(det) / norm(cof[k]);

  /* fractional coordinates, wrapped along periodic directions */
  double (*fr)[3] = malloc((size_t)n * sizeof *fr);
  int (*wr)[3] = malloc((size_t)n * sizeof *wr);
  int *bin = malloc((size_t)n * sizeof *bin), *order = malloc((size_t)n * sizeof *order), *bstart = NULL;
  double (*wp)[3] = NULL;
  int rc_code = 0;
  if (!fr || !wr || !bin || !order) {
    rc_code = nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory");
    goto done;
  }
  double fmin[3] = {0, 0, 0}, fmax[3] = {1, 1, 1};
  for (int k = 0; k < 3; k++)
    if (!per[k]) fmin[k] = HUGE_VAL, fmax[k] = -HUGE_VAL;
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 3; k++) {
      double f = pos[i][0] * Minv[0][k] + pos[i][1] * Minv[1][k] + pos[i][2] * Minv[2][k];
      if (per[k]) {
        double fl = floor(f);
        if (!(fabs(fl) < 1e9)) {
          rc_code = nfail(err, errlen, TNACE_ERR_VALUE,
                          "neighbour list: atom %d lies %.3g cells away from the unit cell along %c", i, fl, 'a' + k);
          goto done;
        }
        wr[i][k] = (int)fl;
        f -= fl;
      } else {
        wr[i][k] = 0;
        if (f < fmin[k]) fmin[k] = f;
        if (f > fmax[k]) fmax[k] = f;
      }
      fr[i][k] = f;
    }
  }
  /* bins: width ≥ rc along each perpendicular height */
  int nb[3], m[3];
  double L[3];
  for (int k = 0; k < 3; k++) {
    L[k] = (fmax[k] - fmin[k]) * h[k];
    double q = floor(L[k] / (rc * (1 + 1e-9)));
    nb[k] = q < 1 ? 1 : (q > 1e6 ? 1000000 : (int)q);
  }
  {
    double limit = 2.0 * n + 8;
    while ((double)nb[0] * nb[1] * nb[2] > limit) {
      int k = 0;
      for (int q = 1; q < 3; q++)
        if (nb[q] > nb[k]) k = q;
      nb[k] = (nb[k] + 1) / 2;
    }
  }
  for (int k = 0; k < 3; k++) {
    if (per[k]) {
      double w = h[k] / nb[k];
      double mm = floor(rc / w * (1 + 1e-9)) + 1;
      if (mm > 1000) {
        rc_code = nfail(err, errlen, TNACE_ERR_VALUE,
                        "neighbour list: cell height %.3g Å along %c is too small for the cutoff %g Å (%.0f images)",
                        h[k], 'a' + k, rc, mm);
        goto done;
      }
      m[k] = (int)mm;
    } else {
      m[k] = nb[k] - 1 < 1 ? nb[k] - 1 : 1;
    }
  }
  if ((2.0 * m[0] + 1) * (2.0 * m[1] + 1) * (2.0 * m[2] + 1) > 1e6) {
    rc_code = nfail(err, errlen, TNACE_ERR_VALUE,
                    "neighbour list: cell too thin for the cutoff %g Å (heights %.3g %.3g %.3g Å need %d x %d x %d "
                    "images)",
                    rc, h[0], h[1], h[2], 2 * m[0] + 1, 2 * m[1] + 1, 2 * m[2] + 1);
    goto done;
  }
  int nbins = nb[0] * nb[1] * nb[2];
  bstart = calloc((size_t)nbins + 1, sizeof *bstart);
  if (!bstart) {
    rc_code = nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    int b[3];
    for (int k = 0; k < 3; k++) {
      double f = per[k] ? fr[i][k] : (fmax[k] > fmin[k] ? (fr[i][k] - fmin[k]) / (fmax[k] - fmin[k]) : 0.0);
      int bk = (int)(f * nb[k]);
      b[k] = bk < 0 ? 0 : (bk >= nb[k] ? nb[k] - 1 : bk);
    }
    bin[i] = b[0] + nb[0] * (b[1] + nb[1] * b[2]);
    bstart[bin[i] + 1]++;
  }
  for (int b = 0; b < nbins; b++) bstart[b + 1] += bstart[b];
  {
    int *fill = malloc((size_t)nbins * sizeof *fill);
    if (!fill) {
      rc_code = nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory");
      goto done;
    }
    memcpy(fill, bstart, (size_t)nbins * sizeof *fill);
    for (int i = 0; i < n; i++) order[fill[bin[i]]++] = i;
    free(fill);
  }

  {
    /* Wrapped Cartesian positions in bin order for the distance pre-test (contiguous per bin). A candidate
     * passing it with a slightly larger cutoff is then tested exactly with the documented formula, so the
     * result does not depend on the wrapping's rounding. */
    wp = malloc((size_t)n * sizeof *wp);
    if (!wp) {
      rc_code = nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory");
      goto done;
    }
    for (int q = 0; q < n; q++) {
      int j = order[q];
      for (int k = 0; k < 3; k++)
        wp[q][k] = pos[j][k] - (wr[j][0] * C[0][k] + wr[j][1] * C[1][k] + wr[j][2] * C[2][k]);
    }
    const double rc2 = rc * rc, rcl = rc * (1 + 1e-9) + 1e-9, rcl2 = rcl * rcl;
    long tot = 0;
    int maxn = 0;
    for (int i = 0; i < n; i++) {
      int bi[3] = {bin[i] % nb[0], (bin[i] / nb[0]) % nb[1], bin[i] / (nb[0] * nb[1])};
      const double *ri = pos[i];
      double wpi[3];
      for (int k = 0; k < 3; k++) wpi[k] = ri[k] - (wr[i][0] * C[0][k] + wr[i][1] * C[1][k] + wr[i][2] * C[2][k]);
      long start = tot;
      for (int d2 = -m[2]; d2 <= m[2]; d2++) {
        int B2 = bi[2] + d2, w2, s2 = 0;
        if (per[2]) { s2 = floordiv(B2, nb[2]); w2 = B2 - s2 * nb[2]; }
        else if (B2 < 0 || B2 >= nb[2]) continue;
        else w2 = B2;
        for (int d1 = -m[1]; d1 <= m[1]; d1++) {
          int B1 = bi[1] + d1, w1, s1 = 0;
          if (per[1]) { s1 = floordiv(B1, nb[1]); w1 = B1 - s1 * nb[1]; }
          else if (B1 < 0 || B1 >= nb[1]) continue;
          else w1 = B1;
          for (int d0 = -m[0]; d0 <= m[0]; d0++) {
            int B0 = bi[0] + d0, w0, s0 = 0;
            if (per[0]) { s0 = floordiv(B0, nb[0]); w0 = B0 - s0 * nb[0]; }
            else if (B0 < 0 || B0 >= nb[0]) continue;
            else w0 = B0;
            int b = w0 + nb[0] * (w1 + nb[1] * w2);
            double base[3];
            for (int k = 0; k < 3; k++) base[k] = (s0 * C[0][k] + s1 * C[1][k] + s2 * C[2][k]) - wpi[k];
            for (int q = bstart[b]; q < bstart[b + 1]; q++) {
              double x = wp[q][0] + base[0], y = wp[q][1] + base[1], z = wp[q][2] + base[2];
              if (!(x * x + y * y + z * z < rcl2)) continue;
              int j = order[q];
              int sh0 = s0 - wr[j][0] + wr[i][0], sh1 = s1 - wr[j][1] + wr[i][1], sh2 = s2 - wr[j][2] + wr[i][2];
              double dv[3];
              for (int k = 0; k < 3; k++)
                dv[k] = (pos[j][k] - ri[k]) + (sh0 * C[0][k] + sh1 * C[1][k] + sh2 * C[2][k]);
              double r2 = dv[0] * dv[0] + dv[1] * dv[1] + dv[2] * dv[2];
              if (!(r2 < rc2)) continue;
              if (j == i && sh0 == 0 && sh1 == 0 && sh2 == 0) continue;
              if (tot >= nl->cap && grow_pairs(nl, tot + 1)) {
                rc_code = nfail(err, errlen, TNACE_ERR_NOMEM, "neighbour list: out of memory (%ld pairs)", tot + 1);
                goto done;
              }
              nl->j[tot] = j;
              memcpy(nl->d[tot], dv, sizeof dv);
              nl->shift[tot][0] = sh0;
              nl->shift[tot][1] = sh1;
              nl->shift[tot][2] = sh2;
              tot++;
            }
          }
        }
      }
      nl->offset[i + 1] = (int)tot;
      if (tot - start > maxn) maxn = (int)(tot - start);
    }
    nl->n = n;
    nl->max_neigh = maxn;
  }
done:
  free(fr);
  free(wr);
  free(bin);
  free(order);
  free(bstart);
  free(wp);
  if (rc_code) nl->n = 0;
  return rc_code;
}
