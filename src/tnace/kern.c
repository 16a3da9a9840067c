/*
 * kern.c — small dense matrix products (kern.h).
 *
 * The operands are tiny (a few rows, 1–64 columns, K of 1–64), far below what BLAS is built for: call
 * overhead and packing would dominate. Each product is cut into register blocks of MR rows × NR columns
 * whose accumulators stay in registers over the whole K loop, so every B element loaded is used MR times
 * and every A element NR times, and C is read and written once. A block's columns are N4 4-wide vectors,
 * then N2 2-wide ones, then N1 scalars; the strips of a product are chosen so that any width is covered
 * (kern_body.inc), with MR such that the accumulators, one B row and a broadcast fit in 16 vector
 * registers.
 *
 * The blocks are written with GNU C vector types (GCC and Clang) instead of scalar loops: left to itself
 * the compiler vectorises the K loop rather than the columns, then shuffles and spills the accumulators.
 * The types below are unaligned and may alias double, so a dereference is a plain unaligned load/store.
 *
 * Two builds of the kernels: the baseline (2-wide vectors: SSE2 on x86-64, NEON on AArch64, what the
 * library is compiled for) and, on x86-64, one for AVX2 + FMA (4-wide vectors; the compiler fuses each
 * s += x·b into one FMA instruction, GCC's default outside strict ISO C mode: about a third of the
 * baseline's instructions), chosen once, when the library is loaded, by what the CPU supports. The two
 * round differently (FMA) in the last bits. TNACE_KERNELS=baseline in the environment at load time forces
 * the baseline (the tests use it to check both builds on AVX2 machines).
 */
#include "kern.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef double v4d __attribute__((vector_size(32), aligned(8), may_alias));
typedef double v2d __attribute__((vector_size(16), aligned(8), may_alias));

/* Lane shuffles: __builtin_shufflevector (Clang, GCC ≥ 12) or GCC's older __builtin_shuffle. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define SHUF4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#define SHUF2(a, b, i, j) __builtin_shufflevector(a, b, i, j)
#define LOW2(v4, x) __builtin_shufflevector(v4, v4, 0, 1) /* the low half: no instruction */
#else
#define LOW2(v4, x) ((v2d){x, x})
typedef long long kern_v4i __attribute__((vector_size(32)));
typedef long long kern_v2i __attribute__((vector_size(16)));
#define SHUF4(a, b, i, j, k, l) __builtin_shuffle(a, b, (kern_v4i){i, j, k, l})
#define SHUF2(a, b, i, j) __builtin_shuffle(a, b, (kern_v2i){i, j})
#endif

/* The baseline kernels: *_base. */
#define KFN(name) name##_base
#define KATTR
#define KAVX 0
#include "kern_body.inc"
#undef KFN
#undef KATTR
#undef KAVX

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KERN_HAVE_AVX2 1
#define KFN(name) name##_avx2
#define KATTR __attribute__((target("avx2,fma")))
#define KAVX 1
#include "kern_body.inc"
#undef KFN
#undef KATTR
#undef KAVX

/* 1: use the AVX2 kernels. Decided once, when the library is loaded (constructors run before any other
 * code of the library can), so the choice is never written while kernels run on other threads. */
static int kern_avx2;
__attribute__((constructor)) static void kern_select(void) {
  __builtin_cpu_init();
  const char *e = getenv("TNACE_KERNELS");
  kern_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !(e && strcmp(e, "baseline") == 0);
}
#else
#define KERN_HAVE_AVX2 0
static const int kern_avx2 = 0;
#endif

void tnace_mm_nn_batch(int ng, const int *r0, int n, int K, const double *A, int lda, const int *aoff, const double *B,
                       size_t bstride, int ldb, double *C, int ldc, const int *coff, int acc) {
#if KERN_HAVE_AVX2
  if (kern_avx2) { mm_nn_avx2(ng, r0, n, K, A, lda, aoff, B, bstride, ldb, C, ldc, coff, acc); return; }
#endif
  mm_nn_base(ng, r0, n, K, A, lda, aoff, B, bstride, ldb, C, ldc, coff, acc);
}

void tnace_mm_nn(int m, int n, int K, const double *A, int lda, const int *aoff, const double *B, int ldb, double *C,
                 int ldc, const int *coff, int acc) {
  const int r0[2] = {0, m};
  tnace_mm_nn_batch(1, r0, n, K, A, lda, aoff, B, 0, ldb, C, ldc, coff, acc);
}

void tnace_mm_tn_batch(int ng, const int *k0, int m, int n, const double *A, int lda, const int *aoff, const double *B,
                       int ldb, const int *boff, double *C, size_t cstride, int ldc, int acc) {
#if KERN_HAVE_AVX2
  if (kern_avx2) { mm_tn_avx2(ng, k0, m, n, A, lda, aoff, B, ldb, boff, C, cstride, ldc, acc); return; }
#endif
  mm_tn_base(ng, k0, m, n, A, lda, aoff, B, ldb, boff, C, cstride, ldc, acc);
}

void tnace_mm_tn(int m, int n, int K, const double *A, int lda, const int *aoff, const double *B, int ldb,
                 const int *boff, double *C, int ldc, int acc) {
  const int k0[2] = {0, K};
  tnace_mm_tn_batch(1, k0, m, n, A, lda, aoff, B, ldb, boff, C, 0, ldc, acc);
}

void tnace_mm_nt(int m, int n, int K, const double *A, int lda, const double *B, int ldb, double *C, int ldc, int acc) {
#if KERN_HAVE_AVX2
  if (kern_avx2) { mm_nt_avx2(m, n, K, A, lda, B, ldb, C, ldc, acc); return; }
#endif
  mm_nt_base(m, n, K, A, lda, B, ldb, C, ldc, acc);
}

void tnace_dot_grad(int n, const double *w, const double *wd, const double *y, const double *dy, double out[4]) {
#if KERN_HAVE_AVX2
  if (kern_avx2) { dot_grad_avx2(n, w, wd, y, dy, out); return; }
#endif
  dot_grad_base(n, w, wd, y, dy, out);
}

const char *tnace_kernels(void) { return kern_avx2 ? "avx2" : "baseline"; }

void tnace_transpose(int m, int n, const double *M, int ldm, double *T) {
#if KERN_HAVE_AVX2
  if (kern_avx2) { transpose_avx2(m, n, M, ldm, T); return; }
#endif
  transpose_base(m, n, M, ldm, T);
}
