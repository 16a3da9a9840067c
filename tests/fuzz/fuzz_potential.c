/*
 * fuzz_potential.c — libFuzzer harness: the potential loader (YAML → potential, fusion trees, channel maps)
 * and one per-atom evaluation (pooled terms through their means; the extrapolation grade where the file has one)
 * of whatever loads. Every input must end in a clean error or a finite energy;
 * ASan/UBSan catch the rest. Seed corpus: tests/fuzz/corpus/potential (tests/data/yaml and shipped files).
 */
#include "fuzz_common.h"   /* first: it sets _GNU_SOURCE for memfd_create */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tnace.h"

/* Inputs whose flow-style term lines ("nu: N, lmax: L", as tnace writes them) ask for a coupling tree over
 * FUZZ_MAX_WORK (fuzz_common.h) are skipped; a block-style spelling still gets through (and may time out). */
static int too_slow(const uint8_t *data, size_t size) {
  char *t = malloc(size + 1);
  if (!t) return 1;
  memcpy(t, data, size);
  t[size] = '\0';
  int slow = 0;
  for (const char *p = t; !slow && (p = strstr(p, "nu:")); p += 3) {
    int nu = 0, lmax = 0;
    const char *q = strstr(p, "lmax:"), *eol = strchr(p, '\n');
    if (q && (!eol || q < eol) && sscanf(p + 3, "%d", &nu) == 1 && sscanf(q + 5, "%d", &lmax) == 1)
      slow = fuzz_tree_too_slow(nu, lmax);
  }
  free(t);
  return slow;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64], err[1024];
  if (too_slow(data, size)) return 0;
  int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  tnace_potential *pot = NULL;
  if (tnace_potential_load(path, &pot, err, sizeof err) == 0) {
    /* a small, fixed environment: every species as centre, neighbours of all species at 1.2–4.5 Å */
    const int n_el = tnace_potential_n_elements(pot);
    double rij[8][3];
    int sp[8];
    for (int j = 0; j < 8; j++) {
      const double r = 1.2 + 0.45 * j, th = 0.7 * j, ph = 1.3 * j;
      rij[j][0] = r * sin(th) * cos(ph);
      rij[j][1] = r * sin(th) * sin(ph);
      rij[j][2] = r * cos(th);
      sp[j] = j % n_el;
    }
    tnace_workspace *ws = tnace_workspace_new(pot, 8);
    double e, dedr[8][3];
    /* pooled terms: the means of this environment taken as centre of every species, then the pooled energies */
    const int np = tnace_potential_pool_size(pot);
    double *mean = np > 0 ? calloc((size_t)np, sizeof *mean) : NULL;
    for (int a = 0; ws && mean && a < n_el; a++)
      if (tnace_atom_pool(pot, ws, a, 8, (const double(*)[3])rij, sp, mean)) break;
    for (int a = 0; ws && a < n_el; a++) {
      if (tnace_atom_energy(pot, ws, a, 8, (const double(*)[3])rij, sp, &e, dedr) == 0 && !isfinite(e)) abort();
      if (mean && tnace_atom_energy_pooled(pot, ws, a, 8, (const double(*)[3])rij, sp, mean, &e, dedr) == 0 &&
          !isfinite(e))
        abort();
      double g;
      if (tnace_potential_has_grade(pot) && tnace_atom_grade(pot, ws, a, 8, (const double(*)[3])rij, sp, &g) == 0 &&
          !(g >= 0)) abort();
    }
    free(mean);
    tnace_workspace_free(ws);
    tnace_potential_free(pot);
  }
  close(fd);
  return 0;
}
