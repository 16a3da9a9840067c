/*
 * test_kern.c — the small matrix kernels (src/tnace/kern.h) against plain loops: NN and TN products with and
 * without row-offset tables, overwrite and accumulate, batches with empty groups, the transpose and the
 * force-pass dot products, over the shapes the evaluator uses (1–20 rows, 1–70 columns, K = 0–70).
 * ctest also runs it with TNACE_KERNELS=baseline, so both builds of the kernels are checked on AVX2 hosts.
 */
#include "kern.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 0x2545F4914F6CDD1DULL;
static double urand(void) { return 2.0 * test_rand(&rng) - 1.0; }
static int irand(int n) { return (int)(test_rand(&rng) * n); }

/* max |x − y| / max(1, max |y|) */
static double rel_err(const double *x, const double *y, size_t n) {
  double e = 0.0, s = 1.0;
  for (size_t i = 0; i < n; i++) { e = fmax(e, fabs(x[i] - y[i])); s = fmax(s, fabs(y[i])); }
  return e / s;
}

static void test_nn(void) {
  enum { CAP = 1 << 16 };
  double *A = malloc(CAP * sizeof(double)), *B = malloc(CAP * sizeof(double));
  double *C = malloc(CAP * sizeof(double)), *R = malloc(CAP * sizeof(double));
  int aoff[64], coff[64];
  const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 16, 17, 24, 36, 49, 64, 70};
  const int ks[] = {0, 1, 2, 3, 5, 6, 8, 9, 10, 12, 13, 36, 70};
  double worst = 0.0;
  for (int trial = 0; trial < 600; trial++) {
    const int m = 1 + irand(20), n = widths[irand(19)], K = ks[irand(13)], acc = irand(2);
    const int use_aoff = irand(2), use_coff = irand(2), lda = K + irand(3), ldb = n + irand(3), ldc = n + irand(3);
    for (int i = 0; i < CAP; i++) { A[i] = urand(); B[i] = urand(); C[i] = R[i] = urand(); }
    /* offset tables: distinct, shuffled row starts */
    int perm[64];
    for (int i = 0; i < m; i++) perm[i] = i;
    for (int i = m - 1; i > 0; i--) { const int k = irand(i + 1), x = perm[i]; perm[i] = perm[k]; perm[k] = x; }
    for (int i = 0; i < m; i++) { aoff[i] = (m - 1 - i) * lda + 1; coff[i] = perm[i] * ldc + 3; }
    for (int i = 0; i < m; i++) {
      const double *a = A + (use_aoff ? aoff[i] : i * lda);
      double *r = R + (use_coff ? coff[i] : i * ldc);
      for (int j = 0; j < n; j++) {
        double s = 0.0;
        for (int k = 0; k < K; k++) s += a[k] * B[k * ldb + j];
        r[j] = acc ? r[j] + s : s;
      }
    }
    tnace_mm_nn(m, n, K, A, lda, use_aoff ? aoff : NULL, B, ldb, C, ldc, use_coff ? coff : NULL, acc);
    worst = fmax(worst, rel_err(C, R, CAP));
  }
  CHECK(worst <= 1e-13, "tnace_mm_nn vs loops: %g", worst);
  free(A); free(B); free(C); free(R);
}

static void test_tn(void) {
  enum { CAP = 1 << 16 };
  double *A = malloc(CAP * sizeof(double)), *B = malloc(CAP * sizeof(double));
  double *C = malloc(CAP * sizeof(double)), *R = malloc(CAP * sizeof(double));
  int aoff[80], boff[80];
  const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 16, 17, 24, 36, 49, 64, 70};
  double worst = 0.0;
  for (int trial = 0; trial < 600; trial++) {
    const int m = 1 + irand(14), n = widths[irand(19)], K = irand(71), acc = irand(2);
    const int use_aoff = irand(2), use_boff = irand(2), lda = m + irand(3), ldb = n + irand(3), ldc = n + irand(3);
    for (int i = 0; i < CAP; i++) { A[i] = urand(); B[i] = urand(); C[i] = R[i] = urand(); }
    for (int k = 0; k < K; k++) { aoff[k] = irand(K) * lda + 2; boff[k] = irand(K) * ldb + 1; } /* repeats allowed */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0.0;
        for (int k = 0; k < K; k++) s += A[(use_aoff ? aoff[k] : k * lda) + i] * B[(use_boff ? boff[k] : k * ldb) + j];
        R[i * ldc + j] = acc ? R[i * ldc + j] + s : s;
      }
    tnace_mm_tn(m, n, K, A, lda, use_aoff ? aoff : NULL, B, ldb, use_boff ? boff : NULL, C, ldc, acc);
    worst = fmax(worst, rel_err(C, R, CAP));
  }
  CHECK(worst <= 1e-13, "tnace_mm_tn vs loops: %g", worst);
  free(A); free(B); free(C); free(R);
}

/* Batches against one call per group. */
static void test_nt(void) {
  enum { CAP = 1 << 16 };
  double *A = malloc(CAP * sizeof(double)), *B = malloc(CAP * sizeof(double));
  double *C = malloc(CAP * sizeof(double)), *R = malloc(CAP * sizeof(double));
  double worst = 0.0;
  for (int trial = 0; trial < 600; trial++) {
    const int m = 1 + irand(14), n = 1 + irand(12), K = irand(90), acc = irand(2);
    const int lda = K + irand(3), ldb = K + irand(3), ldc = n + irand(3);
    for (int i = 0; i < CAP; i++) { A[i] = urand(); B[i] = urand(); C[i] = R[i] = urand(); }
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0.0;
        for (int k = 0; k < K; k++) s += A[i * lda + k] * B[j * ldb + k];
        R[i * ldc + j] = acc ? R[i * ldc + j] + s : s;
      }
    tnace_mm_nt(m, n, K, A, lda, B, ldb, C, ldc, acc);
    worst = fmax(worst, rel_err(C, R, CAP)); /* also catches writes outside the m × n block */
  }
  CHECK(worst <= 1e-13, "tnace_mm_nt vs loops: %g", worst);
  free(A); free(B); free(C); free(R);
}

static void test_batches(void) {
  enum { CAP = 1 << 15 };
  double *A = malloc(CAP * sizeof(double)), *B = malloc(CAP * sizeof(double));
  double *C1 = malloc(CAP * sizeof(double)), *C2 = malloc(CAP * sizeof(double));
  int off[200], r0[26];
  double worst = 0.0;
  for (int trial = 0; trial < 200; trial++) {
    const int ng = 1 + irand(25), n = 1 + irand(12), K = 1 + irand(12), acc = irand(2);
    r0[0] = 0;
    for (int g = 0; g < ng; g++) r0[g + 1] = r0[g] + (irand(4) ? irand(9) : 0); /* some empty groups */
    const int rows = r0[ng];
    for (int i = 0; i < CAP; i++) { A[i] = urand(); B[i] = urand(); C1[i] = C2[i] = urand(); }
    for (int i = 0; i < rows; i++) off[i] = irand(40) * K;
    /* NN: gathered A rows, group matrices B + g·n·K, contiguous C */
    tnace_mm_nn_batch(ng, r0, n, K, A, 0, off, B, (size_t)n * K, n, C1, n, NULL, acc);
    for (int g = 0; g < ng; g++)
      tnace_mm_nn(r0[g + 1] - r0[g], n, K, A, 0, off + r0[g], B + (size_t)g * n * K, n, C2 + (size_t)r0[g] * n, n, NULL, acc);
    worst = fmax(worst, rel_err(C1, C2, CAP));
    /* TN: group sums over its k range into C + g·K·n */
    tnace_mm_tn_batch(ng, r0, K, n, A, 0, off, B, n, NULL, C1, (size_t)K * n, n, acc);
    for (int g = 0; g < ng; g++)
      if (!acc || r0[g + 1] > r0[g])
        tnace_mm_tn(K, n, r0[g + 1] - r0[g], A, 0, off + r0[g], B + (size_t)r0[g] * n, n, NULL, C2 + (size_t)g * K * n, n, acc);
    worst = fmax(worst, rel_err(C1, C2, CAP));
  }
  CHECK(worst <= 1e-14, "batched kernels vs one call per group: %g", worst);
  free(A); free(B); free(C1); free(C2);
}

static void test_transpose_and_dots(void) {
  double M[40 * 40], T[40 * 40];
  int bad = 0;
  for (int trial = 0; trial < 100; trial++) {
    const int m = 1 + irand(13), n = 1 + irand(13), ldm = n + irand(4);
    for (int i = 0; i < 40 * 40; i++) M[i] = urand();
    tnace_transpose(m, n, M, ldm, T);
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) bad += T[j * m + i] != M[i * ldm + j];
  }
  CHECK(bad == 0, "tnace_transpose: %d wrong entries", bad);
  double w[64], wd[64], y[64], dy[3 * 64 + 1], out[4], worst = 0.0;
  for (int trial = 0; trial < 100; trial++) {
    const int n = irand(64);
    for (int i = 0; i < 64; i++) { w[i] = urand(); wd[i] = urand(); y[i] = urand(); }
    for (int i = 0; i < 3 * 64 + 1; i++) dy[i] = urand();
    double ref[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
      ref[0] += wd[i] * y[i];
      for (int x = 0; x < 3; x++) ref[1 + x] += w[i] * dy[3 * i + x];
    }
    tnace_dot_grad(n, w, wd, y, dy, out);
    worst = fmax(worst, rel_err(out, ref, 4));
  }
  CHECK(worst <= 1e-13, "tnace_dot_grad vs loops: %g", worst);
}

int main(void) {
  printf("kernels: %s\n", tnace_kernels());
  test_nn();
  test_tn();
  test_nt();
  test_batches();
  test_transpose_and_dots();
  return test_summary("test_kern");
}
