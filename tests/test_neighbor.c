/* test_neighbor.c — neighbour lists against a brute-force reference over a generous range of periodic
 * images, on random skewed cells (smaller than the cutoff too), 1-atom cells, mixed pbc, clusters and a
 * large cell that goes through the binned path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nlist.h"
#include "testutil.h"

typedef struct {
  int i, j, s[3];
  double d[3];
} pair_t;

static int cmp_pair(const void *pa, const void *pb) {
  const pair_t *a = pa, *b = pb;
  if (a->i != b->i) return a->i < b->i ? -1 : 1;
  if (a->j != b->j) return a->j < b->j ? -1 : 1;
  for (int k = 0; k < 3; k++)
    if (a->s[k] != b->s[k]) return a->s[k] < b->s[k] ? -1 : 1;
  return 0;
}

static void cross3(const double a[3], const double b[3], double c[3]) {
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}

static double norm3(const double a[3]) { return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]); }

/* Perpendicular heights of the periodic lattice: with 3 periodic vectors V / |a_i × a_j|; with 2 (p, q) the
 * in-plane height area / |other|; with 1 its length. Non-periodic entries are left 1. */
static void heights(const double cell[3][3], const int pbc[3], double h[3]) {
  int np = pbc[0] + pbc[1] + pbc[2];
  double c[3];
  for (int k = 0; k < 3; k++) {
    h[k] = 1.0;
    if (!pbc[k]) continue;
    if (np == 1) {
      h[k] = norm3(cell[k]);
    } else if (np == 2) {
      int o = (pbc[(k + 1) % 3]) ? (k + 1) % 3 : (k + 2) % 3;
      cross3(cell[k], cell[o], c);
      h[k] = norm3(c) / norm3(cell[o]);
    } else {
      cross3(cell[(k + 1) % 3], cell[(k + 2) % 3], c);
      h[k] = fabs(cell[k][0] * c[0] + cell[k][1] * c[1] + cell[k][2] * c[2]) / norm3(c);
    }
  }
}

/* Brute force: every j and every image shift in [-S_k, S_k] along periodic directions. */
static pair_t *reference(int n, const double (*pos)[3], const double cell[3][3], const int pbc[3], double rc,
                         const int S[3], int *np) {
  double C[3][3];
  for (int k = 0; k < 3; k++)
    for (int l = 0; l < 3; l++) C[k][l] = pbc[k] ? cell[k][l] : 0.0;
  int cap = 1024, m = 0;
  pair_t *p = malloc((size_t)cap * sizeof *p);
  int lo[3], hi[3];
  for (int k = 0; k < 3; k++) lo[k] = pbc[k] ? -S[k] : 0, hi[k] = pbc[k] ? S[k] : 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int s0 = lo[0]; s0 <= hi[0]; s0++)
        for (int s1 = lo[1]; s1 <= hi[1]; s1++)
          for (int s2 = lo[2]; s2 <= hi[2]; s2++) {
            if (i == j && s0 == 0 && s1 == 0 && s2 == 0) continue;
            double d[3];
            for (int k = 0; k < 3; k++) d[k] = (pos[j][k] - pos[i][k]) + (s0 * C[0][k] + s1 * C[1][k] + s2 * C[2][k]);
            if (!(d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rc * rc)) continue;
            if (m == cap) p = realloc(p, (size_t)(cap *= 2) * sizeof *p);
            p[m].i = i, p[m].j = j, p[m].s[0] = s0, p[m].s[1] = s1, p[m].s[2] = s2;
            memcpy(p[m].d, d, sizeof d);
            m++;
          }
  *np = m;
  return p;
}

/* Build our list and compare it with the reference; returns the number of pairs. */
static long compare(const char *what, int n, const double (*pos)[3], const double cell[3][3], const int pbc[3], double rc,
                    int extra_images) {
  tnace_nlist nl = {0};
  char err[256];
  int rc_ = tnace_nlist_build(&nl, n, pos, cell, pbc, rc, err, sizeof err);
  CHECK(rc_ == 0, "%s: build failed: %s", what, err);
  if (rc_) return 0;
  int S0 = n <= 50 ? 5 : 0; /* −5..5 at least for small systems; large ones use what the heights need */
  int S[3] = {S0, S0, S0};
  double h[3];
  heights(cell, pbc, h);
  for (int k = 0; k < 3; k++)
    if (pbc[k]) {
      int need = (int)ceil(rc / h[k]) + 2 + extra_images;
      if (need > S[k]) S[k] = need;
    }
  int nr;
  pair_t *ref = reference(n, pos, cell, pbc, rc, S, &nr);
  int tot = nl.offset[n];
  CHECK(tot == nr, "%s: %d pairs, reference %d", what, tot, nr);
  pair_t *ours = malloc((size_t)(tot > 0 ? tot : 1) * sizeof *ours);
  int maxn = 0;
  for (int i = 0; i < n; i++) {
    int c = tnace_nlist_count(&nl, i);
    if (c > maxn) maxn = c;
    for (int q = nl.offset[i]; q < nl.offset[i + 1]; q++) {
      ours[q].i = i;
      ours[q].j = nl.j[q];
      memcpy(ours[q].s, nl.shift[q], sizeof ours[q].s);
      memcpy(ours[q].d, nl.d[q], sizeof ours[q].d);
    }
  }
  CHECK(maxn == nl.max_neigh, "%s: max_neigh %d, counted %d", what, nl.max_neigh, maxn);
  qsort(ours, (size_t)tot, sizeof *ours, cmp_pair);
  qsort(ref, (size_t)nr, sizeof *ref, cmp_pair);
  int bad = 0;
  for (int q = 0; q < tot && q < nr && bad < 5; q++) {
    int same = cmp_pair(&ours[q], &ref[q]) == 0;
    double dd = 0;
    for (int k = 0; k < 3; k++) dd = fmax(dd, fabs(ours[q].d[k] - ref[q].d[k]));
    if (!same || dd > 1e-12) {
      bad++;
      CHECK(0, "%s: entry %d: ours (i %d j %d s %d %d %d) ref (i %d j %d s %d %d %d), |Δd| %g", what, q, ours[q].i,
            ours[q].j, ours[q].s[0], ours[q].s[1], ours[q].s[2], ref[q].i, ref[q].j, ref[q].s[0], ref[q].s[1],
            ref[q].s[2], dd);
    }
  }
  /* the shift must reproduce d */
  for (int q = 0; q < tot && bad < 5; q++) {
    double d[3];
    for (int k = 0; k < 3; k++)
      d[k] = pos[ours[q].j][k] - pos[ours[q].i][k] +
             (pbc[0] ? ours[q].s[0] * cell[0][k] : 0) + (pbc[1] ? ours[q].s[1] * cell[1][k] : 0) +
             (pbc[2] ? ours[q].s[2] * cell[2][k] : 0);
    for (int k = 0; k < 3; k++)
      if (fabs(d[k] - ours[q].d[k]) > 1e-12) { bad++; CHECK(0, "%s: shift does not reproduce d", what); break; }
    for (int k = 0; k < 3; k++)
      if (!pbc[k] && ours[q].s[k] != 0) { bad++; CHECK(0, "%s: non-zero shift along non-periodic %d", what, k); break; }
  }
  free(ours);
  free(ref);
  tnace_nlist_free(&nl);
  return tot;
}

static void random_cell(unsigned long long *st, double Lmin, double Lmax, double skew, double cell[3][3]) {
  for (;;) {
    for (int k = 0; k < 3; k++)
      for (int l = 0; l < 3; l++) {
        double L = Lmin + (Lmax - Lmin) * test_rand(st);
        cell[k][l] = (k == l) ? L : skew * L * (2 * test_rand(st) - 1);
      }
    double h[3];
    int p3[3] = {1, 1, 1};
    heights(cell, p3, h);
    if (h[0] > 0.4 && h[1] > 0.4 && h[2] > 0.4) return;
  }
}

static void random_positions(unsigned long long *st, int n, const double cell[3][3], double flo, double fhi,
                             double (*pos)[3]) {
  for (int i = 0; i < n; i++) {
    double f[3];
    for (int k = 0; k < 3; k++) f[k] = flo + (fhi - flo) * test_rand(st);
    for (int l = 0; l < 3; l++) pos[i][l] = f[0] * cell[0][l] + f[1] * cell[1][l] + f[2] * cell[2][l];
  }
}

int main(void) {
  unsigned long long st = 0x9e3779b97f4a7c15ULL;
  char what[128];

  /* 1. random skewed small cells, periodic, positions also outside the cell */
  for (int t = 0; t < 60; t++) {
    double cell[3][3], pos[12][3];
    random_cell(&st, 1.5, 7.0, 0.9, cell);
    int n = 1 + (int)(12 * test_rand(&st));
    if (n > 12) n = 12;
    random_positions(&st, n, cell, -0.7, 1.7, pos);
    double rc = 2.0 + 4.0 * test_rand(&st);
    int pbc[3] = {1, 1, 1};
    snprintf(what, sizeof what, "skewed cell %d (n=%d rc=%.2f)", t, n, rc);
    compare(what, n, (const double (*)[3])pos, (const double (*)[3])cell, pbc, rc, 2);
  }

  /* 2. one-atom fcc primitive cell, rc = 5 Å: 12 + 6 + 24 neighbours (a = 3.6 Å; 4th shell 5.09 Å) */
  {
    double a = 3.6;
    double cell[3][3] = {{0, a / 2, a / 2}, {a / 2, 0, a / 2}, {a / 2, a / 2, 0}};
    double pos[1][3] = {{0.3, -0.2, 7.1}};
    int pbc[3] = {1, 1, 1};
    long np = compare("fcc primitive", 1, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 5.0, 2);
    CHECK(np == 42, "fcc primitive: %ld neighbours, expected 42", np);
    /* a one-atom cell much smaller than the cutoff */
    double tiny[3][3] = {{1.1, 0, 0}, {0.7, 1.2, 0}, {-0.4, 0.3, 1.3}};
    compare("tiny 1-atom cell", 1, (const double (*)[3])pos, (const double (*)[3])tiny, pbc, 4.0, 2);
    /* a cubic 1-atom cell with rc just above the lattice constant: 6 neighbours */
    double cub[3][3] = {{2, 0, 0}, {0, 2, 0}, {0, 0, 2}};
    double p0[1][3] = {{0, 0, 0}};
    np = compare("cubic 1-atom", 1, (const double (*)[3])p0, (const double (*)[3])cub, pbc, 2.5, 2);
    CHECK(np == 6, "cubic 1-atom: %ld neighbours, expected 6", np);
  }

  /* 3. mixed periodicity on random cells: T T F (with a zero c vector too), T F F, F T T, F F F */
  for (int t = 0; t < 40; t++) {
    double cell[3][3], pos[12][3];
    random_cell(&st, 2.0, 6.0, 0.7, cell);
    int n = 2 + (int)(10 * test_rand(&st));
    if (n > 12) n = 12;
    random_positions(&st, n, cell, -0.5, 1.5, pos);
    int pbc[3];
    int kind = t % 4;
    pbc[0] = kind == 3 ? 0 : (kind == 2 ? 0 : 1);
    pbc[1] = kind == 0 || kind == 2 ? 1 : 0;
    pbc[2] = kind == 2 ? 1 : 0;
    if (t % 8 == 0) memset(cell[2], 0, sizeof cell[2]); /* no c vector at all for T T F */
    double rc = 2.0 + 4.0 * test_rand(&st);
    snprintf(what, sizeof what, "pbc %d%d%d cell %d (n=%d rc=%.2f)", pbc[0], pbc[1], pbc[2], t, n, rc);
    compare(what, n, (const double (*)[3])pos, (const double (*)[3])cell, pbc, rc, 2);
  }
  /* a cluster without any cell */
  {
    double cell[3][3] = {{0}};
    double pos[30][3];
    for (int i = 0; i < 30; i++)
      for (int k = 0; k < 3; k++) pos[i][k] = 12.0 * test_rand(&st) - 3.0;
    int pbc[3] = {0, 0, 0};
    compare("cluster, zero cell", 30, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 4.5, 0);
  }

  /* 4. large cells: 500 atoms, skewed triclinic (binned), and a 500-atom slab with vacuum */
  {
    double cell[3][3] = {{18.0, 0.0, 0.0}, {5.5, 17.0, 0.0}, {-4.0, 3.5, 19.0}};
    static double pos[500][3];
    random_positions(&st, 500, cell, 0.0, 1.0, pos);
    int pbc[3] = {1, 1, 1};
    long np = compare("500 atoms triclinic", 500, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 5.0, 0);
    CHECK(np > 500 * 20, "500 atoms: only %ld pairs", np);
    /* positions unwrapped by up to two cells */
    random_positions(&st, 300, cell, -2.0, 3.0, pos);
    compare("300 atoms unwrapped", 300, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 4.0, 4);
    /* slab: periodic in a, b; atoms spread over 40 Å in z */
    double slab[3][3] = {{15.0, 0.0, 0.0}, {-6.0, 14.0, 0.0}, {0.0, 0.0, 0.0}};
    for (int i = 0; i < 500; i++) {
      double f0 = test_rand(&st), f1 = test_rand(&st);
      for (int k = 0; k < 3; k++) pos[i][k] = f0 * slab[0][k] + f1 * slab[1][k];
      pos[i][2] = 40.0 * test_rand(&st);
    }
    int pbc2[3] = {1, 1, 0};
    compare("500 atoms slab TTF", 500, (const double (*)[3])pos, (const double (*)[3])slab, pbc2, 5.0, 0);
  }

  /* 5. reuse of one list across builds of different sizes */
  {
    tnace_nlist nl = {0};
    char err[256];
    double cell[3][3] = {{4, 0, 0}, {0, 4, 0}, {0, 0, 4}};
    double pos[2][3] = {{0, 0, 0}, {2, 2, 2}};
    int pbc[3] = {1, 1, 1};
    CHECK(tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 3.6, err, sizeof err) == 0,
          "%s", err);
    /* 8 body-centre neighbours at 3.46 Å for each atom */
    CHECK(nl.offset[2] == 16 && nl.max_neigh == 8, "bcc: %d pairs", nl.offset[2]);
    CHECK(tnace_nlist_build(&nl, 1, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 4.5, err, sizeof err) == 0,
          "%s", err);
    CHECK(nl.n == 1 && nl.offset[1] == 6, "sc: %d", nl.offset[1]);
    CHECK(tnace_nlist_build(&nl, 0, NULL, (const double (*)[3])cell, pbc, 4.5, err, sizeof err) == 0, "%s", err);
    CHECK(nl.n == 0 && nl.offset[0] == 0, "empty");
    tnace_nlist_free(&nl);
    CHECK(nl.offset == NULL && nl.j == NULL, "free zeroes");
    tnace_nlist_free(NULL);
  }

  /* 6. errors */
  {
    tnace_nlist nl = {0};
    char err[256];
    double pos[2][3] = {{0, 0, 0}, {1, 1, 1}};
    int pbc[3] = {1, 1, 1};
    double flat[3][3] = {{4, 0, 0}, {0, 4, 0}, {2, 2, 0}};
    int r = tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])flat, pbc, 3.0, err, sizeof err);
    CHECK(r == TNACE_ERR_VALUE && strstr(err, "volume"), "flat cell: %d '%s'", r, err);
    double zero[3][3] = {{0}};
    r = tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])zero, pbc, 3.0, err, sizeof err);
    CHECK(r == TNACE_ERR_VALUE && err[0], "zero cell: %d '%s'", r, err);
    double par[3][3] = {{4, 0, 0}, {8, 0, 0}, {0, 0, 0}};
    int pbc2[3] = {1, 1, 0};
    r = tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])par, pbc2, 3.0, err, sizeof err);
    CHECK(r == TNACE_ERR_VALUE && strstr(err, "parallel"), "parallel a, b: %d '%s'", r, err);
    double thin[3][3] = {{4, 0, 0}, {0, 4, 0}, {0, 0, 1e-5}};
    r = tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])thin, pbc, 3.0, err, sizeof err);
    CHECK(r == TNACE_ERR_VALUE && err[0], "thin cell: %d '%s'", r, err);
    double cub[3][3] = {{4, 0, 0}, {0, 4, 0}, {0, 0, 4}};
    r = tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])cub, pbc, 0.0, err, sizeof err);
    CHECK(r == TNACE_ERR_ARG, "rc = 0: %d", r);
    double nanpos[2][3] = {{0, 0, 0}, {NAN, 1, 1}};
    r = tnace_nlist_build(&nl, 2, (const double (*)[3])nanpos, (const double (*)[3])cub, pbc, 3.0, err, sizeof err);
    CHECK(r == TNACE_ERR_VALUE && strstr(err, "atom 1"), "NaN position: %d '%s'", r, err);
    /* the same flat cell is fine when the flat direction is not periodic */
    int pbc3[3] = {1, 1, 0};
    double flat2[3][3] = {{4, 0, 0}, {0, 4, 0}, {NAN, 0, 0}};
    r = tnace_nlist_build(&nl, 2, (const double (*)[3])pos, (const double (*)[3])flat2, pbc3, 3.0, err, sizeof err);
    CHECK(r == 0 && nl.offset[2] > 0 && isfinite(nl.d[0][0]), "flat non-periodic c: %d '%s'", r, err);
    tnace_nlist_free(&nl);
  }

  /* 7. scaling: O(N) — 8x more atoms must not take ≫ 8x longer (loose bound, 30x) */
  {
    double a = 3.6;
    int reps[2] = {6, 12};
    double t[2];
    for (int q = 0; q < 2; q++) {
      int R = reps[q], n = 4 * R * R * R;
      double(*pos)[3] = malloc((size_t)n * sizeof *pos);
      double cell[3][3] = {{R * a, 0, 0}, {0, R * a, 0}, {0, 0, R * a}};
      double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
      int m = 0;
      for (int x = 0; x < R; x++)
        for (int y = 0; y < R; y++)
          for (int z = 0; z < R; z++)
            for (int b = 0; b < 4; b++) {
              pos[m][0] = (x + basis[b][0]) * a + 0.01 * test_rand(&st);
              pos[m][1] = (y + basis[b][1]) * a + 0.01 * test_rand(&st);
              pos[m][2] = (z + basis[b][2]) * a + 0.01 * test_rand(&st);
              m++;
            }
      tnace_nlist nl = {0};
      char err[256];
      int pbc[3] = {1, 1, 1};
      clock_t c0 = clock();
      for (int rep = 0; rep < 3; rep++)
        CHECK(tnace_nlist_build(&nl, n, (const double (*)[3])pos, (const double (*)[3])cell, pbc, 5.0, err, sizeof err) == 0,
              "%s", err);
      t[q] = (double)(clock() - c0) / CLOCKS_PER_SEC / 3;
      /* fcc with rc = 5 Å: 42 neighbours each (up to tiny displacements near shells: 2.55, 3.6, 4.41, 5.09 Å) */
      CHECK(nl.offset[n] == 42 * n, "fcc %d atoms: %d pairs, expected %d", n, nl.offset[n], 42 * n);
      printf("fcc %6d atoms, rc 5 Å: %.4f s per build\n", n, t[q]);
      tnace_nlist_free(&nl);
      free(pos);
    }
    CHECK(t[1] < 30 * t[0] + 0.05, "scaling: %.4f s vs %.4f s", t[1], t[0]);
  }
  return test_summary("test_neighbor");
}
