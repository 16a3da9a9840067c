#include "testutil.h"
#include <math.h>

int test_failures = 0, test_checks = 0;

int test_close(double a, double b, double tol) {
  double s = fmax(1.0, fmax(fabs(a), fabs(b)));
  return isfinite(a) && isfinite(b) && fabs(a - b) <= tol * s;
}

double test_rand(unsigned long long *state) {
  unsigned long long x = *state;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  *state = x;
  return (double)((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

int test_summary(const char *name) {
  printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
  return test_failures ? 1 : 0;
}
