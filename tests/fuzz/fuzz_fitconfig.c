/*
 * fuzz_fitconfig.c — libFuzzer harness: the fit-config reader (YAML → tnace_fitconfig with every key, type
 * and range checked) and, for a config that reads, the potential it describes (fusion trees and all), so
 * that size limits are exercised. Data files named in a config are looked up relative to the working
 * directory; most do not exist, which is itself an error path. Seed corpus: tests/fuzz/corpus/fitconfig.
 */
#include "fuzz_common.h"   /* first: it sets _GNU_SOURCE for memfd_create */
#include <stdlib.h>
#include "fit_setup.h"
#include "fitconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64], err[1024];
  int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  tnace_fitconfig cfg;
  if (tnace_fitconfig_read(path, &cfg, err, sizeof err) == 0) {
    int small = 1;   /* coupling trees up to FUZZ_MAX_WORK only (fuzz_common.h) */
    for (int t = 0; t < cfg.n_terms; t++) small &= !fuzz_tree_too_slow(cfg.spec[t].nu, cfg.spec[t].lmax);
    tnace_potential *pot = NULL;
    if (small && tnace_fitconfig_make_potential(&cfg, &pot, err, sizeof err) == 0) tnace_potential_free(pot);
    tnace_fitconfig_free(&cfg);
  }
  close(fd);
  return 0;
}
