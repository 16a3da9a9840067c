/* testutil.h — tiny assertion helpers for the C tests: each CHECK prints file:line and the values on
 * failure and counts it; a test's main returns test_summary(), non-zero when any check failed. */
#ifndef TNACE_TESTUTIL_H
#define TNACE_TESTUTIL_H
#include <stdio.h>

extern int test_failures, test_checks;

#define CHECK(cond, ...) do { test_checks++; if (!(cond)) { test_failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
/* |a − b| ≤ tol · max(1, |a|, |b|) */
#define CHECK_CLOSE(a, b, tol) do { double _a = (a), _b = (b); \
    CHECK(test_close(_a, _b, tol), "%s = %.17g, %s = %.17g, tol %g", #a, _a, #b, _b, (double)(tol)); } while (0)

int test_close(double a, double b, double tol);
/* Deterministic uniform random numbers in [0,1) (xorshift64*, state per caller). */
double test_rand(unsigned long long *state);
int test_summary(const char *name);
#endif
