/*
 * fuzz_fitconfig.c — libFuzzer harness: the fit-config reader (YAML → tnace_fitconfig with every key, type
 * and range checked) and, for a config that reads, the potential it describes (fusion trees and all), so
 * that size limits are exercised. Data files named in a config are looked up relative to the working
 * directory; most do not exist, which is itself an error path. Seed corpus: tests/fuzz/corpus/fitconfig.
 */
#include <stdlib.h>
#include "fit_setup.h"
#include "fitconfig.h"
#include "fuzz_common.h"
#include "fusion.h"

#define FUZZ_MAX_WORK 1.0e5   /* tnace_fusion_work_estimate units: about 0.8 s to build without sanitizers */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64], err[1024];
  int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  tnace_fitconfig cfg;
  if (tnace_fitconfig_read(path, &cfg, err, sizeof err) == 0) {
    /* Coupling trees within the library's limit can still take seconds to build (ν = 4, l_max 8: work 4.9e5,
     * 4 s, ~12 s under the sanitizers, over the 10 s per-input timeout): the harness builds those up to
     * FUZZ_MAX_WORK; the limit itself is tested by fitcli_nu4_too_big and test_fusion. */
    int small = 1;
    for (int t = 0; t < cfg.n_terms; t++) small &= tnace_fusion_work_estimate(cfg.spec[t].nu, cfg.spec[t].lmax) <= FUZZ_MAX_WORK;
    tnace_potential *pot = NULL;
    if (small && tnace_fitconfig_make_potential(&cfg, &pot, err, sizeof err) == 0) tnace_potential_free(pot);
    tnace_fitconfig_free(&cfg);
  }
  close(fd);
  return 0;
}
