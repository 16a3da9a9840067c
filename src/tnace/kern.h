/*
 * kern.h — the small dense matrix products of the per-atom evaluation (tn.c, potential.c): channel maps,
 * trie levels, ∂E/∂A, the atomic base and the force pass are all products of a few rows (trie nodes,
 * neighbours, radial indices) by matrices of bond or (l, m) width, typically 1–64 columns.
 *
 * Row-major doubles. A row of an operand is addressed either by a stride (offset table NULL: row i starts
 * at i·ld) or by a table of element offsets (row i starts at off[i]), which is how trie nodes gather their
 * parents' rows and scatter into them without copies. With acc = 0 the output is overwritten (K = 0 then
 * writes zeros), with acc ≠ 0 added to. Outputs must not overlap the inputs. No allocation, no errors.
 */
#ifndef TNACE_KERN_H
#define TNACE_KERN_H

#include <stddef.h>

/* NN: C_i (+)= Σ_{k<K} A_i[k] · B_k, for rows i < m and columns j < n:
 *   A_i = A + (aoff ? aoff[i] : i·lda), B_k = B + k·ldb, C_i = C + (coff ? coff[i] : i·ldc).
 * With coff, distinct rows must have distinct offsets (they are accumulated independently). */
void tnace_mm_nn(int m, int n, int K, const double *A, int lda, const int *aoff, const double *B, int ldb, double *C,
                 int ldc, const int *coff, int acc);

/* TN: C[i][j] (+)= Σ_{k<K} A_k[i] · B_k[j], for i < m, j < n (C row i at C + i·ldc):
 *   A_k = A + (aoff ? aoff[k] : k·lda), B_k = B + (boff ? boff[k] : k·ldb). */
void tnace_mm_tn(int m, int n, int K, const double *A, int lda, const int *aoff, const double *B, int ldb,
                 const int *boff, double *C, int ldc, int acc);

/* NT: C[i][j] (+)= Σ_{k<K} A_i[k] · B_j[k] for i < m, j < n, with A_i = A + i·lda, B_j = B + j·ldb, C row i at
 * C + i·ldc: dot products of rows, vectorised along k; meant for long K (≳ 16), where it needs no transposed
 * copy of either operand. */
void tnace_mm_nt(int m, int n, int K, const double *A, int lda, const double *B, int ldb, double *C, int ldc, int acc);

/* The force-pass contraction of one neighbour: out[0] = Σ_{i<n} wd[i] y[i], out[1 + x] = Σ_{i<n} w[i] dy[3i + x]
 * (x = 0, 1, 2). dy is read up to element 3n, one past its last used element. */
void tnace_dot_grad(int n, const double *w, const double *wd, const double *y, const double *dy, double out[4]);

/* Which build of the kernels runs: "avx2" (x86-64 with AVX2 and FMA, unless TNACE_KERNELS=baseline was
 * set when the library was loaded) or "baseline" (what the library was compiled for). */
const char *tnace_kernels(void);

/* Batches of NN / TN products with a common shape, one call instead of one per matrix (the trie levels:
 * one product per channel, often of a few rows only).
 *   NN: group g (< ng) covers the rows r0[g] ≤ i < r0[g+1] (r0: [ng+1], non-decreasing) and uses the
 *       matrix B + g·bstride; rows are addressed as in tnace_mm_nn (with the global row index i).
 *   TN: group g sums over k0[g] ≤ k < k0[g+1] (k0: [ng+1]) into C + g·cstride; A_k, B_k as in tnace_mm_tn
 *       (global k). An empty group zeroes its C (acc = 0) or leaves it (acc ≠ 0). */
void tnace_mm_nn_batch(int ng, const int *r0, int n, int K, const double *A, int lda, const int *aoff, const double *B,
                       size_t bstride, int ldb, double *C, int ldc, const int *coff, int acc);
void tnace_mm_tn_batch(int ng, const int *k0, int m, int n, const double *A, int lda, const int *aoff, const double *B,
                       int ldb, const int *boff, double *C, size_t cstride, int ldc, int acc);

/* T[j][i] = M[i][j], M (m × n) with row stride ldm, T (n × m) dense. */
void tnace_transpose(int m, int n, const double *M, int ldm, double *T);

#endif
